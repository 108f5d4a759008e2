package citybot

import "time"

// AlertState is where a critical case's alert to the officers stands.
type AlertState string

// Alert states: due (the case became critical; nothing queued yet) →
// open (the alert is queued; escalations follow while nobody takes or
// answers the case) → closed (taken, answered, no longer critical or no
// longer open).
const (
	AlertDue    AlertState = "due"
	AlertOpen   AlertState = "open"
	AlertClosed AlertState = "closed"
)

// Alert is the officers' alert about a critical case. It carries no
// citizen identity nor text: Cues are the classifier's urgency cues (or
// who raised the urgency), Case.Places the gazetteer's names.
type Alert struct {
	Case     Case
	State    AlertState
	Assignee string // the case's assignee; "" when nobody has it
	// AnsweredAt is the case's first answer (an officer's answer or
	// status change); nil when none.
	AnsweredAt *time.Time
	// Cues say what made the case critical: the urgency cues of its
	// latest critical message, or "set by NAME" when an officer did.
	Cues []string
	// RaisedAt is when the case became critical; QueuedAt when the
	// alert was queued (zero while due).
	RaisedAt    time.Time
	QueuedAt    time.Time
	Escalations int // escalations queued so far
	TakenBy     string
	TakenAt     time.Time
	// Redacted is true once the alert's messages outside the sensitive
	// chats were cut down to the reference (the case became sensitive
	// after they went out).
	Redacted bool
}

// TakeResult is what pressing an alert's Take it did.
type TakeResult struct {
	Case    Case
	TakenBy string // the account that has the case now
	// Already is true when the case was assigned before the press (to
	// TakenBy, who may be the presser).
	Already bool
}
