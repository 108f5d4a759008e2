package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"citybot"
	"citybot/bots/telegram/tgemu"
)

// keyboard types into the page and counts every key pressed: a
// character, Tab, Enter, an arrow or a chord (Ctrl+Enter) is one
// keystroke. Nothing is clicked, focused or set by script.
type keyboard struct {
	t   *testing.T
	ctx context.Context
	n   int
}

// press sends each rune of keys as one keystroke.
func (k *keyboard) press(keys string, opts ...chromedp.KeyOption) {
	k.t.Helper()
	if err := chromedp.Do(k.ctx, chromedp.KeyEvent(keys, opts...)); err != nil {
		k.t.Fatalf("press %q: %v", keys, err)
	}
	k.n += len([]rune(keys))
}

// focused reports whether the focused element matches the selector.
func (k *keyboard) focused(sel string) bool {
	ok, err := chromedp.Run(k.ctx, chromedp.Evaluate[bool](fmt.Sprintf(
		`document.activeElement !== null && document.activeElement.matches(%q)`, sel)))
	return err == nil && ok
}

// tabTo presses Tab until the element matching sel has the focus.
func (k *keyboard) tabTo(sel string) {
	k.t.Helper()
	for i := 0; i < 150; i++ {
		if k.focused(sel) {
			return
		}
		k.press(kb.Tab)
	}
	k.t.Fatalf("Tab never reached %s", sel)
}

// arrowTo presses the down arrow on the focused select until its value is
// want.
func (k *keyboard) arrowTo(want string) {
	k.t.Helper()
	for i := 0; i < 10; i++ {
		v, err := chromedp.Run(k.ctx, chromedp.Evaluate[string](`document.activeElement.value`))
		if err == nil && v == want {
			return
		}
		k.press(kb.ArrowDown)
	}
	k.t.Fatalf("the arrow keys never chose %q", want)
}

// waitFor waits until the JavaScript condition is true; evaluations fail
// while the page navigates and are tried again.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && (`+cond+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened (last error: %v)", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// triageReports are ten citizens' messages, none critical.
func triageReports() []string {
	return []string{
		"The bench in the park near the library is broken.",
		"Garbage has not been collected on Rose Street for two weeks.",
		"The streetlight on Oak Avenue has been out since Monday.",
		"There is a big pothole on the road to the market.",
		"The bus to the hospital never comes on time.",
		"Loud music every night from the bar on Main Street.",
		"Water from the tap is brown in our area.",
		"How do I get a permit to build a fence?",
		"The playground swings are broken in Central Park.",
		"Trash bins overflow near the school.",
	}
}

// triageAnswer is what the officer types to each citizen.
const triageAnswer = "Thank you, a team fixed it today."

// TestBrowserTriageTen triages ten cases (answer, then resolve) in
// headless Chromium with the keyboard only, and counts the keystrokes:
// every key pressed, a chord (Ctrl+Shift+Enter) as one, each typed
// character as one. The count is logged ("keystrokes to triage 10 cases:
// N"; before the shortcuts, reply-and-resolve and next case, the same
// triage took 770, 440 of them without the typed answers); the store and
// the citizens' Telegram chats show that each case was answered and
// resolved, and the first citizen received exactly the text previewed.
// Then ten more are triaged with a canned answer each ("keystrokes to
// triage 10 cases with canned answers: N").
func TestBrowserTriageTen(t *testing.T) {
	chromium, _ := browserDeps(t)
	e := newE2E(t)
	rg := e.rig
	rg.account("olivia", citybot.RoleOfficer, "correct horse battery")
	ctx0, cancel0 := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel0()
	reports := triageReports()
	for i, text := range reports {
		u := tgemu.User{ID: int64(201 + i), FirstName: "Citizen", LanguageCode: "en"}
		if _, err := e.emu.Post(tgemu.Incoming{From: u, Text: text}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.emu.WaitSent(ctx0, func(m tgemu.SentMessage) bool { return m.Chat == u.ID }); err != nil {
			t.Fatalf("no acknowledgement to citizen %d: %v", u.ID, err)
		}
	}
	items, _, err := rg.db.InboxPage(ctx0, citybot.InboxQuery{})
	if err != nil || len(items) != len(reports) {
		t.Fatalf("inbox: %d cases, %v", len(items), err)
	}

	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	ctx, stopBrowser := newBrowser(chromium, 1280, 1000, 300*time.Second)
	defer stopBrowser()

	// Signing in is not counted: the officer is at the inbox.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "olivia"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r"),
		chromedp.WaitVisible(chromedp.CSS(`table.inbox`)))
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	k := &keyboard{t: t, ctx: ctx}
	// o opens the first case of the inbox (once the page has loaded).
	waitFor(t, ctx, "inbox loaded", `document.querySelector("table.inbox") !== null`)
	k.press("o")
	var previewed string
	var firstChat citybot.ChatID
	seen := map[string]bool{}
	for i := range reports {
		waitFor(t, ctx, "case page", `location.pathname.startsWith("/cases/") && document.getElementById("answer-text") !== null`)
		path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil {
			t.Fatal(err)
		}
		if seen[path] {
			t.Fatalf("case %s opened twice", path)
		}
		seen[path] = true
		// a: write the answer; Ctrl+Shift+Enter: send it and resolve.
		k.press("a")
		k.press(triageAnswer)
		if i == 0 {
			waitFor(t, ctx, "preview", `(document.querySelector("#preview pre.preview") || {textContent: ""}).textContent.includes(`+fmt.Sprintf("%q", triageAnswer)+`)`)
			if previewed, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#preview pre.preview").textContent`)); err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if strings.HasSuffix(path, fmt.Sprintf("/%d", it.Case.ID)) {
					firstChat = it.Case.Chat
				}
			}
		}
		k.press(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl, chromedp.ModifierShift))
		if i < len(reports)-1 {
			// The next case opens, saying what was done to this one.
			waitFor(t, ctx, "next case", `location.pathname !== `+fmt.Sprintf("%q", path)+` && location.search.includes("done=resolved") && document.querySelector("p.done") !== null`)
		} else {
			// None is left: the inbox says so.
			waitFor(t, ctx, "inbox", `location.pathname === "/inbox" && document.querySelector("p.done") !== null`)
		}
		t.Logf("case %d triaged; %d keystrokes so far", i+1, k.n)
	}
	done, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.done`)))
	if err != nil || !strings.Contains(done, "No other case is waiting") {
		t.Errorf("the inbox after the last case says %q (%v)", done, err)
	}
	t.Logf("keystrokes to triage 10 cases: %d (%d typed answer characters)", k.n, len(reports)*len(triageAnswer))
	if out := os.Getenv("CITYBOT_TRIAGE_COUNT"); out != "" {
		if err := os.WriteFile(out, []byte(fmt.Sprintln(k.n)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Every case was answered and resolved, and each citizen got the answer.
	for _, it := range items {
		v, err := rg.db.CaseView(context.Background(), it.Case.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Case.Status != citybot.StatusResolved {
			t.Errorf("case %s is %s, want resolved", v.Case.Ref, v.Case.Status)
		}
		chat := it.Case.Chat
		got, err := e.emu.WaitSent(ctx0, func(m tgemu.SentMessage) bool {
			return fmt.Sprint(m.Chat) == string(chat) && strings.Contains(m.Text, triageAnswer)
		})
		if err != nil {
			t.Errorf("case %s: the answer never reached chat %s: %v", v.Case.Ref, chat, err)
			continue
		}
		if chat == firstChat && got.Text != previewed {
			t.Errorf("the citizen received %q; the preview showed %q", got.Text, previewed)
		}
		// Exactly what was typed: no shortcut key slipped into it.
		hist, err := rg.db.Audit(context.Background(), fmt.Sprintf("case:%d", it.Case.ID))
		if err != nil {
			t.Fatal(err)
		}
		answered := false
		for _, h := range hist {
			var after struct{ Text string }
			if h.Action == "case.answer" && json.Unmarshal([]byte(h.After), &after) == nil {
				answered = answered || after.Text == triageAnswer
			}
		}
		if !answered {
			t.Errorf("case %s: no answer of exactly %q in its history", v.Case.Ref, triageAnswer)
		}
	}
	if firstChat == "" || previewed == "" {
		t.Error("no preview was checked")
	}

	// Ten more, answered with the first canned answer of their topic:
	// 1 puts it in, Ctrl+Shift+Enter sends and resolves.
	const cannedText = "Thank you: a team will look at it this week."
	for _, topic := range testPolicy(t).Topics() {
		if err := rg.db.SetCannedAnswer(ctx0, citybot.CannedAnswer{Topic: topic, Language: "en", Text: cannedText, UpdatedBy: "root"}); err != nil {
			t.Fatal(err)
		}
	}
	for i, text := range reports {
		u := tgemu.User{ID: int64(401 + i), FirstName: "Citizen", LanguageCode: "en"}
		if _, err := e.emu.Post(tgemu.Incoming{From: u, Text: text}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.emu.WaitSent(ctx0, func(m tgemu.SentMessage) bool { return m.Chat == u.ID }); err != nil {
			t.Fatalf("no acknowledgement to citizen %d: %v", u.ID, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/inbox"), chromedp.WaitVisible(chromedp.CSS(`table.inbox`))); err != nil {
		t.Fatal(err)
	}
	kc := &keyboard{t: t, ctx: ctx}
	waitFor(t, ctx, "inbox loaded", `document.querySelector("table.inbox") !== null`)
	kc.press("o")
	for i := range reports {
		waitFor(t, ctx, "case page", `location.pathname.startsWith("/cases/") && document.querySelector(".canned-insert") !== null`)
		path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil {
			t.Fatal(err)
		}
		kc.press("1")
		waitFor(t, ctx, "canned answer in the box", `document.getElementById("answer-text").value === `+fmt.Sprintf("%q", cannedText))
		kc.press(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl, chromedp.ModifierShift))
		if i < len(reports)-1 {
			waitFor(t, ctx, "next case", `location.pathname !== `+fmt.Sprintf("%q", path)+` && location.search.includes("done=resolved")`)
		} else {
			waitFor(t, ctx, "inbox", `location.pathname === "/inbox" && document.querySelector("p.done") !== null`)
		}
	}
	t.Logf("keystrokes to triage 10 cases with canned answers: %d", kc.n)
	for i := range reports {
		chat := int64(401 + i)
		if _, err := e.emu.WaitSent(ctx0, func(m tgemu.SentMessage) bool { return m.Chat == chat && strings.Contains(m.Text, cannedText) }); err != nil {
			t.Errorf("citizen %d never got the canned answer: %v", chat, err)
		}
	}
	if open, _, err := rg.db.InboxPage(ctx0, citybot.InboxQuery{}); err != nil || len(open) != 0 {
		t.Errorf("%d cases still open after the canned triage (%v)", len(open), err)
	}
}
