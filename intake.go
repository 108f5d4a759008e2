package citybot

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxStoredText is the most bytes of a message's text citybot keeps. The
// rest is cut at a rune boundary and the cut is recorded.
const MaxStoredText = 64 << 10

// CleanText returns s made safe to store and classify: invalid UTF-8 bytes
// become U+FFFD, control characters other than tab, newline and carriage
// return are dropped, and the result is cut to at most limit bytes at a
// rune boundary (limit <= 0 means no cap). truncated reports a cut.
func CleanText(s string, limit int) (clean string, truncated bool) {
	// Cut first so a huge input costs O(limit), not O(len(s)).
	if limit > 0 && len(s) > limit {
		s, truncated = cutAtRune(s, limit), true
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexFunc(s, isDropped) >= 0 {
		s = strings.Map(func(r rune) rune {
			if isDropped(r) {
				return -1
			}
			return r
		}, s)
	}
	// Replacement runes may have grown the text past the cap.
	if limit > 0 && len(s) > limit {
		s, truncated = cutAtRune(s, limit), true
	}
	return s, truncated
}

// cutAtRune returns the longest prefix of s of at most n bytes that does
// not end inside a UTF-8 sequence.
func cutAtRune(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	if !utf8.RuneStart(s[i]) {
		// Not UTF-8 around the cut: a plain byte cut is as good.
		i = n
	}
	return s[:i]
}

func isDropped(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.IsControl(r)
}

// CaseMode says whether an inbound message belongs to a case.
type CaseMode int

// Case modes.
const (
	// CaseNone: the message is stored but joins no case (a command).
	CaseNone CaseMode = iota
	// CaseJoinOrOpen: the message joins the citizen's open case in the
	// chat (a reply to one of its messages, or within the window), or
	// opens a new one.
	CaseJoinOrOpen
	// CaseJoinOnly: the message joins an open case as CaseJoinOrOpen
	// would, and opens none when there is none (an empty message or a
	// bare attachment).
	CaseJoinOnly
	// CaseFeedback: the message is feedback (thanks): it joins the
	// citizen's most recent case in the chat, whatever its status (the
	// case it was merged into, for a duplicate), without changing the
	// case, and opens none.
	CaseFeedback
)

// Intake is everything the pipeline records for one inbound message, in
// one transaction.
type Intake struct {
	Message Message
	// Classification of the message text; nil when it was not
	// classified (a command).
	Classification *Classification
	Mode           CaseMode
	// Window is how long after a case's last message a message from the
	// same citizen in the same chat still joins it.
	Window time.Duration
	// SetLanguage, when not empty, becomes the citizen's preferred
	// language.
	SetLanguage string
	// LoadCases, when > 0, asks for up to that many of the citizen's
	// cases, newest first, in IntakeResult.Cases.
	LoadCases int
	// Sensitive marks the message sensitive (the caller's rule: the
	// classification says so, or its topic is a sensitive one); the case
	// it joins or opens becomes sensitive. SensitiveCues say why.
	Sensitive     bool
	SensitiveCues []string
	// Intent is recorded with the message when it is feedback (thanks,
	// a greeting…); "" or IntentReport for a report. Feedback adds no
	// classifier tags to the case it joins.
	Intent Intent
	// Contact, for an Open311 report, is what the client said about the
	// person; it is stored with their private identity.
	Contact *Contact
	// Group is grouping's decision for a report that opens a case (nil:
	// none). It is ignored when the message is a follow-up to one of
	// the citizen's own cases, and for a sensitive message.
	Group *GroupDecision
}

// IntakeResult is what the store did with an Intake.
type IntakeResult struct {
	// Duplicate is true when the message was already stored: nothing
	// was changed.
	Duplicate bool
	// Edited is true when the delivery edited a stored message.
	Edited  bool
	Citizen Citizen
	Message MessageID
	// Case is the case the message belongs to; nil when none.
	Case *Case
	// NewCase is true when the message opened Case.
	NewCase bool
	// Escalated is true when the message raised the urgency of an
	// existing case (Case holds the new urgency).
	Escalated bool
	// BecameSensitive is true when the message made an existing case
	// sensitive (a new sensitive case has NewCase and Case.Sensitive).
	BecameSensitive bool
	// CaseLastQueued is when the latest outbox row about Case (an
	// acknowledgement, a note, an officer's answer; not an alert to
	// officers) was queued, by the
	// store's clock, for a new message that joined an existing case; zero
	// otherwise, or when no row was ever queued for it. Rows queued
	// earlier in the same transaction batch count.
	CaseLastQueued time.Time
	// Cases are the citizen's cases when Intake.LoadCases asked for them.
	Cases []Case
	// Followed are, for those of Cases merged into another case (a
	// follower's own report), the case each follows, by its id.
	Followed map[CaseID]Case
	// Joined is, when the report joined another case as a new follower
	// (Intake.Group), that case; Case is then the report's own case,
	// merged into it. Nil otherwise.
	Joined *Case
	// Suggested is how many cases the new case was recorded as looking
	// like (Intake.Group's suggestions still open and not sensitive).
	Suggested int
}

// Direction says whether a stored message came from a citizen or from
// citybot.
type Direction string

// Directions.
const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// StoredMessage is a message as the store keeps it, in or out. It carries
// no identity: Citizen is the pseudonymous id (0 for citybot's own).
type StoredMessage struct {
	ID         MessageID
	Direction  Direction
	Platform   Platform
	Chat       ChatID
	PlatformID PlatformMessageID
	Citizen    CitizenID
	Case       CaseID // 0 when the message belongs to no case
	Command    string
	ReplyTo    PlatformMessageID
	// Text is cleaned (valid UTF-8, no control characters) and capped at
	// MaxStoredText bytes; Truncated says it was cut from OriginalSize
	// bytes. It is still untrusted citizen text: escape it when shown.
	Text           string
	Truncated      bool
	OriginalSize   int
	Classification *Classification // nil when the message was not classified
	// Sensitive is true when the message was marked sensitive at intake.
	Sensitive bool
	// Intent is the feedback intent recorded at intake; "" for a report.
	Intent      Intent
	Attachments []Attachment
	Location    *Location
	SentAt      time.Time
	ReceivedAt  time.Time
	EditedAt    *time.Time
}
