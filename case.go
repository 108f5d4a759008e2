package citybot

import "time"

// CitizenID is citybot's pseudonymous id for a person on one platform.
type CitizenID int64

// CaseID is a case's internal id. CaseRef is its short public reference.
type CaseID int64

// CaseRef is the short reference a citizen quotes ("K7M4QX"): easy to read
// aloud, no ambiguous characters.
type CaseRef string

// MessageID is the internal id of a stored message (in or out).
type MessageID int64

// Citizen is a pseudonymous person: what citybot knows without their name.
type Citizen struct {
	ID        CitizenID
	Platform  Platform
	Language  string // preferred language code ("en", "fr"), may be empty
	CreatedAt time.Time
}

// CaseStatus is where a case stands.
type CaseStatus string

// The case lifecycle: new → acknowledged → in_progress → answered →
// resolved; or closed (with a reason); or duplicate (of another case).
const (
	StatusNew          CaseStatus = "new"
	StatusAcknowledged CaseStatus = "acknowledged"
	StatusInProgress   CaseStatus = "in_progress"
	StatusAnswered     CaseStatus = "answered"
	StatusResolved     CaseStatus = "resolved"
	StatusClosed       CaseStatus = "closed"
	StatusDuplicate    CaseStatus = "duplicate"
)

// Open reports whether a case in this status still expects work.
func (s CaseStatus) Open() bool {
	switch s {
	case StatusNew, StatusAcknowledged, StatusInProgress, StatusAnswered:
		return true
	}
	return false
}

// Valid reports whether s is a known status.
func (s CaseStatus) Valid() bool {
	switch s {
	case StatusNew, StatusAcknowledged, StatusInProgress, StatusAnswered,
		StatusResolved, StatusClosed, StatusDuplicate:
		return true
	}
	return false
}

// Urgency ranks how soon a case needs a person.
type Urgency string

// Urgency levels, most urgent first.
const (
	UrgencyCritical Urgency = "critical" // danger to life or health now
	UrgencyHigh     Urgency = "high"     // an outage or hazard affecting many
	UrgencyNormal   Urgency = "normal"
	UrgencyLow      Urgency = "low" // suggestion, thanks, general question
)

// Rank orders urgencies: critical is 0, low is 3, unknown is 4.
func (u Urgency) Rank() int {
	switch u {
	case UrgencyCritical:
		return 0
	case UrgencyHigh:
		return 1
	case UrgencyNormal:
		return 2
	case UrgencyLow:
		return 3
	}
	return 4
}

// Case is a tracked matter: one or more citizen messages, the city's
// answers, and where it stands.
type Case struct {
	ID          CaseID
	Ref         CaseRef
	Status      CaseStatus
	Topic       string
	Urgency     Urgency
	Language    string
	Platform    Platform
	Chat        ChatID
	Citizen     CitizenID
	Location    *Location
	Places      []string
	ExpectedBy  *time.Time
	CloseReason string
	DuplicateOf CaseID // set when Status is StatusDuplicate
	// Followers is how many cases were merged into this one (other
	// reports of the same problem, joined by grouping or merged by an
	// officer): with the case's own, 1+Followers reports.
	Followers int
	OpenedAt  time.Time
	UpdatedAt time.Time
	// Sensitive is set as soon as one of the case's messages is
	// sensitive (its classification says so, or its topic is one the
	// city marks sensitive); only staff allowed to read sensitive cases
	// may clear it. A sensitive case is read only by those roles, never
	// shown case by case in public, and answered only in private.
	Sensitive bool
	// SensitiveCues are what raised Sensitive (classifier cues,
	// "topic:NAME" for a sensitive topic), for those who may read the
	// case; empty when it is not sensitive.
	SensitiveCues []string
}

// TagSource says who set a tag.
type TagSource string

// Tag sources.
const (
	ByClassifier TagSource = "classifier"
	ByOfficer    TagSource = "officer"
)

// Tag is one label on a message or case.
type Tag struct {
	Kind       string // "topic", "urgency", "language", "place"
	Value      string
	Confidence float64
	Source     TagSource
	SetBy      string // officer account name when Source is ByOfficer
	At         time.Time
}
