package classifier

import (
	"slices"
	"testing"

	"citybot"
)

// TestTopicKeywordsByLanguage: a topic's keywords count in the languages
// a message is read in (its own, those not ruled out, English and French),
// not in every language: Portuguese "propina" (a bribe) is a Spanish tip.
func TestTopicKeywordsByLanguage(t *testing.T) {
	opts := DefaultOptions()
	opts.DisableNER = true
	c, err := NewWithModel(opts, &Model{name: "none"}) // keywords alone
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text, lang, topic string
	}{
		// Spanish: "propina" is only in pt.toml's corruption keywords.
		{"Le dejé una buena propina al mesero del restaurante", "es", OtherTopic},
		// Portuguese: the same word is a bribe.
		{"O fiscal da prefeitura pediu propina para liberar a obra", "pt", "corruption"},
		// English and French keywords apply to a message in any language.
		{"Hay un pothole enorme en la calle principal", "es", "roads"},
	}
	for _, tc := range cases {
		t.Run(tc.text, func(t *testing.T) {
			r := c.Classify(tc.text, "")
			t.Logf("%s → %s %.2f %v (language %s)", tc.text, r.Topic.Label, r.Topic.Confidence, r.Alternatives, r.Language)
			if r.Language != tc.lang {
				t.Fatalf("language %q, want %q", r.Language, tc.lang)
			}
			if r.Topic.Label != tc.topic {
				t.Errorf("topic %q, want %q", r.Topic.Label, tc.topic)
			}
			if tc.topic == OtherTopic && slices.ContainsFunc(r.Alternatives, func(s citybot.Scored) bool { return s.Label == "corruption" }) {
				t.Errorf("corruption among the alternatives: %v", r.Alternatives)
			}
		})
	}
}
