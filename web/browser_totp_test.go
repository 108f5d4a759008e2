package web

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"citybot"
)

// TestBrowserAccountsAndTOTP drives, in headless Chromium, an admin's
// first sign-in after the upgrade: sent to set up one-time codes (the QR
// image made by the console, the key as text), turned on only by a right
// code, ten recovery codes shown once; then the accounts page (create an
// officer, disable it with a confirmation), sign-out, sign-in with a code
// from the app, and sign-in with a recovery code. axe-core runs on every
// page on the way.
func TestBrowserAccountsAndTOTP(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeSrc, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	axe := string(axeSrc)
	// The console's clock moves on by a step between codes (a code is
	// good once); the store's sessions stay within their lifetime.
	clk := &clock{t: time.Now().UTC()}
	rg := newRig(t, Options{LoginBurst: 1000, Now: clk.now})
	h, _ := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	if _, err := rg.db.CreateAccount(context.Background(), "root", citybot.RoleAdmin, string(h), "test"); err != nil {
		t.Fatal(err)
	}
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)
	ctx, stopBrowser := newBrowser(chromium, 1280, 1400, 180*time.Second)
	defer stopBrowser()

	password := func() {
		t.Helper()
		err := chromedp.Do(ctx, chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#name`)),
			chromedp.SendKeys(chromedp.CSS(`#name`), "root"), chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r"))
		if err != nil {
			t.Fatalf("password: %v", err)
		}
	}
	path := func() string {
		p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// First sign-in: straight to enrolment, with nothing else on offer.
	password()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`form[action="/account/totp/start"] button`))); err != nil {
		t.Fatalf("not sent to enrolment: %v (at %s)", err, path())
	}
	checkAxe(t, ctx, axe, "enrolment required")
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="/inbox"]').length`)); n != 0 {
		t.Error("the menu is offered before enrolment")
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/admin/accounts"), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
		t.Fatal(err)
	}
	if p := path(); p != "/account/totp" {
		t.Fatalf("the accounts page opened before enrolment (%s)", p)
	}
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="/account/totp/start"] button`)), chromedp.WaitVisible(chromedp.CSS(`#totp-secret`)))
	if err != nil {
		t.Fatalf("start enrolment: %v", err)
	}
	checkAxe(t, ctx, axe, "enrolment")
	// The QR image loaded (from the console itself: the page's CSP
	// allows no other origin).
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(async () => { const i = document.querySelector('img[src="/account/totp/qr.png"]'); if (!i.complete) await new Promise(r => i.onload = r); return i.naturalWidth })()`,
		chromedp.EvalAwaitPromise))
	if err != nil || w < 100 {
		t.Errorf("QR image: width %d, %v", w, err)
	}
	secretText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#totp-secret`)))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.ReplaceAll(strings.TrimSpace(secretText), " ", "")
	if len(secret) != 32 {
		t.Fatalf("key shown %q", secretText)
	}
	// A wrong code first: still off, told so.
	err = chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#a-code`), codeAt(t, secret, clk.now().Add(time.Hour))+"\r"), chromedp.WaitVisible(chromedp.CSS(`#totp-error`)))
	if err != nil {
		t.Fatalf("wrong code: %v", err)
	}
	checkAxe(t, ctx, axe, "enrolment, wrong code")
	err = chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#a-code`), codeAt(t, secret, clk.now())+"\r"), chromedp.WaitVisible(chromedp.CSS(`#recovery-codes`)))
	if err != nil {
		t.Fatalf("turn on: %v", err)
	}
	checkAxe(t, ctx, axe, "recovery codes")
	codesText, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent)`))
	if err != nil || len(codesText) != recoveryCount {
		t.Fatalf("recovery codes %v, %v", codesText, err)
	}

	// The accounts page: create an officer, then disable it.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/admin/accounts"), chromedp.WaitVisible(chromedp.CSS(`#a-name`)))
	if err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "accounts")
	err = chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#a-name`), "olga"), chromedp.SetValue(chromedp.CSS(`#a-role`), "officer"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/accounts"] button`)), chromedp.WaitVisible(chromedp.CSS(`p.done`)))
	if err != nil {
		t.Fatalf("create an account: %v", err)
	}
	olga, err := rg.db.AccountByName(context.Background(), "olga")
	if err != nil {
		t.Fatal(err)
	}
	sel := `#act-` + strconv.FormatInt(int64(olga.ID), 10)
	err = chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), "disable"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/accounts/action"]:has(`+sel+`) button`)), chromedp.WaitVisible(chromedp.CSS(`main p[role="alert"]`)))
	if err != nil {
		t.Fatalf("disable, confirmation: %v", err)
	}
	checkAxe(t, ctx, axe, "account confirmation")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`main form button`)), chromedp.WaitVisible(chromedp.CSS(`p.done`))); err != nil {
		t.Fatalf("disable: %v", err)
	}
	if a, _ := rg.db.AccountByName(context.Background(), "olga"); !a.Disabled {
		t.Error("olga is not disabled")
	}

	// Sign out; sign in with a code from the app.
	signOut := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#name`))); err != nil {
			t.Fatalf("sign out: %v", err)
		}
	}
	signOut()
	clk.add(31 * time.Second)
	password()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#code`))); err != nil {
		t.Fatalf("no code asked after the password: %v (at %s)", err, path())
	}
	checkAxe(t, ctx, axe, "sign-in code")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#code`), codeAt(t, secret, clk.now())+"\r"), chromedp.WaitVisible(chromedp.CSS(`table.inbox`))); err != nil {
		t.Fatalf("sign in with a code: %v (at %s)", err, path())
	}

	// Sign out; sign in with a recovery code (typed with spaces around).
	signOut()
	password()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#code`)), chromedp.SendKeys(chromedp.CSS(`#code`), " "+codesText[0]+" \r"), chromedp.WaitVisible(chromedp.CSS(`table.inbox`))); err != nil {
		t.Fatalf("sign in with a recovery code: %v (at %s)", err, path())
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/account/totp"), chromedp.WaitVisible(chromedp.CSS(`form[action="/account/totp/recovery"]`))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "one-time codes, on")
	left, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if !strings.Contains(left, "9 unused recovery codes") {
		t.Errorf("codes left not shown as 9:\n%s", left)
	}
}
