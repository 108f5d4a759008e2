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
		return ship.factorised(sc).p
	}
	trapped, water, chat := est("please help, people are trapped under the collapsed house and injured"), est("we need water and food in our camp"), est("the concert was great last night")
	if !(trapped > water && water > chat) || chat < 0 {
		t.Errorf("factorised estimate: trapped %.3f, water %.3f, chat %.3f", trapped, water, chat)
	}
}

// The factorised estimate orders messages within a level and never
// changes the level; a trusted urgency head averages it with its own.
func TestUrgencyResultFactor(t *testing.T) {
	labels := []string{"critical", "high", "normal", "low"}
	p := []float64{0.1, 0.5, 0.3, 0.1}
	high := []string{"flood (reported)"}
	uLo, _, sLo := urgencyResult(labels, p, 0.4, factor{p: 0.05, trust: 0.4}, nil, high, nil)
	uHi, _, sHi := urgencyResult(labels, p, 0.4, factor{p: 0.6, trust: 0.4}, nil, high, nil)
	uNo, _, sNo := urgencyResult(labels, p, 0.4, factor{p: -1}, nil, high, nil)
	if uLo != citybot.UrgencyHigh || uHi != citybot.UrgencyHigh || uNo != citybot.UrgencyHigh {
		t.Fatalf("levels %s %s %s, want high", uLo, uHi, uNo)
	}
	if !(sHi > sLo) || sHi == sNo {
		t.Errorf("score with P=0.6 %.4f not above P=0.05 %.4f (without the estimate %.4f)", sHi, sLo, sNo)
	}
	// Levels stay apart with the shipped trust: the best high is under
	// the worst critical.
	_, _, sCrit := urgencyResult(labels, p, 0.4, factor{p: 1e-6, trust: 0.4}, []string{"fire"}, nil, nil)
	_, _, sTop := urgencyResult(labels, p, 0.4, factor{p: 1 - 1e-6, trust: 0.4}, nil, high, nil)
	if !(sCrit > sTop) {
		t.Errorf("critical %.4f not above high %.4f", sCrit, sTop)
	}
	// A trusted head over borrowed binary heads: the average of both.
	_, _, sAvg := urgencyResult(labels, p, 1, factor{p: 0.6, trust: 0.4}, nil, high, nil)
	_, _, sOwn := urgencyResult(labels, p, 1, factor{p: -1}, nil, high, nil)
	_, _, sFac := urgencyResult(labels, p, 1, factor{p: 0.6, trust: 1}, nil, high, nil)
	if !(math.Min(sOwn, sFac) < sAvg && sAvg < math.Max(sOwn, sFac)) {
		t.Errorf("trusted head: own %.4f, factor %.4f, average %.4f", sOwn, sFac, sAvg)
	}
}
