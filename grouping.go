package citybot

import "time"

// CandidateQuery asks for the open cases a new report may be the same
// problem as: the recent ones, on related topics, never a sensitive one.
type CandidateQuery struct {
	// Since keeps the cases whose latest citizen message came at or
	// after it.
	Since time.Time
	// OpenedSince keeps the cases opened at or after it; zero means any.
	OpenedSince time.Time
	// Topics keeps the cases on one of these topics; empty means any.
	Topics []string
	// Places adds, whatever their topic and however many Limit leaves
	// out, the cases in the window one of whose places is one of these
	// names (ASCII letters compared without case), at most Limit more.
	Places []string
	// Around, when set, adds in the same way the cases in the window
	// whose location lies within AroundMeters of it (in a box of that
	// half-side).
	Around       *Location
	AroundMeters float64
	// PlaceTopics keeps, of the cases found by place or location, those
	// on one of these topics; empty means any.
	PlaceTopics []string
	// Limit bounds the answer, most recently active cases first; <= 0
	// means DefaultCandidateLimit.
	Limit int
}

// DefaultCandidateLimit is CandidateQuery.Limit when it is not set.
const DefaultCandidateLimit = 50

// CaseCandidate is an open case that is not sensitive, as grouping
// compares a new report with it.
type CaseCandidate struct {
	ID     CaseID
	Ref    CaseRef
	Topic  string
	Places []string // the case's places as stored (Case.Places)
	// Location is the point a citizen of the case shared; nil when none.
	Location      *Location
	OpenedAt      time.Time
	LastMessageAt time.Time
	// Sensitive is never true in a store's answer; it is here so that a
	// caller can say so and grouping can refuse it.
	Sensitive bool
	// Texts are the texts of the case's first citizen messages, oldest
	// first, when asked for (they are fetched for the few cases worth
	// reading).
	Texts []string
}

// CaseSuggestion is grouping's weaker match kept for officers: a case
// (opened by a report) looks like another recent open case, to merge or
// dismiss.
type CaseSuggestion struct {
	Case    CaseID // the case the report opened
	CaseRef CaseRef
	Like    CaseID // the case it looks like
	LikeRef CaseRef
	// Score is grouping's: higher is more alike, comparable among the
	// suggestions of one case.
	Score float64
	// Signals are why they look alike (grouping.Signal bits).
	Signals uint16
	At      time.Time
}

// GroupDecision is grouping's decision for a new report, carried into the
// intake transaction (Intake.Group) so that the decision and the case it
// writes are one transaction.
type GroupDecision struct {
	// Join is the case the report joins as a new follower; 0 for none.
	// The store opens the report's own case (its own reference, for the
	// citizen's /status) and merges it into Join at once (status
	// duplicate), audited as case.group_join by "grouping". A Join that
	// is no longer open, or is or became sensitive, is not joined: the
	// report keeps its own case.
	Join CaseID
	// Suggest are the cases the report looks like, kept for officers
	// when it opens its own case (Like, LikeRef, Score and Signals are
	// read; Case and CaseRef are the case the store opens).
	Suggest []CaseSuggestion
}

// OwnCase is one of a citizen's own cases in a chat, as the store loads
// it for the rule that decides whether a citizen's new message is a
// follow-up to it (grouping.FollowUpCase).
type OwnCase struct {
	ID            CaseID
	Status        CaseStatus
	LastMessageAt time.Time
	// RepliedTo is true when the new message replies to one of the
	// case's messages (the citizen's or the bot's).
	RepliedTo bool
	// Main is, for a case merged into another (a follower), that case
	// and its status; zero otherwise.
	Main       CaseID
	MainStatus CaseStatus
}

// Live reports whether the case still takes its citizen's follow-ups:
// it is open, or it follows a case that is open.
func (c OwnCase) Live() bool {
	if c.Status == StatusDuplicate {
		return c.Main != 0 && c.MainStatus.Open()
	}
	return c.Status.Open()
}
