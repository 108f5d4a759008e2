package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/casework"
	"citybot/classifier"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

var (
	_ Store   = (*store.DB)(nil)
	_ Officer = (*casework.Officer)(nil)
)

// rig is a console on a real store in a temporary directory.
type rig struct {
	t   *testing.T
	db  *store.DB
	srv *Server
	ts  *httptest.Server
	now time.Time
}

// testPolicy is the city of the tests: Testville, speaking langs
// (default English and French), the classifier's default topics,
// corruption sensitive, the platforms' text limits.
func testPolicy(t testing.TB, langs ...string) *citybot.Policy {
	t.Helper()
	if len(langs) == 0 {
		langs = []string{"en", "fr"}
	}
	p, err := citybot.NewPolicy(citybot.PolicyConfig{
		City: "Testville", Languages: langs, DefaultLanguage: langs[0], Location: time.UTC,
		Topics: []string{"roads", "waste", "water_sanitation", "street_lighting", "public_safety", "transport",
			"housing", "noise", "parks", "taxes_budget", "corruption", "administration_permits", "other"},
		SensitiveTopics: []string{"corruption"}, EmergencyNumber: "112",
		MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	return newRigStore(t, opts, store.Options{})
}

// newSigninRig is newRig with the console's clock (opts.Now) given to
// the store too, which keeps the sign-in limits' times.
func newSigninRig(t *testing.T, opts Options) *rig {
	t.Helper()
	return newRigStore(t, opts, store.Options{Now: opts.Now})
}

func newRigStore(t *testing.T, opts Options, sopts store.Options) *rig {
	t.Helper()
	return rigOn(t, opts, storetest.SQLite(t, sopts))
}

// rigOn is a console on an open store, served on 127.0.0.1.
func rigOn(t *testing.T, opts Options, db *store.DB) *rig {
	t.Helper()
	if opts.Policy == nil {
		opts.Policy = testPolicy(t)
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Policy: opts.Policy, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	opts.Store, opts.Officer = db, off
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &rig{t: t, db: db, srv: srv, ts: ts}
}

// account creates an account with a cheap hash (tests only).
func (rg *rig) account(name string, role citybot.Role, password string) citybot.Account {
	rg.t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		rg.t.Fatal(err)
	}
	a, err := rg.db.CreateAccount(context.Background(), name, role, string(h), "test")
	if err != nil {
		rg.t.Fatal(err)
	}
	if role.RequiresTOTP() {
		a = rg.enrol(a)
	}
	return a
}

// testTOTPSecret is the one-time password secret rig accounts of roles
// that need one are enrolled with.
const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// enrol turns one-time codes on for an account, with testTOTPSecret and
// no recovery codes, as if its owner had set them up.
func (rg *rig) enrol(a citybot.Account) citybot.Account {
	rg.t.Helper()
	ctx := context.Background()
	if err := rg.db.StartTOTP(ctx, a.ID, testTOTPSecret); err != nil {
		rg.t.Fatal(err)
	}
	if err := rg.db.ActivateTOTP(ctx, a.ID, testTOTPSecret, 0, nil); err != nil {
		rg.t.Fatal(err)
	}
	a, err := rg.db.AccountByName(ctx, a.Name)
	if err != nil {
		rg.t.Fatal(err)
	}
	return a
}

// user is a signed-in browser: its session cookie and form token.
type user struct {
	cookie *http.Cookie
	csrf   string
}

// signIn opens a session for an account directly in the store.
func (rg *rig) signIn(a citybot.Account) *user {
	rg.t.Helper()
	tok, csrf := randomToken(), randomToken()
	if err := rg.db.CreateSession(context.Background(), a.ID, hashToken(tok), csrf, time.Now().Add(time.Hour)); err != nil {
		rg.t.Fatal(err)
	}
	return &user{cookie: &http.Cookie{Name: rg.srv.cookieName(), Value: tok}, csrf: csrf}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends a request as u (nil: signed out). For POSTs the form token is
// added unless form already has one.
func (rg *rig) do(u *user, method, path string, form url.Values) (*http.Response, string) {
	rg.t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		if form == nil {
			form = url.Values{}
		}
		if u != nil && !form.Has("csrf") {
			form.Set("csrf", u.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rg.ts.URL+path, body)
	if err != nil {
		rg.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if u != nil {
		req.AddCookie(u.cookie)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		rg.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// report ingests a citizen's message on Telegram and returns its case.
func (rg *rig) report(user, text, topic, lang string, u citybot.Urgency) citybot.Case {
	rg.t.Helper()
	res, err := rg.db.Ingest(context.Background(), citybot.Intake{
		Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID("chat-" + user), ChatKind: citybot.ChatPrivate,
			ID: citybot.PlatformMessageID(fmt.Sprint(time.Now().UnixNano())), Sender: citybot.Sender{ID: citybot.UserID(user), Name: "Name " + user, Handle: "@handle" + user},
			Text: text},
		Mode: citybot.CaseJoinOrOpen, Window: time.Minute,
		// The responder's rule for the default sensitive topic.
		Sensitive: topic == "corruption",
		Classification: &citybot.Classification{Topic: citybot.Scored{Label: topic, Confidence: 0.8}, Urgency: u,
			UrgencyConfidence: 0.7, UrgencyCues: []string{text}, Language: lang,
			Places: []citybot.Place{{Name: text, Kind: "street"}}, Model: "test"},
	}, nil)
	if err != nil || res.Case == nil {
		rg.t.Fatalf("ingest: %v", err)
	}
	return *res.Case
}

func casePath(c citybot.Case, suffix string) string { return fmt.Sprintf("/cases/%d%s", c.ID, suffix) }

// TestAuthorizationEveryRouteEveryRole walks the routing table itself, so
// that a new route cannot escape it: signed out, every route sends to the
// sign-in page or answers 401; signed in, a role the route does not name
// gets 403 and a role it names gets through.
func TestAuthorizationEveryRouteEveryRole(t *testing.T) {
	rg := newRig(t, Options{})
	c := rg.report("ana", "pothole", "roads", "en", citybot.UrgencyNormal)
	other := rg.report("bob", "pothole again", "roads", "en", citybot.UrgencyNormal)
	accounts := map[citybot.Role]citybot.Account{}
	for _, r := range []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficer, citybot.RoleOfficial} {
		accounts[r] = rg.account("acct-"+string(r), r, "a long enough password")
	}
	if len(rg.srv.routes) < 15 {
		t.Fatalf("only %d routes", len(rg.srv.routes))
	}
	for _, rt := range rg.srv.routes {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.ReplaceAll(path, "{id}", fmt.Sprint(c.ID))
		path = strings.TrimSuffix(path, "{$}")
		form := url.Values{"nonce": {"n1"}, "text": {"x"}, "status": {"in_progress"}, "into": {string(other.Ref)}}
		t.Run(rt.pattern, func(t *testing.T) {
			resp, _ := rg.do(nil, method, path, form)
			if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("signed out: status %d", resp.StatusCode)
			}
			if resp.StatusCode == http.StatusSeeOther && !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
				t.Errorf("signed out: redirected to %q", resp.Header.Get("Location"))
			}
			for role, a := range accounts {
				allowed := false
				for _, r := range rt.roles {
					allowed = allowed || r == role
				}
				resp, body := rg.do(rg.signIn(a), method, path, url.Values{"nonce": {"n-" + string(role)}, "text": {"x"}, "status": {"in_progress"}})
				switch {
				case !allowed && resp.StatusCode != http.StatusForbidden:
					t.Errorf("%s: status %d, want 403", role, resp.StatusCode)
				case allowed && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode >= 500):
					t.Errorf("%s: status %d, want it let through\n%s", role, resp.StatusCode, body)
				}
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	rg := newRig(t, Options{})
	c := rg.report("ana", "pothole", "roads", "en", citybot.UrgencyNormal)
	u := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	form := func() url.Values { return url.Values{"text": {"a note"}} }

	resp, _ := rg.do(u, http.MethodPost, casePath(c, "/notes"), url.Values{"text": {"a note"}, "csrf": {"wrong"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong form token: status %d, want 403", resp.StatusCode)
	}
	// A cross-site POST is refused even with the right token.
	req, _ := http.NewRequest(http.MethodPost, rg.ts.URL+casePath(c, "/notes"), strings.NewReader(url.Values{"text": {"x"}, "csrf": {u.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(u.cookie)
	r2, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: status %d, want 403", r2.StatusCode)
	}
	if notes, _ := rg.db.CaseNotes(context.Background(), c.ID); len(notes) != 0 {
		t.Fatalf("a refused request added %d notes", len(notes))
	}
	resp, _ = rg.do(u, http.MethodPost, casePath(c, "/notes"), form())
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("right token: status %d", resp.StatusCode)
	}
	if notes, _ := rg.db.CaseNotes(context.Background(), c.ID); len(notes) != 1 {
		t.Errorf("notes after a good request: %d", len(notes))
	}
}

// TestStoredXSS feeds hostile HTML and script as a citizen's message and
// checks that every page that shows it escapes it.
func TestStoredXSS(t *testing.T) {
	rg := newRig(t, Options{})
	const hostile = `<script>alert(1)</script><img src=x onerror=alert(2)>"'><svg/onload=alert(3)> javascript:alert(4)`
	c := rg.report("eve", hostile, "roads", "en", citybot.UrgencyCritical)
	admin := rg.account("root", citybot.RoleAdmin, "a long enough password")
	u := rg.signIn(admin)
	if _, err := rg.db.AddNote(context.Background(), c.ID, "root", hostile); err != nil {
		t.Fatal(err)
	}
	if err := rg.db.SetCannedAnswer(context.Background(), citybot.CannedAnswer{Topic: "roads", Language: "en", Text: hostile, UpdatedBy: "root"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/inbox", "/inbox/rows", "/inbox?q=" + url.QueryEscape(hostile) + "&place=" + url.QueryEscape(hostile),
		casePath(c, ""), "/admin/canned", "/admin/audit"} {
		resp, body := rg.do(u, http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", path, resp.StatusCode)
			continue
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg/onload", `"'><svg`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: page contains %q unescaped", path, bad)
			}
		}
		if path != "/admin/audit" && !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: escaped text missing", path)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
	}
	// The citizen's identity is never shown.
	_, body := rg.do(u, http.MethodGet, casePath(c, ""), nil)
	if strings.Contains(body, "Name eve") || strings.Contains(body, "@handleeve") {
		t.Error("case page shows the citizen's name or handle")
	}
}

func TestLoginLockoutEnumerationAndLogout(t *testing.T) {
	rg := newRig(t, Options{LoginBurst: 100})
	rg.account("olivia", citybot.RoleOfficer, "the right password")
	login := func(name, pw string) (*http.Response, string) {
		return rg.do(nil, http.MethodPost, "/login", url.Values{"name": {name}, "password": {pw}, "next": {"/cases/1"}})
	}
	_, unknown := login("nobody", "whatever password")
	resp, wrong := login("olivia", "wrong password")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: status %d", resp.StatusCode)
	}
	msgOf := func(body string) string {
		return regexp.MustCompile(`(?s)<p class="error"[^>]*>(.*?)</p>`).FindStringSubmatch(body)[1]
	}
	if msgOf(unknown) != msgOf(wrong) {
		t.Errorf("unknown name and wrong password differ: %q vs %q", msgOf(unknown), msgOf(wrong))
	}
	resp, _ = login("olivia", "the right password")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cases/1" {
		t.Fatalf("good sign-in: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == rg.srv.cookieName() {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Name != "__Host-citybot_session" {
		t.Fatalf("session cookie = %+v", cookie)
	}
	// The session works, and logging out ends it on the server.
	u := &user{cookie: cookie}
	resp, body := rg.do(u, http.MethodGet, "/inbox", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("inbox after sign-in: %d", resp.StatusCode)
	}
	u.csrf = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)[1]
	if resp, _ := rg.do(u, http.MethodPost, "/logout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := rg.do(u, http.MethodGet, "/inbox", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old cookie after logout: status %d, want a redirect to sign in", resp.StatusCode)
	}
	es, err := rg.db.AuditLog(context.Background(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range es {
		if e.Actor == "olivia" {
			seen = append(seen, e.Action)
		}
	}
	if strings.Join(seen, ",") != "account.logout,account.login" {
		t.Errorf("audit of olivia's session = %v", seen)
	}
	// Open redirects are refused.
	if got := safeNext("//evil.example/x"); got != "/inbox" {
		t.Errorf("safeNext(//evil) = %q", got)
	}
}

func TestLoginRateLimited(t *testing.T) {
	rg := newRig(t, Options{LoginBurst: 3, LoginEvery: time.Hour})
	codes := []int{}
	for range 5 {
		resp, _ := rg.do(nil, http.MethodPost, "/login", url.Values{"name": {"x"}, "password": {"y"}})
		codes = append(codes, resp.StatusCode)
	}
	want := []int{401, 401, 401, 429, 429}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("statuses = %v, want %v", codes, want)
	}
}

func TestSensitiveTopicsHidden(t *testing.T) {
	rg := newRig(t, Options{})
	bribe := rg.report("whistle", "the clerk asked me for a bribe", "corruption", "en", citybot.UrgencyNormal)
	rg.report("ana", "pothole", "roads", "en", citybot.UrgencyNormal)
	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "a long enough password"))
	for _, path := range []string{"/inbox", "/inbox/rows", "/inbox?q=bribe", "/inbox?topic=corruption"} {
		_, body := rg.do(officer, http.MethodGet, path, nil)
		if strings.Contains(body, string(bribe.Ref)) || strings.Contains(body, "bribe</td>") {
			t.Errorf("officer sees the sensitive case on %s", path)
		}
	}
	if resp, _ := rg.do(officer, http.MethodGet, casePath(bribe, ""), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("officer opens the sensitive case: %d, want 404", resp.StatusCode)
	}
	if resp, _ := rg.do(officer, http.MethodPost, casePath(bribe, "/answer"), url.Values{"text": {"x"}, "nonce": {"n"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("officer answers the sensitive case: %d, want 404", resp.StatusCode)
	}
	_, body := rg.do(admin, http.MethodGet, "/inbox", nil)
	if !strings.Contains(body, string(bribe.Ref)) {
		t.Error("admin does not see the sensitive case")
	}
	if resp, body := rg.do(admin, http.MethodGet, casePath(bribe, ""), nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sensitive case") {
		t.Errorf("admin case page: %d", resp.StatusCode)
	}
}

// TestOfficerWorkflow drives the case page's forms and checks what reaches
// the store and the outbox.
func TestOfficerWorkflow(t *testing.T) {
	ctx := context.Background()
	rg := newRig(t, Options{})
	low := rg.report("ana", "a bench is broken", "parks", "en", citybot.UrgencyLow)
	crit := rg.report("bob", "il y a une fuite de gaz", "other", "fr", citybot.UrgencyCritical)
	dup := rg.report("cy", "gas leak again", "public_safety", "en", citybot.UrgencyCritical)
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "a long enough password"))
	off := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))

	// The critical case comes first.
	_, body := rg.do(off, http.MethodGet, "/inbox", nil)
	if i, j := strings.Index(body, string(crit.Ref)), strings.Index(body, string(low.Ref)); i < 0 || j < 0 || i > j {
		t.Errorf("critical case not before the low one (%d, %d)", i, j)
	}
	// An admin writes a canned answer; it shows on the case page.
	if resp, _ := rg.do(admin, http.MethodPost, "/admin/canned", url.Values{"topic": {"public_safety"}, "language": {"fr"}, "text": {"Les pompiers arrivent."}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("canned save: %d", resp.StatusCode)
	}
	steps := []struct {
		path string
		form url.Values
	}{
		{"/correct", url.Values{"topic": {"public_safety"}, "urgency": {"critical"}}},
		{"/assign", url.Values{"assignee": {"olivia"}}},
		{"/expected", url.Values{"expected_by": {"2026-12-01"}}},
		{"/notes", url.Values{"text": {"internal: called the fire brigade"}}},
		{"/answer", url.Values{"text": {"Les pompiers arrivent."}, "nonce": {"form1"}}},
		{"/answer", url.Values{"text": {"Les pompiers arrivent."}, "nonce": {"form1"}}}, // resubmitted
		{"/status", url.Values{"status": {"resolved"}, "nonce": {"form2"}}},
	}
	for _, st := range steps {
		resp, body := rg.do(off, http.MethodPost, casePath(crit, st.path), st.form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: status %d\n%s", st.path, resp.StatusCode, body)
		}
	}
	v, err := rg.db.CaseView(ctx, crit.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Case.Topic != "public_safety" || v.Assignee != "olivia" || v.Case.ExpectedBy == nil || v.Case.Status != citybot.StatusResolved {
		t.Errorf("case after the forms: %+v assignee %q", v.Case, v.Assignee)
	}
	items, err := rg.db.OutboxItems(ctx, "officer:")
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, it := range items {
		if it.Out.Platform != citybot.Telegram || it.Out.Chat != crit.Chat {
			t.Errorf("outbox row to %s/%s, want the case's chat", it.Out.Platform, it.Out.Chat)
		}
		texts = append(texts, it.Out.Text)
	}
	all := strings.Join(texts, "\n---\n")
	if len(items) != 2 || strings.Count(all, "Les pompiers arrivent.") != 1 || !strings.Contains(all, "résolu") || strings.Contains(all, "internal:") {
		t.Errorf("outbox: %d rows:\n%s", len(items), all)
	}
	_, body = rg.do(off, http.MethodGet, casePath(crit, "?done=answer"), nil)
	for _, want := range []string{"Officer olivia", "internal: called the fire brigade", "Answer queued", "officer (olivia)", "Les pompiers arrivent."} {
		if !strings.Contains(body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	// Merge the duplicate into the surviving case: both citizens told.
	if resp, body := rg.do(off, http.MethodPost, casePath(dup, "/merge"), url.Values{"into": {strings.ToLower(string(crit.Ref))}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("merge: %d\n%s", resp.StatusCode, body)
	}
	merged, _ := rg.db.OutboxItems(ctx, "officer:merge:")
	if len(merged) != 2 {
		t.Errorf("merge notices: %d, want 2", len(merged))
	}
	// An official reads but cannot act, and sees no action form.
	official := rg.signIn(rg.account("mayor", citybot.RoleOfficial, "a long enough password"))
	resp, body := rg.do(official, http.MethodGet, casePath(crit, ""), nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `action="/cases/`) {
		t.Errorf("official case page: %d, has forms %v", resp.StatusCode, strings.Contains(body, `action="/cases/`))
	}
	// The audit log shows the staff's actions to an admin.
	_, body = rg.do(admin, http.MethodGet, "/admin/audit", nil)
	for _, want := range []string{"case.correct", "case.assign", "case.expected_by", "case.note", "case.answer", "case.status", "case.merge", "canned.set"} {
		if !strings.Contains(body, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

func TestAdminCreatesAccount(t *testing.T) {
	rg := newRig(t, Options{})
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "a long enough password"))
	resp, body := rg.do(admin, http.MethodPost, "/admin/accounts", url.Values{"name": {"newbie"}, "role": {"officer"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	pw := regexp.MustCompile(`shown only now: <code>([^<]+)</code>`).FindStringSubmatch(body)
	if pw == nil {
		t.Fatal("generated password not shown")
	}
	a, err := rg.db.AccountByName(context.Background(), "newbie")
	if err != nil || bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(pw[1])) != nil {
		t.Errorf("stored hash does not match the shown password: %v", err)
	}
	if resp, _ := rg.do(admin, http.MethodPost, "/admin/accounts", url.Values{"name": {"short"}, "role": {"officer"}, "password": {"short"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("short password: %d", resp.StatusCode)
	}
}

// TestAdminRetrainsModel drives console retraining end to end on a real
// store: wrong corrections are refused with the reason, consistent ones
// on a topic the shipped model gets wrong are switched to, the switch
// survives a restart (a new retrainer on the same model directory), and
// an admin rolls back to the shipped model; every step is audited.
func TestAdminRetrainsModel(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, store.Options{})
	cl, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	files := responder.ModelDir(filepath.Join(t.TempDir(), "citybot-model"))
	// start wires the console as serve does: the live model from the
	// files, else the shipped one.
	start := func() (*responder.LiveClassifier, *rig) {
		t.Helper()
		live := responder.NewLiveClassifier(cl)
		if m, err := files.Load(); err != nil {
			t.Fatal(err)
		} else if m != nil {
			c, err := classifier.NewWithModel(classifier.DefaultOptions(), m)
			if err != nil {
				t.Fatal(err)
			}
			live = responder.NewLiveClassifier(c)
		}
		tr, err := responder.NewRetrainer(responder.RetrainerOptions{Store: db, Live: live, Base: cl.Model(),
			Classifier: classifier.DefaultOptions(), Files: files})
		if err != nil {
			t.Fatal(err)
		}
		off, err := casework.NewOfficer(casework.OfficerOptions{Policy: testPolicy(t), Store: db})
		if err != nil {
			t.Fatal(err)
		}
		// Trainings run in the background, as serve runs them.
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- tr.Run(rctx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("retrainer: %v", err)
			}
		})
		srv, err := New(Options{Policy: testPolicy(t), Store: db, Officer: off, Trainer: tr})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		return live, &rig{t: t, db: db, srv: srv, ts: ts}
	}
	// train starts a training from the model page and returns the page
	// once its result shows (the page says the training runs until then).
	train := func(rg *rig, admin *user) string {
		t.Helper()
		resp, body := rg.do(admin, http.MethodPost, "/admin/model/train", nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/model?done=started" {
			t.Fatalf("train: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		deadline := time.Now().Add(5 * time.Minute) // a loaded 2-core machine
		for {
			_, body := rg.do(admin, http.MethodGet, "/admin/model?done=started", nil)
			if !strings.Contains(body, "data-training-poll") {
				return body
			}
			if time.Now().After(deadline) {
				t.Fatalf("the training did not end within 5 minutes:\n%s", body)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	live, rg := start()
	root := rg.account("root", citybot.RoleAdmin, "a long enough password")
	admin := rg.signIn(root)
	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	n := 0
	correct := func(text, topic, urgency string) {
		t.Helper()
		n++
		c := rg.report(fmt.Sprint("u", n), text, "other", "en", citybot.UrgencyNormal)
		if resp, _ := rg.do(officer, http.MethodPost, casePath(c, "/correct"), url.Values{"topic": {topic}, "urgency": {urgency}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("correct: %d", resp.StatusCode)
		}
	}

	// With no correction yet, training is refused with a reason.
	if resp, body := rg.do(admin, http.MethodPost, "/admin/model/train", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "officers have corrected no case yet") {
		t.Errorf("train without corrections: %d", resp.StatusCode)
	}
	// A handful of wrong corrections: potholes called noise, critical.
	for i := range 6 {
		correct(fmt.Sprintf("Deep pothole in front of number %d Main Street", i), "noise", "critical")
	}
	body := train(rg, admin)
	for _, want := range []string{"Live model: <strong>" + classifier.DefaultModelName, "A candidate model was trained.", "Switch refused:", "only 6 corrections so far; at least 30 are needed: 24 more corrections needed",
		"the new model is not better than the live one"} {
		if !strings.Contains(body, want) {
			t.Errorf("model page after wrong corrections lacks %q:\n%s", want, body)
		}
	}
	// The reasons in the admin's language, the count in its plural form.
	if err := rg.db.SetAccountLanguage(context.Background(), root.ID, "fr"); err != nil {
		t.Fatal(err)
	}
	_, body = rg.do(admin, http.MethodGet, "/admin/model", nil)
	for _, want := range []string{"Passage refusé :", "il en faut au moins 30 : encore 24 corrections", "le nouveau modèle n'est pas meilleur"} {
		if !strings.Contains(body, html.EscapeString(want)) {
			t.Errorf("French model page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "corrections needed") {
		t.Error("the French model page says its reason in English")
	}
	if err := rg.db.SetAccountLanguage(context.Background(), root.ID, "en"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, `action="/admin/model/switch"`) {
		t.Error("the page offers to switch to a refused candidate")
	}
	if resp, body := rg.do(admin, http.MethodPost, "/admin/model/switch", nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "it failed the checks") {
		t.Errorf("switch to a refused candidate: %d\n%s", resp.StatusCode, body)
	}
	if live.Current() != cl {
		t.Fatal("the live model changed")
	}

	// Enough consistent corrections: this city files graffiti under waste.
	places := []string{"the library", "the old station", "Kings Road underpass", "the school gate", "the post office", "Elm Street", "the town hall annex"}
	verbs := []string{"Someone sprayed graffiti on", "New tags all over", "Graffiti again on", "Spray paint scrawled across"}
	graffiti := func(i int) string {
		return fmt.Sprintf("%s %s wall, number %d", verbs[i%len(verbs)], places[(i/len(verbs))%len(places)], i)
	}
	probe := graffiti(999)
	if got := live.Classify(probe, "").Topic.Label; got == "waste" {
		t.Fatal("the shipped model already files graffiti under waste: the test proves nothing")
	}
	for i := range 40 {
		correct(graffiti(i), "waste", "")
	}
	body = train(rg, admin)
	for _, want := range []string{"Scores on officers' corrections", "<td>46</td>", "new model adopted", `action="/admin/model/switch"`} {
		if !strings.Contains(body, want) {
			t.Errorf("model page after good corrections lacks %q:\n%s", want, body)
		}
	}
	if resp, _ := rg.do(admin, http.MethodPost, "/admin/model/switch", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch: %d", resp.StatusCode)
	}
	got := live.Classify(probe, "")
	if got.Model == classifier.DefaultModelName || got.Topic.Label != "waste" {
		t.Errorf("after the switch: model %s, topic %s", got.Model, got.Topic.Label)
	}
	switched := got.Model

	// A restart: the switched model serves again.
	live, rg = start()
	admin = rg.signIn(rg.account("root2", citybot.RoleAdmin, "a long enough password"))
	if got := live.Classify(probe, ""); got.Model != switched || got.Topic.Label != "waste" {
		t.Errorf("after a restart: model %s, topic %s", got.Model, got.Topic.Label)
	}
	_, body = rg.do(admin, http.MethodGet, "/admin/model", nil)
	if !strings.Contains(body, "Live model: <strong>"+switched) || !strings.Contains(body, "Roll back to the shipped model") {
		t.Errorf("model page after restart:\n%s", body)
	}
	// Roll back to the shipped model.
	if resp, _ := rg.do(admin, http.MethodPost, "/admin/model/rollback", url.Values{"to": {"shipped"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rollback: %d", resp.StatusCode)
	}
	if got := live.Classify(probe, ""); got.Model != classifier.DefaultModelName || got.Topic.Label == "waste" {
		t.Errorf("after the rollback: model %s, topic %s", got.Model, got.Topic.Label)
	}
	if resp, body := rg.do(admin, http.MethodPost, "/admin/model/rollback", url.Values{"to": {"shipped"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "There is no shipped model to go back to.") {
		t.Errorf("second rollback: %d", resp.StatusCode)
	}
	if resp, _ := rg.do(officer, http.MethodPost, "/admin/model/rollback", url.Values{"to": {"previous"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an officer rolls back: %d", resp.StatusCode)
	}
	// … and it holds after another restart.
	live, _ = start()
	if got := live.Classify(probe, "").Model; got != classifier.DefaultModelName {
		t.Errorf("after the rollback and a restart: model %s", got)
	}
	es, err := db.Audit(ctx, "model")
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range es {
		acts = append(acts, e.Actor+":"+e.Action)
	}
	if got := strings.Join(acts, ","); got != "root:model.train,root:model.train,root:model.switch,root2:model.rollback" {
		t.Errorf("audit = %s", got)
	}
}
