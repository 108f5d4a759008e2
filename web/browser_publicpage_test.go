package web

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"citybot"
)

// TestBrowserPublicPagePhone opens the public page and an approved
// digest's page in English, French and Arabic in headless Chromium at 320
// px wide (a small phone), with a 12-week trend, promises and the equity
// figures published: axe-core finds no serious or critical violation, the
// page never scrolls sideways, every link takes the focus, the chart loads
// with its figures as alternative text, and the trend lists 12 weeks.
func TestBrowserPublicPagePhone(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeBytes, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	axeSrc := string(axeBytes)
	rg := newPubRig(t, "en", "fr", "ar")
	w46 := pubWeek.Add(-7 * 24 * time.Hour)
	for i := range 10 {
		street, wait := "rue de la Paix", time.Hour
		if i >= 5 {
			street, wait = "avenue Foch", 5*time.Hour
		}
		at := w46.Add(time.Duration(9+i) * time.Hour)
		c := rg.say(at, citybot.Telegram, fmt.Sprint(5500+i), "Citizen", "", "The street light is broken on "+street+" since Monday.")
		rg.clock.Set(at.Add(wait))
		if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The lamp team is coming.", fmt.Sprint("bpa", i)); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			day := time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC)
			if err := rg.db.SetExpectedBy(rg.ctx, c.ID, &day, "olivia"); err != nil {
				t.Fatal(err)
			}
		}
	}
	rg.clock.Set(pubWeek.Add(8 * time.Hour))
	d, err := rg.dg.Draft(rg.ctx, w46, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rg.dg.Decide(rg.ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor", PublishEquity: true}); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(pubWeek.Add(50 * time.Hour))

	ctx, stopBrowser := newBrowser(chromium, 320, 800, 180*time.Second) // generous: other packages run beside it
	defer stopBrowser()
	week := string(d.Week)
	for _, page := range []string{"/public/?lang=en", "/public/?lang=fr", "/public/?lang=ar", "/public/digests/" + week + "?lang=ar", "/public/digests/" + week + "?lang=fr"} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 800), chromedp.Navigate(rg.ts.URL+page), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatalf("open %s: %v", page, err)
		}
		checkAxe(t, ctx, axeSrc, page+" at 320 px")
		checkReflow(t, ctx, page)
		checkKeyboard(t, ctx, page)
		alt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const i = document.querySelector("img[src*='chart.png']"); return i && i.complete && i.naturalWidth > 0 ? i.alt : ""; })()`))
		if err != nil || len(alt) < 40 {
			t.Errorf("%s: the chart did not load or has no figures in its alt text (%q, %v)", page, alt, err)
		}
		equity, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.getElementById("h-equity") && document.querySelectorAll("li.longer").length > 0`))
		if err != nil || !equity {
			t.Errorf("%s: no equity figures with a flagged group (%v)", page, err)
		}
	}
	for _, lang := range []string{"en", "ar"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(rg.ts.URL+"/public/?lang="+lang), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("ol.trend > li").length`))
		if err != nil || n != 12 {
			t.Errorf("%s: trend of %d weeks (%v)", lang, n, err)
		}
	}
}
