// Package web is citybot's officer console: staff sign in, triage the
// tagged cases in an inbox (critical first), read a case's whole
// conversation, correct its topic and urgency, assign it, answer the
// citizen through the bot, change its status, keep internal notes and merge
// duplicates. Admins also edit canned answers, create accounts, read the
// audit log and retrain the classifier from officers' corrections.
// Officials and admins write and approve holding statements; officers send
// one from a case to every follower; the inbox shows a banner while a
// surge of reports lasts (statements.go).
//
// Sign-in is a password, then, for an account with one-time codes
// (required of admins and officials, optional for officers; totp.go), a
// code from an authenticator app or a recovery code.
//
// Triage runs at keyboard speed: shortcuts (j/k, o, x, a, r, e, u, /, ?,
// 1-9 for canned answers, Ctrl+Enter), send-and-resolve in one action,
// the next case of the officer's inbox view opening after a case is
// finished, bulk actions on ticked cases, an exact preview of what the
// citizen receives, and each case page part saving without a reload.
// Every one of these is a plain form post first: the script only makes
// it quicker.
//
// It uses the standard library's http.ServeMux with method patterns,
// html/template pages embedded from templates/ (one file per page), a
// little JavaScript (static/console.js) and no front-end build. Every route
// checks the signed-in account's role on the server; state changes are
// POSTs guarded by http.CrossOriginProtection and a per-session form
// token; every citizen text is rendered escaped.
//
// The package declares the Store, Officer and Trainer it needs; cmd/citybot
// passes a *store.DB, a *casework.Officer and a *responder.Retrainer.
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/locale"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Store is what the console needs from storage.
type Store interface {
	AccountByName(ctx context.Context, name string) (citybot.Account, error)
	Accounts(ctx context.Context) ([]citybot.Account, error)
	CreateAccount(ctx context.Context, name string, role citybot.Role, passwordHash, actor string) (citybot.Account, error)
	CreateSession(ctx context.Context, id citybot.AccountID, tokenHash, csrf string, expires time.Time) error
	Session(ctx context.Context, tokenHash string) (citybot.Account, string, error)
	// AccountLanguage and SetAccountLanguage keep the console language
	// an account chose ("" when none).
	AccountLanguage(ctx context.Context, id citybot.AccountID) (string, error)
	SetAccountLanguage(ctx context.Context, id citybot.AccountID, lang string) error
	DeleteSession(ctx context.Context, tokenHash string) error
	// Account lifecycle, each audited as done by actor; disabling and a
	// password change end the account's sessions, and the last active
	// admin can be neither disabled nor demoted (citybot.ErrInvalid).
	SetAccountDisabled(ctx context.Context, name string, disabled bool, actor string) (citybot.Account, error)
	SetAccountPassword(ctx context.Context, name, passwordHash, actor string) error
	// UnlockAccount clears an account's count of wrong passwords and the
	// delay its name has from unknown browsers (back-off key "account:"
	// + the name in lower case).
	UnlockAccount(ctx context.Context, name, actor string) error
	// The sign-in limits, shared by every process on the database: a
	// token bucket per key (citybot.ErrInvalid for a bad burst or
	// interval), failed sign-ins counted per back-off key (and for an
	// existing account's notice, which its owner dismisses), and the
	// rows that say nothing any more pruned.
	TakeRateToken(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error)
	SigninStrikes(ctx context.Context, keys []string) (map[string]citybot.SigninStrike, error)
	RecordSigninFailure(ctx context.Context, account string, keys []citybot.SigninKey) error
	ClearSigninStrikes(ctx context.Context, keys []string) error
	PruneSigninLimits(ctx context.Context) (int, error)
	DismissSigninNotice(ctx context.Context, id citybot.AccountID) error
	// WebSecret returns a secret shared by every process on the
	// database, made on first use.
	WebSecret(ctx context.Context, name string) ([]byte, error)
	SetAccountRole(ctx context.Context, name string, role citybot.Role, actor string) (citybot.Account, error)
	RevokeSessions(ctx context.Context, name, actor string) (int, error)
	// One-time passwords: a secret being enrolled, made active after a
	// right code; a code's step accepted once (citybot.ErrDuplicate);
	// recovery codes stored as hashes, each good once
	// (citybot.ErrNotFound); a reset, audited.
	StartTOTP(ctx context.Context, id citybot.AccountID, secret string) error
	ActivateTOTP(ctx context.Context, id citybot.AccountID, pending string, step int64, recoveryHashes []string) error
	UseTOTPStep(ctx context.Context, id citybot.AccountID, step int64) error
	UseRecoveryCode(ctx context.Context, id citybot.AccountID, codeHash string) (int, error)
	SetRecoveryCodes(ctx context.Context, id citybot.AccountID, hashes []string) error
	ResetTOTP(ctx context.Context, name, actor string) (citybot.Account, error)

	InboxPage(ctx context.Context, q citybot.InboxQuery) ([]citybot.InboxItem, bool, error)
	// Grouping's suggestions: the cases that look like a case (either
	// way), how many look like each of some cases, and an officer's
	// "not the same problem" (audited).
	CaseSuggestions(ctx context.Context, id citybot.CaseID) ([]citybot.CaseSuggestion, error)
	SuggestionCounts(ctx context.Context, ids []citybot.CaseID) (map[citybot.CaseID]int, error)
	DismissCaseSuggestion(ctx context.Context, id, like citybot.CaseID, actor string) error
	InboxCounts(ctx context.Context, q citybot.InboxQuery) (citybot.InboxCounts, error)

	CaseView(ctx context.Context, id citybot.CaseID) (citybot.CaseView, error)
	CaseByRef(ctx context.Context, ref citybot.CaseRef) (citybot.Case, error)
	Conversation(ctx context.Context, id citybot.CaseID) ([]citybot.ConversationEntry, error)
	CaseTags(ctx context.Context, id citybot.CaseID) ([]citybot.Tag, error)
	CaseNotes(ctx context.Context, id citybot.CaseID) ([]citybot.CaseNote, error)
	Audit(ctx context.Context, subject string) ([]citybot.AuditEntry, error)
	AddNote(ctx context.Context, id citybot.CaseID, author, text string) (citybot.CaseNote, error)
	CorrectCase(ctx context.Context, id citybot.CaseID, topic string, urgency citybot.Urgency, actor string) (citybot.Case, error)
	AssignCase(ctx context.Context, id citybot.CaseID, assignee, actor string) error
	SetExpectedBy(ctx context.Context, id citybot.CaseID, by *time.Time, actor string) error
	// SetCaseSensitive sets or clears a case's sensitive flag, audited
	// with the reason.
	SetCaseSensitive(ctx context.Context, id citybot.CaseID, sensitive bool, actor, reason string) (citybot.Case, error)

	// Citizens' data rights: what the city holds about a case's citizen,
	// and its erasure (audited by the store as "citizen.forget").
	CitizenData(ctx context.Context, id citybot.CitizenID) (citybot.CitizenData, error)
	ForgetCitizen(ctx context.Context, id citybot.CitizenID, actor, keep string) (citybot.Forgotten, error)
	RecordAudit(ctx context.Context, e citybot.AuditEntry) error

	// Media returns a photo or voice note kept with a case
	// (citybot.ErrNotFound when not kept).
	Media(ctx context.Context, id int64) (citybot.Media, error)

	CannedAnswers(ctx context.Context) ([]citybot.CannedAnswer, error)
	SetCannedAnswer(ctx context.Context, a citybot.CannedAnswer) error
	AuditLog(ctx context.Context, beforeID int64, limit int) ([]citybot.AuditEntry, error)
}

// Officer carries officers' actions to the citizens (casework.Officer).
type Officer interface {
	Answer(ctx context.Context, id citybot.CaseID, actor, text, nonce string) (citybot.Case, error)
	ChangeStatus(ctx context.Context, id citybot.CaseID, ch citybot.StatusChange, nonce string) (citybot.Case, error)
	Merge(ctx context.Context, dup, into citybot.CaseID, actor string) error
	// Preview returns exactly what the citizens following case v would
	// receive if text were answered now; it queues nothing.
	Preview(v citybot.CaseView, text string) []citybot.AnswerPreview
}

// Trainer retrains the classifier from officers' corrections
// (responder.Retrainer). Optional.
type Trainer interface {
	// Start begins training a candidate model in the background and
	// returns at once; Status says it runs until its report (whether it
	// may be switched to) is pending. It refuses with citybot.ErrDuplicate
	// while a training runs and citybot.ErrInvalid when officers have
	// corrected no case yet.
	Start(ctx context.Context, actor string) (citybot.TrainingRun, error)
	// Switch makes the waiting candidate the live model; a candidate
	// that failed the rules is refused (citybot.ErrInvalid, with the
	// reason).
	Switch(ctx context.Context, actor string) error
	// Rollback makes the previous ("previous") or the shipped
	// ("shipped") model the live one; citybot.ErrNotFound when there is
	// none to return to.
	Rollback(ctx context.Context, actor, to string) error
	// Status returns the models' names and the last training's report.
	Status() citybot.ModelStatus
}

// Options configure a Server. Store and Officer are required.
type Options struct {
	Store   Store
	Officer Officer
	// Trainer, when set, gives admins the retraining page.
	Trainer Trainer
	Logger  *slog.Logger     // nil discards logs
	Now     func() time.Time // nil means time.Now
	// Policy is the city: its languages (canned answers are per
	// language), the topics an officer can choose and the sensitive
	// topics (an officer who corrects a case to one of them makes it
	// sensitive, audited; who sees a case is decided by its flag,
	// citybot.Case.Sensitive, not by its topic). Required.
	Policy *citybot.Policy
	// Locales give the languages' names and writing directions
	// (citizens' texts are shown with their dir); nil means the shipped
	// files.
	Locales *locale.Set
	// SensitiveRoles may see sensitive cases (in the inbox, its counts
	// and searches, the case page), and only they may clear or set the
	// flag by hand, with a reason; nil means admin only.
	SensitiveRoles []citybot.Role
	// SensitiveAccounts are accounts (by name, any case) that may also
	// read sensitive cases, whatever their role ([web]
	// sensitive_readers). A sensitive case can be assigned only to
	// someone who may read it.
	SensitiveAccounts []string
	// InsecureCookies drops the Secure flag from the session cookie, for
	// a console served over plain HTTP on a non-localhost address. Never
	// in production.
	InsecureCookies bool
	// SessionTTL is how long a sign-in lasts; 0 means 12 hours.
	SessionTTL time.Duration
	// FreeFailures failed sign-ins are free; after them, each attempt
	// waits a delay that doubles with every failure, from one second,
	// kept per client address (up to MaxDelay), per browser that signed
	// in to the account before (up to MaxDelay) and per account name
	// tried from other browsers (up to MaxAccountDelay). Nothing locks:
	// strangers' failures never slow a browser that signed in to the
	// account before. 0 means 3 failures, 15 minutes and 1 minute. The
	// counts are kept by the Store, shared by every process on it.
	FreeFailures    int
	MaxDelay        time.Duration
	MaxAccountDelay time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For (or
	// X-Real-IP) names the client address; from any other peer these
	// headers are ignored. Empty: the peer is the client.
	TrustedProxies []netip.Prefix
	// MaxPasswordChecks bounds the password checks (bcrypt) running at
	// once; an attempt that finds no slot within CheckWait is answered
	// 503 at once. 0 means runtime.NumCPU() and one second.
	MaxPasswordChecks int
	CheckWait         time.Duration
	// LoginBurst sign-in attempts per client address (an IPv6 client's
	// /64) are allowed at once, then one every LoginEvery, across every
	// process on the Store; 0 means 10 and 6 seconds.
	LoginBurst int
	LoginEvery time.Duration
	// PollEvery is how often the inbox looks for new cases; 0 means 15
	// seconds.
	PollEvery time.Duration
	// Issuer names the console in staff's authenticator apps (the city's
	// name); empty means "citybot".
	Issuer string
	// ServiceLevels are the first-answer targets ([sla]): the inbox shows
	// each case's time left or how long it is overdue, and sorts by it.
	// Zero: no targets.
	ServiceLevels citybot.ServiceLevels
	// Location is the city's time zone ([city] timezone): every time in
	// the console is shown in it. nil means ServiceLevels.Location, or
	// UTC.
	Location *time.Location

	// Statements, when set, gives the holding statements' pages
	// (/statements: officials and admins write and approve them) and
	// the inbox's surge banner; StatementSender, when also set, lets
	// officers send a statement from a case.
	Statements      StatementStore
	StatementSender StatementSender
}

// Server is the console. It is safe for concurrent use.
type Server struct {
	locales   *locale.Set
	store     Store
	officer   Officer
	trainer   Trainer
	stmts     StatementStore
	sender    StatementSender
	log       *slog.Logger
	now       func() time.Time
	languages []string
	deflang   string // the city's default language
	topics    []string
	sensitive []string
	sensRoles []citybot.Role
	sensNames []string
	secure    bool
	ttl       time.Duration
	pollEvery time.Duration
	issuer    string
	levels    citybot.ServiceLevels
	loc       *time.Location
	limits    *signinLimits
	cookies   *cookieKey
	proxies   []netip.Prefix
	checks    chan struct{}
	checkWait time.Duration
	dummyHash []byte
	pages     map[string]*template.Template
	routes    []route
	handler   http.Handler
}

// languageName is a language's name in itself ("Español"), or its code
// when no language file names it.
func (s *Server) languageName(lang string) string {
	locs := s.locales
	if locs == nil {
		locs = locale.MustEmbedded()
	}
	if c := locs.Catalog(lang); c != nil {
		return c.Name()
	}
	return lang
}

// route is one entry of the console's routing table: who may use it.
type route struct {
	pattern string // "METHOD /path"
	roles   []citybot.Role
	h       func(w http.ResponseWriter, r *http.Request, sess *session)
	// enrol routes are open to an account that must still set up its
	// one-time codes (every other route sends it to do so).
	enrol bool
}

// New returns a console, or an error wrapping citybot.ErrInvalid when a
// required option is missing, and the error of a template that does not
// parse.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Officer == nil || opts.Policy == nil {
		return nil, fmt.Errorf("web: %w: Store, Officer and Policy are required", citybot.ErrInvalid)
	}
	s := &Server{locales: opts.Locales, store: opts.Store, officer: opts.Officer, trainer: opts.Trainer, log: opts.Logger, now: opts.Now,
		languages: opts.Policy.Languages(), deflang: opts.Policy.DefaultLanguage(), topics: opts.Policy.Topics(), sensitive: opts.Policy.SensitiveTopics(), sensRoles: opts.SensitiveRoles,
		sensNames: slices.Clone(opts.SensitiveAccounts),
		secure:    !opts.InsecureCookies, ttl: opts.SessionTTL, pollEvery: opts.PollEvery,
		proxies: slices.Clone(opts.TrustedProxies), checkWait: opts.CheckWait, issuer: opts.Issuer,
		levels: opts.ServiceLevels, loc: opts.Location}
	if s.issuer == "" {
		s.issuer = "citybot"
	}
	if s.locales == nil {
		// Parsed once: every page's words come from it.
		s.locales = locale.MustEmbedded()
	}
	s.stmts, s.sender = opts.Statements, opts.StatementSender
	if s.loc == nil {
		s.loc = opts.ServiceLevels.Location
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.log.With("component", "web")
	if s.now == nil {
		s.now = time.Now
	}
	if s.sensRoles == nil {
		s.sensRoles = []citybot.Role{citybot.RoleAdmin}
	}
	for _, r := range s.sensRoles {
		if !r.Valid() {
			return nil, fmt.Errorf("web: %w: unknown role %q in SensitiveRoles", citybot.ErrInvalid, r)
		}
	}
	if s.ttl <= 0 {
		s.ttl = 12 * time.Hour
	}
	free, maxDelay, maxAccount := opts.FreeFailures, opts.MaxDelay, opts.MaxAccountDelay
	if free <= 0 {
		free = 3
	}
	if maxDelay <= 0 {
		maxDelay = 15 * time.Minute
	}
	if maxAccount <= 0 {
		maxAccount = time.Minute
	}
	checks := opts.MaxPasswordChecks
	if checks <= 0 {
		checks = runtime.NumCPU()
	}
	s.checks = make(chan struct{}, checks)
	if s.checkWait <= 0 {
		s.checkWait = time.Second
	}
	s.cookies = &cookieKey{store: s.store}
	if s.pollEvery <= 0 {
		s.pollEvery = 15 * time.Second
	}
	burst, every := opts.LoginBurst, opts.LoginEvery
	if burst <= 0 {
		burst = 10
	}
	if every <= 0 {
		every = 6 * time.Second
	}
	s.limits = &signinLimits{store: s.store, log: s.log, now: s.now, burst: burst, every: every,
		free: free, base: time.Second, maxDelay: maxDelay, maxAccount: maxAccount}
	// A hash of nothing anyone knows, at the cost real accounts use, so
	// that an unknown name costs as much time as a wrong password.
	var err error
	if s.dummyHash, err = bcrypt.GenerateFromPassword([]byte("citybot: no such account"), bcrypt.DefaultCost); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if s.pages, err = parsePages(opts.Locales, s.loc); err != nil {
		return nil, err
	}
	s.buildRoutes()
	return s, nil
}

func (s *Server) buildRoutes() {
	staffRoles := []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficer, citybot.RoleOfficial}
	actRoles := []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficer}
	adminRoles := []citybot.Role{citybot.RoleAdmin}
	s.routes = []route{
		{"GET /{$}", staffRoles, s.home, false},
		{"GET /inbox", staffRoles, s.inbox, false},
		{"GET /inbox/rows", staffRoles, s.inboxRows, false},
		{"POST /inbox/bulk", actRoles, s.inboxBulk, false},
		{"POST /cases/{id}/preview", actRoles, s.casePreview, false},
		{"GET /cases/{id}", staffRoles, s.casePage, false},
		{"GET /cases/{id}/media/{aid}", staffRoles, s.caseMedia, false},
		{"POST /cases/{id}/correct", actRoles, s.caseCorrect, false},
		{"POST /cases/{id}/assign", actRoles, s.caseAssign, false},
		{"POST /cases/{id}/expected", actRoles, s.caseExpected, false},
		{"POST /cases/{id}/status", actRoles, s.caseStatus, false},
		{"POST /cases/{id}/notes", actRoles, s.caseNote, false},
		{"POST /cases/{id}/answer", actRoles, s.caseAnswer, false},
		{"POST /cases/{id}/merge", actRoles, s.caseMerge, false},
		{"POST /cases/{id}/suggestions/{other}", actRoles, s.caseSuggestion, false},
		{"POST /cases/{id}/sensitive", s.flagRoles(staffRoles), s.caseSensitive, false},
		{"POST /cases/{id}/citizen-data", adminRoles, s.caseCitizenData, false},
		{"POST /cases/{id}/forget", adminRoles, s.caseForget, false},
		{"GET /admin/audit", adminRoles, s.auditPage, false},
		{"GET /admin/canned", adminRoles, s.cannedPage, false},
		{"POST /admin/canned", adminRoles, s.cannedSave, false},
		{"GET /admin/accounts", adminRoles, s.accountsPage, false},
		{"POST /admin/accounts", adminRoles, s.accountCreate, false},
		{"POST /admin/accounts/action", adminRoles, s.accountAction, false},
		{"GET /admin/model", adminRoles, s.modelPage, false},
		{"POST /admin/model/train", adminRoles, s.modelTrain, false},
		{"POST /admin/model/switch", adminRoles, s.modelSwitch, false},
		{"POST /admin/model/rollback", adminRoles, s.modelRollback, false},
		{"POST /logout", staffRoles, s.logout, true},
		{"POST /account/language", staffRoles, s.setLanguage, true},
		{"POST /account/signin-notice", staffRoles, s.dismissSigninNotice, true},
		{"GET /account/totp", staffRoles, s.totpPage, true},
		{"GET /account/totp/qr.png", staffRoles, s.totpQR, true},
		{"POST /account/totp/start", staffRoles, s.totpStart, true},
		{"POST /account/totp/activate", staffRoles, s.totpActivate, true},
		{"POST /account/totp/recovery", staffRoles, s.totpRecovery, false},
		{"POST /account/totp/off", staffRoles, s.totpOff, false},
	}
	s.routes = append(s.routes, s.open311KeyRoutes(adminRoles)...)
	s.routes = append(s.routes, s.statementRoutes(staffRoles, actRoles)...)
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.pattern, s.authorize(rt))
	}
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /login/code", s.loginCodePage)
	mux.HandleFunc("POST /login/code", s.loginCode)
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path)
		http.Error(w, "Cross-origin request refused.", http.StatusForbidden)
	}))
	s.handler = securityHeaders(cop.Handler(mux))
}

// Handler returns the console's handler, to mount at the root of the
// [http] address (next to /healthz and /metrics, which it does not
// serve).
func (s *Server) Handler() http.Handler { return s.handler }

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// authorize runs a route's handler for a signed-in account whose role the
// route allows; POSTs must also carry the session's form token.
func (s *Server) authorize(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(r)
		if !ok {
			if r.Method == http.MethodGet && r.URL.Path != "/inbox/rows" {
				http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, s.texts(r, nil).T("console.err_signed_out"), http.StatusUnauthorized)
			return
		}
		if !slices.Contains(rt.roles, sess.account.Role) {
			s.log.Warn("forbidden", "account", sess.account.Name, "role", string(sess.account.Role), "path", r.URL.Path)
			s.render(w, r, http.StatusForbidden, "error", sess, s.errorPage(r, sess, "forbidden", "console.err_forbidden"))
			return
		}
		if mustEnrol(sess.account) && !rt.enrol {
			if r.Method == http.MethodGet && r.URL.Path != "/inbox/rows" {
				http.Redirect(w, r, "/account/totp", http.StatusSeeOther)
				return
			}
			s.render(w, r, http.StatusForbidden, "error", sess, s.errorPage(r, sess, "enrol", "console.err_enrol"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !sess.checkCSRF(r.PostFormValue("csrf")) {
				s.render(w, r, http.StatusForbidden, "error", sess, s.errorPage(r, sess, "expired", "console.err_expired"))
				return
			}
		}
		rt.h(w, r, sess)
	})
}

// canSee reports whether an account may see case c: a sensitive case
// only for the roles and accounts allowed to read sensitive cases.
func (s *Server) canSee(a citybot.Account, c citybot.Case) bool {
	return !c.Sensitive || s.readsSensitive(a)
}

// readsSensitive reports whether an account may read sensitive cases
// (and set or clear the flag): by its role, or by its name.
func (s *Server) readsSensitive(a citybot.Account) bool {
	return slices.Contains(s.sensRoles, a.Role) || slices.ContainsFunc(s.sensNames, func(n string) bool { return strings.EqualFold(n, a.Name) })
}

// flagRoles are the roles the sensitive-flag route lets through: the
// reading roles, or every staff role when named accounts read too (the
// handler then checks the account).
func (s *Server) flagRoles(staff []citybot.Role) []citybot.Role {
	if len(s.sensNames) > 0 {
		return slices.Clone(staff)
	}
	return slices.Clone(s.sensRoles)
}

type errorPage struct {
	Title   string
	Message string
}
