package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/casework"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

// browserDeps finds headless Chromium and axe-core, or skips the test.
// With CITYBOT_BROWSER_TEST=1 (set by CI once it installs them) a missing
// one fails the test instead.
func browserDeps(t *testing.T) (chromium, axe string) {
	t.Helper()
	need := os.Getenv("CITYBOT_BROWSER_TEST") == "1"
	miss := func(what string) {
		if need {
			t.Fatalf("browser test: %s is missing", what)
		}
		t.Skipf("browser test skipped: %s is missing (apt-get install chromium; npm ci --prefix web/testdata/browser)", what)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		miss("chromium")
	}
	axe = os.Getenv("CITYBOT_AXE_JS")
	if axe == "" {
		axe = filepath.Join("testdata", "browser", "node_modules", "axe-core", "axe.min.js")
	}
	if _, err := os.Stat(axe); err != nil {
		miss("axe-core (" + axe + ")")
	}
	return chromium, axe
}

// newBrowser starts headless Chromium (the binary chromium, from
// browserDeps) with a window of width × height (0, 0: Chromium's own) and
// the extra options opts, and returns a context that drives one tab of
// it until timeout, and the function that closes the browser.
func newBrowser(chromium string, width, height int, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) (context.Context, func()) {
	all := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Flag("headless", "new"))
	if width > 0 {
		all = append(all, chromedp.WindowSize(width, height))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(all, opts...)...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	return ctx, func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	}
}

// brokenBody is a page body with violations axe must find (an input
// without a label, an image without a text).
const brokenBody = `document.body.innerHTML = '<input type="text"><img src="x">'`

// axeOnBrokenPage loads axe (axeSrc) into the current page, breaks the
// page with the script breakIt, and returns how many violations axe
// finds there (only the serious or critical ones when serious is set):
// a test's proof that a silent axe cannot pass its pages.
func axeOnBrokenPage(ctx context.Context, axeSrc, breakIt string, serious bool) (int, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](axeSrc+";"+breakIt)); err != nil {
		return 0, err
	}
	count := `r.violations.length`
	if serious {
		count = `r.violations.filter(v => v.impact === "critical" || v.impact === "serious").length`
	}
	return chromedp.Run(ctx, chromedp.Evaluate[int](`axe.run(document, {resultTypes: ["violations"]}).then(r => `+count+`)`, chromedp.EvalAwaitPromise))
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  int    `json:"nodes"`
}

// checkAxe runs axe-core on the current page and fails on serious or
// critical violations (and logs the others).
func checkAxe(t *testing.T, ctx context.Context, axeSrc, page string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](axeSrc))
	var out string
	if err == nil {
		out, err = chromedp.Run(ctx, chromedp.Evaluate[string](
			`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length}))))`,
			chromedp.EvalAwaitPromise))
	}
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe on %s: %v (%s)", page, err, out)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe on %s: %s violation %s (%d nodes): %s", page, v.Impact, v.ID, v.Nodes, v.Help)
		} else {
			t.Logf("axe on %s: %s violation %s (%d nodes): %s", page, v.Impact, v.ID, v.Nodes, v.Help)
		}
	}
	t.Logf("axe on %s: %d violations, none serious or critical expected", page, len(vs))
}

// waitDone waits until the page is the case page loaded after an action
// whose confirmation key is done.
// Evaluations fail while the page navigates; they are tried again.
func waitDone(ctx context.Context, done string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`location.search.includes("done=`+done+`") && document.readyState === "complete" && document.querySelector("p.done") !== null`))
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("page with done=%s not reached (last error: %v)", done, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// e2e is the whole chain a browser test needs: the Telegram emulator, the
// real Telegram adapter, the inbound pipeline with the real classifier,
// the outbox dispatcher, the officer actions and the console, on a real
// store.
type e2e struct {
	emu *tgemu.Server
	bot *telegram.Bot
	rig *rig
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "citybot.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bot, err := telegram.New(ctx, telegram.Options{Token: emu.Token(), APIEndpoint: emu.Endpoint(), Cursors: db, PollTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Bots: []bots.Bot{bot}, PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := responder.New(responder.Options{Policy: testPolicy(t), Store: db, Classifier: cl, Notify: disp.Notify})
	if err != nil {
		t.Fatal(err)
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Policy: testPolicy(t), Store: db, Notify: disp.Notify})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Policy: testPolicy(t), Store: db, Officer: off, PollEvery: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	done := make(chan struct{}, 2)
	go func() { disp.Run(ctx); done <- struct{}{} }()
	go func() { bot.Run(ctx, resp); done <- struct{}{} }()
	t.Cleanup(func() {
		ts.Close()
		cancel()
		disp.Stop()
		<-done
		<-done
		emu.Close()
		db.Close()
	})
	return &e2e{emu: emu, bot: bot, rig: &rig{t: t, db: db, srv: srv, ts: ts}}
}

// TestBrowserOfficerFlow drives the console in headless Chromium against
// the whole chain: citizens write to the Telegram emulator (one of them
// hostile HTML and script); the officer signs in, finds the critical case
// at the top of the inbox, corrects its topic and answers it with the
// keyboard; the answer arrives in the citizen's Telegram chat. axe-core
// runs on the sign-in, inbox and case pages; the hostile text never runs;
// a screenshot of the case page is saved as a test artifact (go test
// -artifacts).
func TestBrowserOfficerFlow(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeSrc, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	e := newE2E(t)
	rg := e.rig
	rg.account("olivia", citybot.RoleOfficer, "correct horse battery")
	rg.account("root", citybot.RoleAdmin, "correct horse battery staple")
	ctx0, cancel0 := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel0()
	citizens := []struct {
		user tgemu.User
		text string
	}{
		{tgemu.User{ID: 101, FirstName: "Ana", LanguageCode: "en"}, "The bench in the park near the library is broken."},
		{tgemu.User{ID: 102, FirstName: "Bob", LanguageCode: "en"}, "Strong smell of gas in our building, people feel dizzy, please help now!"},
		{tgemu.User{ID: 103, FirstName: "Eve", LanguageCode: "en"}, `The streetlight is out <script>window.__xss=1</script><img src=x onerror="window.__xss=2"> on Main Street`},
	}
	for _, c := range citizens {
		if _, err := e.emu.Post(tgemu.Incoming{From: c.user, Text: c.text}); err != nil {
			t.Fatal(err)
		}
		// Each gets an acknowledgement in their chat.
		if _, err := e.emu.WaitSent(ctx0, func(m tgemu.SentMessage) bool { return m.Chat == c.user.ID }); err != nil {
			t.Fatalf("no acknowledgement to citizen %d: %v", c.user.ID, err)
		}
	}
	items, _, err := rg.db.InboxPage(ctx0, citybot.InboxQuery{})
	if err != nil || len(items) != 3 {
		t.Fatalf("inbox: %d cases, %v", len(items), err)
	}
	crit := items[0].Case
	if crit.Urgency != citybot.UrgencyCritical || crit.Chat != "102" {
		t.Fatalf("top case %s is %s in chat %s; want the gas leak, critical, in chat 102", crit.Ref, crit.Urgency, crit.Chat)
	}
	newTopic := "public_safety"
	if crit.Topic == newTopic {
		newTopic = "housing"
	}

	// A server the browser reaches as 127.0.0.1, a secure context for
	// Chromium, so the __Host- session cookie is set over plain HTTP.
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	ctx, stopBrowser := newBrowser(chromium, 1280, 1600, 180*time.Second) // generous: CI runs other packages beside it
	defer stopBrowser()

	// axe itself finds a violation on a page that has one, so that a
	// silent axe cannot pass the pages below.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/static/style.css")); err != nil {
		t.Fatal(err)
	}
	n, err := axeOnBrokenPage(ctx, string(axeSrc), brokenBody, true)
	if err != nil || n == 0 {
		t.Fatalf("axe self-check: %d serious violations on a broken page (%v)", n, err)
	}

	// Sign in.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#name`))); err != nil {
		t.Fatalf("open sign-in page: %v", err)
	}
	checkAxe(t, ctx, string(axeSrc), "sign-in")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#name`), "olivia"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r"),
		chromedp.WaitVisible(chromedp.CSS(`table.inbox`)),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	checkAxe(t, ctx, string(axeSrc), "inbox")
	noXSS(t, ctx, "inbox")

	// A new case appears in the open inbox without a reload.
	late := tgemu.User{ID: 104, FirstName: "Dan", LanguageCode: "en"}
	if _, err := e.emu.Post(tgemu.Incoming{From: late, Text: "A tree fell on the road and blocks the bus line"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.emu.WaitSent(ctx0, func(m tgemu.SentMessage) bool { return m.Chat == late.ID }); err != nil {
		t.Fatal(err)
	}
	all, _, err := rg.db.InboxPage(ctx0, citybot.InboxQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var lateRef citybot.CaseRef
	for _, it := range all {
		if it.Case.Chat == "104" {
			lateRef = it.Case.Ref
		}
	}
	appeared := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !appeared; time.Sleep(500 * time.Millisecond) {
		appeared, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("rows").textContent.includes("`+string(lateRef)+`")`))
		if err != nil {
			t.Fatal(err)
		}
	}
	if lateRef == "" || !appeared {
		t.Fatalf("the new case %q did not appear in the open inbox", lateRef)
	}
	if status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#live`))); !strings.Contains(status, "Inbox updated") {
		t.Errorf("live region = %q", status)
	}

	// The critical case is the first row.
	firstRef, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#rows tr:first-child td.ref a`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(firstRef) != string(crit.Ref) {
		t.Fatalf("first row is %q, want the critical case %s", firstRef, crit.Ref)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#rows tr:first-child td.ref a`)),
		chromedp.WaitVisible(chromedp.CSS(`#h-conv`)),
	)
	if err != nil {
		t.Fatalf("open the case: %v", err)
	}
	checkAxe(t, ctx, string(axeSrc), "case")

	// Correct the topic with the keyboard only: focus the select, choose,
	// then press Enter on the focused button.
	err = chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`#topic`)),
		chromedp.SetValue(chromedp.CSS(`#topic`), newTopic),
		chromedp.Focus(chromedp.CSS(`#save-labels`)),
		chromedp.KeyEvent("\r"),
	)
	if err == nil {
		err = waitDone(ctx, "labels")
	}
	if err != nil {
		t.Fatalf("correct the topic: %v", err)
	}
	// Answer: type, then Ctrl+Enter sends.
	const answer = "The fire brigade is on its way. Leave the building."
	err = chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`#answer-text`)),
		chromedp.KeyEvent(answer),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
	)
	if err == nil {
		err = waitDone(ctx, "answer")
	}
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	done, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.done`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(done, "Answer queued") {
		t.Errorf("confirmation = %q", done)
	}

	// The answer arrives in the citizen's Telegram chat.
	got, err := e.emu.WaitSent(ctx0, func(m tgemu.SentMessage) bool { return m.Chat == 102 && strings.Contains(m.Text, answer) })
	if err != nil {
		t.Fatalf("the answer never reached the citizen's Telegram chat: %v", err)
	}
	if !strings.Contains(got.Text, string(crit.Ref)) {
		t.Errorf("answer in Telegram lacks the case reference: %q", got.Text)
	}
	// The case page, reloaded, shows it sent; and the hostile case page
	// runs nothing either.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+casePath(crit, "")), chromedp.WaitVisible(chromedp.CSS(`#h-conv`))); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(t.ArtifactDir(), "case-page.png")
	if err := os.WriteFile(png, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", png)
	for _, it := range items {
		if it.Case.Chat == "103" {
			if err := chromedp.Do(ctx, chromedp.Navigate(base+casePath(it.Case, "")), chromedp.WaitVisible(chromedp.CSS(`#h-conv`))); err != nil {
				t.Fatal(err)
			}
			noXSS(t, ctx, "hostile case")
		}
	}

	// Sign out with the keyboard, sign in as an admin, and check the
	// admin pages too.
	err = chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS(`form.logout button`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "root"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery staple\r"),
		// Admins type a one-time code after the password.
		chromedp.WaitVisible(chromedp.CSS(`#code`)),
		chromedp.SendKeys(chromedp.CSS(`#code`), codeAt(t, testTOTPSecret, time.Now())+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`table.inbox`)),
	)
	if err != nil {
		t.Fatalf("sign out and in as admin: %v", err)
	}
	for _, page := range []string{"/admin/accounts", "/admin/canned", "/admin/audit", "/admin/model", "/account/totp"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatal(err)
		}
		checkAxe(t, ctx, string(axeSrc), page)
	}

	// What the clicks did, in the store.
	v, err := rg.db.CaseView(context.Background(), crit.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Case.Topic != newTopic || v.Case.Status != citybot.StatusAnswered {
		t.Errorf("case after the browser: topic %s, status %s", v.Case.Topic, v.Case.Status)
	}
	tags, _ := rg.db.CaseTags(context.Background(), crit.ID)
	labelled := false
	for _, tg := range tags {
		labelled = labelled || (tg.Source == citybot.ByOfficer && tg.SetBy == "olivia" && tg.Value == newTopic)
	}
	if !labelled {
		t.Errorf("no officer label %s by olivia in %+v", newTopic, tags)
	}
}

// noXSS checks that the hostile citizen text ran nothing and made no
// element.
func noXSS(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`window.__xss !== undefined || document.querySelectorAll("main script, main img[src='x']").length > 0`))
	if err != nil || bad {
		t.Errorf("%s: hostile citizen text became live HTML (%v)", page, err)
	}
}
