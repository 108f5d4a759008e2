package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"citybot"
)

// TestBrowserNextStaysOnConsole signs in with Chromium through /login
// with next values that name another host in the ways browsers forgive
// (a tab, a backslash, encoded slashes): Chromium must stay on the
// console, and the other host must never be asked for anything.
// It needs only Chromium (not axe-core).
func TestBrowserNextStaysOnConsole(t *testing.T) {
	chromium := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		browserDeps(t) // skips, or fails in CI
	}
	var hits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("<title>evil</title>evil"))
	}))
	defer evil.Close()
	host := strings.TrimPrefix(evil.URL, "http://")

	rg := newRig(t, Options{LoginBurst: 1000})
	rg.account("olivia", citybot.RoleOfficer, "correct horse battery")
	base := strings.Replace(rg.ts.URL, "localhost", "127.0.0.1", 1)

	ctx, stopBrowser := newBrowser(chromium, 0, 0, 90*time.Second)
	defer stopBrowser()

	variants := []string{
		"/\t/" + host + "/",
		"/%09/" + host + "/",
		"/\\" + host + "/",
		"/%5C" + host + "/",
		"\\\\" + host + "/",
		"//" + host + "/",
		"/%2F%2F" + host + "/",
		"/\t\\" + host + "/",
	}
	where := func() string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			origin, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState === "complete" ? location.origin : ""`))
			if err == nil && origin != "" {
				return origin
			}
			if time.Now().After(deadline) {
				t.Fatalf("page did not load: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The sign-in form carries next.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login?next="+url.QueryEscape(variants[0])), chromedp.WaitVisible(chromedp.CSS(`#name`))); err != nil {
		t.Fatalf("open sign-in page: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`#name`), "olivia"), chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery\r")); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if o := where(); o != base || hits.Load() != 0 {
		t.Errorf("sign-in with next=%q: the browser is at %s (other host asked %d times)", variants[0], o, hits.Load())
	}
	// Signed in, /login?next= redirects at once.
	for _, v := range variants {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/login?next="+url.QueryEscape(v))); err != nil {
			t.Fatalf("navigate next=%q: %v", v, err)
		}
		if o := where(); o != base || hits.Load() != 0 {
			t.Errorf("next=%q: the browser is at %s (other host asked %d times)", v, o, hits.Load())
		}
	}
}
