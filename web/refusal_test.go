package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"citybot"
	"citybot/locale"
)

// TestFailureByKind: each error kind gets its status and general text; a
// refusal keeps the kind of the error it explains.
func TestFailureByKind(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status int
		key    string
	}{
		{fmt.Errorf("store: x: %w", citybot.ErrNotFound), http.StatusNotFound, "console.err_not_found"},
		{fmt.Errorf("store: x: %w: role", citybot.ErrForbidden), http.StatusForbidden, "console.err_forbidden"},
		{fmt.Errorf("x: %w", citybot.ErrTooLarge), http.StatusRequestEntityTooLarge, "console.err_too_large"},
		{fmt.Errorf("x: %w", citybot.ErrDuplicate), http.StatusBadRequest, "console.err_duplicate"},
		{fmt.Errorf("x: %w", citybot.ErrInvalid), http.StatusBadRequest, "console.err_invalid"},
		{errors.New("disk on fire"), http.StatusInternalServerError, "console.err_failed"},
		{refusedAs(fmt.Errorf("x: %w", citybot.ErrNotFound), "console.refuse_account_unknown", citybot.ErrNotFound), http.StatusNotFound, "console.err_not_found"},
		{invalid("console.refuse_tick"), http.StatusBadRequest, "console.err_invalid"},
	} {
		status, _, key := failure(tt.err)
		if status != tt.status || key != tt.key {
			t.Errorf("%v: %d %s, want %d %s", tt.err, status, key, tt.status, tt.key)
		}
	}
	// refusedAs leaves other kinds (and nil) alone.
	plain := fmt.Errorf("x: %w", citybot.ErrInvalid)
	if got := refusedAs(plain, "console.refuse_note", citybot.ErrNotFound); got != plain {
		t.Errorf("refusedAs changed an error of another kind: %v", got)
	}
	if refusedAs(nil, "console.refuse_note", citybot.ErrInvalid) != nil {
		t.Error("refusedAs(nil) is not nil")
	}
}

// TestRefusalsInLanguage: a refusal the console makes and one the store
// makes (the last admin) read in the admin's language, with no error
// text of the code on the page.
func TestRefusalsInLanguage(t *testing.T) {
	rg := newRig(t, Options{Policy: testPolicy(t, "en", "fr", "ar")})
	root := rg.account("root", citybot.RoleAdmin, "a long enough password")
	if err := rg.db.SetAccountLanguage(context.Background(), root.ID, "fr"); err != nil {
		t.Fatal(err)
	}
	admin := rg.signIn(root)
	fr := publicTexts{wordsFor(locale.MustEmbedded(), "fr")}
	for _, tt := range []struct {
		path string
		form url.Values
		key  string
	}{
		{"/admin/accounts/action", url.Values{"name": {"root"}, "action": {"disable"}, "confirm": {"yes"}}, "console.refuse_last_admin"},
		{"/admin/accounts/action", url.Values{"name": {"root"}, "action": {"role"}, "role": {"officer"}, "confirm": {"yes"}}, "console.refuse_last_admin"},
		{"/admin/canned", url.Values{"topic": {"nonsense"}, "language": {"fr"}, "text": {"x"}}, "console.refuse_topic_lang"},
		{"/admin/accounts", url.Values{"name": {"olga"}, "role": {"officer"}, "password": {"short"}}, "console.refuse_password"},
		{"/admin/model/rollback", url.Values{"to": {"yesterday"}}, "console.refuse_retrain"},
	} {
		resp, body := rg.do(admin, http.MethodPost, tt.path, tt.form)
		want := strings.ReplaceAll(fr.t(tt.key, "min", "12"), "'", "&#39;")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s %v: %d, want %q in\n%s", tt.path, tt.form, resp.StatusCode, want, body)
		}
		for _, raw := range []string{"store:", "web:", "invalid", "last active admin"} {
			if strings.Contains(body, raw) {
				t.Errorf("%s %v: the page shows %q", tt.path, tt.form, raw)
			}
		}
	}
	if a, _ := rg.db.AccountByName(context.Background(), "root"); a.Disabled || a.Role != citybot.RoleAdmin {
		t.Errorf("the last admin changed: %+v", a)
	}
}

// TestRefusalKeysExist: every catalog key the console's code refuses
// with is in the English file (and so, by the locale completeness test,
// in every shipped language).
func TestRefusalKeysExist(t *testing.T) {
	en := locale.MustEmbedded().Catalog(locale.Reference)
	files, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`"(console\.refuse_[a-z_]+)"`)
	seen := 0
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			k := m[1]
			if k == "console.refuse_rollback_" { // + "previous" or "shipped"
				for _, to := range []string{"previous", "shipped"} {
					if en.Text(k+to) == "" {
						t.Errorf("%s: %s%s is not in en.toml", name, k, to)
					}
				}
				continue
			}
			seen++
			if en.Text(k) == "" {
				t.Errorf("%s: %s is not in en.toml", name, k)
			}
		}
	}
	if seen < 20 {
		t.Fatalf("only %d refusal keys found: the check looks at the wrong files", seen)
	}
}

// TestAuditInLanguage: the audit log's sentences, values and subjects in
// the console's language; stored values stay as they are in the record.
func TestAuditInLanguage(t *testing.T) {
	locs := locale.MustEmbedded()
	e := citybot.AuditEntry{Actor: "olivia", Action: "case.status", Subject: "case:42",
		Before: `{"status":"answered"}`, After: `{"status":"resolved","reason":"fixed"}`}
	for _, tt := range []struct {
		lang, sentence, subject string
	}{
		{"en", "olivia changed the status (reason: fixed; status: answered → resolved).", `<a href="/cases/42">case 42</a>`},
		{"fr", "olivia a changé l'état (raison : fixed; état : répondu → résolu).", `<a href="/cases/42">dossier 42</a>`},
		{"ar", "olivia غيّر الوضع (السبب: fixed؛ الوضع: تم الرد ← تم الحل).", `<a href="/cases/42">الحالة 42</a>`},
	} {
		w := publicTexts{wordsFor(locs, tt.lang)}
		if got := w.Audit(e); got != tt.sentence {
			t.Errorf("%s: %q, want %q", tt.lang, got, tt.sentence)
		}
		if got := string(w.Subject(e.Subject)); got != tt.subject {
			t.Errorf("%s subject: %q, want %q", tt.lang, got, tt.subject)
		}
	}
	fr := publicTexts{wordsFor(locs, "fr")}
	for _, tt := range []struct {
		e    citybot.AuditEntry
		want string
	}{
		{citybot.AuditEntry{Actor: "scheduler", Action: "retention.apply", Subject: "retention"}, "citybot (tâche prévue) a effacé d'anciennes données d'habitants (durée de conservation)."},
		{citybot.AuditEntry{Actor: "root", Action: "account.role", Before: `{"role":"officer"}`, After: `{"role":"admin"}`}, "root a changé le rôle d'un compte (rôle : agent → admin)."},
		{citybot.AuditEntry{Actor: "", Action: "thing.new_kind", After: `{"sensitive":true}`}, "Quelqu'un a fait thing: new kind (sensible : oui)."},
		{citybot.AuditEntry{Actor: "citizen", Action: "case.followup", After: "not json"}, "L'habitant a répondu à « est-ce réglé ? » (→ not json)."},
	} {
		if got := fr.Audit(tt.e); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
	if got := string(fr.Subject("account:3")); got != "compte 3" {
		t.Errorf("account subject: %q", got)
	}
	if got := string(fr.Subject(`x<b>:1`)); strings.Contains(got, "<b>") {
		t.Errorf("subject not escaped: %q", got)
	}
}

// TestStoredNamesInLanguage: statuses, topics, urgencies, roles and
// languages are shown by their names in the console's language; the
// forms still send the stored values.
func TestStoredNamesInLanguage(t *testing.T) {
	rg := newRig(t, Options{Policy: testPolicy(t, "en", "fr")})
	root := rg.account("root", citybot.RoleAdmin, "a long enough password")
	if err := rg.db.SetAccountLanguage(context.Background(), root.ID, "fr"); err != nil {
		t.Fatal(err)
	}
	admin := rg.signIn(root)
	c := rg.report("5", "Gros trou dans la chaussée", "roads", "fr", citybot.UrgencyHigh)
	_, inbox := rg.do(admin, http.MethodGet, "/inbox", nil)
	_, page := rg.do(admin, http.MethodGet, casePath(c, ""), nil)
	for _, want := range []string{">voirie<", ">haute<", ">nouveau<", ">Français<"} {
		if !strings.Contains(inbox, want) {
			t.Errorf("inbox lacks %q", want)
		}
	}
	for _, want := range []string{"<dd>voirie</dd>", `<option value="roads" selected>voirie</option>`, `<option value="high" selected>haute</option>`, "(admin)"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	for _, english := range []string{">roads<", ">high<", "water sanitation"} {
		if strings.Contains(inbox, english) || strings.Contains(page, english) {
			t.Errorf("a page shows the stored %q", english)
		}
	}
	_, accounts := rg.do(admin, http.MethodGet, "/admin/accounts", nil)
	if !strings.Contains(accounts, `<option value="officer">agent</option>`) || !strings.Contains(accounts, `<option value="official">élu</option>`) {
		t.Errorf("roles not named in French:\n%s", accounts)
	}
}
