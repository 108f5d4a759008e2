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

// TestBrowserArabicConsole signs an admin in with a one-time code in
// headless Chromium (the browser asks for English), chooses Arabic in the
// header's picker, and opens the inbox, a case page (with a preview and
// the shortcuts' help open), the accounts page and the audit log: all
// are lang="ar" dir="rtl", laid out
// right to left, show the Arabic words of the language file, and
// axe-core finds no violation of any impact at 1280 and 390 px, where
// nothing scrolls sideways. Choosing "as my browser" brings English back.
func TestBrowserArabicConsole(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeBytes, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	axeSrc := string(axeBytes)
	rg := newPubRig(t, "en", "ar")
	var c citybot.Case
	for i, text := range []string{
		"يوجد حفرة كبيرة في شارع الجمهورية قرب السوق، خطيرة على الدراجات.",
		"There is a huge pothole on Main Street near the market.",
		`انقطع الضوء <script>window.__xss=1</script> في الشارع`,
	} {
		got := rg.say(pubWeek.Add(time.Duration(9+i)*time.Hour), citybot.Telegram, fmt.Sprint(800+i), "Citizen", "", text)
		if i == 0 {
			c = got
		}
	}
	if err := rg.db.SetCannedAnswer(rg.ctx, citybot.CannedAnswer{Topic: c.Topic, Language: "ar", Text: "سيصلح فريق الحفرة هذا الأسبوع.", UpdatedBy: "root"}); err != nil {
		t.Fatal(err)
	}
	rg.staff("root", citybot.RoleAdmin)
	ar := wordsFor(rg.srv.locs(), "ar")

	ctx, stopBrowser := newBrowser(chromium, 1280, 1000, 300*time.Second, chromedp.Flag("lang", "en-US"))
	defer stopBrowser()
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	casePage := fmt.Sprintf("/cases/%d", c.ID)

	// Sign in; the browser asks for English, so the console speaks it.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#name`))); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(rg.clock.Now().Add(31 * time.Second))
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	err = chromedp.Do(sctx, chromedp.SendKeys(chromedp.CSS(`#name`), "root"), chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r"),
		chromedp.WaitVisible(chromedp.CSS(`#code`)),
		chromedp.SendKeys(chromedp.CSS(`#code`), codeAt(t, testTOTPSecret, rg.clock.Now())+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`table.inbox`)))
	scancel()
	if err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.location.href + "\n" + document.body.innerText`))
		t.Fatalf("sign in: %v\n%s", err, body)
	}
	langDir := func(page, wantLang, wantDir string) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`document.documentElement.lang + " " + document.documentElement.dir + " " + getComputedStyle(document.body).direction`))
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		if want := wantLang + " " + wantDir + " " + wantDir; got != want {
			t.Errorf("%s: lang, dir, layout %q, want %q", page, got, want)
		}
	}
	langDir("/inbox", "en", "ltr")

	// Choose Arabic in the header; the page comes back in Arabic.
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(`#console-lang`), "ar"), chromedp.Click(chromedp.CSS(`form.langpick button`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="ar"] table.inbox`))); err != nil {
		t.Fatalf("choose Arabic: %v", err)
	}

	for _, width := range []int64{1280, 390} {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
			t.Fatal(err)
		}
		for _, p := range []struct{ page, wait string }{
			{"/inbox", `table.inbox`},
			{"/inbox?status=new&sort=due", `table.inbox`},
			{"/admin/accounts", `#a-name`},
			{"/admin/audit", `table.audit`},
			{casePage, `#h-conv`}, // last: the preview and the help below are on it
		} {
			name := fmt.Sprintf("%s at %d px", p.page, width)
			if err := chromedp.Do(ctx, chromedp.Navigate(base+p.page), chromedp.WaitVisible(chromedp.CSS(p.wait))); err != nil {
				t.Fatalf("open %s: %v", name, err)
			}
			langDir(name, "ar", "rtl")
			text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			if err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{"console.brand", "console.sign_out", "console.inbox", "console.language"} {
				if w := ar.t(key); !strings.Contains(text, w) {
					t.Errorf("%s: %s %q not shown", name, key, w)
				}
			}
			// The page's own words, and stored values by their Arabic
			// names: the role in the header, the audit log's sentences.
			pageKeys := map[string][]string{
				casePage:          {"console.conversation"},
				"/admin/accounts": {"console.acc_caption", "console.roles.officer"},
				"/admin/audit":    {"console.aud_what", "console.audit_verbs.account_login"},
			}[p.page]
			if pageKeys == nil {
				pageKeys = []string{"console.filter_status"}
			}
			for _, key := range append(pageKeys, "console.roles.admin") {
				if w := strings.TrimPrefix(ar.t(key), "{who} "); !strings.Contains(text, w) {
					t.Errorf("%s: %s %q not shown", name, key, w)
				}
			}
			if strings.Contains(text, "Sign out") || strings.Contains(text, "Back to the inbox") || strings.Contains(text, "(admin)") || strings.Contains(text, "signed in") {
				t.Errorf("%s: English left in the Arabic page", name)
			}
			axeStrict(t, ctx, axeSrc, name)
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
			if err != nil || wide {
				t.Errorf("%s scrolls sideways (%v)", name, err)
			}
			xss, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__xss === 1`))
			if err != nil || xss {
				t.Errorf("%s: citizen text ran as script (%v)", name, err)
			}
		}
		// The case page with a canned answer previewed.
		if err := chromedp.Do(ctx, chromedp.KeyEvent("1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "preview", `document.querySelector("#preview pre.preview") !== null`)
		axeStrict(t, ctx, axeSrc, fmt.Sprintf("%s with a preview at %d px", casePage, width))
		// The shortcuts' help, in Arabic.
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\x1b"), chromedp.KeyEvent("?")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "help", `document.getElementById("keys").open`)
		help, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("keys").innerText`))
		if err != nil || !strings.Contains(help, ar.t("console.keys_intro")) {
			t.Errorf("shortcuts' help at %d px not in Arabic (%v): %q", width, err, help)
		}
		axeStrict(t, ctx, axeSrc, fmt.Sprintf("%s with the shortcuts' help at %d px", casePage, width))
	}

	// Back to the browser's language.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/inbox"), chromedp.WaitVisible(chromedp.CSS(`#console-lang`)),
		chromedp.SetValue(chromedp.CSS(`#console-lang`), ""), chromedp.Click(chromedp.CSS(`form.langpick button`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] table.inbox`))); err != nil {
		t.Fatalf("follow the browser again: %v", err)
	}
	langDir("/inbox", "en", "ltr")
}
