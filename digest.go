package citybot

import (
	"fmt"
	"time"
)

// DigestID is a weekly digest's internal id.
type DigestID int64

// DigestState is where a weekly digest stands. A draft is approved or sent
// back by an official; only an approved digest is ever posted, and
// approving it queues its posts in the same transaction.
type DigestState string

// Digest states: draft → approved, or draft → changes_requested (then a new
// draft revision of the same week may be made). A week has at most one
// approved digest.
const (
	DigestDraft            DigestState = "draft"
	DigestApproved         DigestState = "approved"
	DigestChangesRequested DigestState = "changes_requested"
)

// Valid reports whether s is a known digest state.
func (s DigestState) Valid() bool {
	return s == DigestDraft || s == DigestApproved || s == DigestChangesRequested
}

// Week is an ISO 8601 week ("2026-W48") in the city's time zone.
type Week string

// WeekOf returns the ISO week holding t, read in loc (nil means UTC), and
// the half-open range [start, end) of that week (Monday 00:00 to the next
// Monday 00:00 in loc), in UTC.
func WeekOf(t time.Time, loc *time.Location) (w Week, start, end time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	y, n := lt.ISOWeek()
	wd := (int(lt.Weekday()) + 6) % 7 // Monday = 0
	s := time.Date(lt.Year(), lt.Month(), lt.Day()-wd, 0, 0, 0, 0, loc)
	e := time.Date(s.Year(), s.Month(), s.Day()+7, 0, 0, 0, 0, loc)
	return Week(fmt.Sprintf("%04d-W%02d", y, n)), s.UTC(), e.UTC()
}

// Durations summarises how long something took over a set of cases.
type Durations struct {
	Count  int // how many cases the figures cover
	Median time.Duration
	P90    time.Duration
}

// TopicFigures are one topic's figures for a period.
type TopicFigures struct {
	Topic       string
	Received    int
	Answered    int
	Resolved    int
	FirstAnswer Durations
}

// DigestFigures are the public figures of a period, computed from the
// store. They carry no citizen text and no identity.
type DigestFigures struct {
	Start, End time.Time // [Start, End), UTC
	// Received counts cases opened in the period (duplicates excluded).
	Received   int
	ByTopic    []TopicFigures // every topic, sensitive ones included (counts only)
	ByPlatform []FacetCount
	// ByPlace counts cases per place found (house numbers removed),
	// sensitive topics left out, places of a single case left out; the
	// busiest places first.
	ByPlace []FacetCount
	// Answered counts cases opened in the period that got a first answer
	// from the city (an officer's answer or status change).
	Answered int
	// AnsweredWithinHour and AnsweredWithinDay count the cases opened in
	// the period first answered within an hour and within 24 hours of
	// opening: figures over every case received (Received), the
	// unanswered ones counted as not answered in time.
	AnsweredWithinHour int
	AnsweredWithinDay  int
	// FirstAnswer: time from opening to first answer, for cases first
	// answered in the period.
	FirstAnswer Durations
	// Resolution: time from opening to resolution, for cases resolved in
	// the period.
	Resolution Durations
	// Resolved counts cases resolved in the period.
	Resolved int
	// ConfirmedFixed and NotFixed count the citizens' answers to "Is it
	// fixed?" given in the period.
	ConfirmedFixed int
	NotFixed       int
	// StillOpen counts every case open at the end of the period.
	StillOpen int
	// PromisesDue counts promised (expected-by) days of the period that
	// are over (a promise is due at the end of the promised day in the
	// city's time zone); PromisesKept those met, that is resolved by
	// then (a case closed without being resolved is not a promise kept),
	// and PromisesOverdue those missed.
	PromisesDue     int
	PromisesKept    int
	PromisesOverdue int
	// PromisesMoved counts the promised dates moved to a later date in
	// the period. A date moved after its day was over also counts, in
	// the period of that day, as due and missed (unless the case was
	// resolved by then); a date moved before its day ended is not due.
	PromisesMoved int
	// Thanks counts the citizens who said thank you in the period
	// (feedback, never counted as a report).
	Thanks int
	// WithinTarget counts, per urgency (most urgent first), the cases
	// first answered in the period and those answered within their
	// service level; empty when no targets are set.
	WithinTarget []TargetShare
	// Equity is the equity of response by district and language (cases
	// opened in the period); the official decides whether a digest's is
	// published (Digest.PublishEquity).
	Equity Equity
}

// Promise is a case's promised day as the store keeps it: ExpectedBy's
// date in UTC is the promised calendar day (the console stores 00:00 UTC
// of the day chosen); ResolvedAt is when the case was resolved, nil when
// it is not (closed without being resolved, or still open).
type Promise struct {
	Case       CaseID
	ExpectedBy time.Time
	ResolvedAt *time.Time
	// MovedAt is set on a promised date an officer replaced (or
	// cleared) at that time; MovedTo is the new date, zero when the
	// date was cleared. Both are zero for a case's current date.
	MovedAt *time.Time
	MovedTo time.Time
}

// TargetShare is how many first answers of one urgency came within its
// first-answer target.
type TargetShare struct {
	Urgency  Urgency
	Answered int
	Within   int
}

// FirstAnswer is when a case was opened and first answered.
type FirstAnswer struct {
	Urgency    Urgency
	OpenedAt   time.Time
	AnsweredAt time.Time
}

// DigestExample is one anonymised "you said, we did" pair: redacted
// excerpts, never from a sensitive topic.
type DigestExample struct {
	Topic string
	Said  string
	Did   string
	// SaidLang and DidLang are the languages of the quotes ("" when
	// unknown); a quote in another language than the digest's is
	// labelled with its language.
	SaidLang string `json:",omitempty"`
	DidLang  string `json:",omitempty"`
	// Reporters is how many citizens reported the problem ("reported
	// by 12 citizens"); 0 or 1 says nothing.
	Reporters int `json:",omitempty"`
}

// ExampleSource is the raw material of a "you said, we did" example, as
// the store finds it. Said and Did are citizen and officer texts, not yet
// redacted: they must go through redaction before any public use. Avoid
// lists private strings (the citizen's name and handle) the redaction must
// remove; it never leaves the process.
type ExampleSource struct {
	Case         CaseID
	Topic        string
	Said         string
	SaidPersonal []PersonalSpan // the classifier's spans in Said
	Did          string
	// Dids are the officers' answers on the case, what was done first:
	// those given once it was resolved (the resolution note), newest
	// first, then the earlier ones, newest first. Did is Dids[0].
	Dids []string
	// SaidLang is the language the classifier found in Said; CaseLang
	// the case's language ("" when unknown).
	SaidLang string
	CaseLang string
	Avoid    []string
	// Reporters is how many citizens reported the problem (the case's
	// own and its followers').
	Reporters int
}

// Digest is one revision of a week's public digest.
type Digest struct {
	ID       DigestID
	Week     Week
	Revision int // 1 for the first draft of the week
	State    DigestState
	Figures  DigestFigures
	Previous DigestFigures // the week before, for the change
	Examples []DigestExample
	// Note is an optional paragraph staff add before the figures.
	Note string
	// Texts are the digest's text per language, exactly as posted.
	Texts map[string]string
	// Chart is the PNG image posted with the digest.
	Chart []byte
	// DraftedBy is "scheduler" or the account that asked for the draft.
	DraftedBy string
	CreatedAt time.Time
	// DecidedBy, DecidedAt and Comment record the official's decision.
	DecidedBy string
	DecidedAt time.Time
	Comment   string
	// PublishEquity is the official's choice, made at approval and
	// changed later, to publish the equity figures (Figures.Equity) on
	// the public pages.
	PublishEquity bool
}

// DigestPreview is a digest as it will appear on one platform in one
// language: the messages in order.
type DigestPreview struct {
	Platform Platform
	Language string
	Parts    []string
}

// DigestDecision is an official's decision on a draft.
type DigestDecision struct {
	Approve bool
	Actor   string // the official's account name
	Comment string // required when sending back
	// PublishEquity publishes the equity figures with an approved digest.
	PublishEquity bool
}

// PublicCase is a case as public output shows it: no text, no identity,
// places without house numbers, a location rounded to about 100 m.
type PublicCase struct {
	Ref        CaseRef
	Topic      string
	Status     CaseStatus
	Places     []string
	Location   *Location
	OpenedAt   time.Time
	UpdatedAt  time.Time
	ExpectedBy *time.Time
	// AnsweredAt and ResolvedAt are nil until they happen.
	AnsweredAt *time.Time
	ResolvedAt *time.Time
	// Reporters is how many reports of the problem the case holds: its
	// own and those merged into it (grouping's followers). Never who.
	Reporters int
}

// PublicCaseQuery selects public cases. Zero fields do not filter.
type PublicCaseQuery struct {
	Refs         []CaseRef
	Topic        string
	Open         *bool // true: open statuses only; false: closed only
	After        time.Time
	Before       time.Time
	ExcludeTopic []string // topics left out
	Limit        int      // <= 0 means 1000
	Offset       int      // cases skipped first (paging), in the stable order
	MinReporters int      // > 1: only cases reported at least this many times
	// Sensitive cases (Case.Sensitive) are always left out.
}

// FollowupTarget is a resolved case whose citizen is to be asked "Is it
// fixed?".
type FollowupTarget struct {
	Case     Case
	Language string // the citizen's preferred language; may be ""
}

// ReminderTarget is an open case still waiting for a first answer.
type ReminderTarget struct {
	Case Case
	// Reminded is how many times officers were reminded of it so far;
	// LastReminded the latest (zero when never).
	Reminded     int
	LastReminded time.Time
}

// RetentionPolicy says after how many days each kind of citizen data is
// removed or anonymised; 0 keeps that kind forever. Only data of cases no
// longer open (and messages in no case) is touched.
type RetentionPolicy struct {
	// MessageDays: inbound message texts are blanked, edits history,
	// classifications and locations removed.
	MessageDays int
	// IdentityDays: the private platform identity (name, handle, user
	// id) of citizens silent that long is deleted.
	IdentityDays int
	// AttachmentDays: attachment references are deleted.
	AttachmentDays int
	// OutboxDays: texts of sent outbox rows are blanked.
	OutboxDays int
}

// RetentionResult counts what a retention run changed.
type RetentionResult struct {
	Messages, Identities, Attachments, Outbox int
}

// DigestPost is where an approved digest's post to one channel in one
// language stands, as the digest's page shows it.
type DigestPost struct {
	Platform Platform
	Chat     ChatID
	Language string
	// State is OutboxPending (queued or being sent), OutboxSent,
	// OutboxFailed or OutboxUnknown (maybe posted: never re-posted).
	State OutboxState
	// SentAt is when the last part was posted (State sent).
	SentAt time.Time
	// Failure is, for a failed post, the kind of the platform's reason
	// (PostFailedChat…); FailureDetail the platform's own words, for a
	// detail only (never shown to the public).
	Failure       string
	FailureDetail string
	// Reposts counts the re-posts asked for so far.
	Reposts int
}

// Why the platform refused a digest post for good (DigestPost.Failure).
const (
	PostFailedChat   = "chat"   // it does not know the chat
	PostFailedRights = "rights" // the bot may not post there
	PostFailedLong   = "long"   // the message is too long
	PostFailedNone   = "none"   // it gave no reason
	PostFailedOther  = "other"  // another reason: only the platform's own words say it
)

// AnswerTime is how long the cases of one topic and urgency waited for
// their first answer over a stretch of the city's own history.
type AnswerTime struct {
	Topic   string
	Urgency Urgency
	// Within is the time within which the asked share of the cases got
	// a first answer; 0 when too many still wait to tell.
	Within time.Duration
	// Cases counts the cases it rests on, Answered those that got a
	// first answer.
	Cases, Answered int
}
