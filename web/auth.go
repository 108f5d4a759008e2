package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"citybot"
)

// MinPassword is the shortest password accepted, in characters.
const MinPassword = 12

// HashPassword returns the bcrypt hash of a staff password. It returns an
// error wrapping citybot.ErrInvalid for a password shorter than
// MinPassword characters or longer than bcrypt's 72 bytes.
func HashPassword(password string) (string, error) {
	if utf8.RuneCountInString(password) < MinPassword || len(password) > 72 {
		return "", fmt.Errorf("web: hash password: %w: a password needs %d to 72 characters", citybot.ErrInvalid, MinPassword)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("web: hash password: %w", err)
	}
	return string(h), nil
}

// GeneratePassword returns a random password of 20 characters (about 120
// bits), for an account created without one.
func GeneratePassword() string {
	b := make([]byte, 15)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session is a signed-in account on one request.
type session struct {
	account citybot.Account
	csrf    string
	lang    string // the console language the account chose, "" for none
}

func (s *session) checkCSRF(token string) bool {
	return s != nil && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (s *Server) cookieName() string {
	if s.secure {
		return "__Host-citybot_session"
	}
	return "citybot_session"
}

// session returns the request's signed-in session, if any.
func (s *Server) session(r *http.Request) (*session, bool) {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, false
	}
	a, csrf, err := s.store.Session(r.Context(), hashToken(c.Value))
	if err != nil {
		if !errors.Is(err, citybot.ErrNotFound) {
			s.log.Error("session lookup failed", "err", err)
		}
		return nil, false
	}
	lang, err := s.store.AccountLanguage(r.Context(), a.ID)
	if err != nil {
		// The page is still usable in the browser's language.
		s.log.Error("account language lookup failed", "err", err)
	}
	return &session{account: a, csrf: csrf, lang: lang}, true
}

type loginPage struct {
	Next  string
	Name  string
	Error string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.session(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", nil, loginPage{Next: safeNext(r.URL.Query().Get("next"))})
}

// The sign-in pages' refusals are the catalogs' texts:
// console.login_failed is the one answer to every failed sign-in (it does
// not say whether the name exists); console.login_wait answers an attempt
// made during a back-off delay, the same for a name that exists and one
// that does not.

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	tx := s.texts(r, nil)
	page := loginPage{Next: next, Name: name, Error: tx.T("console.login_failed")}
	ip := s.clientIP(r)
	ctx := r.Context()
	if ok, err := s.rateLimited(w, r, ip, "password"); err != nil || !ok {
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		page.Error = tx.T("console.login_limited")
		s.render(w, r, http.StatusTooManyRequests, "login", nil, page)
		return
	}
	if name == "" || len(name) > 64 || len(password) > 72 {
		s.log.Info("sign-in refused", "account", logName(name), "addr", ip, "reason", "malformed")
		s.render(w, r, http.StatusUnauthorized, "login", nil, page)
		return
	}
	keys, err := s.backoffKeys(r, ip, name)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if secs, err := s.backedOff(w, r, keys); err != nil || secs > 0 {
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.log.Info("sign-in refused", "account", logName(name), "addr", ip, "reason", "backoff", "wait_seconds", secs)
		page.Error = tx.Tn("console.login_wait", secs)
		s.render(w, r, http.StatusTooManyRequests, "login", nil, page)
		return
	}
	a, err := s.store.AccountByName(ctx, name)
	hash := s.dummyHash
	switch {
	case err == nil:
		hash = []byte(a.PasswordHash)
	case !errors.Is(err, citybot.ErrNotFound):
		s.fail(w, r, nil, err)
		return
	}
	// The same work for an unknown name as for a real account, so that
	// timing does not tell which names exist; at most a few checks at
	// once, so that sign-in floods cannot take every core.
	match, ok := s.checkPassword(ctx, hash, password)
	if !ok {
		s.log.Warn("sign-in refused", "account", logName(name), "addr", ip, "reason", "busy")
		w.Header().Set("Retry-After", "1")
		page.Error = tx.T("console.login_busy")
		s.render(w, r, http.StatusServiceUnavailable, "login", nil, page)
		return
	}
	if err != nil || !match || a.Disabled {
		if err == nil && match && a.Disabled {
			s.log.Info("sign-in refused", "account", logName(name), "addr", ip, "reason", "disabled")
		} else {
			account := ""
			if err == nil {
				account = a.Name
			}
			if err := s.limits.fail(ctx, account, keys); err != nil {
				s.fail(w, r, nil, err)
				return
			}
			s.log.Info("sign-in refused", "account", logName(name), "addr", ip, "reason", "wrong name or password")
		}
		s.render(w, r, http.StatusUnauthorized, "login", nil, page)
		return
	}
	if a.TOTPEnabled() {
		// The delays are cleared only once the code is right too, so
		// that a known password does not buy fresh code guesses.
		if err := s.setCodeCookie(ctx, w, a); err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.log.Info("password accepted, code asked", "account", a.Name, "addr", ip)
		http.Redirect(w, r, "/login/code?next="+urlQueryEscape(next), http.StatusSeeOther)
		return
	}
	if err := s.limits.reset(ctx, keys); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.startSession(w, r, a, next, ip, "password")
}

// rateLimited spends one attempt of the client address's bucket; when it
// is empty it logs the refusal, sets Retry-After and returns false (the
// caller answers 429).
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, ip, step string) (bool, error) {
	ok, wait, err := s.limits.allow(r.Context(), ip)
	if err != nil || ok {
		return ok, err
	}
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	s.log.Warn("sign-in rate limited", "addr", ip, "step", step, "wait_seconds", secs)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return false, nil
}

// backoffKeys are the back-off keys of a sign-in to account name from
// client ip: the client address, and the account as typed (the same for
// names that exist and names that do not) unless this browser signed in
// to it before, in which case the browser's own key. Strangers' failures
// therefore never slow a browser the account's owner already used.
func (s *Server) backoffKeys(r *http.Request, ip, name string) ([]string, error) {
	keys := []string{addrKey(ip)}
	dev, ok, err := s.knownDevice(r, name)
	if err != nil {
		return nil, err
	}
	if ok {
		return append(keys, "device:"+dev), nil
	}
	return append(keys, "account:"+strings.ToLower(name)), nil
}

// backedOff returns how many seconds the attempt must still wait under
// keys (0: it may go ahead), with Retry-After set when it must.
func (s *Server) backedOff(w http.ResponseWriter, r *http.Request, keys []string) (int, error) {
	wait, err := s.limits.wait(r.Context(), keys)
	if err != nil || wait <= 0 {
		return 0, err
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return secs, nil
}

// checkPassword compares password with hash under the global cap on
// concurrent checks. ok is false when no slot came free within the
// wait (or the request ended): the caller answers "busy" at once.
func (s *Server) checkPassword(ctx context.Context, hash []byte, password string) (match, ok bool) {
	t := time.NewTimer(s.checkWait)
	defer t.Stop()
	select {
	case s.checks <- struct{}{}:
	case <-t.C:
		return false, false
	case <-ctx.Done():
		return false, false
	}
	defer func() { <-s.checks }()
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil, true
}

// logName is a typed account name made safe for a log line: control
// and format characters dropped, at most 64 bytes.
func logName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	if len(name) > 64 {
		name = strings.ToValidUTF8(name[:64], "")
	}
	return name
}

func (s *Server) deviceCookieName() string {
	if s.secure {
		return "__Host-citybot_device"
	}
	return "citybot_device"
}

// deviceMAC signs an account name and a browser's nonce for a device
// cookie, with the key every process shares.
func deviceMAC(key []byte, name, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("citybot device\x00" + strings.ToLower(name) + "\x00" + nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// setDevice marks this browser as one that signed in to the account: a
// cookie "nonce.mac", kept a year, good on every process sharing the
// database.
func (s *Server) setDevice(ctx context.Context, w http.ResponseWriter, name string) error {
	key, err := s.cookies.get(ctx)
	if err != nil {
		return err
	}
	nonce := randomToken()[:22]
	http.SetCookie(w, &http.Cookie{Name: s.deviceCookieName(), Value: nonce + "." + deviceMAC(key, name, nonce), Path: "/",
		MaxAge: 365 * 24 * 3600, Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return nil
}

// knownDevice reports whether the request comes from a browser that
// signed in to account name before, with the browser's own back-off key
// (its nonce). The error is the store's, reading the cookies' key.
func (s *Server) knownDevice(r *http.Request, name string) (string, bool, error) {
	c, err := r.Cookie(s.deviceCookieName())
	if err != nil || len(c.Value) > 200 {
		return "", false, nil
	}
	nonce, mac, ok := strings.Cut(c.Value, ".")
	if !ok || nonce == "" {
		return "", false, nil
	}
	key, err := s.cookies.get(r.Context())
	if err != nil {
		return "", false, err
	}
	if !hmac.Equal([]byte(mac), []byte(deviceMAC(key, name, nonce))) {
		return "", false, nil
	}
	return strings.ToLower(name) + "/" + nonce, true, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	if c, err := r.Cookie(s.cookieName()); err == nil {
		if err := s.store.DeleteSession(r.Context(), hashToken(c.Value)); err != nil {
			s.fail(w, r, sess, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: "", Path: "/", MaxAge: -1,
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target only when it is a path of the
// console: one leading "/", no "//", no backslash, no control or format
// character (after percent-decoding, so "/%09/evil" and "/%5Cevil" are
// refused too), no scheme or host, and not the sign-in page itself.
// Anything else gives "/inbox".
func safeNext(next string) string {
	const home = "/inbox"
	if len(next) > 2048 {
		return home
	}
	decoded, err := url.PathUnescape(next)
	if err != nil {
		return home
	}
	for _, v := range []string{next, decoded} {
		if !strings.HasPrefix(v, "/") || strings.Contains(v, "//") || strings.Contains(v, "\\") {
			return home
		}
		for _, r := range v {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				return home
			}
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return home
	}
	if u.Path == "/login" || strings.HasPrefix(u.Path, "/login/") {
		return home
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// clientIP is the request's client address: the peer's, or, when the
// peer is one of the trusted proxies ([web] trusted_proxies), the address
// the proxies report. With X-Forwarded-For that is its last entry that is
// not itself a trusted proxy (entries left of it were written by the
// client and prove nothing); when every entry is a trusted proxy, or an
// entry does not parse, the last good entry reached. X-Real-IP counts
// only when there is no X-Forwarded-For. Headers from any other peer are
// ignored, since anyone can send them.
func (s *Server) clientIP(r *http.Request) string {
	peer := peerAddr(r.RemoteAddr)
	if !s.trusted(peer) {
		return addrString(peer, r.RemoteAddr)
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		client := peer
		parts := strings.Split(strings.Join(xff, ","), ",")
		for i := len(parts) - 1; i >= 0; i-- {
			a, ok := parseForwarded(parts[i])
			if !ok {
				break
			}
			client = a
			if !s.trusted(a) {
				break
			}
		}
		return client.String()
	}
	if a, ok := parseForwarded(r.Header.Get("X-Real-IP")); ok {
		return a.String()
	}
	return addrString(peer, r.RemoteAddr)
}

// parseForwarded reads one address a proxy reported: a bare address, or
// one with a port ("192.0.2.1:4711", "[2001:db8::1]:4711"), as some
// proxies write them.
func parseForwarded(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func (s *Server) trusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func addrString(a netip.Addr, remote string) string {
	if a.IsValid() {
		return a.String()
	}
	return remote
}
