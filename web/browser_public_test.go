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

// focusables selects the elements a keyboard user must be able to reach.
const focusables = `a[href], button, input:not([type=hidden]), textarea, select, [tabindex]:not([tabindex="-1"])`

// checkKeyboard tabs through the whole current page from its start and
// fails unless every visible link, button and form field takes the focus
// in turn, each with a visible focus outline.
func checkKeyboard(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	missed, noOutline, err := keyboardProblems(ctx)
	if err != nil {
		t.Fatalf("keyboard on %s: %v", page, err)
	}
	if len(missed) > 0 {
		t.Errorf("keyboard on %s: Tab never reaches %q", page, missed)
	}
	if len(noOutline) > 0 {
		t.Errorf("keyboard on %s: no visible focus on %q", page, noOutline)
	}
}

// keyboardProblems presses Tab once more than there are focusable
// elements on the current page and returns those never focused and those
// focused without a visible outline.
func keyboardProblems(ctx context.Context) (missed, noOutline []string, err error) {
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		document.activeElement && document.activeElement.blur();
		window.getSelection().removeAllRanges();
		const els = Array.from(document.querySelectorAll('`+focusables+`')).filter(e => !e.disabled && e.getClientRects().length > 0);
		els.forEach(e => e.removeAttribute("data-kbd"));
		return els.length;
	})()`))
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("nothing to focus")
	}
	for i := 0; i < n+1; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			return nil, nil, err
		}
		bad, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const e = document.activeElement;
			if (!e || e === document.body) return "";
			e.setAttribute("data-kbd", "1");
			const s = getComputedStyle(e);
			return (s.outlineStyle === "none" || parseFloat(s.outlineWidth) < 1) ? e.outerHTML.slice(0, 80) : "";
		})()`))
		if err != nil {
			return nil, nil, err
		}
		if bad != "" {
			noOutline = append(noOutline, bad)
		}
	}
	missed, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('`+focusables+`'))
		.filter(e => !e.disabled && e.getClientRects().length > 0 && !e.hasAttribute("data-kbd")).map(e => e.outerHTML.slice(0, 80))`))
	return missed, noOutline, err
}

// checkReflow reloads the current page in a 320 CSS pixel wide viewport
// (WCAG 1.4.10: 1280 pixels zoomed to 400 %) and fails when anything
// makes the page scroll sideways; content in its own scrolling region
// does not count.
func checkReflow(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 800), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if err != nil {
		t.Fatalf("reflow on %s: %v", page, err)
	}
	defer func() {
		if err := chromedp.Do(ctx, chromedp.EmulateReset()); err != nil {
			t.Fatalf("reflow on %s: %v", page, err)
		}
	}()
	wide, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		if (document.documentElement.scrollWidth <= window.innerWidth) return [];
		const out = [];
		for (const e of document.body.querySelectorAll("*")) {
			if (e.getBoundingClientRect().right <= window.innerWidth + 1) continue;
			let p = e.parentElement, clipped = false;
			for (; p && p !== document.body; p = p.parentElement) {
				const o = getComputedStyle(p).overflowX;
				if (o === "auto" || o === "scroll" || o === "hidden") { clipped = true; break; }
			}
			if (!clipped) out.push(e.tagName.toLowerCase() + (e.className ? "." + e.className : ""));
		}
		return out.length ? out : ["(document " + document.documentElement.scrollWidth + "px)"];
	})()`))
	if err != nil {
		t.Fatalf("reflow on %s: %v", page, err)
	}
	if len(wide) > 0 {
		t.Errorf("reflow on %s: at 320 px the page scrolls sideways because of %q", page, wide)
	}
}

// tabTo presses Tab from the page's start until the element matching
// sel has the focus, or fails after limit presses.
func tabTo(t *testing.T, ctx context.Context, sel string, limit int) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.blur(), true)`)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < limit; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		if isFocused(t, ctx, sel) {
			return
		}
	}
	t.Fatalf("%s not reached with %d presses of Tab", sel, limit)
}

func isFocused(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, sel)))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// waitQuery waits until the page, after a navigation that a key press
// started, has the query parameter want and has finished loading.
func waitQuery(ctx context.Context, want string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			fmt.Sprintf(`location.search.includes(%q) && document.readyState === "complete"`, want)))
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("page with %s not reached (last error: %v)", want, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserPublicAndDigestPages serves the public accountability pages
// and the officials' digest approval pages with real data (a real store,
// the real pipeline and digester: cases over two weeks, one digest
// approved and one drafted) in headless Chromium. axe-core runs on every
// page and fails on serious or critical violations; every page is tabbed
// through; an official sends a draft back and approves its next version
// with the keyboard only.
func TestBrowserPublicAndDigestPages(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeBytes, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	axeSrc := string(axeBytes)
	rg := newPubRig(t)

	// Week 2026-W46: answered and resolved cases; its digest approved.
	w46 := pubWeek.Add(-7 * 24 * time.Hour)
	for i, text := range []string{
		"There is a huge pothole on rue de Rivoli near the Louvre, dangerous for bikes.",
		"Rubbish bins not collected for two weeks in our street.",
		"Le lampadaire devant l'école est cassé depuis une semaine.",
	} {
		at := w46.Add(time.Duration(9+i*5) * time.Hour)
		c := rg.say(at, citybot.Telegram, fmt.Sprint(800+i), "Citizen", "", text)
		rg.clock.Set(at.Add(2 * time.Hour))
		if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "Our team is on it.", fmt.Sprintf("w46a%d", i)); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			rg.clock.Set(at.Add(26 * time.Hour))
			if _, err := rg.off.ChangeStatus(rg.ctx, c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, fmt.Sprintf("w46s%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	rg.clock.Set(pubWeek.Add(8 * time.Hour))
	approved, err := rg.dg.Draft(rg.ctx, w46, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	if approved, err = rg.dg.Decide(rg.ctx, approved.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	// Week 2026-W47: more cases, one of them hostile HTML; its digest a
	// draft waiting for the official.
	for i, text := range []string{
		"No water since this morning in the building.",
		`The streetlight is out <script>window.__xss=1</script><img src=x onerror="window.__xss=2"> on Main Street`,
		"Graffiti on the wall of the town hall.",
	} {
		at := pubWeek.Add(time.Duration(10+i*6) * time.Hour)
		c := rg.say(at, citybot.Discord, fmt.Sprint(900+i), "Citizen", "", text)
		if i == 0 {
			rg.clock.Set(at.Add(time.Hour))
			if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "The water service is on its way.", "w47a0"); err != nil {
				t.Fatal(err)
			}
		}
	}
	rg.clock.Set(pubWeek.Add(7*24*time.Hour + 8*time.Hour))
	draft, err := rg.dg.Draft(rg.ctx, pubWeek, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	rg.staff("mayor", citybot.RoleOfficial)
	rg.staff("olivia", citybot.RoleOfficer)

	ctx, stopBrowser := newBrowser(chromium, 1280, 1200, 180*time.Second) // generous: CI runs other packages beside it
	defer stopBrowser()
	base := rg.ts.URL

	// axe itself finds violations on a broken public page, so that a
	// silent axe cannot pass the pages below.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/public/"), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
		t.Fatal(err)
	}
	n, err := axeOnBrokenPage(ctx, axeSrc,
		`document.documentElement.removeAttribute("lang");document.querySelector("main").innerHTML = '<input type="text"><img src="x">'`, true)
	if err != nil || n < 3 {
		t.Fatalf("axe self-check: %d serious violations on a page with three (%v)", n, err)
	}

	// The keyboard check finds a link taken out of the tab order and a
	// button whose focus is invisible (set by script: the pages' CSP
	// forbids inline styles).
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/public/"), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("main").insertAdjacentHTML("beforeend",
		'<a id="kbd-skipped" href="#x" tabindex="-1">skipped</a><button id="kbd-hidden">hidden focus</button>'),
		document.getElementById("kbd-hidden").style.outline = "none", true`)); err != nil {
		t.Fatal(err)
	}
	missed, noOutline, err := keyboardProblems(ctx)
	if err != nil || len(missed) != 1 || !strings.Contains(missed[0], "kbd-skipped") || len(noOutline) != 1 || !strings.Contains(noOutline[0], "kbd-hidden") {
		t.Fatalf("keyboard self-check: missed %q, no outline %q (%v)", missed, noOutline, err)
	}

	// The public pages, signed out, in both languages.
	week := string(approved.Week)
	for _, page := range []string{"/public/", "/public/?lang=fr", "/public/digests/" + week, "/public/digests/" + week + "?lang=fr"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatalf("open %s: %v", page, err)
		}
		checkAxe(t, ctx, axeSrc, page)
		checkKeyboard(t, ctx, page)
		checkReflow(t, ctx, page)
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("img[src*='chart.png']").complete && document.querySelector("img[src*='chart.png']").naturalWidth > 0`)); err != nil || !ok {
			t.Errorf("%s: the chart did not load (%v)", page, err)
		}
	}
	if lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "fr" {
		t.Errorf("French public page has lang %q", lang)
	}

	// The approval pages, signed in as the official.
	signIn := func(name string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`#name`)),
			chromedp.SendKeys(chromedp.CSS(`#name`), name),
			chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r"),
			chromedp.WaitVisible(chromedp.CSS(`#code, form.logout`)),
		)
		if err != nil {
			t.Fatalf("sign in as %s: %v", name, err)
		}
		// Officials type a one-time code after the password; each code
		// is good once, so the clock moves to the next one.
		if asked, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("code") !== null`)); asked {
			rg.clock.Set(rg.clock.Now().Add(31 * time.Second))
			err = chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#code`), codeAt(t, testTOTPSecret, rg.clock.Now())+"\r"), chromedp.WaitVisible(chromedp.CSS(`form.logout`)))
			if err != nil {
				t.Fatalf("sign in as %s, code: %v", name, err)
			}
		}
	}
	open := func(page, wait string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			t.Fatalf("open %s: %v", page, err)
		}
	}
	signIn("mayor")
	draftPage := fmt.Sprintf("/digests/%d", draft.ID)
	for _, page := range []string{"/digests", fmt.Sprintf("/digests/%d", approved.ID), draftPage} {
		open(page, `h1`)
		checkAxe(t, ctx, axeSrc, page+" (official)")
		checkKeyboard(t, ctx, page+" (official)")
		checkReflow(t, ctx, page+" (official)")
		noXSS(t, ctx, page)
	}

	// Send the draft back with the keyboard only: Tab to the comment,
	// type it, Tab past "Approve and post" to "Send back", Enter.
	const comment = "Please add a word on the water outage."
	open(draftPage, `#comment`)
	tabTo(t, ctx, `#comment`, 40)
	if err := chromedp.Do(ctx, chromedp.KeyEvent(comment), chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if !isFocused(t, ctx, `button[value=approve]`) {
		t.Fatalf("Tab from the comment does not reach Approve")
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	if !isFocused(t, ctx, `button[value=sendback]`) {
		t.Fatalf("Tab from Approve does not reach Send back")
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if err := waitQuery(ctx, "done=sentback"); err != nil {
		t.Fatalf("send back: %v", err)
	}
	checkAxe(t, ctx, axeSrc, draftPage+" (sent back)")
	d, err := rg.db.Digest(rg.ctx, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != citybot.DigestChangesRequested || d.Comment != comment || d.DecidedBy != "mayor" {
		t.Fatalf("after the keyboard send back: state %s, comment %q, by %q", d.State, d.Comment, d.DecidedBy)
	}

	// The officer drafts a new version with the keyboard.
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(`form.logout button`)), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(`#name`))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	signIn("olivia")
	open(draftPage, `#note`)
	checkAxe(t, ctx, axeSrc, draftPage+" (officer)")
	checkKeyboard(t, ctx, draftPage+" (officer)")
	tabTo(t, ctx, `#note`, 40)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("Water came back on Friday."), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if err := waitQuery(ctx, "done=redrafted"); err != nil {
		t.Fatalf("redraft: %v", err)
	}
	newPage, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil || newPage == draftPage {
		t.Fatalf("redraft stayed on %s (%v)", newPage, err)
	}

	// The official approves the new version with the keyboard.
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(`form.logout button`)), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(`#name`))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	signIn("mayor")
	open(newPage, `#comment`)
	tabTo(t, ctx, `button[value=approve]`, 40)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if err := waitQuery(ctx, "done=approved"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	checkAxe(t, ctx, axeSrc, newPage+" (approved)")
	ds, err := rg.db.Digests(rg.ctx, 10, citybot.DigestApproved)
	if err != nil {
		t.Fatal(err)
	}
	var got citybot.Digest
	for _, x := range ds {
		if x.Week == draft.Week {
			got = x
		}
	}
	if got.Revision != draft.Revision+1 || got.DecidedBy != "mayor" || !strings.Contains(strings.Join(textsOf(got), "\n"), "Water came back on Friday.") {
		t.Fatalf("after the keyboard approval: %+v", got)
	}
}

func textsOf(d citybot.Digest) []string {
	var out []string
	for _, text := range d.Texts {
		out = append(out, text)
	}
	return out
}
