package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"citybot"
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

// TestBrowserOfficerFlow drives the console in headless Chromium: sign in,
// find the critical case at the top of the inbox, correct its topic and
// answer it with the keyboard, with axe-core run on the sign-in, inbox and
// case pages. It checks that the correction is stored as an officer label
// and the answer is queued in the outbox for the case's Telegram chat, and
// saves a screenshot of the case page.
func TestBrowserOfficerFlow(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeSrc, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	rg := newRig(t, Options{})
	rg.account("olivia", citybot.RoleOfficer, "correct horse battery")
	rg.report("ana", "The bench in the park is broken", "parks", "en", citybot.UrgencyLow)
	crit := rg.report("bob", `Gas smell in the stairwell <script>alert("x")</script>, hurry`, "other", "en", citybot.UrgencyCritical)
	rg.report("cy", "Streetlight out on Rue Haute", "street_lighting", "fr", citybot.UrgencyNormal)

	// A server the browser reaches as 127.0.0.1, a secure context for
	// Chromium, so the __Host- session cookie is set over plain HTTP.
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chromium),
			chromedp.NoSandbox,
			chromedp.Flag("headless", "new"),
			chromedp.WindowSize(1280, 1600),
		)...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	// axe itself finds a violation on a page that has one, so that a
	// silent axe cannot pass the pages below.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/static/style.css")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](string(axeSrc)+
		`;document.body.innerHTML = '<input type="text"><img src="x">'`)); err != nil {
		t.Fatalf("axe self-check: %v", err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.filter(v => v.impact === "critical" || v.impact === "serious").length)`,
		chromedp.EvalAwaitPromise))
	if err != nil || n == 0 {
		t.Fatalf("axe self-check: %d serious violations on a broken page (%v)", n, err)
	}

	// Sign in.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(`#name`)); err != nil {
		t.Fatalf("open sign-in page: %v", err)
	}
	checkAxe(t, ctx, string(axeSrc), "sign-in")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#name`, "olivia"),
		chromedp.SendKeys(`#password`, "correct horse battery\r"),
		chromedp.WaitVisible(`table.inbox`),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	checkAxe(t, ctx, string(axeSrc), "inbox")

	// The critical case is the first row.
	firstRef, err := chromedp.Run(ctx, chromedp.Text(`#rows tr:first-child td:nth-child(2) a`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(firstRef) != string(crit.Ref) {
		t.Fatalf("first row is %q, want the critical case %s", firstRef, crit.Ref)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`#rows tr:first-child td:nth-child(2) a`),
		chromedp.WaitVisible(`#h-conv`),
	)
	if err != nil {
		t.Fatalf("open the case: %v", err)
	}
	checkAxe(t, ctx, string(axeSrc), "case")
	scripts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("main script").length`))
	if err != nil || scripts != 0 {
		t.Errorf("the citizen's <script> became an element (%d, %v)", scripts, err)
	}

	// Correct the topic with the keyboard only: focus the select, choose,
	// then press Enter on the focused button.
	err = chromedp.Do(ctx,
		chromedp.Focus(`#topic`),
		chromedp.SetValue(`#topic`, "public_safety"),
		chromedp.Focus(`form[action$="/correct"] button`),
		chromedp.KeyEvent("\r"),
	)
	if err == nil {
		err = waitDone(ctx, "labels")
	}
	if err != nil {
		t.Fatalf("correct the topic: %v", err)
	}
	// Answer: type, Tab to the button, Enter.
	err = chromedp.Do(ctx,
		chromedp.Focus(`#answer-text`),
		chromedp.KeyEvent("The fire brigade is on its way. Leave the building."),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("\r"),
	)
	if err == nil {
		err = waitDone(ctx, "answer")
	}
	if err != nil {
		t.Fatalf("answer: %v", err)
	}
	done, err := chromedp.Run(ctx, chromedp.Text(`p.done`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(done, "Answer queued") {
		t.Errorf("confirmation = %q", done)
	}
	png := filepath.Join(t.ArtifactDir(), "case-page.png")
	if err := os.WriteFile(png, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", png)

	// What the clicks did, in the store.
	v, err := rg.db.CaseView(context.Background(), crit.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Case.Topic != "public_safety" || v.Case.Status != citybot.StatusAnswered {
		t.Errorf("case after the browser: topic %s, status %s", v.Case.Topic, v.Case.Status)
	}
	items, err := rg.db.OutboxItems(context.Background(), fmt.Sprintf("officer:answer:%d:", crit.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Out.Platform != citybot.Telegram || items[0].Out.Chat != crit.Chat ||
		!strings.Contains(items[0].Out.Text, "The fire brigade is on its way.") {
		t.Errorf("outbox after the answer: %+v", items)
	}
}
