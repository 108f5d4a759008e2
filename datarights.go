package citybot

import "time"

// CitizenData is what the city holds about one citizen: their identity on
// the platform, their messages, their cases and the answers sent to them.
// It is what /mydata sends them and what an admin exports for them.
type CitizenData struct {
	Citizen   CitizenID          `json:"citizen"`
	Platform  Platform           `json:"platform"`
	Name      string             `json:"name,omitempty"`
	Handle    string             `json:"handle,omitempty"`
	Language  string             `json:"language,omitempty"`
	FirstSeen time.Time          `json:"first_seen"`
	Messages  []CitizenDataEntry `json:"messages"`
	Cases     []CitizenDataCase  `json:"cases"`
	Answers   []CitizenDataEntry `json:"answers"`
}

// CitizenDataEntry is one message from or to a citizen.
type CitizenDataEntry struct {
	At   time.Time `json:"at"`
	Case CaseRef   `json:"case,omitempty"`
	Text string    `json:"text"`
}

// CitizenDataCase is one of a citizen's cases.
type CitizenDataCase struct {
	Ref      CaseRef    `json:"ref"`
	Topic    string     `json:"topic"`
	Status   CaseStatus `json:"status"`
	OpenedAt time.Time  `json:"opened_at"`
	Places   []string   `json:"places,omitempty"`
}

// Forgotten says what erasing a citizen changed.
type Forgotten struct {
	Messages  int // messages whose text was erased
	Cases     int // cases that lost their texts (topic and status stay)
	Cancelled int // pending messages to them that will not be sent
}
