package citybot

import "time"

// OutboxID is the internal id of an outbox row.
type OutboxID int64

// OutboxState is where an outbox row stands.
type OutboxState string

// Outbox states. A row goes pending → sending → sent; a failed send goes
// back to pending with a later NextAttemptAt, or to failed for good.
const (
	OutboxPending OutboxState = "pending"
	OutboxSending OutboxState = "sending" // claimed by a dispatcher; maybe sent
	OutboxSent    OutboxState = "sent"
	OutboxFailed  OutboxState = "failed"
)

// OutboxKind says why a row was queued.
type OutboxKind string

// Outbox kinds.
const (
	// OutboxAck acknowledges a new case. Sending it moves the case from
	// new to acknowledged.
	OutboxAck OutboxKind = "ack"
	// OutboxReply answers a command (/start, /status …).
	OutboxReply OutboxKind = "reply"
	// OutboxNotice is any other message to a citizen (an emergency
	// notice on a follow-up, an officer's answer, a status change).
	OutboxNotice OutboxKind = "notice"
	// OutboxAlert is an alert about a critical case to an officers'
	// chat, or its edit once someone took the case. It is not part of
	// the case's conversation: it is not stored as a message of the
	// case, and a reply to it opens no case.
	OutboxAlert OutboxKind = "alert"
	// OutboxData is a citizen's own data sent to them (/mydata): not
	// part of what a later /mydata exports.
	OutboxData OutboxKind = "data"
	// OutboxChart posts the chart of the approved digest of the row's
	// ChartWeek as an image, Out.Text its caption. A platform that
	// cannot send images gets the caption alone (with a link to the
	// chart on the public page, when there is one).
	OutboxChart OutboxKind = "chart"
)

// OutboxItem is one durable outgoing message. Out.Key is unique across the
// outbox: queueing the same key twice is a no-op.
type OutboxItem struct {
	ID       OutboxID
	Out      Outgoing
	Kind     OutboxKind
	Case     CaseID // the case this message is about; 0 for none
	State    OutboxState
	Attempts int // failed attempts so far (throttled ones are not counted)
	// NextAttemptAt is when a pending row is due.
	NextAttemptAt time.Time
	// LastError is the last send error, already safe to show staff (no
	// token, no citizen identity).
	LastError string
	SentID    PlatformMessageID // the platform's id once sent
	CreatedAt time.Time
	UpdatedAt time.Time
	// Private asks the store, when it queues a row about a case, to
	// deliver it privately to the case's citizen: the store fills Out.To
	// from the citizen's platform identity (a row it cannot resolve is
	// queued as failed, never sent to Out.Chat). It is not stored: a
	// stored row is private when Out.To is set.
	Private bool
	// ChartWeek is the week whose digest chart an OutboxChart row posts;
	// "" for every other kind.
	ChartWeek Week
	// Combined is how many reporters this row's message names when it
	// carries a combined acknowledgement: an acknowledgement waiting in
	// a busy group chat whose Out (Text, Mentions; no ReplyTo) was
	// replaced by one message for several reporters there. The other
	// acknowledgements it carries wait in sending and share its fate
	// (sent, failed, delivery unknown). 0 for every other row.
	Combined int
	// ClaimedBy names the citybot process (instance) that claimed a row
	// in sending (see store.ClaimOutboxIDs); "" for rows never claimed,
	// or claimed by a citybot from before instances were recorded.
	ClaimedBy string
}

// AckCandidate is an acknowledgement waiting in a group chat, as a
// combined acknowledgement sees it: the row, who to name and their case.
type AckCandidate struct {
	Item OutboxItem
	// User is the reporter's platform user id, to mention them in the
	// group where they wrote; never logged.
	User UserID
	Ref  CaseRef
	// Critical: the case is critical (it goes first, under the
	// emergency line).
	Critical bool
	// Language hints, best first as the acknowledgement chose them: the
	// citizen's chosen language, their platform's language code, the
	// case's detected language.
	Chosen, PlatformCode, Detected string
}

// OutboxStats summarises the rows still to send.
type OutboxStats struct {
	Pending int       // rows pending or sending
	Failed  int       // rows given up
	Oldest  time.Time // creation time of the oldest pending or sending row; zero when none
}
