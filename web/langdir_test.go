package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/casework"
	"citybot/classifier"
	"citybot/internal/storetest"
	"citybot/locale"
	"citybot/responder"
	"citybot/store"
)

// newArabicPublic serves the public pages of a city speaking English
// and Arabic, with one Arabic report and last week's digest approved. It
// returns the server's URL and the digest's week.
func newArabicPublic(t *testing.T) (string, citybot.Week) {
	t.Helper()
	ctx := context.Background()
	clock := &pubClock{t: pubWeek.Add(8 * time.Hour)}
	db := storetest.SQLite(t, store.Options{Now: clock.Now})
	cls, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	langs := []string{"en", "ar"}
	resp, err := responder.New(responder.Options{Policy: testPolicy(t, langs...), Store: db, Classifier: cls, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	dg, err := accountability.NewDigester(accountability.DigestOptions{Policy: testPolicy(t, langs...), Store: db, Now: clock.Now, Classifier: cls})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublic(PublicOptions{Policy: testPolicy(t, langs...), Store: db, Figures: dg, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Policy: testPolicy(t, langs...), Store: db})
	if err != nil {
		t.Fatal(err)
	}
	console, err := New(Options{Policy: testPolicy(t, langs...), Store: db, Officer: off, Now: clock.Now, InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", console.Handler()) // the style sheet
	pub.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)

	m := citybot.Message{Platform: citybot.Telegram, Chat: "501", ChatKind: citybot.ChatPrivate, ID: "1",
		Sender: citybot.Sender{ID: "501", Name: "A"}, Text: "توجد حفرة كبيرة أمام المدرسة", SentAt: clock.Now()}
	if err := resp.HandleMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	clock.Set(pubWeek.Add(7*24*time.Hour + 8*time.Hour))
	if err := dg.DraftLastWeek(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Digests(ctx, 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("draft: %v, %v", ds, err)
	}
	if _, err := dg.Decide(ctx, ds[0].ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	return ts.URL, ds[0].Week
}

// TestPublicPagesLangDir checks that the public pages of a city speaking
// English and Arabic mark each text with its language and writing
// direction: the page in Arabic is right-to-left, the Arabic digest is
// right-to-left inside an English page and the other way round, and the
// language switcher names each language in itself.
func TestPublicPagesLangDir(t *testing.T) {
	base, week := newArabicPublic(t)
	get := func(path string) string {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		return string(b)
	}
	ar := locale.MustEmbedded().Catalog("ar")
	arTitle, _, _ := strings.Cut(strings.ReplaceAll(ar.Text("digest.title"), "{city}", "Testville"), "{dates}")
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/public/?lang=ar", []string{`<html lang="ar" dir="rtl">`, `<pre class="digest" lang="ar" dir="rtl">` + arTitle,
			`lang="en" dir="ltr" hreflang="en">English</a>`, `lang="ar" dir="rtl" hreflang="ar" aria-current="page">العربية</a>`}},
		{"/public/?lang=en", []string{`<html lang="en" dir="ltr">`, `<pre class="digest" lang="en" dir="ltr">Testville listening report`}},
		{"/public/digests/" + string(week), []string{`<html lang="en" dir="ltr">`,
			`<section lang="ar" dir="rtl" aria-labelledby="h-ar">`, `<h2 id="h-ar">العربية</h2>`, `<section lang="en" dir="ltr"`}},
	} {
		body := get(tt.path)
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", tt.path, w)
			}
		}
		// every lang attribute comes with its dir
		for _, m := range regexp.MustCompile(`<[a-z0-9]+ [^>]*\blang="(\w+)"[^>]*>`).FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[0], `dir="`) {
				t.Errorf("GET %s: %s has a lang but no dir", tt.path, m[0])
			}
		}
	}
}
