package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"citybot"
)

// clock is a settable time for the sign-in tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// signIn posts the sign-in form straight to the handler from addr with
// the given cookies and headers.
func signIn(h http.Handler, addr, name, password, next string, cookies []*http.Cookie, header http.Header) *httptest.ResponseRecorder {
	form := url.Values{"name": {name}, "password": {password}, "next": {next}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// signInCoded signs in as signIn does and, when the account asks for a
// one-time code, types the code of testTOTPSecret at now. It returns the
// last answer and every cookie set on the way.
func signInCoded(t *testing.T, h http.Handler, now time.Time, addr, name, password, next string, cookies []*http.Cookie) (*httptest.ResponseRecorder, []*http.Cookie) {
	t.Helper()
	rec := signIn(h, addr, name, password, next, cookies, nil)
	got := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login/code") {
		return rec, got
	}
	code, err := totp.GenerateCodeCustom(testTOTPSecret, now, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/login/code", strings.NewReader(url.Values{"code": {code}, "next": {next}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range append(slices.Clone(cookies), got...) {
		req.AddCookie(c)
	}
	req.RemoteAddr = addr
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, append(got, rec.Result().Cookies()...)
}

// Strangers' wrong passwords never lock an account: the admin's own
// browser signs in at once, and a new browser waits at most a minute,
// however many failures strangers pile up.
func TestSigninStrangersCannotLockAccount(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	rg := newSigninRig(t, Options{LoginBurst: 1000, Now: clk.now})
	rg.account("root", citybot.RoleAdmin, "correct horse battery")
	h := rg.srv.Handler()

	// The admin signs in once from their browser.
	first, browser := signInCoded(t, h, clk.now(), "192.0.2.10:5000", "root", "correct horse battery", "/inbox", nil)
	if first.Code != http.StatusSeeOther || first.Header().Get("Location") != "/inbox" {
		t.Fatalf("first sign-in: %d to %s", first.Code, first.Header().Get("Location"))
	}

	// Strangers, from many addresses, try the admin's name.
	for i := range 40 {
		signIn(h, fmt.Sprintf("203.0.113.%d:4000", i%200+1), "root", fmt.Sprintf("guess %d", i), "/inbox", nil, nil)
		clk.add(2 * time.Second)
	}
	// The admin's browser, from the same address, is not slowed.
	if rec := signIn(h, "192.0.2.10:5001", "root", "correct horse battery", "/inbox", browser, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("admin's own browser after strangers' failures: status %d, want 303", rec.Code)
	}
	// A browser the admin never used, from a new address, may be slowed
	// but never for more than a minute.
	fresh := signIn(h, "198.51.100.20:6000", "root", "correct horse battery", "/inbox", nil, nil)
	if fresh.Code != http.StatusSeeOther {
		clk.add(time.Minute + time.Second)
		if rec := signIn(h, "198.51.100.20:6000", "root", "correct horse battery", "/inbox", nil, nil); rec.Code != http.StatusSeeOther {
			t.Fatalf("new browser a minute after strangers' failures: status %d, want 303", rec.Code)
		}
	}
	// Guessing still slows down: a stranger's address that failed many
	// times is refused before any password check.
	for range 6 {
		signIn(h, "203.0.113.250:4000", "someone", "guess", "/inbox", nil, nil)
	}
	if rec := signIn(h, "203.0.113.250:4000", "someone", "guess", "/inbox", nil, nil); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("repeated guesses from one address: status %d, Retry-After %q; want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// Behind a trusted proxy the limiter counts the client the proxy names,
// not the proxy; from any other peer the header is ignored.
func TestSigninTrustedProxyClientAddress(t *testing.T) {
	rg := newRig(t, Options{LoginBurst: 3, LoginEvery: time.Hour,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	rg.account("olivia", citybot.RoleOfficer, "the right password")
	h := rg.srv.Handler()
	xff := func(v string) http.Header { return http.Header{"X-Forwarded-For": {v}} }

	// An attacker behind the proxy uses up their own budget.
	for range 5 {
		signIn(h, "10.0.0.2:443", "mallory", "nope nope nope", "/inbox", nil, xff("203.0.113.7"))
	}
	if rec := signIn(h, "10.0.0.2:443", "mallory", "nope nope nope", "/inbox", nil, xff("203.0.113.7")); rec.Code != http.StatusTooManyRequests {
		t.Errorf("attacker behind the proxy: status %d, want 429", rec.Code)
	}
	// Staff behind the same proxy still sign in.
	if rec := signIn(h, "10.0.0.2:443", "olivia", "the right password", "/inbox", nil, xff("198.51.100.4, 10.0.0.9")); rec.Code != http.StatusSeeOther {
		t.Errorf("staff behind the proxy: status %d, want 303", rec.Code)
	}
	// A client talking directly cannot choose its address with the header.
	for i := range 4 {
		signIn(h, "192.0.2.66:1000", "mallory", "nope nope nope", "/inbox", nil, xff(fmt.Sprintf("198.18.0.%d", i)))
	}
	if rec := signIn(h, "192.0.2.66:1000", "mallory", "nope nope nope", "/inbox", nil, xff("198.18.0.99")); rec.Code != http.StatusTooManyRequests {
		t.Errorf("untrusted peer with a forged X-Forwarded-For: status %d, want 429", rec.Code)
	}
	if got := rg.srv.clientIP(&http.Request{RemoteAddr: "10.1.2.3:80", Header: http.Header{"X-Real-Ip": {"2001:db8::1"}}}); got != "2001:db8::1" {
		t.Errorf("X-Real-IP from a trusted proxy: client %q", got)
	}
}

// Password checks are capped: a flood is answered "busy" at once instead
// of queueing bcrypt work on every core.
func TestSigninPasswordChecksCapped(t *testing.T) {
	rg := newRig(t, Options{LoginBurst: 1000, MaxPasswordChecks: 1, CheckWait: 20 * time.Millisecond})
	hash, err := bcrypt.GenerateFromPassword([]byte("a slow password"), 12)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rg.db.CreateAccount(context.Background(), "slow", citybot.RoleOfficer, string(hash), "test"); err != nil {
		t.Fatal(err)
	}
	h := rg.srv.Handler()
	const n = 4
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i] = signIn(h, fmt.Sprintf("192.0.2.%d:1", i+1), "slow", "wrong password!", "/inbox", nil, nil).Code
		})
	}
	wg.Wait()
	busy := 0
	for _, c := range codes {
		if c == http.StatusServiceUnavailable {
			busy++
		}
	}
	if busy == 0 {
		t.Errorf("%d concurrent checks with a cap of 1: codes %v, want some 503", n, codes)
	}
}

// next is limited to console paths: every way of naming another host,
// decoded or not, gives the inbox.
func TestSigninNextOpenRedirect(t *testing.T) {
	rg := newRig(t, Options{LoginBurst: 1000})
	rg.account("olivia", citybot.RoleOfficer, "the right password")
	h := rg.srv.Handler()
	for _, tc := range []struct{ next, want string }{
		{"/%09/evil.example", "/inbox"},
		{"/\t/evil.example", "/inbox"},
		{"/\\evil.example", "/inbox"},
		{"/%5Cevil.example", "/inbox"},
		{"/%5cevil.example", "/inbox"},
		{"\\\\evil.example", "/inbox"},
		{"//evil.example", "/inbox"},
		{"/%2F%2Fevil.example", "/inbox"},
		{"/%2f/evil.example", "/inbox"},
		{"https://evil.example/", "/inbox"},
		{"/cases/1/../..//evil.example", "/inbox"},
		{"/%0d%0aSet-Cookie:x", "/inbox"},
		{"/\u202e/evil", "/inbox"},
		{"evil.example", "/inbox"},
		{"/login", "/inbox"},
		{"/cases/12", "/cases/12"},
		{"/inbox?q=pot+hole&status=new", "/inbox?q=pot+hole&status=new"},
	} {
		rec := signIn(h, "192.0.2.1:1", "olivia", "the right password", tc.next, nil, nil)
		loc := rec.Header().Get("Location")
		if rec.Code != http.StatusSeeOther || loc != tc.want {
			t.Errorf("next=%q: status %d, Location %q, want %q", tc.next, rec.Code, loc, tc.want)
		}
		u, err := url.Parse(loc)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Errorf("next=%q: Location %q leaves the console", tc.next, loc)
		}
	}
}

// A refused sign-in is logged with the account name and the client
// address, never the password.
func TestSigninRefusalLogged(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, nil))
	rg := newRig(t, Options{LoginBurst: 1000, Logger: logger})
	rg.account("olivia", citybot.RoleOfficer, "the right password")
	signIn(rg.srv.Handler(), "198.51.100.77:1234", "olivia", "Sup3rSecretGuess", "/inbox", nil, nil)
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "sign-in refused") {
			line = l
		}
	}
	if !strings.Contains(line, "account=olivia") || !strings.Contains(line, "198.51.100.77") {
		t.Errorf("refused sign-in log line %q lacks the account or the address", line)
	}
	if strings.Contains(out, "Sup3rSecretGuess") {
		t.Errorf("the password reached the log: %q", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// The client address is taken from the headers only when the peer is a
// trusted proxy, and then only the part the proxies wrote: a client
// cannot choose the address the sign-in limits count.
func TestClientIPSpoofing(t *testing.T) {
	rg := newRig(t, Options{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}})
	for _, tc := range []struct {
		name, peer string
		header     http.Header
		want       string
	}{
		{"direct client, no header", "192.0.2.5:1000", nil, "192.0.2.5"},
		{"direct client forging X-Forwarded-For", "192.0.2.5:1000",
			http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "192.0.2.5"},
		{"direct client forging X-Real-IP", "192.0.2.5:1000",
			http.Header{"X-Real-Ip": {"198.51.100.1"}}, "192.0.2.5"},
		{"direct client from an address close to a proxy's", "11.0.0.1:1000",
			http.Header{"X-Forwarded-For": {"198.51.100.1"}}, "11.0.0.1"},
		{"proxy reports its client", "10.0.0.2:443",
			http.Header{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7"},
		{"client's forged entries left of the proxy's", "10.0.0.2:443",
			http.Header{"X-Forwarded-For": {"198.51.100.1, 10.9.9.9", "203.0.113.7"}}, "203.0.113.7"},
		{"two proxies in a row", "127.0.0.1:443",
			http.Header{"X-Forwarded-For": {"203.0.113.7, 10.0.0.3"}}, "203.0.113.7"},
		{"X-Real-IP forged beside the proxy's X-Forwarded-For", "10.0.0.2:443",
			http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Real-Ip": {"198.51.100.1"}}, "203.0.113.7"},
		{"garbage left of the proxy's entries", "10.0.0.2:443",
			http.Header{"X-Forwarded-For": {"<script>, 10.0.0.3"}}, "10.0.0.3"},
		{"entry with a port", "10.0.0.2:443",
			http.Header{"X-Forwarded-For": {"[2001:db8::9]:4711"}}, "2001:db8::9"},
		{"X-Real-IP alone from a proxy", "10.1.2.3:80",
			http.Header{"X-Real-Ip": {"2001:db8::1"}}, "2001:db8::1"},
		{"IPv4-mapped IPv6 proxy", "[::ffff:10.0.0.2]:443",
			http.Header{"X-Forwarded-For": {"203.0.113.8"}}, "203.0.113.8"},
	} {
		r := &http.Request{RemoteAddr: tc.peer, Header: tc.header}
		if got := rg.srv.clientIP(r); got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Wrong passwords typed for an account are shown to its owner on every
// page until they dismiss the notice, and to the admins on the accounts
// page; ten of them are in the audit log, said in words.
func TestSigninGuessedNotice(t *testing.T) {
	rg := newRig(t, Options{LoginBurst: 1000})
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "olivia's password"))
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "root's long password"))
	h := rg.srv.Handler()
	for i := range 10 {
		// From new addresses, as fast as the name's delay lets them.
		if rec := signIn(h, fmt.Sprintf("198.18.1.%d:1", i+1), "olivia", "a guess", "/inbox", nil, nil); rec.Code == http.StatusTooManyRequests {
			break
		}
	}
	a, err := rg.db.AccountByName(context.Background(), "olivia")
	if err != nil || a.FailedLogins < 3 {
		t.Fatalf("wrong passwords counted: %d (%v)", a.FailedLogins, err)
	}
	n := a.FailedLogins
	wantNotice := fmt.Sprintf("Someone typed a wrong password or code for your account %d times.", n)
	for _, path := range []string{"/inbox", "/account/totp"} {
		if _, body := rg.do(olivia, http.MethodGet, path, nil); !strings.Contains(body, wantNotice) || !strings.Contains(body, `action="/account/signin-notice"`) {
			t.Errorf("%s: the owner is not told of the %d wrong passwords", path, n)
		}
	}
	if _, body := rg.do(admin, http.MethodGet, "/inbox", nil); strings.Contains(body, "wrong password or code for your account") {
		t.Error("another account is told of olivia's wrong passwords")
	}
	wantAdmin := fmt.Sprintf("%d failed sign-ins its owner has not seen yet", n)
	if _, body := rg.do(admin, http.MethodGet, "/admin/accounts", nil); !strings.Contains(body, wantAdmin) {
		t.Errorf("accounts page lacks %q", wantAdmin)
	}
	if resp, _ := rg.do(olivia, http.MethodPost, "/account/signin-notice", url.Values{"back": {"/cases/1"}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/cases/1" {
		t.Fatalf("dismiss: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := rg.do(olivia, http.MethodGet, "/inbox", nil); strings.Contains(body, "wrong password or code for your account") {
		t.Error("the notice is still shown after the owner dismissed it")
	}
	if _, body := rg.do(admin, http.MethodGet, "/admin/accounts", nil); strings.Contains(body, "its owner has not seen yet") {
		t.Error("the accounts page still counts the dismissed wrong passwords")
	}
	// Without the form token, nothing is dismissed.
	if err := rg.db.RecordSigninFailure(context.Background(), "olivia", nil); err != nil {
		t.Fatal(err)
	}
	if resp, _ := rg.do(olivia, http.MethodPost, "/account/signin-notice", url.Values{"csrf": {"forged"}}); resp.StatusCode == http.StatusSeeOther {
		t.Error("dismissed without the form token")
	}
	if a, _ := rg.db.AccountByName(context.Background(), "olivia"); a.FailedLogins != 1 {
		t.Errorf("after a forged dismiss: %d wrong passwords counted, want 1", a.FailedLogins)
	}

	// Ten wrong passwords are audited, in words.
	for range 10 {
		if err := rg.db.RecordSigninFailure(context.Background(), "olivia", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, body := rg.do(admin, http.MethodGet, "/admin/audit", nil); !strings.Contains(body, "saw many wrong passwords typed for an account") {
		t.Error("the audit page does not say account.guessed in words")
	}
}
