package web

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"citybot"
)

// TestBrowserStatementsAxe opens the holding statements' pages in
// headless Chromium at 1280 and at 390 px wide: the statements page (one
// text approved, one waiting), the inbox with a surge banner, the main
// case's page, the send page with its blanks, and its preview after
// pressing Preview (a hostile blank value shown escaped, never run).
// axe-core finds no violation of any impact; at 390 px no page scrolls
// sideways.
func TestBrowserStatementsAxe(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeBytes, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	axeSrc := string(axeBytes)
	rg := newStatementRig(t)
	ctx := context.Background()
	c := rg.report("ana", "no water on Mill Lane", "water_sanitation", "en", citybot.UrgencyNormal)
	fr := rg.report("bea", "plus d'eau rue du Moulin", "water_sanitation", "fr", citybot.UrgencyNormal)
	if err := rg.db.MergeCases(ctx, fr.ID, c.ID, "olivia", nil); err != nil {
		t.Fatal(err)
	}
	id, err := rg.db.SaveStatementText(ctx, 0, "water_sanitation", "Water cut", "en", "We know about the water cut in {place}. Next update by {time}.", "mayor")
	if err != nil {
		t.Fatal(err)
	}
	if err := rg.db.ApproveStatementText(ctx, id, "en", 1, "mayor"); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.db.SaveStatementText(ctx, id, "", "", "fr", "Nous savons pour la coupure d'eau à {place}.", "mayor"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := rg.db.RecordSurge(ctx, citybot.Surge{Topic: "water_sanitation", Places: []string{"Mill Lane"}, Keys: []string{"mill lane"},
		Count: 12, Usual: 0.5, Case: c.ID, At: now, QuietUntil: now.Add(time.Hour)}, func(int64) []citybot.OutboxItem { return nil }); err != nil {
		t.Fatal(err)
	}
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "correct horse battery"))

	bctx, stopBrowser := newBrowser(chromium, 1280, 1000, 240*time.Second)
	defer stopBrowser()
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	// The admin's session, opened in the store (sign-in has its own
	// browser tests).
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/static/style.css")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.cookie = %q; true`, admin.cookie.Name+"="+admin.cookie.Value+"; path=/"))); err != nil {
		t.Fatal(err)
	}
	sendPage := fmt.Sprintf("/cases/%d/statement?template=%d", c.ID, id)
	for _, width := range []int64{1280, 390} {
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		check := func(page string) {
			t.Helper()
			name := fmt.Sprintf("%s at %d px", page, width)
			axeStrict(t, bctx, axeSrc, name)
			if width < 500 {
				wide, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
				if err != nil || wide {
					t.Errorf("%s scrolls sideways (%v)", name, err)
				}
			}
		}
		open := func(page, wait string) {
			t.Helper()
			octx, ocancel := context.WithTimeout(bctx, 20*time.Second)
			defer ocancel()
			if err := chromedp.Do(octx, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
				body, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.location.href + "\n" + document.body.innerText`))
				t.Fatalf("open %s: %v\n%s", page, err, body)
			}
			check(page)
		}
		open("/statements", `h1`)
		open("/inbox", `p.surge`)
		open(fmt.Sprintf("/cases/%d", c.ID), `#h-statements`)
		open(sendPage, `#b-place`)
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`#b-place`), `Mill Lane <img src=x onerror="window.__xss=1">`),
			chromedp.SendKeys(chromedp.CSS(`#b-time`), "18:00"), chromedp.Click(chromedp.CSS(`button[value="preview"]`)), chromedp.WaitVisible(chromedp.CSS(`#h-preview`))); err != nil {
			t.Fatalf("preview: %v", err)
		}
		check(sendPage + " with a preview")
		xss, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__xss === 1`))
		if err != nil || xss {
			t.Errorf("a blank's value ran as HTML in the preview (%v)", err)
		}
		text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector("ul.preview").innerText`))
		if err != nil || !strings.Contains(text, `We know about the water cut in Mill Lane <img src=x onerror="window.__xss=1">. Next update by 18:00.`) {
			t.Errorf("preview = %q, %v; want the filled text as written", text, err)
		}
	}
	if rows, err := rg.db.OutboxItems(ctx, "statement:"); err != nil || len(rows) != 0 {
		t.Errorf("the pages queued %d rows (%v); only Send queues", len(rows), err)
	}
}
