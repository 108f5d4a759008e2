package grouping

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"citybot"
)

var t0 = time.Date(2026, 10, 5, 7, 0, 0, 0, time.UTC)

func testGrouper(t *testing.T) *Grouper {
	t.Helper()
	g, err := New(Options{
		Places:          []Place{{Name: "Rue de la République", Aliases: []string{"Republique"}}, {Name: "Kingsway"}, {Name: "Market Hall", Aliases: []string{"Halles"}}},
		Near:            [][]string{{"Market Hall", "Rue de la République"}},
		SensitiveTopics: []string{"corruption"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func report(text, topic string, at time.Time, places ...string) Report {
	r := Report{Text: text, At: at, Class: citybot.Classification{Topic: citybot.Scored{Label: topic, Confidence: 0.8}}}
	for _, p := range places {
		i := strings.Index(text, p)
		if i < 0 {
			panic("place not in text: " + p)
		}
		r.Class.Places = append(r.Class.Places, citybot.Place{Name: p, Kind: "street", Span: citybot.Span{Start: i, End: i + len(p)}})
	}
	return r
}

func candidate(id int, topic string, last time.Time, places []string, texts ...string) citybot.CaseCandidate {
	return citybot.CaseCandidate{ID: citybot.CaseID(id), Ref: citybot.CaseRef("R" + string(rune('A'+id))), Topic: topic, Places: places,
		OpenedAt: last.Add(-time.Hour), LastMessageAt: last, Texts: texts}
}

func TestDecide(t *testing.T) {
	g := testGrouper(t)
	leak := candidate(1, "water_sanitation", t0, []string{"Rue de la République"}, "Burst water pipe on Rue de la République, water everywhere")
	tests := []struct {
		name  string
		r     Report
		cands []citybot.CaseCandidate
		want  Outcome
	}{
		{"same leak in French joins", report("Grosse fuite d'eau rue de la République", "water_sanitation", t0.Add(10*time.Minute), "rue de la République"), []citybot.CaseCandidate{leak}, Join},
		{"alias of the same street joins", report("water leak near Republique", "water_sanitation", t0.Add(10*time.Minute), "Republique"), []citybot.CaseCandidate{leak}, Join},
		{"near place is only suggested", report("Water leak in front of the Halles", "water_sanitation", t0.Add(10*time.Minute), "Halles"), []citybot.CaseCandidate{leak}, Suggest},
		{"other place is nothing", report("Burst water pipe on Kingsway", "water_sanitation", t0.Add(10*time.Minute), "Kingsway"), []citybot.CaseCandidate{leak}, None},
		{"other problem at the same place is nothing", report("Loud music from the bar on Rue de la République", "noise", t0.Add(10*time.Minute), "Rue de la République"), []citybot.CaseCandidate{leak}, None},
		{"same topic, unrelated problem words, same place is nothing", report("Rats in the bins of Rue de la République", "water_sanitation", t0.Add(10*time.Minute), "Rue de la République"), []citybot.CaseCandidate{leak}, None},
		{"no place, same problem, within hours is suggested", report("the water main burst, water everywhere", "water_sanitation", t0.Add(time.Hour)), []citybot.CaseCandidate{leak}, Suggest},
		{"no place, same problem, next day is nothing", report("the water main burst, water everywhere", "water_sanitation", t0.Add(20*time.Hour)), []citybot.CaseCandidate{leak}, None},
		{"a case quiet for longer than the window is nothing", report("Burst water pipe on Rue de la République", "water_sanitation", t0.Add(25*time.Hour), "Rue de la République"), []citybot.CaseCandidate{leak}, None},
		{"money asked is only suggested", report("The plumber on Rue de la République asks 50 euros to fix the leak", "water_sanitation", t0.Add(10*time.Minute), "Rue de la République"), []citybot.CaseCandidate{leak}, Suggest},
		{"a sensitive case is never matched", report("Burst water pipe on Rue de la République", "water_sanitation", t0.Add(10*time.Minute), "Rue de la République"),
			[]citybot.CaseCandidate{func() citybot.CaseCandidate { c := leak; c.Sensitive = true; return c }()}, None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := g.Decide(tt.r, tt.cands)
			if d.Outcome != tt.want {
				t.Fatalf("outcome %v, want %v (%+v)", d.Outcome, tt.want, d)
			}
			switch d.Outcome {
			case Join:
				if d.Join.Case != 1 || !d.Join.Signals.Has(SamePlace|SameProblem) {
					t.Errorf("join %+v, want case 1 with same place and problem", d.Join)
				}
			case Suggest:
				if len(d.Suggestions) != 1 || d.Suggestions[0].Case != 1 {
					t.Errorf("suggestions %+v, want case 1", d.Suggestions)
				}
			case None:
				if len(d.Suggestions) != 0 {
					t.Errorf("suggestions %+v with outcome none", d.Suggestions)
				}
			}
		})
	}
}

// failingSource fails the test when grouping reads it.
type failingSource struct{ t *testing.T }

func (s failingSource) CandidateCases(context.Context, citybot.CandidateQuery) ([]citybot.CaseCandidate, error) {
	s.t.Error("candidates asked for a report that cannot be grouped")
	return nil, nil
}

func (s failingSource) CaseTexts(context.Context, []citybot.CaseID, int) (map[citybot.CaseID][]string, error) {
	s.t.Error("texts asked for a report that cannot be grouped")
	return nil, nil
}

func TestNeverGroupedAcrossSensitiveOrFeedback(t *testing.T) {
	g := testGrouper(t)
	leak := candidate(1, "water_sanitation", t0, []string{"Rue de la République"}, "Burst water pipe on Rue de la République")
	base := report("Burst water pipe on Rue de la République", "water_sanitation", t0.Add(time.Minute), "Rue de la République")
	if d := g.Decide(base, []citybot.CaseCandidate{leak}); d.Outcome != Join {
		t.Fatalf("the plain report does not join (%v): the cases below prove nothing", d.Outcome)
	}
	flagged := base
	flagged.Class.Sensitive = true
	topic := base
	topic.Class.Topic.Label = "corruption"
	thanks := base
	thanks.Class.Intent = citybot.IntentThanks
	for name, r := range map[string]Report{"classifier's flag": flagged, "sensitive topic": topic, "feedback": thanks} {
		t.Run(name, func(t *testing.T) {
			if g.Groupable(r) {
				t.Error("groupable")
			}
			if d := g.Decide(r, []citybot.CaseCandidate{leak}); d.Outcome != None || len(d.Suggestions) > 0 {
				t.Errorf("decision %+v, want none", d)
			}
			d, err := g.Group(context.Background(), failingSource{t}, r)
			if err != nil || d.Outcome != None {
				t.Errorf("Group = %+v, %v; want none, nil", d, err)
			}
		})
	}
}

type errSource struct{ err error }

func (s errSource) CandidateCases(context.Context, citybot.CandidateQuery) ([]citybot.CaseCandidate, error) {
	return nil, s.err
}

func (s errSource) CaseTexts(context.Context, []citybot.CaseID, int) (map[citybot.CaseID][]string, error) {
	return nil, s.err
}

func TestGroupReturnsSourceErrors(t *testing.T) {
	g := testGrouper(t)
	boom := errors.New("disk on fire")
	_, err := g.Group(context.Background(), errSource{boom}, report("Burst pipe on Kingsway", "water_sanitation", t0, "Kingsway"))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
}

func TestQuery(t *testing.T) {
	g := testGrouper(t)
	r := report("Burst pipe on Rue de la République", "water_sanitation", t0, "Rue de la République")
	q := g.Query(r)
	if !q.Since.Equal(t0.Add(-DefaultWindow)) || !q.OpenedSince.Equal(t0.Add(-DefaultMaxAge)) || q.Limit != citybot.DefaultCandidateLimit {
		t.Errorf("query %+v", q)
	}
	if !slices.Equal(q.Topics, []string{"water_sanitation"}) {
		t.Errorf("topics %v", q.Topics)
	}
	// The place as written, every name of its gazetteer entry, and those
	// of the places near it.
	for _, want := range []string{"Rue de la République", "Republique", "Market Hall", "Halles"} {
		if !slices.Contains(q.Places, want) {
			t.Errorf("places %v lack %s", q.Places, want)
		}
	}
	if slices.Contains(q.Places, "Kingsway") || q.Around != nil {
		t.Errorf("query %+v asks for an unrelated place", q)
	}
	for _, want := range []string{"water_sanitation", "other", "roads", "waste"} {
		if !slices.Contains(q.PlaceTopics, want) {
			t.Errorf("topics by place %v lack %s", q.PlaceTopics, want)
		}
	}
	if slices.Contains(q.PlaceTopics, "noise") {
		t.Errorf("topics by place %v hold an unrelated one", q.PlaceTopics)
	}
	if q := g.Query(report("something", "", t0)); !slices.Equal(q.Topics, []string{"other"}) || len(q.Places) != 0 {
		t.Errorf("a report on no topic and no place asks %+v", q)
	}
}

func TestOptionsValidate(t *testing.T) {
	bad := []Options{
		{Window: -time.Hour},
		{Window: 48 * time.Hour, MaxAge: time.Hour},
		{Related: [][]string{{"roads"}}},
		{Near: [][]string{{"Kingsway"}}},
		{Concepts: []Concept{{Name: "x"}}},
		{Concepts: []Concept{{Name: "x", Cues: []string{"a"}}, {Name: "x", Cues: []string{"b"}}}},
		{Places: []Place{{Name: " "}}},
	}
	for i, o := range bad {
		if _, err := New(o); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("options %d: err = %v, want ErrInvalid", i, err)
		}
	}
	if _, err := New(Options{}); err != nil {
		t.Errorf("zero options: %v", err)
	}
}

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Rue de la RÉPUBLIQUE, n°18!": " rue de la republique n 18 ",
		"":                            " ",
		"l'Hôpital":                   " l hopital ",
		"bad \xff byte":               " bad byte ",
		"Straße":                      " strasse ",
	} {
		if got := fold(in); got != want && !(in == "" && got == "") {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
	huge := strings.Repeat("é", 10<<10)
	if got := fold(huge); len(got) > 2*maxTextBytes {
		t.Errorf("fold of a huge text is %d bytes", len(got))
	}
}

func TestPlaceKeys(t *testing.T) {
	p, err := newPlaces([]Place{{Name: "Kingsway"}, {Name: "Oak Street"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := p.key("Rue Victor Hugo"), p.key("victor hugo street"); a != b {
		t.Errorf("keys %q and %q differ", a, b)
	}
	refs := p.refs([]string{"Kingsway and Oak Street"})
	if len(refs) != 2 || refs[0].key != "kingsway" || refs[1].key != "oak" {
		t.Errorf("refs of two streets = %+v", refs)
	}
}

// TestConceptIndex holds that the indexed look-up finds what a plain
// search of every cue finds, on every text of the labelled sets.
func TestConceptIndex(t *testing.T) {
	cs, err := newConceptSet(DefaultConcepts())
	if err != nil {
		t.Fatal(err)
	}
	extra, err := newConceptSet([]Concept{{Name: "short", Cues: []string{"eau", "ok ", "x"}}, {Name: "phrase", Cues: []string{"nid de poule"}}})
	if err != nil {
		t.Fatal(err)
	}
	naive := func(s *conceptSet, folded string) uint64 {
		var bits uint64
		for i, cues := range s.cues {
			for _, c := range cues {
				if strings.Contains(folded, c) {
					bits |= 1 << i
				}
			}
		}
		return bits
	}
	texts := []string{"x marks the spot, ok?", "Un nid de poule, de l'eau partout", "okay", "eaux usées"}
	for _, l := range append(readSet(t, "testdata/tune.tsv"), readSet(t, "testdata/heldout.tsv")...) {
		texts = append(texts, l.text)
	}
	found := 0
	for _, text := range texts {
		f := fold(text)
		for _, s := range []*conceptSet{cs, extra} {
			if got, want := s.find(f), naive(s, f); got != want {
				t.Errorf("find(%q) = %b, want %b", f, got, want)
			}
		}
		if cs.find(f) != 0 {
			found++
		}
	}
	if found < len(texts)/2 {
		t.Errorf("concepts found in %d of %d texts", found, len(texts))
	}
}

// FuzzDecide: any text, places and case texts give a decision, never a
// panic, and never a join without the same place.
func FuzzDecide(f *testing.F) {
	g, err := New(Options{Places: []Place{{Name: "Rue de la République"}, {Name: "Kingsway"}}, Near: [][]string{{"Kingsway", "Rue de la République"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Burst pipe on Kingsway", "Kingsway", "Water leak Kingsway", "Kingsway")
	f.Add("\xff\xfe", "", "", "")
	f.Add("🔥🔥🔥", "🔥", "<script>alert(1)</script>", "\u202e")
	f.Add(strings.Repeat("fuite d'eau ", 2000), "rue de la République", strings.Repeat("é", 5000), "Rue de la République")
	f.Fuzz(func(t *testing.T, text, place, caseText, casePlace string) {
		r := Report{Text: text, At: t0, Class: citybot.Classification{Topic: citybot.Scored{Label: "roads"}}}
		if i := strings.Index(text, place); place != "" && i >= 0 {
			r.Class.Places = []citybot.Place{{Name: place, Span: citybot.Span{Start: i, End: i + len(place)}}}
		}
		c := candidate(1, "roads", t0, []string{casePlace}, caseText, caseText+" "+text)
		d := g.Decide(r, []citybot.CaseCandidate{c})
		if d.Outcome == Join && !d.Join.Signals.Has(SamePlace) {
			t.Errorf("join without the same place: %+v", d)
		}
		if d.Outcome == Join && len(d.Suggestions) > 0 && d.Suggestions[0].Case == d.Join.Case {
			t.Errorf("the joined case is also suggested: %+v", d)
		}
	})
}

func TestSharedLocations(t *testing.T) {
	g := testGrouper(t)
	here := citybot.Location{Latitude: 48.8566, Longitude: 2.3522}
	at := func(meters float64) *citybot.Location {
		return &citybot.Location{Latitude: here.Latitude + meters/111_320, Longitude: here.Longitude}
	}
	leak := candidate(1, "water_sanitation", t0, nil, "Burst water pipe here, water everywhere")
	leak.Location = &here
	for _, tt := range []struct {
		name   string
		topic  string
		meters float64
		want   Outcome
	}{
		{"same spot joins", "water_sanitation", 40, Join},
		{"near is suggested", "roads", 300, Suggest},
		{"far says nothing", "roads", 5000, None},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := report("Big water leak, the pipe burst", tt.topic, t0.Add(10*time.Minute))
			r.Location = at(tt.meters)
			if d := g.Decide(r, []citybot.CaseCandidate{leak}); d.Outcome != tt.want {
				t.Errorf("outcome %v, want %v (%+v)", d.Outcome, tt.want, d)
			}
			if d := distance(*r.Location, here); d < tt.meters*0.99 || d > tt.meters*1.01 {
				t.Errorf("distance %.1f m, want %.0f", d, tt.meters)
			}
		})
	}
	r := report("Big water leak", "water_sanitation", t0)
	r.Location = &here
	if q := g.Query(r); q.Around == nil || *q.Around != here || q.AroundMeters != DefaultNearSpot {
		t.Errorf("query %+v", q)
	}
	r.Location = &citybot.Location{Latitude: 91}
	if q := g.Query(r); q.Around != nil {
		t.Errorf("an impossible location is asked about: %+v", q)
	}
}

func TestSignalNames(t *testing.T) {
	if got := (SamePlace | SameProblem | Recent).Names(); !slices.Equal(got, []string{"same_place", "same_problem", "recent"}) {
		t.Errorf("names %v", got)
	}
	all := SameTopic | RelatedTopic | SamePlace | NearPlace | SameProblem | SameNumber | SimilarText | Recent
	if n := len(all.Names()); n != 8 {
		t.Errorf("%d names for every signal", n)
	}
	if Signal(0).Names() != nil {
		t.Error("names of no signal")
	}
}
