package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"citybot"
)

// pageWeeks plays two weeks with hand-computed figures and approves the
// first week's digest (equity published when publish is set):
//
//	9–15 November: 3 reports first answered after 2, 2 and 3 hours
//	  (median 2 h, 3 of 3 within a day); two promised dates: 11 November,
//	  resolved on the 10th (kept), 12 November, never resolved (missed).
//	16–19 November (so far): 2 reports, one answered after 30 minutes.
func pageWeeks(t *testing.T, rg *pubRig, publish bool) citybot.Digest {
	t.Helper()
	w46 := pubWeek.Add(-7 * 24 * time.Hour)
	type rep struct {
		at, answer time.Duration
		promise    int // day of November, 0 for none
		resolve    time.Duration
	}
	for i, r := range []rep{
		{9 * time.Hour, 2 * time.Hour, 11, 30 * time.Hour},
		{14 * time.Hour, 2 * time.Hour, 12, 0},
		{33 * time.Hour, 3 * time.Hour, 0, 0},
	} {
		c := rg.say(w46.Add(r.at), citybot.Telegram, fmt.Sprint(5100+i), "Citizen", "", "There is a deep pothole on the main road near the school, dangerous for bikes.")
		rg.clock.Set(w46.Add(r.at + r.answer))
		if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "Our road team is on its way.", fmt.Sprint("pa", i)); err != nil {
			t.Fatal(err)
		}
		if r.promise > 0 {
			day := time.Date(2026, 11, r.promise, 0, 0, 0, 0, time.UTC)
			if err := rg.db.SetExpectedBy(rg.ctx, c.ID, &day, "olivia"); err != nil {
				t.Fatal(err)
			}
		}
		if r.resolve > 0 {
			rg.clock.Set(w46.Add(r.resolve))
			if _, err := rg.off.ChangeStatus(rg.ctx, c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, fmt.Sprint("pr", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rg.clock.Set(pubWeek.Add(8 * time.Hour))
	d, err := rg.dg.Draft(rg.ctx, w46, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	if d, err = rg.dg.Decide(rg.ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor", PublishEquity: publish}); err != nil {
		t.Fatal(err)
	}
	c := rg.say(pubWeek.Add(10*time.Hour), citybot.Telegram, "5200", "Citizen", "", "No water in the whole building since this morning.")
	rg.clock.Set(pubWeek.Add(10*time.Hour + 30*time.Minute))
	if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The water service is coming.", "pw"); err != nil {
		t.Fatal(err)
	}
	rg.say(pubWeek.Add(12*time.Hour), citybot.Telegram, "5201", "Citizen", "", "Rubbish bins not collected for two weeks in our street.")
	rg.clock.Set(pubWeek.Add(3*24*time.Hour + 10*time.Hour))
	return d
}

var trendList = regexp.MustCompile(`(?s)<ol class="trend">(.*?)</ol>`)

// TestPublicPageTrendPromisesWords: the public page in the reader's
// language, with the promises kept and due, the last 12 weeks, times in
// words (never "0.0 h"), and the equity figures only once published.
func TestPublicPageTrendPromisesWords(t *testing.T) {
	rg := newPubRig(t, "en", "fr", "ar")
	d := pageWeeks(t, rg, false)

	code, body, _ := rg.get("/public/?lang=en", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /public/: %d", code)
	}
	m := trendList.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no trend on the page")
	}
	weeks := strings.Split(m[1], "<li>")[1:]
	if len(weeks) != 12 {
		t.Fatalf("trend has %d weeks, want 12", len(weeks))
	}
	for i, want := range map[int][]string{
		10: {"9–15 November", "<dd>3</dd>", "3 of 3", "2 h", "1 of 2"},
		11: {"16–19 November", "<dd>2</dd>", "1 of 2", "30 min"},
		0:  {"31 August – 6 September", "<dd>0</dd>"},
	} {
		for _, w := range want {
			if !strings.Contains(weeks[i], w) {
				t.Errorf("trend week %d lacks %q: %s", i, w, weeks[i])
			}
		}
	}
	for _, want := range []string{
		"Promised dates now past: 2. Kept, the problem fixed by that day: 1.", "Missed: 1.",
		"The last 12 weeks", "Usual wait for a first answer", ">9–15 November</a>",
		`alt="Chart. Reports and first answers, 9–15 November. Reports received, by topic:`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if bad := regexp.MustCompile(`\d\.\d h\b|0\.0`).FindString(body); bad != "" {
		t.Errorf("page shows %q", bad)
	}
	if strings.Contains(body, `id="h-equity"`) {
		t.Error("equity figures shown though the official did not publish them")
	}

	_, fr, _ := rg.get("/public/?lang=fr", nil)
	for _, want := range []string{`lang="fr"`, "Les 12 dernières semaines", "du 9 au 15 novembre", "Dates promises déjà passées : 2.", "2 h"} {
		if !strings.Contains(fr, want) {
			t.Errorf("French page lacks %q", want)
		}
	}
	_, ar, _ := rg.get("/public/?lang=ar", nil)
	for _, want := range []string{`lang="ar" dir="rtl"`, "آخر 12 أسبوعًا", "نوفمبر", "المواعيد الموعودة"} {
		if !strings.Contains(ar, want) {
			t.Errorf("Arabic page lacks %q", want)
		}
	}

	// The chart in the reader's language.
	pngs := map[string]string{}
	for _, l := range []string{"en", "ar"} {
		code, png, h := rg.get("/public/digests/"+string(d.Week)+"/chart.png?lang="+l, nil)
		if code != http.StatusOK || h.Get("Content-Type") != "image/png" || !strings.HasPrefix(png, "\x89PNG") {
			t.Fatalf("chart %s: %d %s", l, code, h.Get("Content-Type"))
		}
		pngs[l] = png
	}
	if pngs["en"] == pngs["ar"] {
		t.Error("the Arabic chart is the English one")
	}
}

// TestPublicPageEquityPublished: once the official publishes them, the
// equity figures are on the public pages, in the reader's language.
func TestPublicPageEquityPublished(t *testing.T) {
	rg := newPubRig(t, "en", "fr", "ar")
	w46 := pubWeek.Add(-7 * 24 * time.Hour)
	// rue de la Paix: 5 reports answered after 1 hour; avenue Foch: 5
	// reports answered after 5 hours. City median (nearest rank, 10
	// reports): 1 h; avenue Foch waits 5 h ≥ 2 h: flagged.
	for i := range 10 {
		street, wait := "rue de la Paix", time.Hour
		if i >= 5 {
			street, wait = "avenue Foch", 5*time.Hour
		}
		at := w46.Add(time.Duration(9+i) * time.Hour)
		c := rg.say(at, citybot.Telegram, fmt.Sprint(5300+i), "Citizen", "", "The street light is broken on "+street+" since Monday.")
		rg.clock.Set(at.Add(wait))
		if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The lamp team is coming.", fmt.Sprint("eqa", i)); err != nil {
			t.Fatal(err)
		}
	}
	// One report on a third street, answered after an hour: a group of
	// one, only counted (city median of 11: the 6th, 1 h).
	at := w46.Add(30 * time.Hour)
	c := rg.say(at, citybot.Telegram, "5399", "Citizen", "", "The street light is broken on boulevard Voltaire since Monday.")
	rg.clock.Set(at.Add(time.Hour))
	if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The lamp team is coming.", "eqa-small"); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(pubWeek.Add(8 * time.Hour))
	d, err := rg.dg.Draft(rg.ctx, w46, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	e := d.Figures.Equity
	if e.Wait != time.Hour || len(e.ByPlace) != 2 || e.ByPlace[0].Name != "avenue Foch" || !e.ByPlace[0].Longer || e.ByPlace[1].Longer || e.SmallPlaces != 1 {
		t.Fatalf("equity %+v", e)
	}
	if _, err := rg.dg.Decide(rg.ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor", PublishEquity: true}); err != nil {
		t.Fatal(err)
	}
	_, en, _ := rg.get("/public/?lang=en", nil)
	for _, want := range []string{`id="h-equity"`, "Who waits longer?", "Usual wait in the whole city: 1 h.",
		"Wait at least twice as long as the city: avenue Foch.", `<li class="longer"><strong>avenue Foch</strong>`, "5 of 5", "5 h",
		"Groups with fewer than 5 reports, not shown so that no one can be recognised: 1."} {
		if !strings.Contains(en, want) {
			t.Errorf("public page lacks %q", want)
		}
	}
	if strings.Contains(en, "Voltaire") {
		t.Error("a street of a single report is named")
	}
	_, ar, _ := rg.get("/public/digests/"+string(d.Week)+"?lang=ar", nil)
	for _, want := range []string{"من ينتظر أكثر؟", "avenue Foch", "حسب الحي"} {
		if !strings.Contains(ar, want) {
			t.Errorf("Arabic digest page lacks %q", want)
		}
	}
}

// TestApprovalEquityChoice: the official sees the equity figures on the
// draft, flagged group first in words, and chooses to publish them with
// a box on the decision form; the choice is kept and said after approval.
// Unticked, nothing is published.
func TestApprovalEquityChoice(t *testing.T) {
	for _, publish := range []bool{true, false} {
		t.Run(fmt.Sprint("publish=", publish), func(t *testing.T) {
			rg := newPubRig(t)
			w46 := pubWeek.Add(-7 * 24 * time.Hour)
			for i := range 10 {
				street, wait := "rue de la Paix", time.Hour
				if i >= 5 {
					street, wait = "avenue Foch", 5*time.Hour
				}
				at := w46.Add(time.Duration(9+i) * time.Hour)
				c := rg.say(at, citybot.Telegram, fmt.Sprint(5400+i), "Citizen", "", "The street light is broken on "+street+" since Monday.")
				rg.clock.Set(at.Add(wait))
				if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The lamp team is coming.", fmt.Sprint("apa", i)); err != nil {
					t.Fatal(err)
				}
			}
			rg.clock.Set(pubWeek.Add(8 * time.Hour))
			d, err := rg.dg.Draft(rg.ctx, w46, "scheduler", "")
			if err != nil {
				t.Fatal(err)
			}
			official, csrf := rg.staff("mayor", citybot.RoleOfficial)
			page := fmt.Sprintf("/digests/%d", d.ID)
			_, body, _ := rg.get(page, official)
			for _, want := range []string{"Who waits longer?", "Wait at least twice as long as the city: avenue Foch.", `name="publish_equity"`,
				"Also publish these figures on the public page"} {
				if !strings.Contains(body, want) {
					t.Errorf("draft page lacks %q", want)
				}
			}
			form := url.Values{"csrf": {csrf}, "decision": {"approve"}}
			if publish {
				form.Set("publish_equity", "yes")
			}
			if code, _ := rg.post(page+"/decide", official, form); code != http.StatusSeeOther {
				t.Fatalf("approve: %d", code)
			}
			got, err := rg.db.Digest(rg.ctx, d.ID)
			if err != nil || got.PublishEquity != publish {
				t.Fatalf("stored choice %v, want %v (%v)", got.PublishEquity, publish, err)
			}
			_, body, _ = rg.get(page, official)
			said := map[bool]string{true: "Published on the public page.", false: "Not published: only staff see these figures."}[publish]
			if !strings.Contains(body, said) {
				t.Errorf("approved page does not say %q", said)
			}
			_, pub, _ := rg.get("/public/", nil)
			if strings.Contains(pub, "Who waits longer?") != publish {
				t.Errorf("public page shows equity: %v, published: %v", !publish, publish)
			}
			// Changed after approval (an approval from the officials'
			// chat never publishes them): by an official only, audited.
			officer, fcsrf := rg.staff("olivia", citybot.RoleOfficer)
			if code, _ := rg.post(page+"/equity", officer, url.Values{"csrf": {fcsrf}, "publish": {"yes"}}); code != http.StatusForbidden {
				t.Errorf("an officer changed the choice: %d", code)
			}
			if code, _ := rg.post(page+"/equity", official, url.Values{"csrf": {csrf}, "publish": {"maybe"}}); code != http.StatusBadRequest {
				t.Errorf("publish=maybe: %d", code)
			}
			flip := map[bool]string{true: "no", false: "yes"}[publish]
			if _, body, _ := rg.get(page, official); !strings.Contains(body, `name="publish" value="`+flip+`"`) {
				t.Errorf("approved page offers no button to change the choice")
			}
			if code, _ := rg.post(page+"/equity", official, url.Values{"csrf": {csrf}, "publish": {flip}}); code != http.StatusSeeOther {
				t.Fatalf("change the choice: %d", code)
			}
			if got, _ := rg.db.Digest(rg.ctx, d.ID); got.PublishEquity == publish {
				t.Errorf("choice not changed")
			}
			_, pub, _ = rg.get("/public/", nil)
			if strings.Contains(pub, "Who waits longer?") == publish {
				t.Errorf("after the change the public page shows equity: %v", !publish)
			}
		})
	}
}
