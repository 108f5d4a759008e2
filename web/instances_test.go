package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
	"citybot/casework"
	"citybot/internal/pgtest"
	"citybot/locale"
	"citybot/store"
)

// Several citybot instances behind one load balancer are several
// consoles on one database: here two Servers, each on its own store
// handle of one SQLite file or, when CITYBOT_TEST_POSTGRES_URL is set, of
// one fresh PostgreSQL database (subtests sqlite/… and postgres/…).

// forEachEngine runs f with a function opening another handle on one new
// database of each engine available, with the clock now.
func forEachEngine(t *testing.T, f func(t *testing.T, open func(now func() time.Time) *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "citybot.db")
		f(t, handleOpener(t, func(ctx context.Context, o store.Options) (*store.DB, error) { return store.Open(ctx, path, o) }))
	})
	admin := os.Getenv("CITYBOT_TEST_POSTGRES_URL")
	if admin == "" {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		src := pgtest.NewDB(t, "citybot_web")
		f(t, handleOpener(t, func(ctx context.Context, o store.Options) (*store.DB, error) { return store.OpenPostgres(ctx, src, o) }))
	})
}

func handleOpener(t *testing.T, open func(context.Context, store.Options) (*store.DB, error)) func(func() time.Time) *store.DB {
	return func(now func() time.Time) *store.DB {
		t.Helper()
		db, err := open(context.Background(), store.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// instances are two consoles on one database, A and B, as a load
// balancer at 10.0.0.1 (a trusted proxy of both) sends requests to.
func instances(t *testing.T, open func(func() time.Time) *store.DB, opts Options) (*rig, *rig) {
	t.Helper()
	opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	a := rigOn(t, opts, open(opts.Now))
	b := rigOn(t, opts, open(opts.Now))
	return a, b
}

// via is a browser's request through the load balancer: the proxy is
// the peer, the client is named in X-Forwarded-For.
func via(h http.Handler, client, method, path string, form url.Values, cookies map[string]*http.Cookie) *http.Response {
	req, _ := http.NewRequest(method, path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.RemoteAddr = "10.0.0.1:40000"
	req.Header.Set("X-Forwarded-For", client)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	for _, c := range resp.Cookies() {
		if cookies == nil {
			break
		}
		if c.MaxAge < 0 {
			delete(cookies, c.Name)
		} else {
			cookies[c.Name] = c
		}
	}
	return resp
}

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// Attempts on one instance count on the other: the client address's
// bucket, its back-off after wrong passwords, the account name's; the
// browser an officer signed in with on A is known on B, and the code step
// of a sign-in may land on another instance than its password.
func TestSigninLimitsAcrossInstances(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func(func() time.Time) *store.DB) {
		clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
		a, b := instances(t, open, Options{LoginBurst: 6, LoginEvery: time.Hour, Now: clk.now})
		a.account("olivia", citybot.RoleOfficer, "olivia's password")
		a.account("root", citybot.RoleAdmin, "root's long password")
		ha, hb := a.srv.Handler(), b.srv.Handler()
		post := func(h http.Handler, client, name, password string, cookies map[string]*http.Cookie) *http.Response {
			return via(h, client, http.MethodPost, "/login", url.Values{"name": {name}, "password": {password}, "next": {"/inbox"}}, cookies)
		}
		limited := html.EscapeString(publicTexts{wordsFor(locale.MustEmbedded(), "en")}.T("console.login_limited"))

		// One client's bucket, shared: six attempts over both
		// instances, then refused on either.
		for i := range 6 {
			h := ha
			if i%2 == 1 {
				h = hb
			}
			if resp := post(h, "203.0.113.9", "", "x", nil); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("attempt %d within the burst: status %d", i+1, resp.StatusCode)
			}
		}
		for _, h := range []http.Handler{ha, hb} {
			resp := post(h, "203.0.113.9", "", "x", nil)
			if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(readAll(resp), limited) {
				t.Errorf("seventh attempt: status %d, want 429 with the rate limit's text", resp.StatusCode)
			}
			if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 1 || ra > 3600 {
				t.Errorf("Retry-After %q, want up to an hour", resp.Header.Get("Retry-After"))
			}
		}
		// Another client behind the same balancer is not limited with it.
		if resp := post(hb, "198.51.100.4", "", "x", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("another client behind the balancer: status %d, want 401", resp.StatusCode)
		}

		// Wrong passwords on A slow the client down on B.
		for range 3 {
			post(ha, "203.0.113.20", "olivia", "not her password", nil)
		}
		resp := post(hb, "203.0.113.20", "olivia", "olivia's password", nil)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
			t.Errorf("on B after three wrong passwords on A: status %d, Retry-After %q; want 429, 1", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		clk.add(2 * time.Second)
		if resp := post(hb, "203.0.113.20", "olivia", "olivia's password", nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("on B once the delay passed: status %d, want 303", resp.StatusCode)
		}

		// Olivia signs in on A from her browser; strangers then guess
		// her password from many addresses on both instances, as fast as
		// the name's delay lets them.
		browser := map[string]*http.Cookie{}
		if resp := post(ha, "192.0.2.50", "olivia", "olivia's password", browser); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("olivia on A: status %d", resp.StatusCode)
		}
		for i := range 20 {
			h := ha
			if i%2 == 1 {
				h = hb
			}
			if resp := post(h, fmt.Sprintf("198.18.0.%d", i+1), "olivia", fmt.Sprintf("guess %d", i), nil); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("stranger's guess %d a minute after the last: status %d, want 401", i+1, resp.StatusCode)
			}
			clk.add(61 * time.Second) // past the name's longest delay
		}
		// Her own browser signs in on B at once.
		if resp := post(hb, "192.0.2.50", "olivia", "olivia's password", browser); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("olivia's browser on B after strangers' guesses: status %d, want 303", resp.StatusCode)
		}
		// A browser she never used waits a minute at most, on either.
		resp = post(ha, "192.0.2.51", "olivia", "olivia's password", nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 1 || ra > 60 {
				t.Errorf("new browser after strangers' guesses: Retry-After %q, want at most 60", resp.Header.Get("Retry-After"))
			}
		} else if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("new browser after strangers' guesses: status %d", resp.StatusCode)
		}
		// The guesses are counted for her notice, on either instance's
		// store, and audited once past ten.
		acc, err := b.db.AccountByName(context.Background(), "olivia")
		if err != nil || acc.FailedLogins != 23 {
			t.Errorf("wrong passwords counted for olivia: %d, want 23 (%v)", acc.FailedLogins, err)
		}
		es, err := a.db.Audit(context.Background(), fmt.Sprintf("account:%d", acc.ID))
		if err != nil {
			t.Fatal(err)
		}
		guessed := 0
		for _, e := range es {
			if e.Action == "account.guessed" && e.Actor == "citybot" {
				guessed++
			}
		}
		if guessed != 1 {
			t.Errorf("account.guessed audited %d times, want once", guessed)
		}

		// Root's password on A, the code on B.
		rootBrowser := map[string]*http.Cookie{}
		resp = post(ha, "192.0.2.60", "root", "root's long password", rootBrowser)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login/code") {
			t.Fatalf("root's password on A: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp = via(hb, "192.0.2.60", http.MethodPost, "/login/code",
			url.Values{"code": {codeAt(t, testTOTPSecret, clk.now())}, "next": {"/inbox"}}, rootBrowser)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox" {
			t.Errorf("root's code on B: status %d to %q, want 303 to /inbox", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := via(ha, "192.0.2.60", http.MethodGet, "/inbox", nil, rootBrowser); resp.StatusCode != http.StatusOK {
			t.Errorf("root's session on A: status %d", resp.StatusCode)
		}
	})
}

// A session started on one instance works on the other; signing out, a
// new password, disabling and "sign out everywhere" on one end it on
// every instance at once.
func TestSessionsAcrossInstances(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func(func() time.Time) *store.DB) {
		a, b := instances(t, open, Options{LoginBurst: 100})
		a.account("olivia", citybot.RoleOfficer, "olivia's password")
		admin := b.signIn(a.account("root", citybot.RoleAdmin, "root's long password"))
		ha, hb := a.srv.Handler(), b.srv.Handler()
		password := "olivia's password"
		signIn := func(h http.Handler) map[string]*http.Cookie {
			t.Helper()
			c := map[string]*http.Cookie{}
			resp := via(h, "192.0.2.5", http.MethodPost, "/login", url.Values{"name": {"olivia"}, "password": {password}, "next": {"/inbox"}}, c)
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/inbox" {
				t.Fatalf("sign-in: status %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			return c
		}
		signedIn := func(h http.Handler, c map[string]*http.Cookie) bool {
			t.Helper()
			resp := via(h, "192.0.2.5", http.MethodGet, "/inbox", nil, c)
			switch resp.StatusCode {
			case http.StatusOK:
				return true
			case http.StatusSeeOther:
				if !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
					t.Fatalf("redirect to %q", resp.Header.Get("Location"))
				}
				return false
			}
			t.Fatalf("inbox: status %d", resp.StatusCode)
			return false
		}
		act := func(r *rig, action string, extra url.Values) {
			t.Helper()
			f := url.Values{"name": {"olivia"}, "action": {action}, "confirm": {"yes"}}
			for k, v := range extra {
				f[k] = v
			}
			if resp, body := r.do(admin, http.MethodPost, "/admin/accounts/action", f); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %d\n%s", action, resp.StatusCode, body)
			}
		}

		// Signed in on A, used on B; signed out on B, refused on A.
		c := signIn(ha)
		if !signedIn(hb, c) {
			t.Fatal("a session from A is refused on B")
		}
		session := *c[a.srv.cookieName()]
		rec := via(hb, "192.0.2.5", http.MethodGet, "/inbox", nil, c)
		csrf := csrfField.FindStringSubmatch(readAll(rec))
		if csrf == nil {
			t.Fatal("no form token on the inbox")
		}
		if resp := via(hb, "192.0.2.5", http.MethodPost, "/logout", url.Values{"csrf": {csrf[1]}}, c); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign out on B: status %d", resp.StatusCode)
		}
		old := map[string]*http.Cookie{session.Name: &session}
		if signedIn(ha, old) {
			t.Error("the session signed out on B still works on A")
		}

		// A new password set on B ends the session on A.
		c = signIn(ha)
		act(b, "passwd", url.Values{"password": {"a brand new password"}})
		password = "a brand new password"
		if signedIn(ha, c) {
			t.Error("after a new password set on B, the session still works on A")
		}

		// "Sign out everywhere" on A ends the session begun on B.
		c = signIn(hb)
		act(a, "revoke", nil)
		if signedIn(hb, c) {
			t.Error("after sign out everywhere on A, the session still works on B")
		}

		// Disabled on B: the session begun on A ends, and a new sign-in
		// is refused on both.
		c = signIn(ha)
		act(b, "disable", nil)
		if signedIn(ha, c) || signedIn(hb, c) {
			t.Error("after disabling on B, the session still works")
		}
		for _, h := range []http.Handler{ha, hb} {
			resp := via(h, "192.0.2.5", http.MethodPost, "/login", url.Values{"name": {"olivia"}, "password": {password}}, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("disabled account signs in: status %d", resp.StatusCode)
			}
		}
	})
}

// countingStore counts the shared bucket's database writes.
type countingStore struct {
	*store.DB
	takes atomic.Int32
}

func (c *countingStore) TakeRateToken(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error) {
	c.takes.Add(1)
	return c.DB.TakeRateToken(ctx, key, burst, every)
}

// A flood from one address costs the database its burst, not a write per
// request: once this process has seen the address empty its bucket, it
// refuses without asking the store. Another instance still asks, and the
// store refuses what the first one let through.
func TestSigninFloodSparesDatabase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func(func() time.Time) *store.DB) {
		db := open(nil)
		cs := &countingStore{DB: db}
		off, err := casework.NewOfficer(casework.OfficerOptions{Policy: testPolicy(t), Store: db})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := New(Options{Policy: testPolicy(t), Store: cs, Officer: off, LoginBurst: 3, LoginEvery: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		other := rigOn(t, Options{LoginBurst: 3, LoginEvery: time.Hour}, open(nil))
		codes := map[int]int{}
		for range 50 {
			codes[signIn(srv.Handler(), "203.0.113.77:1", "", "x", "/inbox", nil, nil).Code]++
		}
		if codes[http.StatusUnauthorized] != 3 || codes[http.StatusTooManyRequests] != 47 {
			t.Errorf("50 attempts with a burst of 3: %v", codes)
		}
		if n := cs.takes.Load(); n != 3 {
			t.Errorf("the store was asked %d times for 50 attempts, want the burst's 3", n)
		}
		if rec := signIn(other.srv.Handler(), "203.0.113.77:1", "", "x", "/inbox", nil, nil); rec.Code != http.StatusTooManyRequests {
			t.Errorf("the same address on another instance: status %d, want 429", rec.Code)
		}
	})
}
