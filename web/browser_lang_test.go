package web

import (
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserArabicPublicPages opens the public pages of a city speaking
// English and Arabic in headless Chromium: in Arabic the page is laid out
// right to left (the computed direction, not only the attribute), the
// Arabic digest is right to left inside the English page, and axe-core
// finds no serious or critical violation; every control is reached by
// keyboard with a visible focus, and the pages reflow at 320 px.
func TestBrowserArabicPublicPages(t *testing.T) {
	chromium, axePath := browserDeps(t)
	axeBytes, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	base, week := newArabicPublic(t)
	ctx, stopBrowser := newBrowser(chromium, 1280, 1200, 120*time.Second)
	defer stopBrowser()

	for _, tt := range []struct {
		page, pageDir, digestSel, digestDir string
	}{
		{"/public/?lang=ar", "rtl", `pre.digest`, "rtl"},
		{"/public/?lang=en", "ltr", `pre.digest`, "ltr"},
		{"/public/digests/" + string(week), "ltr", `section[lang="ar"] pre`, "rtl"},
		{"/public/digests/" + string(week) + "?lang=ar", "rtl", `section[lang="en"] pre`, "ltr"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+tt.page), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatalf("open %s: %v", tt.page, err)
		}
		pageDir, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).direction`))
		if err != nil {
			t.Fatalf("%s: %v", tt.page, err)
		}
		digestDir, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector(`+"`"+tt.digestSel+"`"+`)).direction`))
		if err != nil {
			t.Fatalf("%s: %v", tt.page, err)
		}
		if pageDir != tt.pageDir || digestDir != tt.digestDir {
			t.Errorf("%s: page direction %q (want %q), %s direction %q (want %q)", tt.page, pageDir, tt.pageDir, tt.digestSel, digestDir, tt.digestDir)
		}
		checkAxe(t, ctx, string(axeBytes), tt.page)
		checkKeyboard(t, ctx, tt.page)
		checkReflow(t, ctx, tt.page)
	}
}
