package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/grouping"
)

// doneKeys are the confirmations a case page shows after an action,
// keyed by the "done" query parameter (never echoed as given); their
// words are the catalogs' console.done_<key>.
func doneKeys() []string {
	return []string{"labels", "assign", "expected", "status", "note", "answer", "merged", "cleared", "flagged", "forgotten", "resolved", "statement", "dismissed"}
}

// doneParts are the sections of the case page each confirmation belongs
// to: the redirect after an action carries it as the fragment, so the
// page opens where the officer was, not at the top.
func doneParts() map[string]string {
	return map[string]string{"labels": "part-labels", "assign": "part-assign", "expected": "part-expected", "status": "part-status",
		"note": "h-notes", "answer": "h-answer", "cleared": "h-summary", "flagged": "h-summary", "forgotten": "h-summary",
		"statement": "h-statements", "dismissed": "h-alike", "merged": "h-summary"}
}

// loadCase reads the case of the {id} path value and checks that the
// signed-in role may see it; it answers 404 itself when not.
func (s *Server) loadCase(w http.ResponseWriter, r *http.Request, sess *session) (citybot.CaseView, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, sess, citybot.ErrNotFound)
		return citybot.CaseView{}, false
	}
	v, err := s.store.CaseView(r.Context(), citybot.CaseID(id))
	if err != nil {
		s.fail(w, r, sess, err)
		return v, false
	}
	if !s.canSee(sess.account, v.Case) {
		// Not 403: a sensitive case's existence is not disclosed.
		s.fail(w, r, sess, citybot.ErrNotFound)
		return v, false
	}
	return v, true
}

type caseData struct {
	View citybot.CaseView
	// In is the inbox view the officer came from (its query string),
	// kept so that the next case comes from the same view; InURL links
	// back to it.
	In    string
	InURL string
	// Prev is the case the officer just finished, when this page is the
	// next case opened after an action; PrevDone what was done to it.
	Prev         citybot.CaseRef
	PrevDone     string
	Answer       string                  // the answer being written (kept after a preview)
	Preview      []citybot.AnswerPreview // what the citizens would receive
	Previewed    bool
	CanResolve   bool
	DuplicateRef citybot.CaseRef
	Conversation []citybot.ConversationEntry
	Tags         []citybot.Tag
	Notes        []citybot.CaseNote
	History      []citybot.AuditEntry
	Canned       []citybot.CannedAnswer
	Assignees    []string
	Topics       []string
	Urgencies    []citybot.Urgency
	NextStatuses []citybot.CaseStatus
	Nonce        string
	Done         string
	Sensitive    bool
	// CanFlag: the reader may clear or set the sensitive flag.
	CanFlag   bool
	CanAnswer bool // the case still takes answers
	Now       time.Time
	// Holding statements (statements.go): shown when StatementsOn.
	StatementsOn bool
	Statements   []citybot.StatementSend
	Surges       []citybot.Surge
	// Alike are the open cases grouping suggested are the same problem
	// as this one (either way), to merge with one action or dismiss.
	Alike []alikeRow
}

// alikeRow is one of grouping's suggestions on the case page: the other
// case, why they look alike (signal names), and whether the other case is
// the one that stays when they are merged (the older).
type alikeRow struct {
	Other    citybot.CaseID
	OtherRef citybot.CaseRef
	Why      []string
	Keeps    bool
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	d, err := s.caseData(r, sess, v)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "case", sess, d)
}

// caseData gathers what the case page shows.
func (s *Server) caseData(r *http.Request, sess *session, v citybot.CaseView) (caseData, error) {
	ctx := r.Context()
	id := v.Case.ID
	q := r.URL.Query()
	d := caseData{View: v, Urgencies: allUrgencies(), Nonce: randomToken()[:22], Now: s.now(),
		Sensitive: v.Case.Sensitive,
		CanFlag:   s.readsSensitive(sess.account),
		CanAnswer: v.Case.Status.Open() || v.Case.Status == citybot.StatusResolved,
		In:        inboxParams(q.Get("in"))}
	d.InURL = "/inbox"
	if d.In != "" {
		d.InURL += "?" + d.In
	}
	if done := q.Get("done"); slices.Contains(doneKeys(), done) {
		d.Done = s.texts(r, sess).T("console.done_" + done)
	}
	if prev, err := strconv.ParseInt(q.Get("prev"), 10, 64); err == nil && prev > 0 {
		if pv, err := s.store.CaseView(ctx, citybot.CaseID(prev)); err == nil && s.canSee(sess.account, pv.Case) {
			d.Prev, d.PrevDone = pv.Case.Ref, d.Done
			d.Done = ""
		}
	}
	var err error
	if d.Conversation, err = s.store.Conversation(ctx, id); err != nil {
		return d, err
	}
	if d.Tags, err = s.store.CaseTags(ctx, id); err != nil {
		return d, err
	}
	if d.Notes, err = s.store.CaseNotes(ctx, id); err != nil {
		return d, err
	}
	if d.History, err = s.store.Audit(ctx, "case:"+strconv.FormatInt(int64(id), 10)); err != nil {
		return d, err
	}
	if d.StatementsOn, d.Statements, d.Surges, err = s.caseStatements(ctx, sess, id); err != nil {
		return d, err
	}
	if v.Case.DuplicateOf != 0 {
		if dv, err := s.store.CaseView(ctx, v.Case.DuplicateOf); err == nil && s.canSee(sess.account, dv.Case) {
			d.DuplicateRef = dv.Case.Ref
		}
	}
	canned, err := s.store.CannedAnswers(ctx)
	if err != nil {
		return d, err
	}
	for _, a := range canned {
		if a.Topic == v.Case.Topic {
			d.Canned = append(d.Canned, a)
		}
	}
	// The case's language first.
	slices.SortStableFunc(d.Canned, func(a, b citybot.CannedAnswer) int {
		return boolRank(a.Language != v.Case.Language) - boolRank(b.Language != v.Case.Language)
	})
	if len(d.Canned) > 9 {
		d.Canned = d.Canned[:9] // keys 1 to 9
	}
	accounts, err := s.store.Accounts(ctx)
	if err != nil {
		return d, err
	}
	for _, a := range accounts {
		// A sensitive case goes only to someone who may read it.
		if a.Role != citybot.RoleOfficial && !a.Disabled && s.canSee(a, v.Case) {
			d.Assignees = append(d.Assignees, a.Name)
		}
	}
	d.Topics = slices.Clone(s.topics)
	if !slices.Contains(d.Topics, v.Case.Topic) {
		d.Topics = append(d.Topics, v.Case.Topic)
	}
	for _, st := range allStatuses() {
		if st != citybot.StatusDuplicate && v.Case.Status.CanMoveTo(st) {
			d.NextStatuses = append(d.NextStatuses, st)
		}
	}
	d.CanResolve = v.Case.Status.CanMoveTo(citybot.StatusResolved)
	sugg, err := s.store.CaseSuggestions(ctx, id)
	if err != nil {
		return d, err
	}
	for _, sg := range sugg {
		row := alikeRow{Other: sg.Like, OtherRef: sg.LikeRef, Keeps: true}
		if sg.Like == id {
			row = alikeRow{Other: sg.Case, OtherRef: sg.CaseRef}
		}
		for _, n := range grouping.Signal(sg.Signals).Names() {
			row.Why = append(row.Why, "console.signal_"+n)
		}
		d.Alike = append(d.Alike, row)
	}
	return d, nil
}

// caseSuggestion acts on one of grouping's suggestions naming the case
// and {other}: "merge" merges the newer of the two into the older (each
// citizen told, as a merge by hand), "dismiss" records that they are not
// the same problem (audited; not suggested again).
func (s *Server) caseSuggestion(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	other, err := strconv.ParseInt(r.PathValue("other"), 10, 64)
	if err != nil || other <= 0 {
		s.fail(w, r, sess, citybot.ErrNotFound)
		return
	}
	sugg, err := s.store.CaseSuggestions(r.Context(), v.Case.ID)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	var pair *citybot.CaseSuggestion
	for i, sg := range sugg {
		if (sg.Case == v.Case.ID && sg.Like == citybot.CaseID(other)) || (sg.Like == v.Case.ID && sg.Case == citybot.CaseID(other)) {
			pair = &sugg[i]
			break
		}
	}
	if pair == nil {
		s.fail(w, r, sess, citybot.ErrNotFound)
		return
	}
	switch r.PostFormValue("do") {
	case "merge":
		if err := s.officer.Merge(r.Context(), pair.Case, pair.Like, sess.account.Name); err != nil {
			s.fail(w, r, sess, err)
			return
		}
		s.backToCase(w, r, pair.Like, "merged")
	case "dismiss":
		if err := s.store.DismissCaseSuggestion(r.Context(), pair.Case, pair.Like, sess.account.Name); err != nil {
			s.fail(w, r, sess, err)
			return
		}
		s.backToCase(w, r, v.Case.ID, "dismissed")
	default:
		s.fail(w, r, sess, invalid("choose to merge the two cases or to dismiss the suggestion"))
	}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// backToCase sends the officer back to case id after an action, at the
// section the action belongs to, in the inbox view they came from.
func (s *Server) backToCase(w http.ResponseWriter, r *http.Request, id citybot.CaseID, done string) {
	u := "/cases/" + strconv.FormatInt(int64(id), 10) + "?done=" + done
	if in := inboxParams(r.PostFormValue("in")); in != "" {
		u += "&in=" + url.QueryEscape(in)
	}
	if part := doneParts()[done]; part != "" {
		u += "#" + part
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (s *Server) caseCorrect(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	topic := r.PostFormValue("topic")
	if topic != "" && !slices.Contains(s.topics, topic) && topic != v.Case.Topic {
		s.fail(w, r, sess, invalid("console.refuse_topic"))
		return
	}
	urgency := citybot.Urgency(r.PostFormValue("urgency"))
	if urgency != "" && urgency.Rank() > 3 {
		s.fail(w, r, sess, invalid("console.refuse_urgency"))
		return
	}
	c, err := s.store.CorrectCase(r.Context(), v.Case.ID, topic, urgency, sess.account.Name)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	if !c.Sensitive && slices.Contains(s.sensitive, c.Topic) {
		// A sensitive topic makes the case sensitive, as it would
		// have at intake.
		if c, err = s.store.SetCaseSensitive(r.Context(), c.ID, true, sess.account.Name, "topic set to "+c.Topic); err != nil {
			s.fail(w, r, sess, err)
			return
		}
	}
	if !s.canSee(sess.account, c) {
		// The officer just moved the case out of their sight.
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return
	}
	s.backToCase(w, r, v.Case.ID, "labels")
}

func (s *Server) caseAssign(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	assignee := clip(r.PostFormValue("assignee"), 64)
	if r.PostFormValue("me") == "1" {
		assignee = sess.account.Name
	}
	if assignee != "" && v.Case.Sensitive {
		a, err := s.store.AccountByName(r.Context(), assignee)
		if err == nil && !s.canSee(a, v.Case) {
			s.fail(w, r, sess, invalid("console.refuse_sensitive_assign"))
			return
		}
	}
	if err := s.store.AssignCase(r.Context(), v.Case.ID, assignee, sess.account.Name); err != nil {
		// The case is there: its ErrNotFound is the account's.
		s.fail(w, r, sess, refusedAs(err, "console.refuse_account_unknown", citybot.ErrNotFound))
		return
	}
	s.backToCase(w, r, v.Case.ID, "assign")
}

func (s *Server) caseExpected(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	var by *time.Time
	if day := strings.TrimSpace(r.PostFormValue("expected_by")); day != "" {
		t, err := time.Parse("2006-01-02", day)
		if err != nil || t.Year() < 2000 || t.Year() > 2200 {
			s.fail(w, r, sess, invalid("console.refuse_date"))
			return
		}
		by = &t
	}
	if err := s.store.SetExpectedBy(r.Context(), v.Case.ID, by, sess.account.Name); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.backToCase(w, r, v.Case.ID, "expected")
}

func (s *Server) caseStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	to := r.PostFormValue("to") // a one-press button (Resolve)
	if to == "" {
		to = r.PostFormValue("status")
	}
	ch := citybot.StatusChange{To: citybot.CaseStatus(to), Actor: sess.account.Name,
		Reason: clip(r.PostFormValue("reason"), 2000)}
	c, err := s.officer.ChangeStatus(r.Context(), v.Case.ID, ch, r.PostFormValue("nonce"))
	if err != nil {
		s.fail(w, r, sess, refusedAs(err, "console.refuse_status_change", citybot.ErrInvalid))
		return
	}
	if !c.Status.Open() {
		// Done with it: the next case of the officer's view opens.
		s.toNextCase(w, r, sess, v.Case, "status")
		return
	}
	s.backToCase(w, r, v.Case.ID, "status")
}

func (s *Server) caseNote(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	if _, err := s.store.AddNote(r.Context(), v.Case.ID, sess.account.Name, r.PostFormValue("text")); err != nil {
		s.fail(w, r, sess, refusedAs(err, "console.refuse_note", citybot.ErrInvalid))
		return
	}
	s.backToCase(w, r, v.Case.ID, "note")
}

func (s *Server) caseAnswer(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	text := r.PostFormValue("text")
	if r.PostFormValue("do") == "preview" {
		// Without JavaScript: the page again, with the preview and the
		// text kept.
		d, err := s.caseData(r, sess, v)
		if err != nil {
			s.fail(w, r, sess, err)
			return
		}
		d.Answer, d.Preview, d.Previewed = text, s.officer.Preview(v, text), true
		s.render(w, r, http.StatusOK, "case", sess, d)
		return
	}
	nonce := r.PostFormValue("nonce")
	if _, err := s.officer.Answer(r.Context(), v.Case.ID, sess.account.Name, text, nonce); err != nil {
		s.fail(w, r, sess, refusedAs(err, "console.refuse_answer", citybot.ErrInvalid))
		return
	}
	if r.PostFormValue("then") == "resolve" {
		// Reply and resolve in one action; the same nonce keeps a resent
		// form from telling the citizen twice.
		ch := citybot.StatusChange{To: citybot.StatusResolved, Actor: sess.account.Name}
		if _, err := s.officer.ChangeStatus(r.Context(), v.Case.ID, ch, nonce); err != nil && !errors.Is(err, citybot.ErrInvalid) {
			s.fail(w, r, sess, err)
			return
		} else if err != nil {
			// Resolved already (the form was sent twice): nothing
			// more to do.
			s.log.Info("resolve after answer refused", "case", int64(v.Case.ID), "err", err)
		}
		s.toNextCase(w, r, sess, v.Case, "resolved")
		return
	}
	s.backToCase(w, r, v.Case.ID, "answer")
}

func (s *Server) caseMerge(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	ref := clip(r.PostFormValue("into"), 32)
	if ref == "" {
		s.fail(w, r, sess, invalid("console.refuse_merge_ref"))
		return
	}
	into, err := s.store.CaseByRef(r.Context(), citybot.CaseRef(ref))
	if err != nil || !s.canSee(sess.account, into) {
		s.fail(w, r, sess, citybot.ErrNotFound)
		return
	}
	if err := s.officer.Merge(r.Context(), v.Case.ID, into.ID, sess.account.Name); err != nil {
		s.fail(w, r, sess, refusedAs(err, "console.refuse_merge", citybot.ErrInvalid))
		return
	}
	s.backToCase(w, r, into.ID, "merged")
}

// caseSensitive clears (action "clear") or sets (action "set") a case's
// sensitive flag: only a role allowed to read sensitive cases may, with a
// reason; the store audits it. Others are refused (and a sensitive case
// stays undisclosed to them: loadCase answers 404).
func (s *Server) caseSensitive(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	if !s.readsSensitive(sess.account) {
		s.log.Warn("forbidden", "account", sess.account.Name, "role", string(sess.account.Role), "path", r.URL.Path)
		s.render(w, r, http.StatusForbidden, "error", sess, s.errorPage(r, sess, "forbidden", "console.err_flag"))
		return
	}
	var set bool
	switch r.PostFormValue("action") {
	case "clear":
	case "set":
		set = true
	default:
		s.fail(w, r, sess, invalid("console.refuse_flag_choice"))
		return
	}
	reason := clip(strings.TrimSpace(r.PostFormValue("reason")), 2000)
	if reason == "" {
		s.fail(w, r, sess, invalid("console.refuse_flag_reason"))
		return
	}
	if _, err := s.store.SetCaseSensitive(r.Context(), v.Case.ID, set, sess.account.Name, reason); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	done := "cleared"
	if set {
		done = "flagged"
	}
	s.backToCase(w, r, v.Case.ID, done)
}

// caseCitizenData sends an admin, as a JSON file, what the city holds
// about the case's citizen (for a request made outside the bot),
// audited as "citizen.export".
func (s *Server) caseCitizenData(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	d, err := s.store.CitizenData(r.Context(), v.Case.Citizen)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	doc, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	subject := fmt.Sprintf("citizen:%d", v.Case.Citizen)
	if err := s.store.RecordAudit(r.Context(), citybot.AuditEntry{Actor: sess.account.Name, Action: "citizen.export", Subject: subject,
		After: fmt.Sprintf(`{"case":%q}`, v.Case.Ref)}); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="citizen-%d.json"`, v.Case.Citizen))
	w.Write(doc)
}

// caseForget erases the case's citizen (identity and texts, in every
// case of theirs) once the admin ticked the confirmation.
func (s *Server) caseForget(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.fail(w, r, sess, invalid("console.refuse_erase_confirm"))
		return
	}
	f, err := s.store.ForgetCitizen(r.Context(), v.Case.Citizen, sess.account.Name, "")
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.log.Info("citizen forgotten", "citizen", int64(v.Case.Citizen), "actor", sess.account.Name, "messages", f.Messages, "cases", f.Cases)
	s.backToCase(w, r, v.Case.ID, "forgotten")
}

// casePreview answers the case page's script with exactly what the
// citizens would receive of the answer being written (an HTML fragment,
// escaped); it queues nothing.
func (s *Server) casePreview(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	text := r.PostFormValue("text")
	d := caseData{View: v, Answer: text, Preview: s.officer.Preview(v, text), Previewed: true}
	s.renderTemplate(w, r, http.StatusOK, "case", "preview", sess, d)
}

// caseMedia serves a photo or voice note the citizen sent with the case
// (kept by the media keeper, location metadata removed), to those who may
// see the case; Range requests let a voice note be played from any point.
func (s *Server) caseMedia(w http.ResponseWriter, r *http.Request, sess *session) {
	v, ok := s.loadCase(w, r, sess)
	if !ok {
		return
	}
	aid, err := strconv.ParseInt(r.PathValue("aid"), 10, 64)
	if err != nil || aid <= 0 {
		s.fail(w, r, sess, citybot.ErrNotFound)
		return
	}
	md, err := s.store.Media(r.Context(), aid)
	if err == nil && md.Case != v.Case.ID {
		err = citybot.ErrNotFound // another case's file
	}
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	ext := map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
		"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/wav": ".wav", "audio/mp4": ".m4a", "audio/webm": ".webm"}[md.MIMEType]
	w.Header().Set("Content-Type", md.MIMEType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="case-%s-%d%s"`, v.Case.Ref, aid, ext))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", v.Case.OpenedAt, bytes.NewReader(md.Data))
}
