package classifier

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"citybot"
)

type goldenCase struct {
	Text     string   `json:"text"`
	Hint     string   `json:"hint"`
	Topic    string   `json:"topic"`    // expected topic, when given
	Urgency  string   `json:"urgency"`  // expected urgency, when given
	Language string   `json:"language"` // expected language, when given
	Places   []string `json:"places"`   // place texts that must be found
	Personal []string `json:"personal"` // personal data kinds that must be found
	MaxConf  float64  `json:"maxconf"`  // topic confidence must not exceed it, when given
}

func loadGolden(t *testing.T) []goldenCase {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func newDefault(t testing.TB) *Classifier {
	t.Helper()
	c, err := New(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGolden checks the shipped model on hand-written English and French
// messages covering every default topic and urgency level.
func TestGolden(t *testing.T) {
	c := newDefault(t)
	cases := loadGolden(t)
	topics, urgencies := map[string]bool{}, map[string]bool{}
	for _, tc := range cases {
		topics[tc.Topic] = true
		urgencies[tc.Urgency] = true
		t.Run(prefix(tc.Text, 40), func(t *testing.T) {
			r := c.Classify(tc.Text, tc.Hint)
			if tc.Topic != "" && r.Topic.Label != tc.Topic {
				t.Errorf("topic = %v (alternatives %v), want %s", r.Topic, r.Alternatives, tc.Topic)
			}
			if tc.Urgency != "" && string(r.Urgency) != tc.Urgency {
				t.Errorf("urgency = %s (%.2f, cues %v), want %s", r.Urgency, r.UrgencyConfidence, r.UrgencyCues, tc.Urgency)
			}
			if tc.Language != "" && r.Language != tc.Language {
				t.Errorf("language = %s, want %s", r.Language, tc.Language)
			}
			if tc.MaxConf > 0 && r.Topic.Confidence > tc.MaxConf {
				t.Errorf("topic confidence %.2f > %.2f", r.Topic.Confidence, tc.MaxConf)
			}
			for _, want := range tc.Places {
				if !slices.ContainsFunc(r.Places, func(p citybot.Place) bool { return tc.Text[p.Span.Start:p.Span.End] == want }) {
					t.Errorf("place %q not found in %v", want, r.Places)
				}
			}
			for _, want := range tc.Personal {
				if !slices.ContainsFunc(r.PersonalData, func(p citybot.PersonalSpan) bool { return string(p.Kind) == want }) {
					t.Errorf("no %s span in %v", want, r.PersonalData)
				}
			}
			if r.Urgency == citybot.UrgencyCritical && len(r.UrgencyCues) == 0 {
				t.Errorf("critical without cues")
			}
		})
	}
	for _, name := range DefaultTopicNames() {
		if !topics[name] {
			t.Errorf("golden set has no %s message", name)
		}
	}
	for _, u := range UrgencyLabels() {
		if !urgencies[u] {
			t.Errorf("golden set has no %s message", u)
		}
	}
}

// TestGoldenRanking checks that the golden messages with an expected
// urgency rank by level on the urgency score: every critical message above
// every high one, every high above every normal, every normal above every
// low.
func TestGoldenRanking(t *testing.T) {
	c := newDefault(t)
	lo := map[string]float64{}
	hi := map[string]float64{}
	at := map[string][2]string{}
	for _, tc := range loadGolden(t) {
		if tc.Urgency == "" {
			continue
		}
		s := c.Classify(tc.Text, "").UrgencyScore
		if v, ok := lo[tc.Urgency]; !ok || s < v {
			lo[tc.Urgency] = s
			at[tc.Urgency] = [2]string{tc.Text, at[tc.Urgency][1]}
		}
		if v, ok := hi[tc.Urgency]; !ok || s > v {
			hi[tc.Urgency] = s
			at[tc.Urgency] = [2]string{at[tc.Urgency][0], tc.Text}
		}
	}
	levels := UrgencyLabels()
	for i := 0; i+1 < len(levels); i++ {
		a, b := levels[i], levels[i+1]
		if _, ok := lo[a]; !ok {
			t.Fatalf("golden set has no %s message", a)
		}
		if lo[a] <= hi[b] {
			t.Errorf("%s %q scores %.3f, not above %s %q at %.3f", a, at[a][0], lo[a], b, at[b][1], hi[b])
		}
	}
}

// cityCritical are city-style messages about danger to life now, in
// English and French, written for this test (none is in the golden set or
// the training data).
var cityCritical = []string{
	"Live wire hanging over the sidewalk on Oak Street, it is sparking and kids walk here to school",
	"A power line is down across the road after the storm and it's sparking",
	"Strong smell of gas in the stairwell of our building, we think there is a gas leak",
	"The old building on Pine Avenue collapsed, there may be people under the rubble",
	"Fire in the apartment above the bakery, flames and smoke coming out of the windows",
	"Our basement is flooding fast and my grandmother is trapped inside, she can't walk",
	"Two men are fighting with knives outside the station, one of them is bleeding",
	"Someone was shot on the corner of 5th and Main, please send an ambulance",
	"Un câble électrique est tombé sur la chaussée rue Pasteur, il y a des étincelles",
	"Ça sent le gaz très fort dans la cage d'escalier, on a peur d'une explosion",
	"Le mur de l'école s'est effondré, des enfants sont blessés",
	"Incendie dans l'immeuble au 12 rue Voltaire, il y a beaucoup de fumée",
	"La cave est inondée et une personne âgée est coincée dans la cave",
	"Bagarre violente devant le bar, un homme a été poignardé",
}

// TestCityCriticalOnTop checks that city-style critical messages are
// tagged critical and score above every golden message expected to be
// less urgent, and, when the shared data is present, above 99 % of the
// Newport messages (none of which is an emergency).
func TestCityCriticalOnTop(t *testing.T) {
	c := newDefault(t)
	maxRest, rest := 0.0, ""
	for _, tc := range loadGolden(t) {
		if tc.Urgency == "" || tc.Urgency == "critical" {
			continue
		}
		if s := c.Classify(tc.Text, "").UrgencyScore; s > maxRest {
			maxRest, rest = s, tc.Text
		}
	}
	bar, barName := maxRest, fmt.Sprintf("golden %q", rest)
	if dir, err := FindSharedData("."); err == nil {
		tab, err := ReadTableFile(filepath.Join(dir, "newport_en.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var ss []float64
		for _, text := range tab.Column("text") {
			ss = append(ss, c.Classify(text, "").UrgencyScore)
		}
		slices.Sort(ss)
		if p99 := ss[len(ss)*99/100]; p99 > bar {
			bar, barName = p99, "the 99th percentile of newport_en.csv"
		}
	}
	for _, text := range cityCritical {
		r := c.Classify(text, "")
		if r.Urgency != citybot.UrgencyCritical {
			t.Errorf("%q: %s (cues %v), want critical", text, r.Urgency, r.UrgencyCues)
		}
		if r.UrgencyScore <= bar {
			t.Errorf("%q scores %.3f, not above %s at %.3f", text, r.UrgencyScore, barName, bar)
		}
	}
}
