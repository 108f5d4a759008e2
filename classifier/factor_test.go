package classifier

import (
	"bytes"
	"math"
	"testing"

	"citybot"
)

// The shipped model carries the two binary heads of the factorised urgency
// estimate; they survive a save and load, and a city's model borrows them
// through WithFallback.
func TestFactorisedHeads(t *testing.T) {
	def, err := DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []LabelKind{KindRequest, KindLifeThreat} {
		if !def.Has(k) || len(def.Labels(k)) != 2 {
			t.Fatalf("default model: %s head %v, labels %v", k, def.Has(k), def.Labels(k))
		}
	}
	var buf bytes.Buffer
	if err := def.Save(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadModel(&buf)
	if err != nil {
		t.Fatal(err)
	}
	city := (&Model{name: "city", urgency: back.urgency}).WithFallback(back)
	if !city.Has(KindRequest) || !city.Has(KindLifeThreat) || city.Name() != "city" {
		t.Fatalf("WithFallback did not borrow the binary heads")
	}
	c, err := NewWithModel(DefaultOptions(), back)
	if err != nil {
		t.Fatal(err)
	}
	ship := newDefault(t)
	if !ship.sameData() {
		t.Errorf("the shipped heads were not trained on the same rows: the combiner would not read the urgency head")
	}
	sc := &scratch{}
	for _, text := range []string{"please help, people are trapped under the collapsed house", "we need water and food", "the meeting is tomorrow"} {
		a, b := ship.Classify(text, ""), c.Classify(text, "")
		if math.Abs(a.UrgencyScore-b.UrgencyScore) > 1e-3 {
			t.Errorf("%q: score %.4f shipped, %.4f after a round trip", text, a.UrgencyScore, b.UrgencyScore)
		}
	}
	// The heads read a life-threatening request as more likely critical
	// than a request for supplies, and that than small talk.
	est := func(text string) float64 {
		toks, _ := tokenize(text, nil)
		sc.feats = featurize(toks, sc.feats)
		sig := scanSignals(ship.cues, text, toks, nil)
		sc.feats = appendSignals(sc.feats, &sig)
		ship.scoreHeads(sc)
		softmax(sc.rlogits)
		softmax(sc.llogits)
		return pOf(ship.model.request.labels, sc.rlogits, "1") * pOf(ship.model.lifeThreat.labels, sc.llogits, "1")
	}
	trapped, water, chat := est("please help, people are trapped under the collapsed house and injured"), est("we need water and food in our camp"), est("the concert was great last night")
	if !(trapped > water && water > chat) || chat < 0 {
		t.Errorf("factorised estimate: trapped %.3f, water %.3f, chat %.3f", trapped, water, chat)
	}
}

// rankLevel cuts levels from the combiner's probability, with the cue
// rules as floors and ceilings, and keeps levels apart on the score: every
// critical message above every high one, and so on, whatever the model
// says within a level.
func TestRankLevel(t *testing.T) {
	k := cuts{critical: 0.5, high: 0.2, low: 0.02}
	none := &signals{words: 5}
	critCue := &signals{words: 6, crit: []string{"gas leak"}}
	newsCue := &signals{words: 6, crit: []string{"fire"}, news: true}
	highCue := &signals{words: 6, high: []string{"power outage"}}
	lowCue := &signals{words: 3, low: []string{"thanks"}}
	cases := []struct {
		name     string
		p        float64
		sig      *signals
		toldPast bool
		want     citybot.Urgency
	}{
		{"model sure", 0.9, none, false, citybot.UrgencyCritical},
		{"model at the cut", 0.5, none, false, citybot.UrgencyCritical},
		{"model hesitates", 0.3, none, false, citybot.UrgencyHigh},
		{"model says no", 0.01, none, false, citybot.UrgencyNormal},
		{"critical cue, model says no", 0.001, critCue, false, citybot.UrgencyCritical},
		{"critical cue told in the past", 0.001, critCue, true, citybot.UrgencyHigh},
		{"critical cue in news", 0.001, newsCue, false, citybot.UrgencyNormal},
		{"critical cue in news, model sure", 0.7, newsCue, false, citybot.UrgencyCritical},
		{"high cue", 0.001, highCue, false, citybot.UrgencyHigh},
		{"thanks", 0.1, lowCue, false, citybot.UrgencyLow},
		{"thanks, model sure", 0.6, lowCue, false, citybot.UrgencyCritical},
	}
	lo := map[citybot.Urgency]float64{}
	hi := map[citybot.Urgency]float64{}
	for _, tc := range cases {
		lv := rankLevel(tc.p, tc.sig, tc.toldPast, k)
		if lv.u != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, lv.u, tc.want)
		}
		if lv.score < 0 || lv.score > 1 || lv.conf < 0 || lv.conf > 1 {
			t.Errorf("%s: score %.4f, confidence %.4f", tc.name, lv.score, lv.conf)
		}
		if v, ok := lo[lv.u]; !ok || lv.score < v {
			lo[lv.u] = lv.score
		}
		hi[lv.u] = max(hi[lv.u], lv.score)
	}
	order := []citybot.Urgency{citybot.UrgencyCritical, citybot.UrgencyHigh, citybot.UrgencyNormal, citybot.UrgencyLow}
	for i := 0; i+1 < len(order); i++ {
		if lo[order[i]] <= hi[order[i+1]] {
			t.Errorf("%s scores from %.4f, not above %s up to %.4f", order[i], lo[order[i]], order[i+1], hi[order[i+1]])
		}
	}
	// A trusted head (the city's own) names the level when no cue rule
	// does; the score stays within the level's band.
	own := k
	own.own = citybot.UrgencyHigh
	if lv := rankLevel(0.9, none, false, own); lv.u != citybot.UrgencyHigh || lv.score >= k.critical || lv.score < k.high {
		t.Errorf("trusted head says high, combiner 0.9: %s %.4f", lv.u, lv.score)
	}
	own.own = citybot.UrgencyNormal
	if lv := rankLevel(0.9, critCue, false, own); lv.u != citybot.UrgencyCritical {
		t.Errorf("trusted head says normal, critical cue: %s", lv.u)
	}
	if lv := rankLevel(0.9, none, false, own); lv.u != citybot.UrgencyNormal || lv.score >= k.high || lv.score < k.low {
		t.Errorf("trusted head says normal, combiner 0.9: %s %.4f", lv.u, lv.score)
	}
	// Within a level the model orders: a lifted critical cue the model
	// likes more ranks higher.
	a, b := rankLevel(0.01, critCue, false, k), rankLevel(0.2, critCue, false, k)
	if !(b.score > a.score) {
		t.Errorf("lifted critical: %.5f for p=0.2, %.5f for p=0.01", b.score, a.score)
	}
}
