package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
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
	return &session{account: a, csrf: csrf}, true
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

// loginFailed is the one answer to every failed sign-in: it does not say
// whether the name exists or the account is locked.
const loginFailed = "Wrong name or password, or the account is locked for a while. Try again."

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	page := loginPage{Next: next, Name: name, Error: loginFailed}
	if !s.limiter.allow(clientIP(r)) {
		s.log.Warn("sign-in rate limited")
		w.Header().Set("Retry-After", "60")
		page.Error = "Too many sign-in attempts from this address. Wait a minute and try again."
		s.render(w, r, http.StatusTooManyRequests, "login", nil, page)
		return
	}
	if name == "" || len(name) > 64 || len(password) > 72 {
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		s.render(w, r, http.StatusUnauthorized, "login", nil, page)
		return
	}
	a, err := s.store.AccountByName(r.Context(), name)
	if err != nil {
		if !errors.Is(err, citybot.ErrNotFound) {
			s.fail(w, r, nil, err)
			return
		}
		// Same work as for a real account, so that timing does not tell
		// which names exist.
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		s.render(w, r, http.StatusUnauthorized, "login", nil, page)
		return
	}
	match := bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) == nil
	now := s.now()
	if !match || a.Disabled || a.LockedUntil.After(now) {
		if !match {
			if _, err := s.store.RecordLoginFailure(r.Context(), a.ID, s.maxFail, s.lockFor); err != nil {
				s.log.Error("record sign-in failure", "err", err)
			}
		}
		s.log.Info("sign-in refused")
		s.render(w, r, http.StatusUnauthorized, "login", nil, page)
		return
	}
	token, csrf := randomToken(), randomToken()
	if err := s.store.CreateSession(r.Context(), a.ID, hashToken(token), csrf, now.Add(s.ttl)); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.log.Info("signed in", "account", a.Name, "role", string(a.Role))
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: token, Path: "/", MaxAge: int(s.ttl.Seconds()),
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
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

// safeNext keeps a redirect target only when it is a path on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") || strings.HasPrefix(next, "/login") {
		return "/inbox"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// clientIP is the request's peer address. Forwarded headers are not
// trusted: behind a proxy, every client shares the proxy's budget.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a token bucket per client address for sign-in attempts.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the limiter's memory; when full, buckets that are
// full again are dropped.
const maxBuckets = 10000

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			for k, ob := range l.buckets {
				if ob.tokens+now.Sub(ob.at).Seconds()/l.every.Seconds() >= l.burst {
					delete(l.buckets, k)
				}
			}
			if len(l.buckets) >= maxBuckets {
				return false
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()/l.every.Seconds())
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
