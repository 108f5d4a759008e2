package classifier

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"citybot"
)

// checkInvariants fails t when r breaks a promise of Classify for text.
func checkInvariants(t testing.TB, text string, r citybot.Classification, maxBytes int) {
	t.Helper()
	in01 := func(name string, v float64) {
		if !(v >= 0 && v <= 1) {
			t.Errorf("%s = %v, not in [0,1]", name, v)
		}
	}
	in01("topic confidence", r.Topic.Confidence)
	in01("urgency confidence", r.UrgencyConfidence)
	in01("urgency score", r.UrgencyScore)
	for _, a := range r.Alternatives {
		in01("alternative "+a.Label, a.Confidence)
		if a.Label == r.Topic.Label {
			t.Errorf("alternative repeats the topic %q", a.Label)
		}
	}
	if r.Topic.Label == "" {
		t.Error("empty topic")
	}
	if r.Urgency.Rank() > 3 {
		t.Errorf("unknown urgency %q", r.Urgency)
	}
	switch r.Language {
	case LangEnglish, LangFrench, "es", "pt", "ar", "sw", LangOther:
	default:
		t.Errorf("language %q", r.Language)
	}
	span := func(what string, sp citybot.Span) {
		if sp.Start < 0 || sp.End > len(text) || sp.Start >= sp.End || sp.End > maxBytes {
			t.Errorf("%s span %v out of bounds (len %d)", what, sp, len(text))
			return
		}
		if !utf8.RuneStart(text[sp.Start]) || sp.End < len(text) && !utf8.RuneStart(text[sp.End]) {
			t.Errorf("%s span %v not on rune boundaries", what, sp)
		}
	}
	for _, p := range r.Places {
		span("place", p.Span)
	}
	for _, p := range r.PersonalData {
		span(string(p.Kind), p.Span)
	}
	if r.Sensitive != (len(r.SensitiveCues) > 0) {
		t.Errorf("sensitive %v with cues %v", r.Sensitive, r.SensitiveCues)
	}
	switch r.Intent {
	case citybot.IntentReport, citybot.IntentThanks, citybot.IntentGreeting, citybot.IntentAck, citybot.IntentBotQuestion:
	default:
		// "" is what the panic fallback of Classify returns.
		t.Errorf("intent %q", r.Intent)
	}
}

func TestBadInput(t *testing.T) {
	c := newDefault(t)
	huge := strings.Repeat("pothole ", 10<<20/8)
	tests := []struct {
		name, text string
		other      bool // must be "other" with low confidence
	}{
		{"empty", "", true},
		{"spaces", " \n\t ", true},
		{"emoji only", "🔥🙂🎉🚧", true},
		{"invalid utf8", "\xff\xfe\xfd\x80\x80", true},
		{"invalid utf8 mixed", "pothole \xff on Main\xc3 Street \xe2\x82 call 401-555-1234", false},
		{"html", "<script>alert('pwned')</script><img src=x onerror=alert(1)>", true},
		{"html text", "<p>The <b>street light</b> is out</p>", false},
		{"mixed scripts", "Привет مرحبا 你好 pothole", false},
		{"cyrillic", "Это сообщение на русском языке о погоде", true},
		{"10 MB", huge, false},
		{"10 MB one word", strings.Repeat("a", 10<<20), false},
		{"nul bytes", "\x00\x00\x00", true},
		{"digits", "1234567890123456789012345", false},
		{"at signs", strings.Repeat("@", 5000) + strings.Repeat(".", 5000), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Classify(tt.text, "fr")
			checkInvariants(t, tt.text, r, DefaultMaxBytes)
			if tt.other && (r.Topic.Label != OtherTopic || r.Topic.Confidence > 0.5) {
				t.Errorf("topic = %v, want other with low confidence", r.Topic)
			}
			if again := c.Classify(tt.text, "fr"); !equalClassification(r, again) {
				t.Errorf("not deterministic: %v then %v", r, again)
			}
		})
	}
}

func equalClassification(a, b citybot.Classification) bool {
	return a.Topic == b.Topic && slices.Equal(a.Alternatives, b.Alternatives) && a.Urgency == b.Urgency &&
		a.UrgencyConfidence == b.UrgencyConfidence && a.UrgencyScore == b.UrgencyScore &&
		slices.Equal(a.UrgencyCues, b.UrgencyCues) && a.Language == b.Language &&
		slices.Equal(a.Places, b.Places) && slices.Equal(a.PersonalData, b.PersonalData) && a.Model == b.Model &&
		a.Sensitive == b.Sensitive && slices.Equal(a.SensitiveCues, b.SensitiveCues) && a.Intent == b.Intent
}

// FuzzClassify checks Classify's invariants on any input: confidences in
// [0,1], spans in bounds and on rune boundaries, the same output twice.
func FuzzClassify(f *testing.F) {
	for _, s := range []string{"", "pothole on Main Street", "Fil électrique tombé rue de la Paix !",
		"gas leak at 12 Elm St, call 401-555-0199", "<b>x</b>", "\xff\xfe", "🔥", "Mr John Smith AB-123-CD a@b.co",
		"Привет 你好 مرحبا", "M. Dupont 06 12 34 56 78", "the inspector wants 300 cash. Only if I pay him!",
		"👍", "merci", "they hired the mayor's nephew"} {
		f.Add(s, "fr")
	}
	opts := DefaultOptions()
	opts.MaxBytes = 4096
	opts.Places = []PlaceEntry{{Name: "Vieux-Port", Kind: "neighbourhood"}, {Name: "Elm Street", Kind: "street"}}
	c, err := New(opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text, hint string) {
		r := c.Classify(text, hint)
		checkInvariants(t, text, r, 4096)
		if again := c.Classify(text, hint); !equalClassification(r, again) {
			t.Errorf("not deterministic: %+v then %+v", r, again)
		}
	})
}

func TestConcurrentClassify(t *testing.T) {
	c := newDefault(t)
	texts := []string{"pothole on Main Street", "Le lampadaire est éteint rue Victor Hugo", "My name is John Carter, gas leak!", "loud music every night"}
	want := make([]citybot.Classification, len(texts))
	for i, s := range texts {
		want[i] = c.Classify(s, "")
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(texts))
	for g := range 8 {
		wg.Go(func() {
			for k := range 50 {
				i := (g + k) % len(texts)
				if got := c.Classify(texts[i], ""); !equalClassification(got, want[i]) {
					errs <- texts[i]
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("concurrent result differs for %q", s)
	}
}

func TestPersonalAndPlaces(t *testing.T) {
	opts := DefaultOptions()
	opts.Places = []PlaceEntry{{Name: "Vieux-Port", Kind: "neighbourhood", Aliases: []string{"Old Port"}}, {Name: "Cliff Walk", Kind: "landmark"}}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text   string
		kind   string // personal kind or place kind
		span   string // the text the span must cover
		places bool
	}{
		{"Write to marie.curie@example.fr please", "email", "marie.curie@example.fr", false},
		{"Call +33 6 12 34 56 78 today", "phone", "+33 6 12 34 56 78", false},
		{"Call (401) 555-0199 today", "phone", "(401) 555-0199", false},
		{"Plate AB-123-CD parked here", "plate", "AB-123-CD", false},
		{"A van ABC 1234 blocks the road", "plate", "ABC 1234", false},
		{"Mr Jones complained again", "person", "Jones", false},
		{"je m'appelle Jeanne Martin et j'habite ici", "person", "Jeanne Martin", false},
		{"I live at 12 Elm Street since May", "address", "12 Elm Street", false},
		{"Trash everywhere in the Old Port tonight", "neighbourhood", "Old Port", true},
		{"Rocks fell on the Cliff Walk", "landmark", "Cliff Walk", true},
		{"Les égouts débordent au Vieux-Port", "neighbourhood", "Vieux-Port", true},
		{"Panne d'éclairage avenue de la République", "street", "avenue de la République", true},
		{"The light is out on Thames Street again", "street", "Thames Street", true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			r := c.Classify(tt.text, "")
			checkInvariants(t, tt.text, r, DefaultMaxBytes)
			found := false
			if tt.places {
				for _, p := range r.Places {
					found = found || p.Kind == tt.kind && tt.text[p.Span.Start:p.Span.End] == tt.span
				}
			} else {
				for _, p := range r.PersonalData {
					found = found || string(p.Kind) == tt.kind && tt.text[p.Span.Start:p.Span.End] == tt.span
				}
			}
			if !found {
				t.Errorf("no %s %q in places %v personal %v", tt.kind, tt.span, r.Places, r.PersonalData)
			}
		})
	}
	// No false positives on ordinary numbers and words.
	for _, s := range []string{"In 2010 the budget was 45 000 dollars", "The bus 12 came at 10:45", "Meeting on 12.03.2024"} {
		if r := c.Classify(s, ""); len(r.PersonalData) > 0 {
			t.Errorf("%q: unexpected personal data %v", s, r.PersonalData)
		}
	}
}

func TestNERFindsNames(t *testing.T) {
	c := newDefault(t)
	text := "The pothole near the bakery was reported by Barack Obama yesterday."
	r := c.Classify(text, "")
	var names []string
	for _, p := range r.PersonalData {
		if p.Kind == citybot.PersonName {
			names = append(names, text[p.Span.Start:p.Span.End])
		}
	}
	if !slices.ContainsFunc(names, func(s string) bool { return strings.Contains(s, "Obama") }) {
		t.Errorf("prose NER found no name in %q: %v", text, r.PersonalData)
	}
}

func TestLanguage(t *testing.T) {
	c := newDefault(t)
	tests := []struct{ text, hint, want string }{
		{"The bins have not been emptied", "", "en"},
		{"Les poubelles n'ont pas été vidées", "", "fr"},
		{"Lampadaire", "fr-FR", "fr"},
		{"Pothole", "en", "en"},
		{"", "fr", "other"},
		{"Это сообщение", "fr", "other"},
		{"Hola, hay un bache enorme en la calle del mercado", "es", "es"},
		{"Die Straße ist kaputt und nicht sicher", "", "other"},
		{"Please fix the light on the street, thanks", "fr", "en"},
	}
	for _, tt := range tests {
		if got := c.Classify(tt.text, tt.hint).Language; got != tt.want {
			t.Errorf("Classify(%q, %q).Language = %s, want %s", tt.text, tt.hint, got, tt.want)
		}
	}
}

// TestConfigSection decodes testdata/config_section.toml strictly (every
// key must map to a field) into Options and builds a Classifier from it.
func TestConfigSection(t *testing.T) {
	var cfg struct {
		Classifier Options `toml:"classifier"`
	}
	// cmd/citybot starts from the defaults and decodes over them; a
	// topics array in the file replaces the default list.
	cfg.Classifier = DefaultOptions()
	md, err := toml.DecodeFile("testdata/config_section.toml", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("keys not decoded into Options: %v", und)
	}
	o := cfg.Classifier
	if len(o.Topics) != len(DefaultTopicNames()) || len(o.Places) != 3 {
		t.Fatalf("decoded %d topics and %d places", len(o.Topics), len(o.Places))
	}
	if got := o.Topics[0].Keywords["fr"]; !slices.Contains(got, "nid de poule") || len(got) != 6 {
		t.Errorf("roads fr keywords = %v, want the six of the file", got)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Classify("Old Port: énorme nid de poule sur la chaussée", "")
	if r.Topic.Label != "roads" || len(r.Places) == 0 || r.Places[0].Name != "Vieux-Port" {
		t.Errorf("classified with the config section: %v %v", r.Topic, r.Places)
	}
	// An unknown key is caught by the same strict check.
	md, err = toml.Decode("[classifier]\nmodel = \"\"\nmodle = \"x\"\n", &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Undecoded()) != 1 {
		t.Errorf("undecoded = %v, want the misspelt key", md.Undecoded())
	}
}

func TestOptionsValidate(t *testing.T) {
	o := DefaultOptions()
	o.MaxBytes = -1
	o.OtherThreshold = 2
	o.Topics = append(o.Topics, Topic{Name: "roads"}, Topic{})
	o.Places = []PlaceEntry{{Name: "X", Kind: "planet"}}
	err := o.Validate()
	if !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("Validate = %v, want ErrInvalid", err)
	}
	for _, want := range []string{"max_bytes", "other_threshold", `"roads" is listed twice`, "no name", "planet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := New(o); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("New accepted invalid options: %v", err)
	}
}

func TestModelFiles(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions()
	o.Model = filepath.Join(dir, "missing.model")
	if _, err := New(o); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing model: %v, want ErrNotExist", err)
	}
	bad := filepath.Join(dir, "bad.model")
	for name, content := range map[string][]byte{
		"garbage":   []byte("hello, not a model"),
		"empty":     nil,
		"truncated": defaultModelBytes[:len(defaultModelBytes)/2],
		"header":    []byte(modelMagic + "not gzip"),
	} {
		if err := os.WriteFile(bad, content, 0o644); err != nil {
			t.Fatal(err)
		}
		o.Model = bad
		_, err := New(o)
		if !errors.Is(err, citybot.ErrInvalid) || !strings.Contains(err.Error(), "not a valid classifier model") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s model: %v, want ErrInvalid naming the file", name, err)
		}
	}
}

func TestTrainInMemoryAndRoundTrip(t *testing.T) {
	ctx := context.Background()
	var exs []Example
	for i := range 30 {
		exs = append(exs,
			Example{Text: "the snow was not cleared on my street " + strings.Repeat("x", i%3), Label: "snow"},
			Example{Text: "graffiti painted on the wall again " + strings.Repeat("y", i%3), Label: "graffiti"})
	}
	m, err := Train(ctx, KindTopic, exs, TrainOptions{Name: "city-v1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Labels(KindTopic), []string{"graffiti", "snow"}) || m.Has(KindUrgency) {
		t.Fatalf("labels %v, urgency head %v", m.Labels(KindTopic), m.Has(KindUrgency))
	}
	def, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	m = m.WithFallback(def)
	c, err := NewWithModel(Options{}, m) // no topics: the model's own labels
	if err != nil {
		t.Fatal(err)
	}
	r := c.Classify("more graffiti on the wall", "")
	if r.Topic.Label != "graffiti" || r.Model != "city-v1" {
		t.Errorf("got %v from %s", r.Topic, r.Model)
	}
	// Save, load, same answers.
	path := filepath.Join(t.TempDir(), "city.model")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	o := Options{Model: path}
	c2, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"more graffiti on the wall", "snow on my street", "gas leak"} {
		a, b := c.Classify(s, ""), c2.Classify(s, "")
		if a.Topic.Label != b.Topic.Label || math.Abs(a.Topic.Confidence-b.Topic.Confidence) > 1e-3 || a.Urgency != b.Urgency {
			t.Errorf("%q: in memory %v/%s, from file %v/%s", s, a.Topic, a.Urgency, b.Topic, b.Urgency)
		}
	}
	// Training is deterministic.
	m1, _ := Train(ctx, KindTopic, exs, TrainOptions{Seed: 7})
	m2, _ := Train(ctx, KindTopic, exs, TrainOptions{Seed: 7})
	var b1, b2 bytes.Buffer
	if err := m1.Save(&b1); err != nil {
		t.Fatal(err)
	}
	if err := m2.Save(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
		t.Error("same data and seed gave different models")
	}
	// Errors.
	if _, err := Train(ctx, KindTopic, exs[:1], TrainOptions{}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("one label: %v", err)
	}
	if _, err := Train(ctx, KindUrgency, exs, TrainOptions{}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("urgency with topic labels: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Train(cctx, KindTopic, exs, TrainOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestEvaluate(t *testing.T) {
	gold := []string{"a", "a", "b", "b", "c"}
	pred := []string{"a", "b", "b", "b", "a"}
	r := Evaluate(gold, pred, []string{"a", "b"})
	if r.N != 5 || math.Abs(r.Accuracy-0.6) > 1e-9 {
		t.Errorf("n %d accuracy %v", r.N, r.Accuracy)
	}
	// a: P=1/2 R=1/2 F=.5; b: P=2/3 R=1 F=.8; c: 0 → macro .4333
	if math.Abs(r.MacroF1-(0.5+0.8+0)/3) > 1e-9 {
		t.Errorf("macro-F1 %v", r.MacroF1)
	}
	if r.Confusion["a"]["b"] != 1 || r.UnknownLabels["c"] != 1 || r.PerClass["b"].Support != 2 {
		t.Errorf("report %+v", r)
	}
}

// TestDeterministicOnData classifies every shared-data message twice, with
// prose's NER on, from two classifiers, and requires identical results.
func TestDeterministicOnData(t *testing.T) {
	if testing.Short() {
		t.Skip("classifies the shared data twice")
	}
	a, b := newDefault(t), newDefault(t)
	n := 0
	for _, name := range []string{"disaster_en.csv", "newport_en.csv"} {
		for _, text := range readShared(t, name).Column("text") {
			ra, rb := a.Classify(text, ""), b.Classify(text, "")
			checkInvariants(t, text, ra, DefaultMaxBytes)
			if !equalClassification(ra, rb) {
				t.Errorf("%q: %+v vs %+v", text, ra, rb)
			}
			n++
		}
	}
	if n < 3000 {
		t.Errorf("only %d messages", n)
	}
}

func TestUrgencyCues(t *testing.T) {
	c := newDefault(t)
	tests := []struct {
		text string
		want citybot.Urgency
		cue  string // a cue that must be reported, when given
	}{
		{"Gas leak in the basement of the school", citybot.UrgencyCritical, "gas leak"},
		{"Fil électrique tombé devant l'école", citybot.UrgencyCritical, "fil électrique tombé"},
		{"Odeur de gaz très forte dans l'immeuble", citybot.UrgencyCritical, "odeur de gaz"},
		{"The old warehouse collapsed onto the sidewalk", citybot.UrgencyCritical, "collapsed"},
		{"Two men fighting with a knife, someone is bleeding", citybot.UrgencyCritical, "bleeding"},
		{"Le feu rouge est en panne au carrefour", citybot.UrgencyHigh, "panne"},
		{"Power outage on the whole street since this morning", citybot.UrgencyHigh, "power outage"},
		{"The car crash was minor and no one was injured", "", ""},
		{"Could you help us fix the pothole on Elm Street?", "", ""},
		{"Il y a un arbre mort dans le parc", "", ""},
		{"The fire hydrant is leaking a little", "", ""},
		{"Thanks for the quick repair!", citybot.UrgencyLow, "thanks"},
		{"Merci pour le nouveau banc", citybot.UrgencyLow, "merci"},
		// a risk or a near miss is a hazard, not a harm happening now
		{"Broken seesaw. Broken fulcrum could lead to injury.", citybot.UrgencyHigh, "injury (risk)"},
		{"Please fix the sidewalk before someone gets hurt", citybot.UrgencyHigh, "hurt (risk)"},
		{"A car ran the red light and almost killed me and my dog", citybot.UrgencyHigh, "killed (risk)"},
		{"La balançoire est cassée, un enfant pourrait être blessé", citybot.UrgencyHigh, "blessé (risk)"},
		{"I've seen dog fights in the park every evening", "", ""},
		{"Someone could be hurt on these broken stairs", citybot.UrgencyHigh, "hurt (risk)"},
		{"The wall could collapse any day now", citybot.UrgencyHigh, "collapse (risk)"},
		// an uncertain present danger stays critical
		{"The roof fell in, there may be people trapped inside", citybot.UrgencyCritical, "people trapped"},
		{"We think there might be a gas leak in the basement", citybot.UrgencyCritical, "gas leak"},
		{"Il pourrait y avoir une fuite de gaz dans la cave", citybot.UrgencyCritical, "fuite de gaz"},
		// but a harm reported now stays critical
		{"A man is injured, he fell from the scaffolding and could not get up", citybot.UrgencyCritical, "injured"},
		{"Two kids were hurt when the wall collapsed", citybot.UrgencyCritical, "collapsed"},
	}
	for _, tt := range tests {
		r := c.Classify(tt.text, "")
		switch {
		case tt.want == "" && r.Urgency == citybot.UrgencyCritical:
			t.Errorf("%q: critical (cues %v), want less", tt.text, r.UrgencyCues)
		case tt.want != "" && r.Urgency != tt.want:
			t.Errorf("%q: %s (cues %v), want %s", tt.text, r.Urgency, r.UrgencyCues, tt.want)
		case tt.cue != "" && !slices.Contains(r.UrgencyCues, tt.cue):
			t.Errorf("%q: cues %v lack %q", tt.text, r.UrgencyCues, tt.cue)
		}
	}
}

// TestUnknownTrust checks TrainOptions.UnknownTrust: a head trusted fully
// against the keywords of the topics it learnt, but weighing its silence
// on a topic it has no data for less, lets that topic's keywords name
// it; the setting survives a model file, and the shipped model has it.
func TestUnknownTrust(t *testing.T) {
	ctx := context.Background()
	var exs []Example
	for i := range 40 {
		exs = append(exs,
			Example{Text: "the office at city hall lost my file " + strings.Repeat("x", i%4), Label: "administration_permits"},
			Example{Text: "the road in front of city hall has holes " + strings.Repeat("y", i%4), Label: "roads"})
	}
	opts := DefaultOptions()
	opts.DisableNER = true
	text := "corruption and embezzlement at the office at city hall"
	topicOf := func(m *Model) string {
		t.Helper()
		c, err := NewWithModel(opts, m)
		if err != nil {
			t.Fatal(err)
		}
		return c.Classify(text, "").Topic.Label
	}
	full, err := Train(ctx, KindTopic, exs, TrainOptions{Topics: opts.Topics})
	if err != nil {
		t.Fatal(err)
	}
	low, err := Train(ctx, KindTopic, exs, TrainOptions{Topics: opts.Topics, UnknownTrust: DefaultUnknownTrust})
	if err != nil {
		t.Fatal(err)
	}
	if got := topicOf(full); got == "corruption" {
		t.Errorf("unknown-topic trust 1: %q named %s, want the head's answer", text, got)
	}
	if got := topicOf(low); got != "corruption" {
		t.Errorf("unknown-topic trust %v: %q named %s, want corruption", DefaultUnknownTrust, text, got)
	}
	path := filepath.Join(t.TempDir(), "m.model")
	if err := low.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	back, err := ReadModelFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.topic.unknown != DefaultUnknownTrust || topicOf(back) != "corruption" {
		t.Errorf("from file: unknown-topic trust %v, topic %s", back.topic.unknown, topicOf(back))
	}
	def, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	if def.topic.trust != DefaultTopicTrust || def.topic.unknown != DefaultUnknownTrust {
		t.Errorf("shipped topic head: trust %v, unknown-topic trust %v", def.topic.trust, def.topic.unknown)
	}
}
