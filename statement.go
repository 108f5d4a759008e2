package citybot

import (
	"regexp"
	"slices"
	"time"
)

// SurgeReport is one report (a case opened) counted by the surge
// warning: its topic and places, and the case its citizen follows (Root:
// the case it was merged into, else itself).
type SurgeReport struct {
	Case      CaseID
	Root      CaseID
	RootRef   CaseRef
	Topic     string
	Places    []string
	Sensitive bool
	OpenedAt  time.Time
}

// Surge is a burst of reports on one topic, at one or more places (none:
// anywhere in the city), well above the usual rate for that hour of the
// week. Officers' chats are alerted of it once.
type Surge struct {
	ID    int64
	Topic string
	// Places are the places that surged, as citizens named them (Keys
	// are their normalised forms, "" for the city as a whole).
	Places []string
	Keys   []string
	// Count is how many reports came in the last hour; Usual is the
	// mean for that hour of the week over the past weeks (or the floor).
	Count int
	Usual float64
	// Case is the main case: among the reports' cases, the one the most
	// citizens follow. Ref is its reference.
	Case CaseID
	Ref  CaseRef
	// Roots are the cases the surge's reports' citizens follow (the main
	// case among them); not stored.
	Roots     []CaseID
	Sensitive bool
	At        time.Time
	// QuietUntil: no other alert for these topic and places before it.
	QuietUntil time.Time
}

// SurgeCityWide is the place key of a topic's reports wherever they are.
const SurgeCityWide = ""

// Overlaps reports whether s is the same burst as the earlier surge
// old (of the same topic, still quiet): they share a place key, or one
// of them counts the whole city and old's main case is among the cases
// s's reports follow.
func (s Surge) Overlaps(old Surge) bool {
	if s.Topic != old.Topic {
		return false
	}
	for _, k := range s.Keys {
		if slices.Contains(old.Keys, k) {
			return true
		}
	}
	if slices.Contains(s.Keys, SurgeCityWide) || slices.Contains(old.Keys, SurgeCityWide) {
		return slices.Contains(s.Roots, old.Case)
	}
	return false
}

// StatementTemplate is a holding statement officials approve in advance
// for a topic: "We know about the water cut in {place}. A team is on
// site. Next update by {time}." One text per language, each approved on
// its own; editing a text withdraws its approval.
type StatementTemplate struct {
	ID    int64
	Topic string
	Name  string
	Texts []StatementText
}

// StatementText is a template's text in one language. Version grows on
// every edit; the text is approved when ApprovedVersion equals Version.
type StatementText struct {
	Language        string
	Text            string
	Version         int
	UpdatedBy       string
	UpdatedAt       time.Time
	ApprovedVersion int
	ApprovedBy      string
	ApprovedAt      *time.Time
}

// Approved reports whether the text as it stands was approved.
func (t StatementText) Approved() bool { return t.ApprovedVersion == t.Version && t.ApprovedBy != "" }

// Approved returns the template's approved texts by language.
func (t StatementTemplate) Approved() map[string]StatementText {
	out := map[string]StatementText{}
	for _, x := range t.Texts {
		if x.Approved() {
			out[x.Language] = x
		}
	}
	return out
}

// Text returns the template's text in lang, if it has one.
func (t StatementTemplate) Text(lang string) (StatementText, bool) {
	for _, x := range t.Texts {
		if x.Language == lang {
			return x, true
		}
	}
	return StatementText{}, false
}

// StatementRef is the reference blank: filled with the case's reference,
// never by the officer.
const StatementRef = "ref"

var blankRE = regexp.MustCompile(`\{([a-z][a-z0-9_]{0,31})\}`)

// StatementBlanks returns the blanks ({place}, {time}…) of texts, in the
// order they first appear, without {ref} (filled by citybot).
func StatementBlanks(texts ...string) []string {
	var out []string
	for _, s := range texts {
		for _, m := range blankRE.FindAllStringSubmatch(s, -1) {
			if m[1] != StatementRef && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// FillStatement fills the blanks of text with values (ref included); a
// blank without a value is left as written.
func FillStatement(text string, values map[string]string) string {
	return blankRE.ReplaceAllStringFunc(text, func(m string) string {
		if v, ok := values[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// StatementSend records a holding statement sent on a case: to every
// follower and, when Public, to the city's public channels.
type StatementSend struct {
	ID         int64
	Case       CaseID
	TemplateID int64
	// Versions are the versions of the template's texts used, by
	// language: the store refuses the send when one changed since.
	Versions  map[string]int
	Values    map[string]string
	Public    bool
	Actor     string
	Nonce     string
	Followers int
	Rows      int
	At        time.Time
	// Already is true when this nonce was sent before (nothing queued
	// again).
	Already bool
}

// StatementPreview is what one follower (or, when Public, one public
// channel) would receive of a holding statement: Parts as split for the
// platform; Private and GroupLine as for AnswerPreview.
type StatementPreview struct {
	Ref       CaseRef // the follower's own case; "" for a public channel
	Public    bool
	Platform  Platform
	Language  string
	Private   bool
	Parts     []string
	GroupLine string
}
