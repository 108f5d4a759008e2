package grouping

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"citybot"
	"citybot/classifier"
)

// labelled is one report of a labelled set.
type labelled struct {
	id, incident string
	at           time.Time
	platform     citybot.Platform
	lang, topic  string
	text         string
}

// noise reports whether the row is noise: its own incident, not one of
// the set's incidents.
func (l labelled) noise() bool {
	return strings.HasPrefix(l.incident, "n-") || strings.HasPrefix(l.incident, "hn-")
}

func readSet(t testing.TB, path string) []labelled {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 7 {
			t.Fatalf("%s:%d: %d columns, want 7", path, n, len(c))
		}
		at, err := time.Parse(time.RFC3339, c[2])
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		p := citybot.Platform(c[3])
		if !p.Valid() {
			t.Fatalf("%s:%d: platform %q", path, n, c[3])
		}
		out = append(out, labelled{id: c[0], incident: c[1], at: at, platform: p, lang: c[4], topic: c[5], text: c[6]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(out, func(a, b labelled) int { return a.at.Compare(b.at) })
	return out
}

// city is testdata/city.toml.
type city struct {
	Places []classifier.PlaceEntry `toml:"places"`
	Near   []struct {
		Places []string `toml:"places"`
	} `toml:"near"`
}

func readCity(t testing.TB) city {
	t.Helper()
	var c city
	md, err := toml.DecodeFile("testdata/city.toml", &c)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("city.toml: unknown keys %v", u)
	}
	return c
}

func (c city) options() Options {
	o := Options{SensitiveTopics: []string{"corruption"}}
	for _, p := range c.Places {
		o.Places = append(o.Places, Place{Name: p.Name, Aliases: p.Aliases})
	}
	for _, n := range c.Near {
		o.Near = append(o.Near, n.Places)
	}
	return o
}

// cityClassifier is the real classifier with the city's gazetteer, built
// once per test binary.
var cityClassifier = sync.OnceValues(func() (*classifier.Classifier, error) {
	var c city
	if _, err := toml.DecodeFile("testdata/city.toml", &c); err != nil {
		return nil, err
	}
	o := classifier.DefaultOptions()
	o.Places = c.Places
	return classifier.New(o)
})

// memSource holds the simulated cases in memory, as the store would: a
// case keeps the topic and places of the report that opened it, and the
// texts of every report that joined it.
type memSource struct {
	cases []*memCase
}

type memCase struct {
	cand      citybot.CaseCandidate
	texts     []string
	incidents []string // the incident of each report, first the opener's
}

func (m *memSource) CandidateCases(_ context.Context, q citybot.CandidateQuery) ([]citybot.CaseCandidate, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = citybot.DefaultCandidateLimit
	}
	pick := func(keep func(c *memCase) bool) []citybot.CaseCandidate {
		var out []citybot.CaseCandidate
		for _, c := range m.cases {
			if c.cand.Sensitive || c.cand.LastMessageAt.Before(q.Since) || c.cand.OpenedAt.Before(q.OpenedSince) || !keep(c) {
				continue
			}
			out = append(out, c.cand)
		}
		slices.SortStableFunc(out, func(a, b citybot.CaseCandidate) int { return b.LastMessageAt.Compare(a.LastMessageAt) })
		return out[:min(limit, len(out))]
	}
	out := pick(func(c *memCase) bool { return len(q.Topics) == 0 || slices.Contains(q.Topics, c.cand.Topic) })
	if len(q.Places) > 0 {
		for _, c := range pick(func(c *memCase) bool {
			if len(q.PlaceTopics) > 0 && !slices.Contains(q.PlaceTopics, c.cand.Topic) {
				return false
			}
			return slices.ContainsFunc(c.cand.Places, func(p string) bool {
				return slices.ContainsFunc(q.Places, func(n string) bool { return strings.EqualFold(p, n) })
			})
		}) {
			if !slices.ContainsFunc(out, func(o citybot.CaseCandidate) bool { return o.ID == c.ID }) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

func (m *memSource) CaseTexts(_ context.Context, ids []citybot.CaseID, perCase int) (map[citybot.CaseID][]string, error) {
	out := map[citybot.CaseID][]string{}
	for _, id := range ids {
		c := m.cases[id-1]
		out[id] = slices.Clone(c.texts[:min(perCase, len(c.texts))])
	}
	return out, nil
}

// score is what one run over a labelled set measured, by report.
type score struct {
	reports, groupable                   int
	joins, rightJoins                    int
	found                                int // groupable reports joined to or suggested their incident's case
	suggested, rightSuggested            int // reports with suggestions; those whose suggestions hold their incident
	suggestionPairs, rightSuggestionPair int
	wrongJoins                           []string
	missed                               []string
	casesOpened                          map[string]int // by incident
	topicAgrees, placed                  int            // reports the classifier tagged with the labelled topic; with a place
}

func (s score) precision() float64 { return ratio(s.rightJoins, s.joins) }
func (s score) recall() float64    { return ratio(s.found, s.groupable) }
func (s score) joinRecall() float64 {
	return ratio(s.rightJoins, s.groupable)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// run feeds a labelled set through grouping in time order, as intake
// would: a joined report becomes a follower of the case, any other report
// opens a case. An officer accepts no suggestion, so a missed report's
// case stays apart (the harder case for the reports after it).
func run(t testing.TB, g *Grouper, set []labelled) score {
	t.Helper()
	cl, err := cityClassifier()
	if err != nil {
		t.Fatal(err)
	}
	return runWith(t, cl, g, set)
}

func runWith(t testing.TB, cl *classifier.Classifier, g *Grouper, set []labelled) score {
	t.Helper()
	src := &memSource{}
	seen := map[string]bool{}
	s := score{casesOpened: map[string]int{}}
	incidentOf := func(id citybot.CaseID) string { return src.cases[id-1].incidents[0] }
	for _, l := range set {
		s.reports++
		groupable := seen[l.incident]
		seen[l.incident] = true
		if groupable {
			s.groupable++
		}
		r := Report{Text: l.text, At: l.at, Class: cl.Classify(l.text, l.lang)}
		if topicOf(r.Class) == l.topic {
			s.topicAgrees++
		}
		if len(placeNamesOf(r.Class)) > 0 {
			s.placed++
		}
		d, err := g.Group(context.Background(), src, r)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		if d.Outcome == Join {
			s.joins++
			if incidentOf(d.Join.Case) == l.incident {
				s.rightJoins++
				found = true
			} else {
				s.wrongJoins = append(s.wrongJoins, fmt.Sprintf("%s %q joined %s (%s) signals %b", l.id, l.text, d.Join.Ref, incidentOf(d.Join.Case), d.Join.Signals))
			}
		}
		if len(d.Suggestions) > 0 {
			s.suggested++
			right := false
			for _, m := range d.Suggestions {
				s.suggestionPairs++
				if incidentOf(m.Case) == l.incident {
					s.rightSuggestionPair++
					right = true
				}
			}
			if right {
				s.rightSuggested++
				if d.Outcome != Join {
					found = true
				}
			}
		}
		if found {
			s.found++
		} else if groupable {
			s.missed = append(s.missed, fmt.Sprintf("%s %q (%s, topic %s, places %v) → %s", l.id, l.text, l.incident, r.Class.Topic.Label, placeNamesOf(r.Class), d.Outcome))
		}
		if d.Outcome == Join {
			c := src.cases[d.Join.Case-1]
			c.texts = append(c.texts, l.text)
			c.incidents = append(c.incidents, l.incident)
			c.cand.LastMessageAt = l.at
			continue
		}
		s.casesOpened[l.incident]++
		id := citybot.CaseID(len(src.cases) + 1)
		src.cases = append(src.cases, &memCase{
			cand: citybot.CaseCandidate{
				ID: id, Ref: citybot.CaseRef(fmt.Sprintf("C%03d", id)), Topic: topicOf(r.Class), Places: placeNamesOf(r.Class),
				OpenedAt: l.at, LastMessageAt: l.at, Sensitive: r.Class.Sensitive || r.Class.Topic.Label == "corruption",
			},
			texts:     []string{l.text},
			incidents: []string{l.incident},
		})
	}
	return s
}

func placeNamesOf(c citybot.Classification) []string {
	names := []string{}
	for _, p := range citybot.PlacesClearOfPersonalData(&c) {
		names = append(names, p.Name)
	}
	return names
}

func (s score) report(t testing.TB, name string) {
	t.Logf("%s: %d reports, %d groupable (an earlier report of the same incident exists); the classifier gave %d the labelled topic and %d a place", name, s.reports, s.groupable, s.topicAgrees, s.placed)
	t.Logf("%s: automatic joins %d, right %d: precision %.3f; joins alone find %.3f of the groupable", name, s.joins, s.rightJoins, s.precision(), s.joinRecall())
	t.Logf("%s: recall with suggestions %.3f (%d of %d groupable reports joined to or suggested their incident's case)", name, s.recall(), s.found, s.groupable)
	t.Logf("%s: reports with suggestions %d, holding their incident %d; suggested cases %d, right %d (%.3f)", name, s.suggested, s.rightSuggested, s.suggestionPairs, s.rightSuggestionPair, ratio(s.rightSuggestionPair, s.suggestionPairs))
	for _, w := range s.wrongJoins {
		t.Logf("%s: wrong join: %s", name, w)
	}
	if testing.Verbose() {
		for _, m := range s.missed {
			t.Logf("%s: missed: %s", name, m)
		}
	}
}

func newCityGrouper(t testing.TB) *Grouper {
	t.Helper()
	g, err := New(readCity(t).options())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// The floors are what the tuned grouping reached on each set, rounded
// down to two decimals (the held-out set was measured once, after the
// tuning; again when the shipped topic head learnt from the city corpus,
// and once more after the two related pairs that the tuning set's misses
// asked for then); the issue asks precision >= 0.95 for automatic joins
// and recall >= 0.80 with suggestions, by report.
const (
	tunePrecisionFloor     = 0.99 // measured 134/135 = 0.993 (128/128 before the corpus)
	tuneRecallFloor        = 0.98 // measured 150/153 = 0.980 (0.967)
	tuneJoinRecallFloor    = 0.87 // measured 134/153 = 0.876 (0.837)
	heldoutPrecisionFloor  = 0.99 // measured 81/81 = 1.000 (74/74)
	heldoutRecallFloor     = 0.96 // measured 91/94 = 0.968 (92/94 = 0.979)
	heldoutJoinRecallFloor = 0.86 // measured 81/94 = 0.862 (74/94 = 0.787)
)

func TestGroupingTuneSet(t *testing.T) {
	set := readSet(t, "testdata/tune.tsv")
	s := run(t, newCityGrouper(t), set)
	s.report(t, "tune")
	if p := s.precision(); p < tunePrecisionFloor {
		t.Errorf("tune: join precision %.3f < %.2f", p, tunePrecisionFloor)
	}
	if r := s.recall(); r < tuneRecallFloor {
		t.Errorf("tune: recall with suggestions %.3f < %.2f", r, tuneRecallFloor)
	}
	if r := s.joinRecall(); r < tuneJoinRecallFloor {
		t.Errorf("tune: recall of joins alone %.3f < %.2f", r, tuneJoinRecallFloor)
	}
}

func TestGroupingHeldOutSet(t *testing.T) {
	set := readSet(t, "testdata/heldout.tsv")
	s := run(t, newCityGrouper(t), set)
	s.report(t, "held-out")
	if p := s.precision(); p < heldoutPrecisionFloor {
		t.Errorf("held-out: join precision %.3f < %.2f", p, heldoutPrecisionFloor)
	}
	if r := s.recall(); r < heldoutRecallFloor {
		t.Errorf("held-out: recall with suggestions %.3f < %.2f", r, heldoutRecallFloor)
	}
	if r := s.joinRecall(); r < heldoutJoinRecallFloor {
		t.Errorf("held-out: recall of joins alone %.3f < %.2f", r, heldoutJoinRecallFloor)
	}
}

// TestLabelledSets checks the sets' shape: enough reports and incidents,
// both languages and platforms within incidents, held-out incidents not
// in the tuning set.
func TestLabelledSets(t *testing.T) {
	tune, held := readSet(t, "testdata/tune.tsv"), readSet(t, "testdata/heldout.tsv")
	incidents := map[string][]labelled{}
	reports := 0
	for _, l := range append(slices.Clone(tune), held...) {
		if l.noise() {
			continue
		}
		reports++
		incidents[l.incident] = append(incidents[l.incident], l)
	}
	if reports < 300 || len(incidents) < 40 {
		t.Errorf("%d reports in %d incidents, want at least 300 in 40", reports, len(incidents))
	}
	mixed := 0
	for _, ls := range incidents {
		langs, plats := map[string]bool{}, map[citybot.Platform]bool{}
		for _, l := range ls {
			langs[l.lang], plats[l.platform] = true, true
		}
		if langs["en"] && langs["fr"] && len(plats) == 2 {
			mixed++
		}
	}
	if mixed < len(incidents)*9/10 {
		t.Errorf("%d of %d incidents mix English and French on both platforms", mixed, len(incidents))
	}
	tuneInc := map[string]bool{}
	for _, l := range tune {
		tuneInc[l.incident] = true
	}
	for _, l := range held {
		if tuneInc[l.incident] {
			t.Errorf("held-out incident %s is also in the tuning set", l.incident)
		}
	}
	ids := map[string]bool{}
	for _, l := range append(tune, held...) {
		if ids[l.id] {
			t.Errorf("id %s twice", l.id)
		}
		ids[l.id] = true
	}
}

// TestSurgeScene is the acceptance scene at the grouping level:
// 30 citizens report one burst main within 20 minutes, in English and
// French, on both platforms, among unrelated reports (one about a bribe at
// the same street). They must end in one case, or one case and reports
// that suggest it (for an officer to merge), and no other report may join
// it.
func TestSurgeScene(t *testing.T) {
	set := readSet(t, "testdata/surge.tsv")
	s := run(t, newCityGrouper(t), set)
	s.report(t, "surge")
	if len(s.wrongJoins) > 0 {
		t.Errorf("%d wrong joins", len(s.wrongJoins))
	}
	main := 0
	for _, l := range set {
		if l.incident == "s-main" {
			main++
		}
	}
	if s.groupable != main-1 || s.found != s.groupable {
		t.Errorf("%d of the %d later reports of the burst main joined or suggested its case", s.found, main-1)
	}
	t.Logf("surge: the burst main's %d reports opened %d cases; %d joined", main, s.casesOpened["s-main"], s.rightJoins)
	if s.casesOpened["s-main"] > 2 { // measured: 2, the second suggesting the first
		t.Errorf("the burst main's reports opened %d cases", s.casesOpened["s-main"])
	}
}

// TestGroupingWithoutGazetteer measures a city that listed no places: the
// classifier finds street names by their pattern only ("rue …", "…
// Street"), neighbourhoods and landmarks not at all.
func TestGroupingWithoutGazetteer(t *testing.T) {
	cl, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{SensitiveTopics: []string{"corruption"}})
	if err != nil {
		t.Fatal(err)
	}
	// Measured: precision 58/58 and 31/31; recall with suggestions
	// 118/153 = 0.771 and 68/94 = 0.723 — below the 0.80: a city
	// needs its gazetteer for grouping to find most reports.
	for _, tt := range []struct {
		set               string
		precision, recall float64
	}{{"tune", 0.99, 0.77}, {"heldout", 0.99, 0.72}} {
		s := runWith(t, cl, g, readSet(t, "testdata/"+tt.set+".tsv"))
		s.report(t, tt.set+" without gazetteer")
		if s.precision() < tt.precision || s.recall() < tt.recall {
			t.Errorf("%s without gazetteer: precision %.3f (floor %.2f), recall %.3f (floor %.2f)", tt.set, s.precision(), tt.precision, s.recall(), tt.recall)
		}
	}
}
