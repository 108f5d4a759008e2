package grouping

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"citybot"
)

// Defaults of Options.
const (
	DefaultWindow         = 24 * time.Hour
	DefaultMaxAge         = 7 * 24 * time.Hour
	DefaultShortlist      = 8
	DefaultTexts          = 5
	DefaultMaxSuggestions = 3
	DefaultSameSpot       = 100 // meters
	DefaultNearSpot       = 400 // meters
)

// DefaultRelated returns the built-in groups of related topics: those the
// same problem is often tagged with (a burst main floods a road, a fallen
// wire is a danger in a dark street). Each call returns fresh slices.
func DefaultRelated() [][]string {
	return [][]string{
		{"water_sanitation", "roads"},
		{"water_sanitation", "waste"},
		{"street_lighting", "public_safety"},
		{"roads", "transport"},
		{"roads", "parks"},
		{"roads", "public_safety"},
		{"housing", "public_safety"},
		{"transport", "street_lighting"},
		{"waste", "public_safety"},
		{"water_sanitation", "transport"},
	}
}

// Options configure a Grouper. The zero value is usable: every field
// has the default its comment gives. The toml tags let a configuration
// section decode into it.
type Options struct {
	// Window: a case is compared while its latest citizen message is at
	// most this old (DefaultWindow, 24 h).
	Window time.Duration `toml:"window"`
	// MaxAge: and while it was opened at most this long ago
	// (DefaultMaxAge, 7 days).
	MaxAge time.Duration `toml:"max_age"`
	// Related are groups of topics that may be the same problem; nil
	// means DefaultRelated. "other" is weakly related to every topic.
	Related [][]string `toml:"related"`
	// Places is the city's gazetteer (the [classifier] places): a name
	// and its aliases are one place.
	Places []Place `toml:"-"`
	// Near are groups of the gazetteer's places close enough that
	// citizens name either for the same spot (a landmark and its street).
	Near [][]string `toml:"near"`
	// SameSpotMeters: two shared locations at most this far apart are
	// the same place (DefaultSameSpot, 100 m, when <= 0); NearSpotMeters:
	// near (DefaultNearSpot, 400 m).
	SameSpotMeters float64 `toml:"same_spot_meters"`
	NearSpotMeters float64 `toml:"near_spot_meters"`
	// Concepts replace DefaultConcepts when not nil.
	Concepts []Concept `toml:"concepts"`
	// SensitiveTopics are the topics the city marks sensitive: a report
	// on one is never grouped, nor is a report the classifier found
	// sensitive.
	SensitiveTopics []string `toml:"-"`
	// Limit bounds each look-up of candidate cases, by topic and by place
	// (citybot.DefaultCandidateLimit, 50, when <= 0).
	Limit int `toml:"limit"`
	// Shortlist is how many of them, the most alike by topic, place and
	// time, have their texts read (DefaultShortlist when <= 0).
	Shortlist int `toml:"shortlist"`
	// Texts is how many citizen messages of each shortlisted case are
	// read (DefaultTexts when <= 0).
	Texts int `toml:"texts"`
	// MaxSuggestions bounds the suggestions of one decision
	// (DefaultMaxSuggestions when <= 0).
	MaxSuggestions int `toml:"max_suggestions"`
}

// Validate reports every problem with o, joined, each wrapping
// citybot.ErrInvalid.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("grouping: options: "+format+": %w", append(a, citybot.ErrInvalid)...))
	}
	if o.Window < 0 {
		bad("window %v is negative", o.Window)
	}
	if o.MaxAge < 0 {
		bad("max_age %v is negative", o.MaxAge)
	}
	if o.SameSpotMeters > 0 && o.NearSpotMeters > 0 && o.NearSpotMeters < o.SameSpotMeters {
		bad("near_spot_meters %v is less than same_spot_meters %v", o.NearSpotMeters, o.SameSpotMeters)
	}
	if o.Window > 0 && o.MaxAge > 0 && o.MaxAge < o.Window {
		bad("max_age %v is shorter than window %v", o.MaxAge, o.Window)
	}
	for i, g := range o.Related {
		if len(g) < 2 {
			bad("related group %d names fewer than two topics", i+1)
		}
	}
	for i, g := range o.Near {
		if len(g) < 2 {
			bad("near group %d names fewer than two places", i+1)
		}
	}
	return errors.Join(errs...)
}

// Source gives the open cases a report is compared with. store.DB
// implements it.
type Source interface {
	// CandidateCases returns the open cases that are not sensitive and
	// match q, most recently active first, without their texts.
	CandidateCases(ctx context.Context, q citybot.CandidateQuery) ([]citybot.CaseCandidate, error)
	// CaseTexts returns, per case, the texts of its first perCase
	// citizen messages, oldest first.
	CaseTexts(ctx context.Context, ids []citybot.CaseID, perCase int) (map[citybot.CaseID][]string, error)
}

// Report is a new citizen message as grouping reads it.
type Report struct {
	Text  string
	At    time.Time
	Class citybot.Classification
	// Location is the point the citizen shared with the report, if any.
	Location *citybot.Location
}

// Outcome is what grouping decided for a report.
type Outcome int

// Outcomes.
const (
	// None: the report opens its own case; nothing looks like it.
	None Outcome = iota
	// Suggest: the report opens its own case, and officers are shown
	// the cases that look like it, to merge with one action.
	Suggest
	// Join: the report is the same problem as a case and joins it as a
	// new follower.
	Join
)

func (o Outcome) String() string {
	switch o {
	case Join:
		return "join"
	case Suggest:
		return "suggest"
	}
	return "none"
}

// Signal is one reason two reports look alike.
type Signal uint16

// Signals.
const (
	SameTopic    Signal = 1 << iota // the same topic
	RelatedTopic                    // related topics, or one is "other"
	SamePlace                       // the same place, named or tagged
	NearPlace                       // places near each other
	SameProblem                     // words naming the same kind of problem, in any language
	SameNumber                      // a number in both (a house, a bus line)
	SimilarText                     // much of the same wording
	Recent                          // the case had a message within the last hour
)

// Has reports whether s holds every signal of t.
func (s Signal) Has(t Signal) bool { return s&t == t }

// signalNames are the stable names of the signals, in bit order: keys for
// the texts officers read ("same place", "même lieu").
var signalNames = [...]string{"same_topic", "related_topic", "same_place", "near_place", "same_problem", "same_number", "similar_text", "recent"}

// Names returns the names of the signals s holds, in a fixed order.
func (s Signal) Names() []string {
	var out []string
	for i, n := range signalNames {
		if s&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Match is a case a report looks like.
type Match struct {
	Case    citybot.CaseID
	Ref     citybot.CaseRef
	Score   float64 // higher is more alike; comparable within one decision
	Signals Signal
}

// Decision is grouping's answer for one report.
type Decision struct {
	Outcome Outcome
	// Join is the case to join when Outcome is Join.
	Join Match
	// Suggestions are the other cases that look like the report, best
	// first, at most Options.MaxSuggestions.
	Suggestions []Match
}

// Suggested returns the decision's suggestions as the store keeps them
// (store.DB.AddCaseSuggestions) for the case the report opened: none
// unless Outcome is Suggest.
func (d Decision) Suggested(opened citybot.CaseID, ref citybot.CaseRef, at time.Time) []citybot.CaseSuggestion {
	if d.Outcome != Suggest {
		return nil
	}
	out := make([]citybot.CaseSuggestion, 0, len(d.Suggestions))
	for _, m := range d.Suggestions {
		if m.Case == opened {
			continue
		}
		out = append(out, citybot.CaseSuggestion{Case: opened, CaseRef: ref, Like: m.Case, LikeRef: m.Ref, Score: m.Score, Signals: uint16(m.Signals), At: at})
	}
	return out
}

// Grouper decides whether new reports are the same problem as recent open
// cases. It is safe for concurrent use.
type Grouper struct {
	opts      Options
	related   map[[2]string]bool
	places    *places
	concepts  *conceptSet
	sensitive map[string]bool
}

// New returns a Grouper. Invalid options give an error wrapping
// citybot.ErrInvalid.
func New(opts Options) (*Grouper, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = max(DefaultMaxAge, opts.Window)
	}
	if opts.Related == nil {
		opts.Related = DefaultRelated()
	}
	if opts.Concepts == nil {
		opts.Concepts = DefaultConcepts()
	}
	if opts.Limit <= 0 {
		opts.Limit = citybot.DefaultCandidateLimit
	}
	if opts.Shortlist <= 0 {
		opts.Shortlist = DefaultShortlist
	}
	if opts.Texts <= 0 {
		opts.Texts = DefaultTexts
	}
	if opts.MaxSuggestions <= 0 {
		opts.MaxSuggestions = DefaultMaxSuggestions
	}
	if opts.SameSpotMeters <= 0 {
		opts.SameSpotMeters = DefaultSameSpot
	}
	if opts.NearSpotMeters <= 0 {
		opts.NearSpotMeters = max(DefaultNearSpot, opts.SameSpotMeters)
	}
	g := &Grouper{opts: opts, related: map[[2]string]bool{}, sensitive: map[string]bool{}}
	for _, grp := range opts.Related {
		for _, a := range grp {
			for _, b := range grp {
				if a != b {
					g.related[[2]string{a, b}] = true
				}
			}
		}
	}
	for _, t := range opts.SensitiveTopics {
		g.sensitive[t] = true
	}
	var err error
	if g.places, err = newPlaces(opts.Places, opts.Near); err != nil {
		return nil, err
	}
	if g.concepts, err = newConceptSet(opts.Concepts); err != nil {
		return nil, err
	}
	return g, nil
}

// Groupable reports whether a report may be grouped at all: a report
// (not feedback) that is not sensitive.
func (g *Grouper) Groupable(r Report) bool {
	return !r.Class.Intent.IsFeedback() && !r.Class.Sensitive && !g.sensitive[r.Class.Topic.Label]
}

// Query is what to ask a Source for a report: the cases on its topic,
// and those at its places (and those near them) or around its location
// whatever their topic.
func (g *Grouper) Query(r Report) citybot.CandidateQuery {
	q := citybot.CandidateQuery{
		Since:       r.At.Add(-g.opts.Window),
		OpenedSince: r.At.Add(-g.opts.MaxAge),
		Limit:       g.opts.Limit,
	}
	written := reportPlaces(r.Class)
	q.Places = g.places.queryNames(written, g.places.refs(written))
	if r.Location != nil && validLocation(*r.Location) {
		loc := *r.Location
		q.Around, q.AroundMeters = &loc, g.opts.NearSpotMeters
	}
	// A case on another topic (related, or "other") can only match at
	// the same or a near place: the look-up by place and location brings
	// those whatever their topic. By topic, only the report's own is
	// needed, which the store reads in index order, without sorting.
	t := topicOf(r.Class)
	q.Topics = []string{t}
	if t != otherTopic && (len(q.Places) > 0 || q.Around != nil) {
		// By place, the topics topicRelation accepts.
		q.PlaceTopics = []string{t, otherTopic}
		for _, grp := range g.opts.Related {
			if slices.Contains(grp, t) {
				for _, u := range grp {
					q.PlaceTopics = appendNew(q.PlaceTopics, u)
				}
			}
		}
		for _, a := range alternatives(r.Class) {
			q.PlaceTopics = appendNew(q.PlaceTopics, a)
		}
		slices.Sort(q.PlaceTopics)
	}
	return q
}

// Group decides for a report: it asks src for the candidate cases, reads
// the texts of the most alike and decides. It returns src's errors,
// wrapped; the Decision is then None.
func (g *Grouper) Group(ctx context.Context, src Source, r Report) (Decision, error) {
	if !g.Groupable(r) {
		return Decision{}, nil
	}
	cands, err := src.CandidateCases(ctx, g.Query(r))
	if err != nil {
		return Decision{}, fmt.Errorf("grouping: candidates: %w", err)
	}
	if len(cands) == 0 {
		return Decision{}, nil
	}
	rf := g.features(r)
	// Shortlist by what needs no text: topic, place, time.
	type pre struct {
		i     int
		score float64
	}
	var short []pre
	for i := range cands {
		c := &cands[i]
		tr, ok := g.topicRelation(rf, c.Topic)
		if !ok || c.Sensitive {
			continue
		}
		pr := g.spots(rf, c.Location, g.places.relate(rf.places, rf.folded, g.places.refs(c.Places), nil))
		s := tr + placeWeight(pr) + recency(r.At, c.LastMessageAt)
		short = append(short, pre{i, s})
	}
	slices.SortStableFunc(short, func(a, b pre) int { return cmp.Compare(b.score, a.score) })
	if len(short) > g.opts.Shortlist {
		short = short[:g.opts.Shortlist]
	}
	if len(short) == 0 {
		return Decision{}, nil
	}
	ids := make([]citybot.CaseID, len(short))
	for k, p := range short {
		ids[k] = cands[p.i].ID
	}
	texts, err := src.CaseTexts(ctx, ids, g.opts.Texts)
	if err != nil {
		return Decision{}, fmt.Errorf("grouping: case texts: %w", err)
	}
	list := make([]citybot.CaseCandidate, len(short))
	for k, p := range short {
		list[k] = cands[p.i]
		list[k].Texts = texts[list[k].ID]
	}
	return g.decide(rf, list), nil
}

// Decide decides for a report given its candidate cases with their texts
// (Group reads them from a Source). It reads r and cands only.
func (g *Grouper) Decide(r Report, cands []citybot.CaseCandidate) Decision {
	if !g.Groupable(r) {
		return Decision{}
	}
	return g.decide(g.features(r), cands)
}

// reportFeatures is what grouping reads of a report, once.
type reportFeatures struct {
	at           time.Time
	topic        string
	alternatives []string
	folded       string
	places       []placeRef
	concepts     uint64
	numbers      []string
	grams        trigrams
	money        bool
	location     *citybot.Location
}

// reportPlaces are the names of a report's places clear of personal data:
// those the store keeps with a case.
func reportPlaces(c citybot.Classification) []string {
	var names []string
	for _, p := range citybot.PlacesClearOfPersonalData(&c) {
		names = append(names, p.Name)
	}
	return names
}

func (g *Grouper) features(r Report) reportFeatures {
	names := reportPlaces(r.Class)
	f := fold(r.Text)
	return reportFeatures{
		at:           r.At,
		topic:        topicOf(r.Class),
		alternatives: alternatives(r.Class),
		folded:       f,
		places:       g.places.refs(names),
		concepts:     g.concepts.find(f),
		numbers:      numbers(f),
		grams:        newTrigrams(f),
		money:        mentionsMoney(f),
		location:     r.Location,
	}
}

const otherTopic = "other"

func topicOf(c citybot.Classification) string {
	if c.Topic.Label == "" {
		return otherTopic
	}
	return c.Topic.Label
}

// alternativeConfidence is how sure the classifier must be of a next
// best topic for grouping to count it as related.
const alternativeConfidence = 0.15

// alternatives are the report's next best topics the classifier was
// fairly sure of.
func alternatives(c citybot.Classification) []string {
	var out []string
	for _, a := range c.Alternatives {
		if a.Confidence >= alternativeConfidence && a.Label != "" && a.Label != otherTopic {
			out = append(out, a.Label)
		}
	}
	return out
}

// topicRelation scores a report's topic against a case's: 1 the same,
// 0.6 related (or the report's next best topic), 0.3 when one is
// "other"; false when they are unrelated.
func (g *Grouper) topicRelation(rf reportFeatures, b string) (float64, bool) {
	a := rf.topic
	switch {
	case a == b:
		return 1, true
	case g.related[[2]string{a, b}] || slices.Contains(rf.alternatives, b):
		return 0.6, true
	case a == otherTopic || b == otherTopic:
		return 0.3, true
	}
	return 0, false
}

// spots lets shared locations raise how places relate: two points within
// SameSpotMeters are the same place, within NearSpotMeters near, whatever
// the names say (a citizen may name the landmark, another the street). A
// far point lowers nothing: one may share where they are, not where the
// problem is.
func (g *Grouper) spots(rf reportFeatures, at *citybot.Location, pr placeRelation) placeRelation {
	if rf.location == nil || at == nil || !validLocation(*rf.location) || !validLocation(*at) {
		return pr
	}
	switch d := distance(*rf.location, *at); {
	case d <= g.opts.SameSpotMeters:
		return placeSame
	case d <= g.opts.NearSpotMeters && pr != placeSame:
		return placeNear
	}
	return pr
}

func validLocation(l citybot.Location) bool {
	return l.Latitude >= -90 && l.Latitude <= 90 && l.Longitude >= -180 && l.Longitude <= 180
}

// distance is the great-circle distance in meters (haversine).
func distance(a, b citybot.Location) float64 {
	const earth = 6_371_000.0
	rad := math.Pi / 180
	dLat, dLon := (b.Latitude-a.Latitude)*rad, (b.Longitude-a.Longitude)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Latitude*rad)*math.Cos(b.Latitude*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earth * math.Asin(math.Sqrt(min(1, h)))
}

func placeWeight(p placeRelation) float64 {
	switch p {
	case placeSame:
		return 2
	case placeNear:
		return 1.2
	case placeUnknown:
		return 0.3
	}
	return 0
}

// recency is 1 for a case active within the hour, less as its last
// message gets older.
func recency(now, last time.Time) float64 {
	h := now.Sub(last).Hours()
	if h <= 1 {
		return 1
	}
	return 1 / (1 + (h-1)/6)
}

// decide scores every candidate and decides.
func (g *Grouper) decide(rf reportFeatures, cands []citybot.CaseCandidate) Decision {
	var joins, suggests []Match
	for i := range cands {
		c := &cands[i]
		if c.Sensitive {
			continue
		}
		m, canJoin, canSuggest := g.score(rf, c)
		switch {
		case canJoin:
			joins = append(joins, m)
		case canSuggest:
			suggests = append(suggests, m)
		}
	}
	byScore := func(a, b Match) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Case, b.Case)
	}
	slices.SortFunc(joins, byScore)
	var d Decision
	if len(joins) > 0 {
		d.Outcome, d.Join = Join, joins[0]
		suggests = append(suggests, joins[1:]...)
	}
	slices.SortFunc(suggests, byScore)
	if len(suggests) > g.opts.MaxSuggestions {
		suggests = suggests[:g.opts.MaxSuggestions]
	}
	d.Suggestions = suggests
	if d.Outcome == None && len(suggests) > 0 {
		d.Outcome = Suggest
	}
	return d
}

// score compares a report with one case.
func (g *Grouper) score(rf reportFeatures, c *citybot.CaseCandidate) (m Match, canJoin, canSuggest bool) {
	m = Match{Case: c.ID, Ref: c.Ref}
	age := rf.at.Sub(c.LastMessageAt)
	if age > g.opts.Window || rf.at.Sub(c.OpenedAt) > g.opts.MaxAge {
		return m, false, false
	}
	tr, ok := g.topicRelation(rf, c.Topic)
	if !ok {
		return m, false, false
	}
	if tr == 1 {
		m.Signals |= SameTopic
	} else {
		m.Signals |= RelatedTopic
	}
	folded := make([]string, len(c.Texts))
	var concepts uint64
	var sim float64
	sharedNumber, caseMoney := false, false
	for k, t := range c.Texts {
		folded[k] = fold(t)
		caseMoney = caseMoney || mentionsMoney(folded[k])
		concepts |= g.concepts.find(folded[k])
		sim = max(sim, cosine(rf.grams, newTrigrams(folded[k])))
		for _, n := range rf.numbers {
			if contains(folded[k], " "+n+" ") {
				sharedNumber = true
			}
		}
	}
	pr := g.spots(rf, c.Location, g.places.relate(rf.places, rf.folded, g.places.refs(c.Places), folded))
	switch pr {
	case placeConflict:
		return m, false, false
	case placeSame:
		m.Signals |= SamePlace
	case placeNear:
		m.Signals |= NearPlace
	}
	common := bits.OnesCount64(rf.concepts & concepts)
	conflict := rf.concepts != 0 && concepts != 0 && g.concepts.related(rf.concepts)&concepts == 0
	if common > 0 {
		m.Signals |= SameProblem
	}
	if sharedNumber {
		m.Signals |= SameNumber
	}
	if sim >= 0.5 {
		m.Signals |= SimilarText
	}
	if age <= time.Hour {
		m.Signals |= Recent
	}
	m.Score = tr + placeWeight(pr) + recency(rf.at, c.LastMessageAt) + 0.5*float64(min(common, 2)) + sim
	if sharedNumber {
		m.Score += 0.2
	}
	if conflict {
		return m, false, false
	}
	// Precision first: a wrong join tells a citizen about someone
	// else's problem. A join needs the same place and a common problem
	// word; a report naming problems the case does not ("fire" where the
	// case said "smoke") joins only on the same topic within the hour; a
	// report about money (a payment asked, a bribe the classifier did
	// not flag) is only ever suggested.
	whole := rf.concepts&^concepts == 0
	canJoin = pr == placeSame && tr >= 0.6 && common > 0 && !rf.money && !caseMoney &&
		(whole || (tr == 1 && age <= time.Hour))
	canSuggest = (pr >= placeNear && (common > 0 || tr >= 0.6 || sharedNumber)) ||
		(pr == placeUnknown && tr == 1 && common > 0 && age <= 3*time.Hour)
	return m, canJoin, canSuggest
}
