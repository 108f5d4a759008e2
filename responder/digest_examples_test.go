package responder_test

import (
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
)

// frenchOrEnglish is a Classifier that finds French by a few words and
// English otherwise, and no personal data.
type frenchOrEnglish struct{}

func (frenchOrEnglish) Classify(text, hint string) citybot.Classification {
	lang := "en"
	for _, w := range []string{"équipe", " le ", " la ", "été"} {
		if strings.Contains(" "+strings.ToLower(text)+" ", w) {
			lang = "fr"
		}
	}
	return citybot.Classification{Topic: citybot.Scored{Label: "other", Confidence: 0.3}, Urgency: citybot.UrgencyNormal, Language: lang}
}

// "You said, we did" quotes only resolved cases and what was done: the
// answer after resolution first, never an answer promising an action to
// come, and a quote in another language is labelled with it.
func TestDigestExamplesQuoteWhatWasDone(t *testing.T) {
	rg := newDgRig(t, func(o *accountability.DigestOptions) { o.Classifier = frenchOrEnglish{}; o.Examples = 5 })
	day := func(d, h int) time.Time { return weekStart.Add(time.Duration(d*24+h) * time.Hour) }
	a := rg.report(day(0, 9), "e1", "a deep pothole on the main road near the school gate")
	b := rg.report(day(0, 10), "e2", "a pothole in front of the bakery, bikes fall into it")
	c := rg.report(day(0, 11), "e3", "another pothole by the bus stop on the market street")
	open := rg.report(day(0, 12), "e4", "a pothole by the church, quite deep after the rain")
	closed := rg.report(day(0, 13), "e5", "a pothole by the station entrance, cars swerve around it")

	rg.answer(day(1, 9), a, "We will send a team on Thursday.")
	rg.status(day(3, 10), a, citybot.StatusResolved)
	rg.answer(day(3, 11), a, "The team filled the hole with fresh asphalt this morning.")
	rg.answer(day(1, 10), b, "Une équipe interviendra jeudi pour reboucher le trou.")
	rg.status(day(3, 12), b, citybot.StatusResolved)
	rg.answer(day(2, 9), c, "Le trou a été rebouché ce matin par l'équipe de voirie.")
	rg.status(day(3, 13), c, citybot.StatusResolved)
	rg.answer(day(2, 10), open, "The hole was filled this morning by the road crew.")
	rg.answer(day(2, 11), closed, "The hole was filled this morning by the road crew.")
	rg.status(day(3, 14), closed, citybot.StatusClosed)

	rg.clock.Set(day(7, 8))
	d, err := rg.dg.Compute(rg.ctx, weekStart, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Examples) != 2 {
		t.Fatalf("examples %+v; want a and c only", d.Examples)
	}
	if got := d.Examples[0]; !strings.Contains(got.Said, "school gate") || got.Did != "The team filled the hole with fresh asphalt this morning." {
		t.Errorf("a: %+v; want the answer after resolution", got)
	}
	if got := d.Examples[1]; !strings.Contains(got.Said, "bus stop") || !strings.Contains(got.Did, "a été rebouché") || got.DidLang != "fr" {
		t.Errorf("c: %+v", got)
	}
	for _, l := range []string{"en", "fr"} {
		for _, never := range []string{"interviendra", "will send", "church", "station"} {
			if strings.Contains(d.Texts[l], never) {
				t.Errorf("%s digest quotes %q:\n%s", l, never, d.Texts[l])
			}
		}
	}
	if !strings.Contains(d.Texts["en"], "par l'équipe de voirie.” (in French)") || strings.Contains(d.Texts["en"], "(in English)") {
		t.Errorf("English digest labels:\n%s", d.Texts["en"])
	}
	if !strings.Contains(d.Texts["fr"], "school gate » (en anglais)") || strings.Contains(d.Texts["fr"], "(en français)") {
		t.Errorf("French digest labels:\n%s", d.Texts["fr"])
	}
}

// A "you said, we did" example of a problem several citizens reported
// says how many, never who.
func TestDigestExampleSaysHowManyReported(t *testing.T) {
	rg := newDgRig(t, func(o *accountability.DigestOptions) { o.Classifier = frenchOrEnglish{}; o.Examples = 5 })
	day := func(d, h int) time.Time { return weekStart.Add(time.Duration(d*24+h) * time.Hour) }
	main := rg.report(day(0, 9), "g1", "the water main burst on the market street, water everywhere")
	for i, u := range []string{"g2", "g3"} {
		f := rg.report(day(0, 10+i), u, "water pouring on the market street")
		if err := rg.db.MergeCases(rg.ctx, f.ID, main.ID, "olga", nil); err != nil {
			t.Fatal(err)
		}
	}
	alone := rg.report(day(0, 12), "g4", "a pothole by the church, quite deep after the rain")
	for _, c := range []citybot.Case{main, alone} {
		rg.status(day(2, 9), c, citybot.StatusResolved)
		rg.answer(day(2, 10), c, "The crew repaired it this morning.")
	}
	rg.clock.Set(day(7, 8))
	d, err := rg.dg.Compute(rg.ctx, weekStart, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Examples) != 2 || d.Examples[0].Reporters != 3 || d.Examples[1].Reporters != 1 {
		t.Fatalf("examples %+v", d.Examples)
	}
	if !strings.Contains(d.Texts["en"], "reported by 3 citizens") || !strings.Contains(d.Texts["fr"], "signalé par 3 habitants") {
		t.Errorf("digests lack the count:\n%s\n%s", d.Texts["en"], d.Texts["fr"])
	}
	if strings.Contains(d.Texts["en"], "reported by 1 citizen") {
		t.Errorf("a problem one citizen reported is counted:\n%s", d.Texts["en"])
	}
}
