package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
)

// Holding statements and the surge banner.
//
// Officials (and admins) write statement templates per topic, one text
// per language with blanks such as {place} and {time}, and approve each
// text; editing a text withdraws its approval (/statements). On a case,
// an officer picks a template with an approved text, fills the blanks,
// previews exactly what each follower (and each public channel) will
// receive, and sends it with one action (/cases/{id}/statement), once per
// form nonce. The inbox shows the surges still in their quiet time.

// StatementStore is what the statement pages read and write (store.DB).
type StatementStore interface {
	StatementTemplates(ctx context.Context) ([]citybot.StatementTemplate, error)
	StatementTemplate(ctx context.Context, id int64) (citybot.StatementTemplate, error)
	// SaveStatementText writes a template's text (a new template when
	// id is 0); a changed text loses its approval. Audited.
	SaveStatementText(ctx context.Context, id int64, topic, name, lang, text, actor string) (int64, error)
	// ApproveStatementText approves a text as of version
	// (citybot.ErrInvalid when it changed since). Audited.
	ApproveStatementText(ctx context.Context, id int64, lang string, version int, actor string) error
	CaseStatements(ctx context.Context, id citybot.CaseID) ([]citybot.StatementSend, error)
	ActiveSurges(ctx context.Context, now time.Time) ([]citybot.Surge, error)
}

// StatementSender sends holding statements (casework.Statements).
type StatementSender interface {
	// Preview returns what each follower and public channel would
	// receive; it queues nothing.
	Preview(v citybot.CaseView, t citybot.StatementTemplate, values map[string]string, public bool) ([]citybot.StatementPreview, error)
	// Send queues the statement once per req.Nonce.
	Send(ctx context.Context, req citybot.StatementSend) (citybot.StatementSend, error)
	// HasPublicChannels tells whether the city has public channels.
	HasPublicChannels() bool
}

// MaxStatement is the longest statement text accepted, in runes.
const MaxStatement = 2000

func (s *Server) statementRoutes(staff, act []citybot.Role) []route {
	if s.stmts == nil {
		return nil
	}
	approvers := []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficial}
	rts := []route{
		{"GET /statements", staff, s.statementsPage, false},
		{"POST /statements", approvers, s.statementSave, false},
		{"POST /statements/approve", approvers, s.statementApprove, false},
	}
	if s.sender != nil {
		rts = append(rts,
			route{"GET /cases/{id}/statement", act, s.statementSendPage, false},
			route{"POST /cases/{id}/statement", act, s.statementSend, false})
	}
	return rts
}

type statementsData struct {
	Templates []citybot.StatementTemplate
	Topics    []string
	Languages []string
	CanEdit   bool
	Done      string
}

func (s *Server) statementsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ts, err := s.stmts.StatementTemplates(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d := statementsData{Templates: ts, Topics: s.topics, Languages: s.languages,
		CanEdit: sess.account.Role == citybot.RoleAdmin || sess.account.Role == citybot.RoleOfficial}
	if done := r.URL.Query().Get("done"); done == "saved" || done == "approved" {
		d.Done = s.texts(r, sess).T("console.statements_done_" + done)
	}
	s.render(w, r, http.StatusOK, "statements", sess, d)
}

func (s *Server) statementSave(w http.ResponseWriter, r *http.Request, sess *session) {
	id, _ := strconv.ParseInt(r.PostFormValue("template"), 10, 64)
	topic, lang := r.PostFormValue("topic"), r.PostFormValue("language")
	text := strings.TrimSpace(r.PostFormValue("text"))
	if id == 0 && !slices.Contains(s.topics, topic) || !slices.Contains(s.languages, lang) {
		s.fail(w, r, sess, invalid("choose a known topic and language"))
		return
	}
	if len([]rune(text)) > MaxStatement {
		s.fail(w, r, sess, invalid("a statement holds at most "+strconv.Itoa(MaxStatement)+" characters"))
		return
	}
	id, err := s.stmts.SaveStatementText(r.Context(), id, topic, clip(r.PostFormValue("name"), 100), lang, text, sess.account.Name)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/statements?done=saved#t"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *Server) statementApprove(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err1 := strconv.ParseInt(r.PostFormValue("template"), 10, 64)
	version, err2 := strconv.Atoi(r.PostFormValue("version"))
	if err := errors.Join(err1, err2); err != nil {
		s.fail(w, r, sess, invalid("choose a statement text to approve"))
		return
	}
	if err := s.stmts.ApproveStatementText(r.Context(), id, r.PostFormValue("language"), version, sess.account.Name); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/statements?done=approved#t"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// statementChoice is a template an officer may send: one with an
// approved text.
type statementChoice struct {
	ID        int64
	Name      string
	Topic     string
	Languages []string // with an approved text
	SameTopic bool
}

type statementSendData struct {
	Case      citybot.Case
	Followers int
	Choices   []statementChoice
	Chosen    *citybot.StatementTemplate
	Texts     map[string]citybot.StatementText // the chosen template's approved texts
	Blanks    []string
	Values    map[string]string
	Public    bool
	CanPublic bool
	Nonce     string
	Preview   []citybot.StatementPreview
	Problem   string
}

func (s *Server) statementForm(w http.ResponseWriter, r *http.Request, sess *session, v citybot.CaseView, templateID int64) (statementSendData, bool) {
	d := statementSendData{Case: v.Case, Followers: v.FollowerCount(), Values: map[string]string{}, CanPublic: s.sender.HasPublicChannels() && !v.Case.Sensitive}
	ts, err := s.stmts.StatementTemplates(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return d, false
	}
	for _, t := range ts {
		ap := t.Approved()
		if len(ap) == 0 {
			continue
		}
		c := statementChoice{ID: t.ID, Name: t.Name, Topic: t.Topic, SameTopic: t.Topic == v.Case.Topic}
		for _, l := range s.languages {
			if _, ok := ap[l]; ok {
				c.Languages = append(c.Languages, l)
			}
		}
		d.Choices = append(d.Choices, c)
		if t.ID == templateID {
			d.Chosen, d.Texts = &t, ap
		}
	}
	// The case's topic first.
	slices.SortStableFunc(d.Choices, func(a, b statementChoice) int { return boolRank(!a.SameTopic) - boolRank(!b.SameTopic) })
	if d.Chosen == nil && len(d.Choices) > 0 && templateID == 0 && d.Choices[0].SameTopic {
		for _, t := range ts {
			if t.ID == d.Choices[0].ID {
				d.Chosen, d.Texts = &t, t.Approved()
			}
		}
	}
	if d.Chosen != nil {
		var texts []string
		for _, l := range s.languages {
			if x, ok := d.Texts[l]; ok {
				texts = append(texts, x.Text)
			}
		}
		d.Blanks = citybot.StatementBlanks(texts...)
	}
	return d, true
}

func (s *Server) statementSendPage(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.URL.Query().Get("template"), 10, 64)
	d, ok := s.statementForm(w, r, sess, v, id)
	if !ok {
		return
	}
	d.Nonce = randomToken()[:22]
	s.render(w, r, http.StatusOK, "statement_send", sess, d)
}

// statementSend previews (action=preview) or sends the statement of the
// form; a send is queued once per form nonce, and the officer returns to
// the case page.
func (s *Server) statementSend(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(r.PostFormValue("template"), 10, 64)
	d, ok := s.statementForm(w, r, sess, v, id)
	if !ok {
		return
	}
	if d.Chosen == nil {
		s.fail(w, r, sess, invalid("choose an approved statement"))
		return
	}
	for _, b := range d.Blanks {
		d.Values[b] = clip(r.PostFormValue("blank_"+b), 400)
	}
	d.Public = r.PostFormValue("public") == "1" && d.CanPublic
	d.Nonce = r.PostFormValue("nonce")
	if r.PostFormValue("action") != "send" {
		var err error
		if d.Preview, err = s.sender.Preview(v, *d.Chosen, d.Values, d.Public); err != nil {
			if !errors.Is(err, citybot.ErrInvalid) {
				s.fail(w, r, sess, err)
				return
			}
			d.Problem = s.texts(r, sess).t("console.refuse_statement")
		}
		s.render(w, r, http.StatusOK, "statement_send", sess, d)
		return
	}
	_, err := s.sender.Send(r.Context(), citybot.StatementSend{Case: v.Case.ID, TemplateID: d.Chosen.ID, Values: d.Values,
		Public: d.Public, Actor: sess.account.Name, Nonce: d.Nonce})
	if err != nil {
		if !errors.Is(err, citybot.ErrInvalid) {
			s.fail(w, r, sess, err)
			return
		}
		d.Problem = s.texts(r, sess).t("console.refuse_statement")
		s.render(w, r, http.StatusBadRequest, "statement_send", sess, d)
		return
	}
	http.Redirect(w, r, "/cases/"+strconv.FormatInt(int64(v.Case.ID), 10)+"?done=statement#h-statements", http.StatusSeeOther)
}

// caseStatements are the statements part of the case page: the
// statements sent on it and the surges it is the main case of.
func (s *Server) caseStatements(ctx context.Context, sess *session, id citybot.CaseID) (on bool, sent []citybot.StatementSend, surges []citybot.Surge, err error) {
	if s.stmts == nil {
		return false, nil, nil, nil
	}
	if sent, err = s.stmts.CaseStatements(ctx, id); err != nil {
		return true, nil, nil, err
	}
	all, err := s.activeSurges(ctx, sess)
	for _, sg := range all {
		if sg.Case == id {
			surges = append(surges, sg)
		}
	}
	return s.sender != nil, sent, surges, err
}

// activeSurges are the surges in their quiet time the account may read
// of (a sensitive surge: those who read sensitive cases).
func (s *Server) activeSurges(ctx context.Context, sess *session) ([]citybot.Surge, error) {
	if s.stmts == nil {
		return nil, nil
	}
	all, err := s.stmts.ActiveSurges(ctx, s.now())
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(sg citybot.Surge) bool { return sg.Sensitive && !s.readsSensitive(sess.account) }), nil
}
