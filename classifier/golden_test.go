package classifier

import (
	"encoding/json"
	"os"
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

// TestGoldenRanking checks that every critical golden message scores above
// every message expected to be low or normal.
func TestGoldenRanking(t *testing.T) {
	c := newDefault(t)
	minCrit, maxRest := 1.0, 0.0
	var worstCrit, bestRest string
	for _, tc := range loadGolden(t) {
		s := c.Classify(tc.Text, "").UrgencyScore
		switch tc.Urgency {
		case "critical":
			if s < minCrit {
				minCrit, worstCrit = s, tc.Text
			}
		case "low", "normal":
			if s > maxRest {
				maxRest, bestRest = s, tc.Text
			}
		}
	}
	if minCrit <= maxRest {
		t.Errorf("critical %q scores %.3f, not above %q at %.3f", worstCrit, minCrit, bestRest, maxRest)
	}
}
