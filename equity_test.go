package citybot_test

import (
	"testing"
	"time"

	"citybot"
)

// TestEquityOf checks groups, medians, the flag and the suppression of
// small groups against figures worked out by hand.
func TestEquityOf(t *testing.T) {
	h := time.Hour
	// Nord (fr): 1, 1, 2, 2 h and one waiting for 48 h → median 2 h.
	// Sud (en): 10, 10, 10, 12, 12 h → median 10 h.
	// Est (sw): 1, 1 h → fewer than 5: left out.
	// City: 1 1 1 1 2 2 10 10 10 12 12 48 → 6th of 12: 2 h; Sud and en
	// wait 10 h ≥ 2 × 2 h: flagged.
	var (
		waits    []time.Duration
		answered []bool
		places   [][]string
		langs    []string
	)
	add := func(place, lang string, w time.Duration, ok bool) {
		waits, answered, places, langs = append(waits, w), append(answered, ok), append(places, []string{place, place}), append(langs, lang)
	}
	for _, w := range []time.Duration{h, h, 2 * h, 2 * h} {
		add("Nord", "fr", w, true)
	}
	add("Nord", "fr", 48*h, false)
	for _, w := range []time.Duration{10 * h, 10 * h, 10 * h, 12 * h, 12 * h} {
		add("Sud", "en", w, true)
	}
	add("Est", "sw", h, true)
	add("Est", "sw", h, true)
	e := citybot.EquityOf(waits, answered, places, langs)
	if e.Reports != 12 || e.Wait != 2*h || e.SmallPlaces != 1 || e.SmallLanguages != 1 {
		t.Fatalf("equity %+v", e)
	}
	wantPlaces := []citybot.EquityGroup{
		{Name: "Nord", Reports: 5, Answered: 4, Wait: 2 * h},
		{Name: "Sud", Reports: 5, Answered: 5, Wait: 10 * h, Longer: true},
	}
	wantLangs := []citybot.EquityGroup{
		{Name: "en", Reports: 5, Answered: 5, Wait: 10 * h, Longer: true},
		{Name: "fr", Reports: 5, Answered: 4, Wait: 2 * h},
	}
	if len(e.ByPlace) != 2 || e.ByPlace[0] != wantPlaces[0] || e.ByPlace[1] != wantPlaces[1] {
		t.Errorf("by place %+v", e.ByPlace)
	}
	if len(e.ByLanguage) != 2 || e.ByLanguage[0] != wantLangs[0] || e.ByLanguage[1] != wantLangs[1] {
		t.Errorf("by language %+v", e.ByLanguage)
	}
	if f := e.Flagged(); len(f) != 2 || f[0].Name != "Sud" || f[1].Name != "en" {
		t.Errorf("flagged %+v", f)
	}
	if (citybot.Equity{}).Flagged() != nil || !(citybot.Equity{}).Empty() {
		t.Error("empty equity flags a group")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{{nil, 0}, {[]time.Duration{5}, 5}, {[]time.Duration{3, 1, 2}, 2}, {[]time.Duration{4, 1, 3, 2}, 2}} {
		if got := citybot.Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
