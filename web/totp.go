package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"citybot"
)

// One-time passwords (TOTP, RFC 6238, as authenticator apps make them):
// six digits, a new code every 30 seconds, SHA-1. A code is accepted in
// its step and the one before or after (clocks drift), and only once.
const (
	totpPeriod = 30
	totpSkew   = 1
	// recoveryCount recovery codes are made at enrolment and on demand.
	recoveryCount = 10
	// codeStepTTL is how long the code step of a sign-in may wait after
	// the password.
	codeStepTTL = 5 * time.Minute
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// newTOTPSecret returns a random base32 secret of 160 bits.
func newTOTPSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// totpStep finds the 30-second step in which code is right for secret
// at now (within the skew), comparing in constant time.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1}[:2*totpSkew+1] {
		step := now.Unix()/totpPeriod + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// newRecoveryCodes returns recoveryCount random codes as shown to their
// owner ("k3m9q-x7t2p": 50 bits each) and their hashes as stored.
func newRecoveryCodes() (codes, hashes []string) {
	enc := base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	for range recoveryCount {
		b := make([]byte, 7)
		rand.Read(b)
		c := enc.EncodeToString(b)[:10]
		c = c[:5] + "-" + c[5:]
		codes = append(codes, c)
		hashes = append(hashes, hashRecovery(c))
	}
	return codes, hashes
}

// hashRecovery is the stored form of a recovery code: typed in any case,
// with or without its hyphen and spaces.
func hashRecovery(code string) string {
	c := strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
	h := sha256.Sum256([]byte("citybot recovery\x00" + c))
	return hex.EncodeToString(h[:])
}

// totpURL is the otpauth:// address an authenticator app reads from the
// QR image.
func (s *Server) totpURL(name, secret string) (*otp.Key, error) {
	issuer := strings.NewReplacer(":", " ", "/", " ").Replace(s.issuer)
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: name, Secret: mustB32(secret),
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

func mustB32(secret string) []byte {
	b, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	return b
}

// mustEnrol reports whether the account must set up one-time codes before
// anything else.
func mustEnrol(a citybot.Account) bool { return a.Role.RequiresTOTP() && !a.TOTPEnabled() }

type totpData struct {
	Required bool // the account's role requires one-time codes
	Enabled  bool
	Pending  bool
	Secret   string // the pending secret, in groups of four
	Left     int    // recovery codes left
	Codes    []string
	Done     string
	Error    string
}

func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Server) totpData(a citybot.Account) totpData {
	d := totpData{Required: a.Role.RequiresTOTP(), Enabled: a.TOTPEnabled(), Pending: a.TOTPPending != "", Left: a.RecoveryCodesLeft}
	if d.Pending {
		d.Secret = groupSecret(a.TOTPPending)
	}
	return d
}

// totpPage shows the account's one-time codes: how to set them up (the
// QR image and the secret as text), or how many recovery codes are left.
func (s *Server) totpPage(w http.ResponseWriter, r *http.Request, sess *session) {
	d := s.totpData(sess.account)
	switch r.URL.Query().Get("done") {
	case "off":
		d.Done = s.texts(r, sess).T("console.totp_done_off")
	}
	s.render(w, r, http.StatusOK, "totp", sess, d)
}

// totpStart makes a new secret to enrol (replacing one not yet
// activated) and shows it.
func (s *Server) totpStart(w http.ResponseWriter, r *http.Request, sess *session) {
	if sess.account.TOTPEnabled() {
		s.fail(w, r, sess, invalid("console.refuse_totp_on"))
		return
	}
	if err := s.store.StartTOTP(r.Context(), sess.account.ID, newTOTPSecret()); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
}

// totpQR is the QR image of the pending secret, made here (nothing
// leaves the server).
func (s *Server) totpQR(w http.ResponseWriter, r *http.Request, sess *session) {
	if sess.account.TOTPPending == "" {
		http.NotFound(w, r)
		return
	}
	key, err := s.totpURL(sess.account.Name, sess.account.TOTPPending)
	var buf bytes.Buffer
	if err == nil {
		im, ierr := key.Image(240, 240)
		if err = ierr; err == nil {
			err = png.Encode(&buf, im)
		}
	}
	if err != nil {
		s.log.Error("totp qr image", "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(buf.Bytes())
}

// totpActivate turns the pending secret on after a right code, and shows
// the new recovery codes once.
func (s *Server) totpActivate(w http.ResponseWriter, r *http.Request, sess *session) {
	a := sess.account
	d := s.totpData(a)
	if a.TOTPPending == "" {
		s.fail(w, r, sess, invalid("console.refuse_totp_start"))
		return
	}
	step, ok := totpStep(a.TOTPPending, r.PostFormValue("code"), s.now())
	if !ok {
		d.Error = s.texts(r, sess).T("console.totp_wrong")
		s.render(w, r, http.StatusBadRequest, "totp", sess, d)
		return
	}
	codes, hashes := newRecoveryCodes()
	if err := s.store.ActivateTOTP(r.Context(), a.ID, a.TOTPPending, step, hashes); err != nil {
		// Its ErrInvalid: the set-up was started again elsewhere.
		s.fail(w, r, sess, refusedAs(err, "console.refuse_totp_restarted", citybot.ErrInvalid))
		return
	}
	s.log.Info("one-time codes set up", "account", a.Name)
	s.render(w, r, http.StatusOK, "totp", sess, totpData{Required: d.Required, Enabled: true, Left: len(codes), Codes: codes,
		Done: s.texts(r, sess).T("console.totp_done_on")})
}

// checkOwnCode checks a signed-in account's current code (for changes to
// its own one-time codes).
func (s *Server) checkOwnCode(r *http.Request, a citybot.Account) error {
	step, ok := totpStep(a.TOTPSecret, r.PostFormValue("code"), s.now())
	if !ok {
		return invalid("console.totp_wrong")
	}
	if err := s.store.UseTOTPStep(r.Context(), a.ID, step); err != nil {
		if errors.Is(err, citybot.ErrDuplicate) {
			return invalid("console.refuse_code_used")
		}
		return err
	}
	return nil
}

// totpRecovery makes new recovery codes (the old ones stop working) after
// a right code, shown once.
func (s *Server) totpRecovery(w http.ResponseWriter, r *http.Request, sess *session) {
	a := sess.account
	if !a.TOTPEnabled() {
		s.fail(w, r, sess, invalid("console.refuse_totp_first"))
		return
	}
	if err := s.checkOwnCode(r, a); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	codes, hashes := newRecoveryCodes()
	if err := s.store.SetRecoveryCodes(r.Context(), a.ID, hashes); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d := s.totpData(a)
	d.Codes, d.Left, d.Done = codes, len(codes), s.texts(r, sess).T("console.totp_done_new")
	s.render(w, r, http.StatusOK, "totp", sess, d)
}

// totpOff turns one-time codes off for an officer (roles that require
// them cannot), after a right code.
func (s *Server) totpOff(w http.ResponseWriter, r *http.Request, sess *session) {
	a := sess.account
	if a.Role.RequiresTOTP() {
		s.fail(w, r, sess, invalid("console.refuse_totp_role"))
		return
	}
	if !a.TOTPEnabled() {
		http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
		return
	}
	if err := s.checkOwnCode(r, a); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	if _, err := s.store.ResetTOTP(r.Context(), a.Name, a.Name); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account/totp?done=off", http.StatusSeeOther)
}

// The code step of a sign-in: after a right password, an account with
// one-time codes gets a short-lived signed cookie naming it instead of a
// session, and /login/code asks for the code.

func (s *Server) codeCookieName() string {
	if s.secure {
		return "__Host-citybot_code"
	}
	return "citybot_code"
}

// codeMAC signs the code step of account a until exp, with the key every
// process shares (the code may be typed on another instance than the
// password): a new password or a reset of its one-time codes makes it
// void.
func codeMAC(key []byte, a citybot.Account, exp int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "citybot code\x00%d\x00%d\x00%s\x00%s", a.ID, exp, a.PasswordHash, a.TOTPSecret)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) setCodeCookie(ctx context.Context, w http.ResponseWriter, a citybot.Account) error {
	key, err := s.cookies.get(ctx)
	if err != nil {
		return err
	}
	exp := s.now().Add(codeStepTTL).Unix()
	v := base64.RawURLEncoding.EncodeToString([]byte(a.Name)) + "." + strconv.FormatInt(exp, 10) + "." + codeMAC(key, a, exp)
	http.SetCookie(w, &http.Cookie{Name: s.codeCookieName(), Value: v, Path: "/", MaxAge: int(codeStepTTL.Seconds()),
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return nil
}

func (s *Server) clearCodeCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.codeCookieName(), Value: "", Path: "/", MaxAge: -1,
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// codeAccount returns the account whose code step this request carries,
// when its cookie is signed, unexpired and still matches the account.
func (s *Server) codeAccount(r *http.Request) (citybot.Account, bool, error) {
	c, err := r.Cookie(s.codeCookieName())
	if err != nil || len(c.Value) > 300 {
		return citybot.Account{}, false, nil
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return citybot.Account{}, false, nil
	}
	nb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	exp, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || s.now().Unix() > exp {
		return citybot.Account{}, false, nil
	}
	a, err := s.store.AccountByName(r.Context(), string(nb))
	if errors.Is(err, citybot.ErrNotFound) {
		return citybot.Account{}, false, nil
	}
	if err != nil {
		return citybot.Account{}, false, err
	}
	key, err := s.cookies.get(r.Context())
	if err != nil {
		return citybot.Account{}, false, err
	}
	if !hmac.Equal([]byte(parts[2]), []byte(codeMAC(key, a, exp))) || a.Disabled || !a.TOTPEnabled() {
		return citybot.Account{}, false, nil
	}
	return a, true, nil
}

type codePage struct {
	Next  string
	Error string
}

// loginCodePage asks for the code of a sign-in whose password was right.
func (s *Server) loginCodePage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok, err := s.codeAccount(r); err != nil || !ok {
		if err != nil {
			s.log.Error("sign-in code step", "err", err)
		}
		http.Redirect(w, r, "/login?next="+urlQueryEscape(next), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login_code", nil, codePage{Next: next})
}

// loginCode checks the code step of a sign-in: a code from the app, or
// one of the account's recovery codes. Wrong codes slow down exactly as
// wrong passwords do (the same keys and delays).
func (s *Server) loginCode(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	next := safeNext(r.PostFormValue("next"))
	code := r.PostFormValue("code")
	ip := s.clientIP(r)
	ctx := r.Context()
	if ok, err := s.rateLimited(w, r, ip, "code"); err != nil || !ok {
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.render(w, r, http.StatusTooManyRequests, "login_code", nil, codePage{Next: next,
			Error: s.texts(r, nil).T("console.login_limited")})
		return
	}
	a, ok, err := s.codeAccount(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if !ok {
		s.clearCodeCookie(w)
		s.render(w, r, http.StatusUnauthorized, "login", nil, loginPage{Next: next,
			Error: s.texts(r, nil).T("console.login_cut")})
		return
	}
	tx := s.texts(r, nil)
	page := codePage{Next: next, Error: tx.T("console.code_wrong")}
	keys, err := s.backoffKeys(r, ip, a.Name)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if secs, err := s.backedOff(w, r, keys); err != nil || secs > 0 {
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.log.Info("sign-in refused", "account", logName(a.Name), "addr", ip, "reason", "backoff", "step", "code", "wait_seconds", secs)
		page.Error = tx.Tn("console.login_wait", secs)
		s.render(w, r, http.StatusTooManyRequests, "login_code", nil, page)
		return
	}
	now := s.now()
	used, good := "", false
	if step, ok := totpStep(a.TOTPSecret, code, now); ok {
		switch err := s.store.UseTOTPStep(r.Context(), a.ID, step); {
		case err == nil:
			used, good = "code", true
		case errors.Is(err, citybot.ErrDuplicate):
			page.Error = tx.T("console.code_used")
		default:
			s.fail(w, r, nil, err)
			return
		}
	} else if len(strings.TrimSpace(code)) >= 10 && len(code) <= 64 {
		left, err := s.store.UseRecoveryCode(r.Context(), a.ID, hashRecovery(code))
		switch {
		case err == nil:
			used, good = "recovery code", true
			s.log.Warn("signed in with a recovery code", "account", a.Name, "addr", ip, "left", left)
		case !errors.Is(err, citybot.ErrNotFound):
			s.fail(w, r, nil, err)
			return
		}
	}
	if !good {
		if err := s.limits.fail(ctx, a.Name, keys); err != nil {
			s.fail(w, r, nil, err)
			return
		}
		s.log.Info("sign-in refused", "account", a.Name, "addr", ip, "reason", "wrong code")
		s.render(w, r, http.StatusUnauthorized, "login_code", nil, page)
		return
	}
	if err := s.limits.reset(ctx, keys); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.clearCodeCookie(w)
	s.startSession(w, r, a, next, ip, used)
}

// startSession signs account a in: a new session and its cookie, the
// browser remembered as one of the account's, and a redirect to next.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, a citybot.Account, next, ip, with string) {
	token, csrf := randomToken(), randomToken()
	if err := s.store.CreateSession(r.Context(), a.ID, hashToken(token), csrf, s.now().Add(s.ttl)); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	s.log.Info("signed in", "account", a.Name, "role", string(a.Role), "addr", ip, "with", with)
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: token, Path: "/", MaxAge: int(s.ttl.Seconds()),
		Secure: s.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	if err := s.setDevice(r.Context(), w, a.Name); err != nil {
		// Signed in all the same; the browser is not remembered as one
		// of the account's.
		s.log.Error("sign-in: device cookie", "account", a.Name, "err", err)
	}
	if mustEnrol(a) {
		next = "/account/totp"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
