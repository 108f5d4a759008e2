package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"citybot"
)

type auditData struct {
	Entries []citybot.AuditEntry
	NextURL string
}

// auditPageSize is the number of audit entries per page.
const auditPageSize = 100

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, sess *session) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	es, err := s.store.AuditLog(r.Context(), before, auditPageSize)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d := auditData{Entries: es}
	if len(es) == auditPageSize {
		d.NextURL = "/admin/audit?before=" + strconv.FormatInt(es[len(es)-1].ID, 10)
	}
	s.render(w, r, http.StatusOK, "audit", sess, d)
}

type cannedData struct {
	Answers   []citybot.CannedAnswer
	Topics    []string
	Languages []string
	Done      bool
}

func (s *Server) cannedPage(w http.ResponseWriter, r *http.Request, sess *session) {
	as, err := s.store.CannedAnswers(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "canned", sess, cannedData{Answers: as, Topics: s.topics, Languages: s.languages,
		Done: r.URL.Query().Get("done") == "1"})
}

func (s *Server) cannedSave(w http.ResponseWriter, r *http.Request, sess *session) {
	topic, lang := r.PostFormValue("topic"), r.PostFormValue("language")
	if !slices.Contains(s.topics, topic) || !slices.Contains(s.languages, lang) {
		s.fail(w, r, sess, invalid("console.refuse_topic_lang"))
		return
	}
	err := s.store.SetCannedAnswer(r.Context(), citybot.CannedAnswer{Topic: topic, Language: lang,
		Text: r.PostFormValue("text"), UpdatedBy: sess.account.Name})
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/admin/canned?done=1", http.StatusSeeOther)
}

type accountsData struct {
	Accounts  []citybot.Account
	Roles     []citybot.Role
	Created   string
	Generated string
	// Done says what an account action did; Password is a generated
	// password, shown once.
	Done     string
	Password string
}

func (s *Server) accountsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.showAccounts(w, r, sess, http.StatusOK, accountsData{})
}

func (s *Server) showAccounts(w http.ResponseWriter, r *http.Request, sess *session, status int, d accountsData) {
	as, err := s.store.Accounts(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	for i := range as {
		as[i].PasswordHash, as[i].TOTPSecret, as[i].TOTPPending = "", "", "" // never near a template
	}
	d.Accounts, d.Roles = as, []citybot.Role{citybot.RoleOfficer, citybot.RoleOfficial, citybot.RoleAdmin}
	s.render(w, r, status, "accounts", sess, d)
}

// accountCreate adds a staff account; with no password given, one is
// generated and shown once.
func (s *Server) accountCreate(w http.ResponseWriter, r *http.Request, sess *session) {
	name := clip(r.PostFormValue("name"), 64)
	role := citybot.Role(r.PostFormValue("role"))
	password := r.PostFormValue("password")
	generated := ""
	if password == "" {
		password = GeneratePassword()
		generated = password
	}
	hash, err := HashPassword(password)
	if err != nil {
		s.fail(w, r, sess, passwordRefused(err))
		return
	}
	// The store refuses a taken name, and an empty name or an unknown
	// role (ErrInvalid).
	if _, err := s.store.CreateAccount(r.Context(), name, role, hash, sess.account.Name); err != nil {
		err = refusedAs(refusedAs(err, "console.refuse_name_taken", citybot.ErrDuplicate), "console.refuse_account_new", citybot.ErrInvalid)
		s.fail(w, r, sess, err)
		return
	}
	s.showAccounts(w, r, sess, http.StatusOK, accountsData{Created: name, Generated: generated})
}

// passwordRefused explains HashPassword's refusal of a password's
// length.
func passwordRefused(err error) error {
	var r *refusal
	if err = refusedAs(err, "console.refuse_password", citybot.ErrInvalid); errors.As(err, &r) {
		r.pairs = []string{"min", strconv.Itoa(MinPassword)}
	}
	return err
}

// accountActions are the account page's actions; each has its question
// (console.acc_ask_*), its confirmation button (console.acc_yes_*) and
// its note once done (console.acc_done_*) in the language files.
var accountActions = map[string]bool{"disable": true, "enable": true, "passwd": true, "unlock": true,
	"role": true, "revoke": true, "totp-reset": true}

// actionKey is an account action's part of its text keys.
func actionKey(action string) string { return strings.ReplaceAll(action, "-", "_") }

type accountConfirm struct {
	Name, Action, Role, Question, Label string
}

// accountAction changes a staff account: disable, enable, passwd,
// unlock, role, revoke or totp-reset. Without confirm=yes it shows a confirmation
// page that posts the same form again with it. Every change is audited
// by the store as done by the signed-in admin.
func (s *Server) accountAction(w http.ResponseWriter, r *http.Request, sess *session) {
	name, action := clip(strings.TrimSpace(r.PostFormValue("name")), 64), r.PostFormValue("action")
	role := citybot.Role(r.PostFormValue("role"))
	if !accountActions[action] || name == "" {
		s.fail(w, r, sess, invalid("console.refuse_account_action"))
		return
	}
	if action == "role" && !role.Valid() {
		s.fail(w, r, sess, invalid("console.refuse_role"))
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		if _, err := s.store.AccountByName(r.Context(), name); err != nil {
			s.fail(w, r, sess, err)
			return
		}
		tw := s.texts(r, sess)
		s.render(w, r, http.StatusOK, "account_confirm", sess, accountConfirm{Name: name, Action: action, Role: string(role),
			Question: tw.t("console.acc_ask_"+actionKey(action), "name", name, "role", tw.Name("roles", role)),
			Label:    tw.t("console.acc_yes_" + actionKey(action))})
		return
	}
	ctx, actor := r.Context(), sess.account.Name
	tw := s.texts(r, sess)
	done := tw.t("console.acc_done_"+actionKey(action), "name", name, "role", tw.Name("roles", role))
	var d accountsData
	var err error
	switch action {
	case "disable", "enable":
		_, err = s.store.SetAccountDisabled(ctx, name, action == "disable", actor)
		d.Done = done
	case "passwd":
		password := r.PostFormValue("password")
		if password == "" {
			password = GeneratePassword()
			d.Password = password
		}
		var hash string
		if hash, err = HashPassword(password); err == nil {
			err = s.store.SetAccountPassword(ctx, name, hash, actor)
		} else {
			err = passwordRefused(err)
		}
		d.Done = done
	case "unlock":
		err = s.store.UnlockAccount(ctx, name, actor)
		d.Done = done
	case "role":
		_, err = s.store.SetAccountRole(ctx, name, role, actor)
		d.Done = done
	case "totp-reset":
		_, err = s.store.ResetTOTP(ctx, name, actor)
		d.Done = done
	case "revoke":
		var n int
		n, err = s.store.RevokeSessions(ctx, name, actor)
		d.Done = strings.ReplaceAll(tw.Tn("console.acc_done_revoke", n), "{name}", name)
	}
	if action == "disable" || action == "role" {
		// The store's ErrInvalid there is its rule that one active
		// admin always stays.
		err = refusedAs(err, "console.refuse_last_admin", citybot.ErrInvalid)
	}
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.log.Info("account changed", "account", name, "action", action, "actor", actor)
	if _, still := s.session(r); !still {
		// The admin ended their own session (their own password, or
		// revoke): sign in again.
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.showAccounts(w, r, sess, http.StatusOK, d)
}

type modelData struct {
	Configured bool
	Status     citybot.ModelStatus
	Heads      []headRow // the pending report's scores, topic then urgency
	Done       string
	// The pending report's urgency check and verdict in the reader's
	// words: which messages, why it failed (or was not done), the level
	// most given, and why switching is refused.
	Source, TopLevel, Refused string
	Check                     []string
	// Training says the training running in the background (since when,
	// on how many corrections, started by whom); Failed, the last one
	// when it stopped on an error. "" when none.
	Training, Failed string
}

type headRow struct {
	Name  string
	Score citybot.ModelScore
	Diff  float64 // candidate minus live accuracy
	Why   string  // why the live model's head is kept, in words
}

// modelReason says a retrainer's reason in the page's language: its plural
// form for N, numbers as written, an urgency level by its name.
func modelReason(tw publicTexts, why citybot.ModelReason) string {
	if why.Key == "" {
		return ""
	}
	s := tw.Tn(why.Key, why.N)
	for k, v := range why.Args {
		if k == "level" {
			v = tw.Tag("urgency", v)
		}
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func (s *Server) modelPage(w http.ResponseWriter, r *http.Request, sess *session) {
	d := modelData{Configured: s.trainer != nil}
	tw := s.texts(r, sess)
	if s.trainer != nil {
		d.Status = s.trainer.Status()
		if run := d.Status.Training; run != nil {
			d.Training = modelReason(tw, citybot.ModelReason{Key: "console.mod_training", N: run.Corrections,
				Args: map[string]string{"since": run.Since.In(s.loc).Format("15:04"), "by": run.By}})
		}
		if f := d.Status.Failed; f != nil {
			d.Failed = tw.t("console.mod_failed", "since", f.Since.In(s.loc).Format("15:04"), "by", f.By)
		}
		if p := d.Status.Pending; p != nil {
			for _, h := range []headRow{{Name: tw.T("console.mod_head_topic"), Score: p.Topic}, {Name: tw.T("console.mod_head_urgency"), Score: p.Urgency}} {
				h.Diff = h.Score.CandidateAccuracy - h.Score.LiveAccuracy
				h.Why = modelReason(tw, h.Score.Reason)
				d.Heads = append(d.Heads, h)
			}
			for _, why := range p.Check.Reasons {
				d.Check = append(d.Check, modelReason(tw, why))
			}
			if p.Check.Source != "" {
				d.Source = tw.T("console.mod_source_" + p.Check.Source)
			}
			d.TopLevel = tw.Tag("urgency", p.Check.TopLevel)
			if p.Refused != "" {
				d.Refused = tw.T("console.mod_refused_" + p.Refused)
			}
		}
	}
	switch r.URL.Query().Get("done") {
	case "started":
		switch {
		case d.Status.Training != nil:
			d.Done = tw.T("console.mod_done_started")
		case d.Status.Failed == nil:
			// Done already: the report below is its result.
			d.Done = tw.T("console.mod_done_trained")
		}
	case "switched":
		d.Done = tw.T("console.mod_done_switched")
	case "rolledback":
		d.Done = tw.t("console.mod_done_rolled", "model", d.Status.Live)
	}
	s.render(w, r, http.StatusOK, "model", sess, d)
}

func (s *Server) modelTrain(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.trainer == nil {
		s.fail(w, r, sess, invalid("console.refuse_retrain"))
		return
	}
	if _, err := s.trainer.Start(r.Context(), sess.account.Name); err != nil {
		// Its ErrInvalid: no correction yet; ErrDuplicate: a training
		// runs (here or in another process).
		err = refusedAs(err, "console.refuse_train", citybot.ErrInvalid)
		s.fail(w, r, sess, refusedAs(err, "console.refuse_training", citybot.ErrDuplicate))
		return
	}
	http.Redirect(w, r, "/admin/model?done=started", http.StatusSeeOther)
}

func (s *Server) modelSwitch(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.trainer == nil {
		s.fail(w, r, sess, invalid("console.refuse_retrain"))
		return
	}
	if err := s.trainer.Switch(r.Context(), sess.account.Name); err != nil {
		if errors.Is(err, citybot.ErrNotFound) {
			err = invalid("console.refuse_candidate")
		}
		// Its ErrInvalid: the candidate failed the rules (the model page
		// says which) or the live model changed since.
		s.fail(w, r, sess, refusedAs(err, "console.refuse_switch", citybot.ErrInvalid))
		return
	}
	http.Redirect(w, r, "/admin/model?done=switched", http.StatusSeeOther)
}

func (s *Server) modelRollback(w http.ResponseWriter, r *http.Request, sess *session) {
	if s.trainer == nil {
		s.fail(w, r, sess, invalid("console.refuse_retrain"))
		return
	}
	to := r.PostFormValue("to")
	if to != "previous" && to != "shipped" {
		s.fail(w, r, sess, invalid("console.refuse_rollback_choice"))
		return
	}
	if err := s.trainer.Rollback(r.Context(), sess.account.Name, to); err != nil {
		if errors.Is(err, citybot.ErrNotFound) {
			err = invalid("console.refuse_rollback_" + to)
		}
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/admin/model?done=rolledback", http.StatusSeeOther)
}
