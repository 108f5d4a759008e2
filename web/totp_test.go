package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"citybot"
)

// browser is a cookie jar over a handler, for flows across several
// requests from one address.
type browser struct {
	t       *testing.T
	h       http.Handler
	addr    string
	cookies map[string]*http.Cookie
}

func (b *browser) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = b.addr
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf() string {
	b.t.Helper()
	rec := b.do(http.MethodGet, "/account/totp", nil)
	m := csrfField.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.t.Fatalf("no form token on /account/totp (%d)", rec.Code)
	}
	return m[1]
}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var secretText = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)
var recoveryItem = regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`)

// An admin without one-time codes is sent to set them up and can do
// nothing else; the code is checked before they turn on; sign-in then
// asks for a code, each good once; wrong codes slow down like wrong
// passwords; a recovery code signs in once; an admin's reset signs the
// account out and sends it back to enrolment.
func TestTOTPLifecycle(t *testing.T) {
	clk := &clock{t: time.Now().UTC()} // sessions expire by the store's clock
	rg := newRig(t, Options{LoginBurst: 1000, Now: clk.now})
	ctx := context.Background()
	h, _ := bcrypt.GenerateFromPassword([]byte("correct horse battery"), bcrypt.MinCost)
	if _, err := rg.db.CreateAccount(ctx, "ada", citybot.RoleAdmin, string(h), "test"); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, h: rg.srv.Handler(), addr: "192.0.2.7:4000", cookies: map[string]*http.Cookie{}}
	login := func(next string) *httptest.ResponseRecorder {
		return b.do(http.MethodPost, "/login", url.Values{"name": {"ada"}, "password": {"correct horse battery"}, "next": {next}})
	}

	// Sign-in without codes yet: sent to enrolment, whatever next says.
	if rec := login("/admin/audit"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/totp" {
		t.Fatalf("first sign-in: %d to %q, want enrolment", rec.Code, rec.Header().Get("Location"))
	}
	for _, p := range []string{"/inbox", "/admin/accounts", "/cases/1"} {
		if rec := b.do(http.MethodGet, p, nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/totp" {
			t.Errorf("GET %s before enrolment: %d to %q", p, rec.Code, rec.Header().Get("Location"))
		}
	}
	csrf := b.csrf()
	if rec := b.do(http.MethodPost, "/admin/accounts", url.Values{"csrf": {csrf}, "name": {"mallory"}, "role": {"admin"}}); rec.Code != http.StatusForbidden {
		t.Errorf("account created before enrolment: %d", rec.Code)
	}
	if rec := b.do(http.MethodPost, "/account/totp/start", url.Values{"csrf": {csrf}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("start: %d", rec.Code)
	}
	page := b.do(http.MethodGet, "/account/totp", nil).Body.String()
	m := secretText.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `src="/account/totp/qr.png"`) {
		t.Fatalf("enrolment page without secret or QR image:\n%s", page)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if qr := b.do(http.MethodGet, "/account/totp/qr.png", nil); qr.Code != 200 || qr.Header().Get("Content-Type") != "image/png" || qr.Body.Len() < 200 {
		t.Errorf("QR image: %d %s, %d bytes", qr.Code, qr.Header().Get("Content-Type"), qr.Body.Len())
	}
	// A wrong code does not turn it on.
	wrong := codeAt(t, secret, clk.now().Add(10*time.Minute))
	if rec := b.do(http.MethodPost, "/account/totp/activate", url.Values{"csrf": {csrf}, "code": {wrong}}); rec.Code != http.StatusBadRequest {
		t.Fatalf("wrong enrolment code: %d", rec.Code)
	}
	if a, _ := rg.db.AccountByName(ctx, "ada"); a.TOTPEnabled() {
		t.Fatal("one-time codes on after a wrong code")
	}
	rec := b.do(http.MethodPost, "/account/totp/activate", url.Values{"csrf": {csrf}, "code": {codeAt(t, secret, clk.now())}})
	codes := recoveryItem.FindAllStringSubmatch(rec.Body.String(), -1)
	if rec.Code != 200 || len(codes) != recoveryCount {
		t.Fatalf("activate: %d with %d recovery codes\n%s", rec.Code, len(codes), rec.Body.String())
	}
	if again := b.do(http.MethodGet, "/account/totp", nil).Body.String(); recoveryItem.MatchString(again) || !strings.Contains(again, "<strong>10</strong> unused") {
		t.Errorf("recovery codes shown twice or not counted:\n%s", again)
	}
	if rec := b.do(http.MethodGet, "/admin/accounts", nil); rec.Code != 200 {
		t.Fatalf("accounts after enrolment: %d", rec.Code)
	}
	if rec := b.do(http.MethodPost, "/logout", url.Values{"csrf": {b.csrf()}}); rec.Code != http.StatusSeeOther {
		t.Fatal(rec.Code)
	}

	// Sign-in now asks for a code; the code just used is refused.
	if rec := login("/admin/audit"); !strings.HasPrefix(rec.Header().Get("Location"), "/login/code") {
		t.Fatalf("password step went to %q", rec.Header().Get("Location"))
	}
	if rec := b.do(http.MethodGet, "/admin/audit", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Fatalf("the password alone opened a page: %d", rec.Code)
	}
	if rec := b.do(http.MethodPost, "/login/code", url.Values{"code": {codeAt(t, secret, clk.now())}, "next": {"/admin/audit"}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("reused code: %d", rec.Code)
	}
	// Wrong codes slow down as wrong passwords do.
	slowed := false
	for i := range 8 {
		rec := b.do(http.MethodPost, "/login/code", url.Values{"code": {"00000" + string(rune('0'+i))}})
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") != "" {
			slowed = true
			break
		}
	}
	if !slowed {
		t.Fatal("wrong codes never slowed down")
	}
	clk.add(20 * time.Minute) // the delays pass; so does the code step
	if rec := b.do(http.MethodPost, "/login/code", url.Values{"code": {codeAt(t, secret, clk.now())}}); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "took too long") {
		t.Fatalf("expired code step: %d", rec.Code)
	}
	login("/admin/audit")
	if rec := b.do(http.MethodPost, "/login/code", url.Values{"code": {codeAt(t, secret, clk.now())}, "next": {"/admin/audit"}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/admin/audit" {
		t.Fatalf("sign-in with a code: %d to %q", rec.Code, rec.Header().Get("Location"))
	}
	b.do(http.MethodPost, "/logout", url.Values{"csrf": {b.csrf()}})

	// A recovery code signs in once.
	clk.add(time.Minute)
	login("/inbox")
	if rec := b.do(http.MethodPost, "/login/code", url.Values{"code": {strings.ToUpper(codes[3][1])}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/inbox" {
		t.Fatalf("recovery code: %d", rec.Code)
	}
	b.do(http.MethodPost, "/logout", url.Values{"csrf": {b.csrf()}})
	login("/inbox")
	if rec := b.do(http.MethodPost, "/login/code", url.Values{"code": {codes[3][1]}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("recovery code used twice: %d", rec.Code)
	}
	if a, _ := rg.db.AccountByName(ctx, "ada"); a.RecoveryCodesLeft != recoveryCount-1 {
		t.Errorf("recovery codes left: %d", a.RecoveryCodesLeft)
	}

	// Another admin resets ada's codes: ada's sessions end and her next
	// sign-in goes to enrolment again. Audited.
	clk.add(time.Minute)
	b.do(http.MethodPost, "/login/code", url.Values{"code": {codeAt(t, secret, clk.now())}})
	if rec := b.do(http.MethodGet, "/inbox", nil); rec.Code != 200 {
		t.Fatalf("ada signed in: %d", rec.Code)
	}
	root := rg.signIn(rg.account("root", citybot.RoleAdmin, "correct horse battery"))
	resp, _ := rg.do(root, http.MethodPost, "/admin/accounts/action", url.Values{"name": {"ada"}, "action": {"totp-reset"}, "confirm": {"yes"}})
	if resp.StatusCode != 200 {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	if rec := b.do(http.MethodGet, "/inbox", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
		t.Errorf("ada still signed in after the reset: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := login("/inbox"); rec.Header().Get("Location") != "/account/totp" {
		t.Errorf("after the reset, sign-in went to %q", rec.Header().Get("Location"))
	}
	log, err := rg.db.Audit(ctx, "account:1")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Actor+" "+e.Action)
	}
	for _, want := range []string{"ada account.totp_enable", "ada account.recovery_code", "root account.totp_reset"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("audit lacks %q: %v", want, actions)
		}
	}
}

// An officer may leave one-time codes off and use the console; one who
// turns them on may turn them off with a code; an official may not.
func TestTOTPOptionalForOfficers(t *testing.T) {
	clk := &clock{t: time.Now().UTC()} // sessions expire by the store's clock
	rg := newRig(t, Options{Now: clk.now})
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	if resp, _ := rg.do(olivia, http.MethodGet, "/inbox", nil); resp.StatusCode != 200 {
		t.Fatalf("officer without codes: %d", resp.StatusCode)
	}
	ctx := context.Background()
	a, _ := rg.db.AccountByName(ctx, "olivia")
	rg.enrol(a)
	clk.add(time.Minute)
	if resp, _ := rg.do(olivia, http.MethodPost, "/account/totp/off", url.Values{"code": {"123456"}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("off with a wrong code: %d", resp.StatusCode)
	}
	if resp, _ := rg.do(olivia, http.MethodPost, "/account/totp/off", url.Values{"code": {codeAt(t, testTOTPSecret, clk.now())}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("off: %d", resp.StatusCode)
	}
	if a, _ := rg.db.AccountByName(ctx, "olivia"); a.TOTPEnabled() {
		t.Fatal("still on")
	}
	mayor := rg.signIn(rg.account("mayor", citybot.RoleOfficial, "a long enough password"))
	clk.add(time.Minute)
	if resp, _ := rg.do(mayor, http.MethodPost, "/account/totp/off", url.Values{"code": {codeAt(t, testTOTPSecret, clk.now())}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an official turned codes off: %d", resp.StatusCode)
	}
}
