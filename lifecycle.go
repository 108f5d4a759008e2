package citybot

import "time"

// CanMoveTo reports whether a case in status s may move to status t. The
// lifecycle is new → acknowledged → in_progress → answered → resolved, with
// shortcuts forward; an answered or resolved case may be reopened to
// in_progress; any open case may be closed (with a reason) or marked a
// duplicate of another case. Closed and duplicate cases are final, and no
// case goes back to new or acknowledged.
func (s CaseStatus) CanMoveTo(t CaseStatus) bool {
	if s == t {
		return false
	}
	switch t {
	case StatusNew:
		return false
	case StatusAcknowledged:
		return s == StatusNew
	case StatusInProgress:
		return s == StatusNew || s == StatusAcknowledged || s == StatusAnswered || s == StatusResolved
	case StatusAnswered:
		return s == StatusNew || s == StatusAcknowledged || s == StatusInProgress
	case StatusResolved:
		return s.Open()
	case StatusClosed, StatusDuplicate:
		return s.Open()
	}
	return false
}

// StatusChange asks to move a case to another status.
type StatusChange struct {
	To CaseStatus
	// Actor is who asks: an officer account name, or "citybot".
	Actor string
	// Reason is required when To is StatusClosed.
	Reason string
	// DuplicateOf is required when To is StatusDuplicate; it names
	// another, existing case.
	DuplicateOf CaseID
}

// AuditEntry is one line of the audit log: who did what to which subject,
// with the subject's state before and after as JSON (empty when none).
type AuditEntry struct {
	ID      int64
	At      time.Time
	Actor   string // "citybot", "dispatcher" or an officer account name
	Action  string // e.g. "case.open", "case.status"
	Subject string // e.g. "case:42"
	Before  string
	After   string
}

// CaseFilter selects cases for an inbox. Zero fields do not filter.
// Results come critical-first, then oldest first.
type CaseFilter struct {
	// Statuses to include; empty means every open status.
	Statuses []CaseStatus
	Topic    string
	Urgency  Urgency
	Platform Platform
	Limit    int // at most this many; <= 0 means 50
	Offset   int
}
