package citybot

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Role is what a staff account may do in the console.
type Role string

// Staff roles.
const (
	// RoleAdmin does everything an officer does, and manages accounts,
	// canned answers and reads the audit log.
	RoleAdmin Role = "admin"
	// RoleOfficer triages, answers and updates cases.
	RoleOfficer Role = "officer"
	// RoleOfficial (an elected official) reads cases and approves
	// digests; it changes no case.
	RoleOfficial Role = "official"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleOfficer || r == RoleOfficial }

// reservedAccountNames are names citybot itself writes where an account
// name would appear (audit actors, the "unassigned" filter): an account
// holding one could pass its actions off as the system's.
var reservedAccountNames = []string{"citybot", "system", "cli", "scheduler", "anonymous", "unassigned", "nobody"}

// CheckAccountName returns an error wrapping ErrInvalid when name cannot
// be a staff account's: empty, longer than 64 bytes, a reserved name
// (citybot, system, cli…, whatever the case), or not made of letters,
// digits, ".", "_", "-" and "@" starting with a letter or digit (so no
// spaces, control, bidi or zero-width characters).
func CheckAccountName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w: an account name needs 1 to 64 bytes", ErrInvalid)
	}
	for i, r := range name {
		letter := unicode.IsLetter(r) || unicode.IsDigit(r)
		if i == 0 && !letter {
			return fmt.Errorf("%w: an account name starts with a letter or a digit", ErrInvalid)
		}
		if !letter && !strings.ContainsRune("._-@", r) {
			return fmt.Errorf("%w: an account name has only letters, digits, '.', '_', '-' and '@'", ErrInvalid)
		}
	}
	for _, r := range reservedAccountNames {
		if strings.EqualFold(name, r) {
			return fmt.Errorf("%w: %q is reserved for citybot itself", ErrInvalid, r)
		}
	}
	return nil
}

// AccountID is a staff account's internal id.
type AccountID int64

// Account is a staff member who signs in to the console. PasswordHash is a
// bcrypt hash; it never leaves the server.
type Account struct {
	ID           AccountID
	Name         string
	Role         Role
	PasswordHash string
	// FailedLogins counts the wrong passwords and codes typed for the
	// account since FailedSince (the first of them; FailedLast the
	// latest), until its owner dismisses the notice of them. Nothing
	// locks the account: they are counted for its owner and the admins
	// to see.
	FailedLogins int
	FailedSince  time.Time
	FailedLast   time.Time
	Disabled     bool
	CreatedAt    time.Time
	// LastLoginAt is the account's latest sign-in; zero when never.
	LastLoginAt time.Time
	// TOTPSecret is the account's active one-time password secret
	// (base32); empty when the account has none. TOTPPending is a
	// secret being enrolled, active only after a correct code. Like
	// PasswordHash, neither leaves the server.
	TOTPSecret  string
	TOTPPending string
	// TOTPLastStep is the 30-second step of the last code accepted: a
	// code is accepted once.
	TOTPLastStep int64
	// RecoveryCodesLeft counts the account's unused recovery codes.
	RecoveryCodesLeft int
}

// TOTPEnabled reports whether the account signs in with a one-time code
// after its password.
func (a Account) TOTPEnabled() bool { return a.TOTPSecret != "" }

// RequiresTOTP reports whether accounts of role r must have a one-time
// password: admins and officials must, officers may.
func (r Role) RequiresTOTP() bool { return r == RoleAdmin || r == RoleOfficial }

// InboxQuery selects cases for the officer console. Zero fields do not
// filter. Results come critical-first, then oldest first.
type InboxQuery struct {
	// Statuses to include; empty means every open status.
	Statuses []CaseStatus
	Topic    string
	Urgency  Urgency
	Platform Platform
	Language string
	// Place keeps cases that mention this place (exact name).
	Place string
	// Assignee keeps cases assigned to this account name; "-" keeps
	// unassigned cases.
	Assignee string
	// OpenedBefore and OpenedAfter bound when the case was opened (the
	// age filter); zero means unbounded.
	OpenedBefore time.Time
	OpenedAfter  time.Time
	// Search is a full-text query over the case's messages.
	Search string
	// HideTopics are topics the reader may not see.
	HideTopics []string
	// HideSensitive leaves out sensitive cases (Case.Sensitive), for a
	// reader whose role may not read them: they are neither listed,
	// counted, nor found by Search.
	HideSensitive bool
	// UnansweredFirst orders the cases without a first answer before
	// the answered ones (then critical first, then oldest), as sorting
	// by time left needs.
	UnansweredFirst bool
	Limit           int // at most this many; <= 0 means 50
	Offset          int
}

// InboxItem is one row of the inbox.
type InboxItem struct {
	Case     Case
	Assignee string
	// Excerpt is the start of the case's first message (citizen text:
	// hostile, escape it when shown).
	Excerpt string
	// FirstAnswerAt is the case's first answer (an officer's answer or
	// status change); nil when none yet.
	FirstAnswerAt *time.Time
}

// FacetCount is how many cases have one value of a filter.
type FacetCount struct {
	Value string
	Count int
}

// InboxCounts are the number of cases per value of each filter, among
// the cases the query selects when that filter itself is left out.
type InboxCounts struct {
	Status   []FacetCount
	Urgency  []FacetCount
	Topic    []FacetCount
	Platform []FacetCount
	Language []FacetCount
	Total    int
}

// CaseView is a case as the console shows it.
type CaseView struct {
	Case     Case
	Assignee string
	// Merged are the cases marked duplicates of this one: their citizens
	// follow this case.
	Merged []Case
	// Languages are the preferred languages (may be "") of the citizens
	// of Case and Merged.
	Languages map[CitizenID]string
	// ChatKinds are the kinds of the chats of Case and Merged, by case.
	ChatKinds map[CaseID]ChatKind
}

// Followers returns every case whose citizen hears about v's case: the
// case itself, then the cases merged into it (by an officer, or joined
// by grouping), one per citizen and chat (a citizen whose two reports in
// one chat were merged hears once, under the first). It is the one list
// answers, status changes, holding statements and "Is it fixed?" go to.
func (v CaseView) Followers() []Case {
	out := make([]Case, 0, 1+len(v.Merged))
	type who struct {
		citizen CitizenID
		chat    ChatID
		p       Platform
	}
	seen := make(map[who]bool, 1+len(v.Merged))
	for _, c := range append([]Case{v.Case}, v.Merged...) {
		k := who{c.Citizen, c.Chat, c.Platform}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, c)
	}
	return out
}

// FollowerCount is how many citizens reported v's case: its own and
// those of the cases merged into it, each counted once.
func (v CaseView) FollowerCount() int {
	seen := map[CitizenID]bool{v.Case.Citizen: true}
	for _, c := range v.Merged {
		seen[c.Citizen] = true
	}
	return len(seen)
}

// ConversationEntry is one message of a case's conversation: the
// citizen's (Direction "in"), the bot's or an officer's ("out"), or one
// still in the outbox (State not sent).
type ConversationEntry struct {
	Direction   string // "in" or "out"
	At          time.Time
	Text        string // hostile when Direction is "in": escape it
	Author      string // officer account name for an officer's answer; "" otherwise
	Kind        OutboxKind
	State       OutboxState // for "out": sent, pending, sending or failed
	Edited      bool
	Truncated   bool
	Attachments []Attachment
	Location    *Location
	// Classification is what the classifier understood of an inbound
	// message (topic and urgency with confidence and cues); nil when
	// none.
	Classification *Classification
	// Sensitive marks an inbound message found sensitive at intake.
	Sensitive bool
	// Intent is set for an inbound message that was feedback (thanks)
	// rather than a report.
	Intent Intent
}

// CaseNote is an internal note on a case: staff only, never sent.
type CaseNote struct {
	ID     int64
	Case   CaseID
	Author string
	Text   string
	At     time.Time
}

// CannedAnswer is a prepared answer an officer can start from, per topic
// and language.
type CannedAnswer struct {
	Topic     string
	Language  string
	Text      string
	UpdatedBy string
	UpdatedAt time.Time
}

// LabeledText is one officer correction as training data: the text of the
// case's first citizen message and the label an officer gave the case.
type LabeledText struct {
	Case  CaseID
	Kind  string // "topic" or "urgency"
	Label string
	Text  string // citizen text: hostile, and personal; never published
	SetBy string
	At    time.Time
}

// ModelScore compares the live model with a candidate on one label kind
// (a head), over officers' corrections the candidate did not learn from
// (k-fold cross-validation: each correction is scored by a candidate
// trained without it).
type ModelScore struct {
	Trained  bool        // a new head was trained (enough corrections)
	Adopted  bool        // the candidate uses the new head; otherwise the live head is kept
	Reason   ModelReason // why the head was not trained or not adopted; zero when adopted
	Examples int         // training examples of the final head (shipped data and corrections)
	// HeldOut is n: the corrections of this kind scored, each by a model
	// that did not learn it.
	HeldOut           int
	LiveAccuracy      float64
	CandidateAccuracy float64
	LiveMacroF1       float64
	CandidateMacroF1  float64
	// DiffLow and DiffHigh bound the 95% paired bootstrap interval of the
	// candidate's accuracy minus the live model's on the same corrections.
	DiffLow, DiffHigh float64
	// NeedMore estimates how many more corrections of this kind would be
	// needed before the head could be adopted (0: none, or more
	// corrections alone would not help).
	NeedMore int
}

// UrgencyCheck compares the urgency levels the live and the candidate
// models give the most recent citizen messages that officers did not
// correct (or, when there are too few, messages of the shipped data): a
// candidate whose levels collapse ("every case came out high") is
// refused.
type UrgencyCheck struct {
	Messages     int     // messages classified
	Source       string  // which: "recent" (recent uncorrected messages) or "shipped" (the shipped data's, when too few)
	Changed      float64 // share whose urgency level differs
	LiveCritical float64 // share called critical by the live model
	Critical     float64 // … by the candidate
	LiveTopShare float64 // share of the live model's most frequent level
	TopShare     float64 // share of the candidate's most frequent level
	TopLevel     string  // the candidate's most frequent level
	Passed       bool
	// Reasons say why it failed, one per rule broken; when it passed, a
	// reason says it was not done (too few messages).
	Reasons []ModelReason
}

// ModelReason is a reason the model page shows in the reader's language:
// Key names a text of the [console] catalogs, a plural text taking its
// form from N (which fills {n}); Args fill its other placeholders, numbers
// already written out ("12.5%"), except "level", an urgency level
// (UrgencyCritical…) the reader sees in words. The zero value is no
// reason.
type ModelReason struct {
	Key  string
	N    int
	Args map[string]string
}

// RetrainReport is what a retraining produced: a candidate model, not yet
// serving, how it compares with the live one, and whether it may be
// switched to.
type RetrainReport struct {
	At          time.Time
	By          string // the admin who asked
	Live        string // the live model's name
	Candidate   string // the candidate's name
	Corrections int    // officers' labels available
	Folds       int    // cross-validation folds over the corrections
	Topic       ModelScore
	Urgency     ModelScore
	Check       UrgencyCheck
	// Switchable reports whether Switch would accept the candidate;
	// Refused says why not: RefusedNoBetter (each head's Reason says
	// why) or RefusedUrgency (Check's Reasons say which rule).
	Switchable bool
	Refused    string
}

// Why a candidate model may not be switched to (RetrainReport.Refused).
const (
	RefusedNoBetter = "no_better" // no head was adopted
	RefusedUrgency  = "urgency"   // the urgency check failed
)

// ModelStatus is the classifier model's state as the console shows it.
type ModelStatus struct {
	Live     string // name of the model serving now
	Base     string // name of the shipped (or configured) model
	Previous string // name of the model a rollback to "previous" returns to; "" when none
	// Kept is the file a switched model is written to, so that it
	// survives restarts; "" when switched models are kept in memory only.
	Kept string
	// MinCorrections of a kind before it is retrained; Folds of the
	// cross-validation.
	MinCorrections, Folds int
	Pending               *RetrainReport // the last training's report; nil when none
	// Training is the training running in the background now; nil when
	// none runs in this process.
	Training *TrainingRun
	// Failed is the last background training when it stopped on an
	// error (its details are in the log); nil once another one starts.
	Failed *TrainingRun
}

// TrainingRun is a retraining started in the background: who started it,
// when, and from how many officer corrections.
type TrainingRun struct {
	By          string
	Since       time.Time
	Corrections int
}

// AnswerPreview is exactly what one citizen would receive of an officer's
// answer: the messages as sent (prefix and reference included, split to
// the platform's limit).
type AnswerPreview struct {
	Ref      CaseRef // the citizen's own case (the answered one or one merged into it)
	Platform Platform
	Language string
	// Private: the answer goes to the citizen's private chat (a sensitive
	// case in a shared chat); the shared chat then sees GroupLine.
	Private   bool
	Parts     []string
	GroupLine string
}
