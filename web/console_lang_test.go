package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"citybot"
)

// consolePage gets path as u with the browser languages accept ("" for
// none) and returns the status, the page and its <html> tag.
func consolePage(t *testing.T, rg *rig, u *user, path, accept string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rg.ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept-Language", accept)
	}
	if u != nil {
		req.AddCookie(u.cookie)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
		t.Errorf("GET %s: Vary %q, want Accept-Language", path, resp.Header.Get("Vary"))
	}
	return resp.StatusCode, string(b), regexp.MustCompile(`<html[^>]*>`).FindString(string(b))
}

// TestConsoleLanguage: the account's choice, else the browser's
// languages matched to the city's, else the city's default; lang and dir
// follow, and the texts come from the language files.
func TestConsoleLanguage(t *testing.T) {
	rg := newRig(t, Options{Policy: testPolicy(t, "fr", "en", "ar")})
	a := rg.account("amina", citybot.RoleOfficer, "correct horse battery")
	u := rg.signIn(a)
	c := rg.report("c1", "Trou <b>énorme</b> rue X", "roads", "fr", citybot.UrgencyNormal)

	for _, tc := range []struct {
		path, accept, wantLang, wantDir, word string
	}{
		{"/login", "", "fr", "ltr", "Se connecter"},           // the city's default
		{"/login", "de-DE, ar-EG;q=0.8", "ar", "rtl", "دخول"}, // German is not spoken: Arabic next
		{"/login", "en-GB", "en", "ltr", "Account name"},
		{"/login", "ar;q=0, en", "en", "ltr", "Password"}, // q=0 means not Arabic
		{"/inbox", "ar", "ar", "rtl", "صندوق الحالات"},
		{"/inbox", "pt-BR", "fr", "ltr", "Boîte de réception"}, // not a language of the city
		{casePath(c, ""), "ar", "ar", "rtl", "المحادثة"},
		{casePath(c, ""), "fr", "fr", "ltr", "Travailler sur le dossier"},
	} {
		var who *user
		if tc.path != "/login" {
			who = u
		}
		status, body, html := consolePage(t, rg, who, tc.path, tc.accept)
		if status != http.StatusOK {
			t.Fatalf("GET %s (%q): status %d", tc.path, tc.accept, status)
		}
		if want := `<html lang="` + tc.wantLang + `" dir="` + tc.wantDir + `">`; html != want {
			t.Errorf("GET %s (%q): %s, want %s", tc.path, tc.accept, html, want)
		}
		if !strings.Contains(body, tc.word) {
			t.Errorf("GET %s (%q): %q missing", tc.path, tc.accept, tc.word)
		}
	}

	// The account chooses Arabic: the browser's English no longer counts.
	resp, _ := rg.do(u, http.MethodPost, "/account/language", url.Values{"lang": {"ar"}, "back": {casePath(c, "")}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != casePath(c, "") {
		t.Fatalf("choose ar: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got, err := rg.db.AccountLanguage(context.Background(), a.ID); err != nil || got != "ar" {
		t.Fatalf("stored choice %q, %v", got, err)
	}
	_, body, html := consolePage(t, rg, u, "/inbox", "en")
	if html != `<html lang="ar" dir="rtl">` || !strings.Contains(body, "صندوق الحالات") {
		t.Errorf("chosen Arabic, browser English: %s", html)
	}
	// What the case page says after an action is in Arabic too; an
	// unknown "done" says nothing.
	if _, body, _ := consolePage(t, rg, u, casePath(c, "?done=note"), "en"); !strings.Contains(body, wordsFor(rg.srv.locs(), "ar").t("console.done_note")) {
		t.Error("the note's confirmation is not in Arabic")
	}
	// The classifier's line is in Arabic too.
	if _, body, _ := consolePage(t, rg, u, casePath(c, ""), "en"); !strings.Contains(body, "ما فهمه البرنامج:") || strings.Contains(body, "Understood:") {
		t.Error("the classifier's line is not in Arabic")
	}
	// The one-time codes page too, its marked word in bold.
	if _, body, _ := consolePage(t, rg, u, "/account/totp", "en"); !strings.Contains(body, "<strong>مطفأة</strong>") || strings.Contains(body, "Set up one-time codes") {
		t.Error("the one-time codes page is not in Arabic")
	}
	if _, body, _ := consolePage(t, rg, u, "/inbox?done=bulk-assign&n=2&failed=1", "en"); !strings.Contains(body, "أُعطيت حالتان.") ||
		!strings.Contains(body, "تعذّر تغيير حالة واحدة") {
		t.Error("the inbox's note after a bulk action is not in Arabic with its plural forms")
	}
	if _, body, _ := consolePage(t, rg, u, casePath(c, "?done=%3Cscript%3E"), "en"); strings.Contains(body, `class="done toast"`) {
		t.Error("an unknown done key shows a confirmation")
	}
	if !regexp.MustCompile(`<option value="ar"[^>]*selected>`).MatchString(body) {
		t.Error("the picker does not show the choice")
	}
	// Citizen text stays escaped in the Arabic page.
	if strings.Contains(body, "<b>énorme</b>") {
		t.Error("citizen text not escaped")
	}

	// A language the city does not speak is refused and changes nothing;
	// an unsafe return address goes to the inbox.
	// The error page is in the chosen language.
	if resp, body := rg.do(u, http.MethodPost, "/account/language", url.Values{"lang": {"de"}}); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "غير ممكن") || !strings.Contains(body, `dir="rtl"`) {
		t.Errorf("choose de: %d, want 400 in Arabic:\n%s", resp.StatusCode, body)
	}
	if got, _ := rg.db.AccountLanguage(context.Background(), a.ID); got != "ar" {
		t.Errorf("after refused choice: %q", got)
	}
	resp, _ = rg.do(u, http.MethodPost, "/account/language", url.Values{"lang": {""}, "back": {"//evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox" {
		t.Errorf("follow the browser again: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, _, html := consolePage(t, rg, u, "/inbox", "en-US"); html != `<html lang="en" dir="ltr">` {
		t.Errorf("back to the browser's language: %s", html)
	}
	// Without the form token the choice is refused.
	if resp, _ := rg.do(u, http.MethodPost, "/account/language", url.Values{"lang": {"fr"}, "csrf": {"wrong"}}); resp.StatusCode < 400 {
		t.Errorf("choice without form token: %d", resp.StatusCode)
	}
}

// TestConsoleDefaultLanguage: with nothing to go by, the console speaks
// the city's default language, wherever it stands in the city's list.
func TestConsoleDefaultLanguage(t *testing.T) {
	p, err := citybot.NewPolicy(citybot.PolicyConfig{
		City: "Testville", Languages: []string{"en", "sw", "ar"}, DefaultLanguage: "sw", Location: time.UTC,
		Topics: []string{"roads", "other"}, SensitiveTopics: []string{}, EmergencyNumber: "112",
		MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000},
	})
	if err != nil {
		t.Fatal(err)
	}
	rg := newRig(t, Options{Policy: p})
	for accept, want := range map[string]string{"": "sw", "de, it;q=0.5": "sw", "en-KE": "en"} {
		_, _, html := consolePage(t, rg, nil, "/login", accept)
		if !strings.HasPrefix(html, `<html lang="`+want+`"`) {
			t.Errorf("Accept-Language %q: %s, want lang %s", accept, html, want)
		}
	}
}

// TestConsoleSignInRefusedInLanguage: a failed sign-in is refused in the
// browser's language, the same words for a name that exists and one that
// does not.
func TestConsoleSignInRefusedInLanguage(t *testing.T) {
	rg := newRig(t, Options{Policy: testPolicy(t, "en", "ar")})
	rg.account("amina", citybot.RoleOfficer, "correct horse battery")
	want := wordsFor(rg.srv.locs(), "ar").t("console.login_failed")
	for _, name := range []string{"amina", "nobody"} {
		form := url.Values{"name": {name}, "password": {"wrong"}}
		req, err := http.NewRequest(http.MethodPost, rg.ts.URL+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept-Language", "ar-MA")
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) || !strings.Contains(string(b), `<html lang="ar" dir="rtl">`) {
			t.Errorf("%s: refusal not in Arabic (status %d):\n%s", name, resp.StatusCode, b)
		}
	}
}
