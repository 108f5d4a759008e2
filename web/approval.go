package web

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"citybot"
)

// ApprovalStore is what the digest approval pages read.
type ApprovalStore interface {
	Digest(ctx context.Context, id citybot.DigestID) (citybot.Digest, error)
	Digests(ctx context.Context, limit int, states ...citybot.DigestState) ([]citybot.Digest, error)
	// PublishDigestEquity publishes or withdraws an approved digest's
	// equity figures (audited).
	PublishDigestEquity(ctx context.Context, id citybot.DigestID, publish bool, actor string) (citybot.Digest, error)
}

// Digester drafts digests and carries officials' decisions
// (accountability.Digester).
type Digester interface {
	Decide(ctx context.Context, id citybot.DigestID, dec citybot.DigestDecision) (citybot.Digest, error)
	Draft(ctx context.Context, at time.Time, actor, note string) (citybot.Digest, error)
	// Redraft makes a new revision of the week holding at, replacing its
	// pending draft; an approved week is refused (citybot.ErrDuplicate).
	Redraft(ctx context.Context, at time.Time, actor, note string) (citybot.Digest, error)
	// LastWeek is an instant in last week; Now the digester's clock.
	LastWeek() time.Time
	Now() time.Time
	// PostStatuses says where an approved digest's posts stand per
	// channel and language; Repost queues again those that failed.
	PostStatuses(ctx context.Context, d citybot.Digest) ([]citybot.DigestPost, error)
	Repost(ctx context.Context, d citybot.Digest, actor string) (int, error)
	Previews(d citybot.Digest) []citybot.DigestPreview
}

// approvalPages are the approval templates, rendered in the console's
// layout.
type approvalPages struct {
	s        *Server
	store    ApprovalStore
	digester Digester
	pages    map[string]*template.Template
}

// ApprovalHandler returns the digest approval pages, behind the console's
// sign-in, roles and form tokens:
//
//	GET  /digests                 every staff role: drafts and decisions
//	GET  /digests/{id}            the draft exactly as it will be posted on
//	                              each platform, in each language, and its chart
//	GET  /digests/{id}/chart.png  the chart
//	POST /digests/{id}/decide     officials only: approve, or send back
//	                              with a comment
//	POST /digests/draft           officials and admins: draft last week
//	                              (period=last) or the week so far
//	                              (period=sofar) now, replacing a pending draft
//	POST /digests/{id}/repost     officials and admins: post again, to the
//	                              channels where posting an approved digest
//	                              failed (new rows: exactly once each)
//	POST /digests/{id}/equity     officials only: publish (publish=yes) or
//	                              withdraw (publish=no) an approved digest's
//	                              equity figures on the public pages
//	POST /digests/{id}/redraft    admins, officers and officials: a new
//	                              revision of a draft or a sent-back draft
//	                              (never of an approved week), with an
//	                              optional note
//
// cmd/citybot mounts it next to the console: mux.Handle("/digests",
// h) and mux.Handle("/digests/", h). It returns an error when a template
// does not parse.
func (s *Server) ApprovalHandler(store ApprovalStore, d Digester) (http.Handler, error) {
	if store == nil || d == nil {
		return nil, fmt.Errorf("web: approval: %w: store and digester are required", citybot.ErrInvalid)
	}
	a := &approvalPages{s: s, store: store, digester: d, pages: map[string]*template.Template{}}
	for _, name := range []string{"approval_list", "approval_digest"} {
		t, err := template.New(name).Funcs(consoleFuncs(s.locales, s.loc)).ParseFS(templateFiles, "templates/layout.html", "templates/public_equity.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		a.pages[name] = t
	}
	staff := []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficer, citybot.RoleOfficial}
	routes := []route{
		{"GET /digests", staff, a.list, false},
		{"GET /digests/{id}", staff, a.show, false},
		{"GET /digests/{id}/chart.png", staff, a.chart, false},
		{"POST /digests/{id}/decide", []citybot.Role{citybot.RoleOfficial}, a.decide, false},
		{"POST /digests/draft", []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficial}, a.draft, false},
		{"POST /digests/{id}/redraft", staff, a.redraft, false},
		{"POST /digests/{id}/repost", []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficial}, a.repost, false},
		{"POST /digests/{id}/equity", []citybot.Role{citybot.RoleOfficial}, a.equity, false},
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, s.authorize(rt))
	}
	cop := http.NewCrossOriginProtection()
	return securityHeaders(cop.Handler(mux)), nil
}

func (a *approvalPages) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, data any) {
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, "layout", a.s.pageFor(r, sess, data)); err != nil {
		a.s.log.Error("render", "page", name, "err", err)
		http.Error(w, a.s.texts(r, sess).T("console.err_failed"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (a *approvalPages) list(w http.ResponseWriter, r *http.Request, sess *session) {
	ds, err := a.store.Digests(r.Context(), 100)
	if err != nil {
		a.s.fail(w, r, sess, err)
		return
	}
	role := sess.account.Role
	a.render(w, r, http.StatusOK, "approval_list", sess, struct {
		Digests    []citybot.Digest
		IsOfficial bool
		CanDraft   bool
	}{ds, role == citybot.RoleOfficial, role == citybot.RoleOfficial || role == citybot.RoleAdmin})
}

func (a *approvalPages) load(w http.ResponseWriter, r *http.Request, sess *session) (citybot.Digest, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.s.fail(w, r, sess, citybot.ErrNotFound)
		return citybot.Digest{}, false
	}
	d, err := a.store.Digest(r.Context(), citybot.DigestID(id))
	if err != nil {
		a.s.fail(w, r, sess, err)
		return d, false
	}
	return d, true
}

func (a *approvalPages) show(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := a.load(w, r, sess)
	if !ok {
		return
	}
	tw := a.s.texts(r, sess)
	done := ""
	switch k := r.URL.Query().Get("done"); k {
	case "approved", "sentback", "redrafted", "drafted", "reposted", "nothing", "equity":
		done = tw.T("console.dg_done_" + k)
	}
	posts, err := a.digester.PostStatuses(r.Context(), d)
	if err != nil {
		a.s.fail(w, r, sess, err)
		return
	}
	failed := false
	for _, p := range posts {
		failed = failed || p.State == citybot.OutboxFailed
	}
	role := sess.account.Role
	// The equity figures, in the console's language, for the official
	// to decide whether they are published.
	locs := a.s.locs()
	eq := equityOf(d.Figures.Equity, tw.words, locs)
	previews := a.digester.Previews(d)
	// The chart is the officials' language's (the previews' first).
	alt := tw.t("console.dg_chart_alt", "week", string(d.Week))
	if c, ok := a.digester.(PublicCharts); ok && len(previews) > 0 {
		alt = c.ChartAlt(d, previews[0].Language)
	}
	a.render(w, r, http.StatusOK, "approval_digest", sess, struct {
		Digest     citybot.Digest
		Previews   []citybot.DigestPreview
		IsOfficial bool
		CanRedraft bool
		Done       string
		Posts      []citybot.DigestPost
		CanRepost  bool
		Equity     equityView
		Publish    string // the choice made, in words
		ChartAlt   string
		Toggle     string // the button that changes the choice
	}{d, previews, role == citybot.RoleOfficial,
		d.State != citybot.DigestApproved && !a.weekApproved(r.Context(), d.Week), done,
		posts, failed && (role == citybot.RoleOfficial || role == citybot.RoleAdmin), eq,
		map[bool]string{true: tw.t("equity.published"), false: tw.t("equity.private")}[d.PublishEquity], alt,
		map[bool]string{true: tw.t("equity.withdraw"), false: tw.t("equity.publish_now")}[d.PublishEquity]})
}

func (a *approvalPages) chart(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := a.load(w, r, sess)
	if !ok {
		return
	}
	if len(d.Chart) == 0 {
		a.s.fail(w, r, sess, citybot.ErrNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(d.Chart)
}

func (a *approvalPages) decide(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := a.load(w, r, sess)
	if !ok {
		return
	}
	dec := citybot.DigestDecision{Approve: r.PostFormValue("decision") == "approve", Actor: sess.account.Name,
		Comment: r.PostFormValue("comment"), PublishEquity: r.PostFormValue("publish_equity") == "yes"}
	if !dec.Approve && r.PostFormValue("decision") != "sendback" {
		a.s.fail(w, r, sess, invalid("console.refuse_decision"))
		return
	}
	if !dec.Approve && strings.TrimSpace(dec.Comment) == "" {
		a.s.fail(w, r, sess, invalid("console.refuse_comment"))
		return
	}
	if _, err := a.digester.Decide(r.Context(), d.ID, dec); err != nil {
		// Its ErrInvalid, once the comment is there: decided already.
		a.s.fail(w, r, sess, refusedAs(err, "console.refuse_decided", citybot.ErrInvalid))
		return
	}
	done := "sentback"
	if dec.Approve {
		done = "approved"
	}
	http.Redirect(w, r, fmt.Sprintf("/digests/%d?done=%s", d.ID, done), http.StatusSeeOther)
}

func (a *approvalPages) redraft(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := a.load(w, r, sess)
	if !ok {
		return
	}
	if d.State == citybot.DigestApproved {
		a.s.fail(w, r, sess, invalid("console.refuse_redraft"))
		return
	}
	nd, err := a.digester.Redraft(r.Context(), d.Figures.Start, sess.account.Name, r.PostFormValue("note"))
	if err != nil {
		a.s.fail(w, r, sess, refusedAs(err, "console.refuse_redraft", citybot.ErrDuplicate))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/digests/%d?done=redrafted", nd.ID), http.StatusSeeOther)
}

// weekApproved reports whether the week has an approved digest (then no
// revision of it may be redrafted).
func (a *approvalPages) weekApproved(ctx context.Context, week citybot.Week) bool {
	ds, err := a.store.Digests(ctx, 100, citybot.DigestApproved)
	if err != nil {
		return true
	}
	for _, d := range ds {
		if d.Week == week {
			return true
		}
	}
	return false
}

// draft drafts last week or the week so far on demand.
func (a *approvalPages) draft(w http.ResponseWriter, r *http.Request, sess *session) {
	var at time.Time
	switch r.PostFormValue("period") {
	case "last":
		at = a.digester.LastWeek()
	case "sofar":
		at = a.digester.Now()
	default:
		a.s.fail(w, r, sess, invalid("console.refuse_week_choice"))
		return
	}
	nd, err := a.digester.Redraft(r.Context(), at, sess.account.Name, "")
	if err != nil {
		a.s.fail(w, r, sess, refusedAs(err, "console.refuse_redraft", citybot.ErrDuplicate))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/digests/%d?done=drafted", nd.ID), http.StatusSeeOther)
}

// repost posts again where posting an approved digest failed.
func (a *approvalPages) repost(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := a.load(w, r, sess)
	if !ok {
		return
	}
	n, err := a.digester.Repost(r.Context(), d, sess.account.Name)
	if err != nil {
		a.s.fail(w, r, sess, err)
		return
	}
	done := "reposted"
	if n == 0 {
		done = "nothing"
	}
	http.Redirect(w, r, fmt.Sprintf("/digests/%d?done=%s", d.ID, done), http.StatusSeeOther)
}

// equity publishes or withdraws an approved digest's equity figures.
func (a *approvalPages) equity(w http.ResponseWriter, r *http.Request, sess *session) {
	d, ok := a.load(w, r, sess)
	if !ok {
		return
	}
	var publish bool
	switch r.PostFormValue("publish") {
	case "yes":
		publish = true
	case "no":
	default:
		a.s.fail(w, r, sess, invalid("console.refuse_publish_choice"))
		return
	}
	if _, err := a.store.PublishDigestEquity(r.Context(), d.ID, publish, sess.account.Name); err != nil {
		a.s.fail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/digests/%d?done=equity", d.ID), http.StatusSeeOther)
}
