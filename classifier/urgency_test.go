package classifier

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// readLines returns the lines of a testdata file that are not empty and
// not comments (#).
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no messages", path)
	}
	return out
}

// TestUrgencyChatter checks that talk about danger (news, sympathy,
// forwarded posts, links, official notices, past events, hypotheticals;
// testdata/urgency_chatter.txt) is rarely called critical, and that
// genuine reports of a present danger (testdata/urgency_emergency.txt)
// nearly always are and rank above the chatter.
func TestUrgencyChatter(t *testing.T) {
	c := newDefault(t)
	chatter := readLines(t, "testdata/urgency_chatter.txt")
	genuine := readLines(t, "testdata/urgency_emergency.txt")
	share := func(texts []string, want bool) (float64, []float64) {
		n := 0
		var scores []float64
		for _, text := range texts {
			r := c.Classify(text, "")
			scores = append(scores, r.UrgencyScore)
			if (r.Urgency == "critical") == want {
				n++
			} else if testing.Verbose() {
				t.Logf("%s: %q: %s %v", map[bool]string{true: "missed", false: "false alarm"}[want], text, r.Urgency, r.UrgencyCues)
			}
		}
		return float64(len(texts)-n) / float64(len(texts)), scores
	}
	falseAlarm, cs := share(chatter, false)
	missed, gs := share(genuine, true)
	t.Logf("chatter called critical: %.1f%% of %d; genuine emergencies called critical: %.1f%% of %d",
		100*falseAlarm, len(chatter), 100*(1-missed), len(genuine))
	if falseAlarm > 0.05 {
		t.Errorf("%.1f%% of chatter called critical, want at most 5%%", 100*falseAlarm)
	}
	if missed > 0.10 {
		t.Errorf("%.1f%% of genuine emergencies not called critical, want at most 10%%", 100*missed)
	}
	// Ranking: the share of (genuine, chatter) pairs in the right order.
	right, pairs := 0, 0
	for _, g := range gs {
		for _, c := range cs {
			pairs++
			if g > c {
				right++
			}
		}
	}
	auc := float64(right) / float64(pairs)
	t.Logf("genuine ranked above chatter: %.3f of pairs", auc)
	if auc < 0.9 {
		t.Errorf("genuine emergencies rank above chatter in %.3f of pairs, want at least 0.9", auc)
	}
}

// urgencySets measures a chatter set and a set of genuine present-danger
// reports: the share of chatter called critical, the share of genuine
// reports called critical, and how often a genuine report outranks a
// chatter message (pairs). It logs every false alarm and miss.
func urgencySets(t *testing.T, c *Classifier, chatterFile, genuineFile string) (fa, rec, auc float64) {
	t.Helper()
	chatter := readLines(t, chatterFile)
	genuine := readLines(t, genuineFile)
	var cs, gs []float64
	falseAlarms, found := 0, 0
	for _, text := range chatter {
		r := c.Classify(text, "")
		cs = append(cs, r.UrgencyScore)
		if r.Urgency == "critical" {
			falseAlarms++
			t.Logf("false alarm: %q %.3f %v", text, r.UrgencyScore, r.UrgencyCues)
		}
	}
	for _, text := range genuine {
		r := c.Classify(text, "")
		gs = append(gs, r.UrgencyScore)
		if r.Urgency == "critical" {
			found++
		} else {
			t.Logf("missed: %q %s %.3f %v", text, r.Urgency, r.UrgencyScore, r.UrgencyCues)
		}
	}
	right, pairs := 0, 0
	for _, g := range gs {
		for _, x := range cs {
			pairs++
			if g > x {
				right++
			}
		}
	}
	fa, rec, auc = float64(falseAlarms)/float64(len(chatter)), float64(found)/float64(len(genuine)), float64(right)/float64(pairs)
	t.Logf("chatter called critical %.1f%% (%d of %d); emergencies called critical %.1f%% (%d of %d); emergency above chatter %.3f of pairs",
		100*fa, falseAlarms, len(chatter), 100*rec, found, len(genuine), auc)
	return fa, rec, auc
}

// TestUrgencyHeldOut measures the first held-out chatter and emergency
// sets (testdata/urgency_heldout_*.txt, issue 9's first round: measured
// once, then a tuning set of the second round like urgency_chatter.txt):
// the share of chatter called critical, of emergencies called critical,
// and how often an emergency outranks a chatter message.
func TestUrgencyHeldOut(t *testing.T) {
	fa, rec, auc := urgencySets(t, newDefault(t), "testdata/urgency_heldout_chatter.txt", "testdata/urgency_heldout_emergency.txt")
	if fa > heldOutMaxFalseAlarm || rec < heldOutMinRecall || auc < heldOutMinPairs {
		t.Errorf("held-out urgency: chatter critical %.3f (at most %.3f), emergencies critical %.3f (at least %.3f), pairs %.3f (at least %.3f)",
			fa, heldOutMaxFalseAlarm, rec, heldOutMinRecall, auc, heldOutMinPairs)
	}
}

// Bounds of TestUrgencyHeldOut: it is a tuning set now, so they guard
// what the second round reached on it, with a margin of one or two
// messages (README).
const (
	heldOutMaxFalseAlarm = 0.05
	heldOutMinRecall     = 0.85
	heldOutMinPairs      = 0.95
)

// TestTalkVeto checks that a marker of talk about danger (a hashtag, a
// joke, a question from no one there, another time, a hypothetical, an
// appeal) keeps a critical cue from making a message critical, and that
// first person or an address with a request or "now" outweighs it.
func TestTalkVeto(t *testing.T) {
	c := newDefault(t)
	tests := []struct {
		text     string
		critical bool
	}{
		{"RT @neighbours: we are trapped on the roof at 12 Mill Lane, send help", true},
		{"Since yesterday the flood water is rising in our house, please help", true},
		{"Depuis hier l'eau monte dans notre maison, aidez-nous", true},
		{"Socorro, hay fuego en nuestra casa ahora", true},
		{"Help! Fire in our kitchen at 12 Oak Street", true},
		{"#stormwatch the fire downtown looks terrible tonight", false},
		{"That fire scene in the series was so good haha", false},
		{"Who do I need to contact about the fire in my backyard last summer?", false},
		{"10 years since the flood destroyed the old town", false},
		{"Il y a vingt ans, l'incendie a détruit la vieille ville", false},
		{"Hace dos años el incendio destruyó el pueblo", false},
		{"Donate now to help the flood victims, every euro counts", false},
		{"What if the dam breaks during the storm? The flood would reach the town", false},
		{"In case of fire, please use the stairs and call 112", false},
	}
	for _, tt := range tests {
		r := c.Classify(tt.text, "")
		if got := r.Urgency == "critical"; got != tt.critical {
			t.Errorf("%q: %s (cues %v), want critical %v", tt.text, r.Urgency, r.UrgencyCues, tt.critical)
		}
	}
	for text, want := range map[string]bool{"#floods in the valley": true, "apt #3 is flooded": false, "no tag here": false, "##": false, "#": false} {
		if got := hasHashtag(text); got != want {
			t.Errorf("hasHashtag(%q) = %v, want %v", text, got, want)
		}
	}
}

// TestUrgencyFresh measures the second round's held-out sets
// (testdata/urgency_fresh_*.txt: 155 chatter lines and 33 present-danger
// reports, EN, FR, es, pt), written and committed before that round's
// tuning and measured once at its end (README). The bounds are what that
// one measurement gave, not targets tuned on it.
func TestUrgencyFresh(t *testing.T) {
	fa, rec, auc := urgencySets(t, newDefault(t), "testdata/urgency_fresh_chatter.txt", "testdata/urgency_fresh_emergency.txt")
	if fa > urgFreshMaxFalseAlarm || rec < urgFreshMinRecall || auc < urgFreshMinPairs {
		t.Errorf("fresh urgency sets: chatter critical %.3f (at most %.3f), emergencies critical %.3f (at least %.3f), pairs %.3f (at least %.3f)",
			fa, urgFreshMaxFalseAlarm, rec, urgFreshMinRecall, auc, urgFreshMinPairs)
	}
}

// Bounds of TestUrgencyFresh: its one measurement (chatter 9 of 155
// critical, emergencies 26 of 33, pairs 0.964), rounded outwards.
const (
	urgFreshMaxFalseAlarm = 0.06
	urgFreshMinRecall     = 0.78
	urgFreshMinPairs      = 0.96
)
