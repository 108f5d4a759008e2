package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"citybot"
)

// axeStrict runs axe-core on the current page and fails on any
// violation, whatever its impact, naming the elements.
func axeStrict(t *testing.T, ctx context.Context, axeSrc, page string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](axeSrc))
	var out string
	if err == nil {
		out, err = chromedp.Run(ctx, chromedp.Evaluate[string](
			`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}))))`,
			chromedp.EvalAwaitPromise))
	}
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []struct {
		ID, Impact, Help string
		Targets          []string
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe on %s: %v (%s)", page, err, out)
	}
	for _, v := range vs {
		t.Errorf("axe on %s: %s violation %s: %s (%s)", page, v.Impact, v.ID, v.Help, strings.Join(v.Targets, "; "))
	}
}

// TestBrowserConsoleAxe opens every console page (sign-in, the inbox
// plain and filtered, a case page with canned answers, a preview and the
// shortcuts' help open, the admin pages and the digest approval pages) in
// headless Chromium at 1280 and at 390 px wide, and axe-core finds no
// violation of any impact on any of them. At 390 px no page scrolls
// sideways.
func TestBrowserConsoleAxe(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeBytes, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	axeSrc := string(axeBytes)
	rg := newPubRig(t)
	var c citybot.Case
	for i, text := range []string{
		"There is a huge pothole on rue de Rivoli near the Louvre, dangerous for bikes.",
		"Strong smell of gas in our building, people feel dizzy!",
		`The streetlight is out <script>window.__xss=1</script> on Main Street`,
	} {
		at := pubWeek.Add(time.Duration(9+i) * time.Hour)
		got := rg.say(at, citybot.Telegram, fmt.Sprint(700+i), "Citizen", "", text)
		if i == 0 {
			c = got
		}
	}
	for _, lang := range []string{"en", "fr"} {
		if err := rg.db.SetCannedAnswer(rg.ctx, citybot.CannedAnswer{Topic: c.Topic, Language: lang, Text: "A team will fix it this week (" + lang + ").", UpdatedBy: "root"}); err != nil {
			t.Fatal(err)
		}
	}
	rg.clock.Set(pubWeek.Add(7*24*time.Hour + 8*time.Hour))
	draft, err := rg.dg.Draft(rg.ctx, pubWeek, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	rg.staff("root", citybot.RoleAdmin)
	// Wrong passwords typed for root: every page shows its owner the
	// notice, and the accounts page the count, both checked by axe.
	for range 3 {
		if err := rg.db.RecordSigninFailure(rg.ctx, "root", nil); err != nil {
			t.Fatal(err)
		}
	}

	ctx, stopBrowser := newBrowser(chromium, 1280, 1000, 300*time.Second)
	defer stopBrowser()
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	casePage := fmt.Sprintf("/cases/%d", c.ID)

	// axe finds a violation on a broken page, so that a silent axe
	// cannot pass the pages below.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/static/style.css")); err != nil {
		t.Fatal(err)
	}
	n, err := axeOnBrokenPage(ctx, axeSrc, brokenBody, false)
	if err != nil || n == 0 {
		t.Fatalf("axe self-check: %d violations on a broken page (%v)", n, err)
	}

	for _, width := range []int64{1280, 390} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		check := func(page string) {
			t.Helper()
			name := fmt.Sprintf("%s at %d px", page, width)
			axeStrict(t, ctx, axeSrc, name)
			if width < 500 {
				wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
				if err != nil || wide {
					t.Errorf("%s scrolls sideways (%v)", name, err)
				}
			}
		}
		open := func(page, wait string) {
			t.Helper()
			if err := chromedp.Do(ctx, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
				t.Fatalf("open %s: %v", page, err)
			}
			check(page)
		}
		open("/login", `#name`)
		// Each code is good once: the clock moves to a code not used yet.
		rg.clock.Set(rg.clock.Now().Add(31 * time.Second))
		sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(sctx, chromedp.SendKeys(chromedp.CSS(`#name`), "root"), chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r"),
			// Admins type a one-time code after the password.
			chromedp.WaitVisible(chromedp.CSS(`#code`)),
			chromedp.SendKeys(chromedp.CSS(`#code`), codeAt(t, testTOTPSecret, rg.clock.Now())+"\r"),
			chromedp.WaitVisible(chromedp.CSS(`table.inbox`)))
		if err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.location.href + "\n" + document.body.innerText`))
			t.Fatalf("sign in: %v\n%s", err, body)
		}
		scancel()
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(".guessed form button") !== null`)); err != nil || !ok {
			t.Errorf("the inbox lacks the notice of wrong passwords (%v)", err)
		}
		check("/inbox")
		open("/inbox?status=resolved&status=new&topic=roads&sort=due", `table.inbox`)
		open(casePage, `#h-conv`)
		// A canned answer put in with its key, and its preview.
		err = chromedp.Do(ctx, chromedp.KeyEvent("1"))
		if err == nil {
			waitFor(t, ctx, "preview", `document.querySelector("#preview pre.preview") !== null`)
		} else {
			t.Fatal(err)
		}
		check(casePage + " with a preview")
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\x1b"), chromedp.KeyEvent("?")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "help", `document.getElementById("keys").open`)
		check(casePage + " with the shortcuts' help")
		for _, page := range []string{"/admin/accounts", "/admin/canned", "/admin/audit", "/admin/model", "/admin/open311", "/account/totp", "/digests", fmt.Sprintf("/digests/%d", draft.ID)} {
			open(page, `h1`)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login")); err != nil {
			t.Fatal(err)
		}
		// Sign out for the next width.
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/inbox"), chromedp.WaitVisible(chromedp.CSS(`form.logout button`)), chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#name`))); err != nil {
			t.Fatalf("sign out: %v", err)
		}
	}
}
