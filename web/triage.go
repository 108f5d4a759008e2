package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"citybot"
)

// inboxKeys are the inbox's query parameters a case page keeps to find
// the next case of the same view.
func inboxKeys() []string {
	return []string{"status", "urgency", "topic", "platform", "language", "place", "assignee", "q", "age", "sort"}
}

// inboxParams keeps the inbox parameters of a query string (the view an
// officer opened a case from), re-encoded; "" when there are none.
func inboxParams(raw string) string {
	if raw == "" || len(raw) > 2000 {
		return ""
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return ""
	}
	keep := url.Values{}
	for _, k := range inboxKeys() {
		for _, x := range v[k] {
			if x != "" && len(keep[k]) < 10 {
				keep.Add(k, clip(x, 200))
			}
		}
	}
	return keep.Encode()
}

// nextCase returns the case after cur in the inbox view in (a query
// string): the first case of the view's first page that comes after cur
// in the view's order, or the view's first case when cur was the last; 0
// when the view holds no other case. cur is the case as it was before the
// action that finished it.
func (s *Server) nextCase(r *http.Request, sess *session, cur citybot.Case, in string) (citybot.CaseID, error) {
	v, _ := url.ParseQuery(in)
	q, _ := s.inboxQueryOf(v, sess)
	q.Offset, q.Limit = 0, pageSize
	now := s.now()
	tw := s.texts(r, sess)
	var rows []inboxRow
	cmp := urgencyCompare
	if v.Get("sort") == "due" {
		var err error
		if rows, _, err = s.duePage(r, q, now, tw); err != nil {
			return 0, err
		}
		cmp = dueCompare
	} else {
		items, _, err := s.store.InboxPage(r.Context(), q)
		if err != nil {
			return 0, err
		}
		for _, it := range items {
			rows = append(rows, s.rowOf(it, now, tw))
		}
	}
	rows = slices.DeleteFunc(rows, func(x inboxRow) bool { return x.Case.ID == cur.ID })
	if len(rows) == 0 {
		return 0, nil
	}
	at := s.rowOf(citybot.InboxItem{Case: cur}, now, tw)
	for _, x := range rows {
		if cmp(x, at) > 0 {
			return x.Case.ID, nil
		}
	}
	return rows[0].Case.ID, nil
}

// toNextCase opens, after an action that finished case cur (done says
// which), the next case of the officer's inbox view, which says what was
// done to cur; or the inbox itself when the view has no case left.
func (s *Server) toNextCase(w http.ResponseWriter, r *http.Request, sess *session, cur citybot.Case, done string) {
	in := inboxParams(r.PostFormValue("in"))
	next, err := s.nextCase(r, sess, cur, in)
	if err != nil {
		// The action was done; only finding the next case failed.
		s.log.Error("next case", "case", int64(cur.ID), "err", err)
	}
	if next == 0 {
		u := "/inbox?done=" + done + "&prev=" + strconv.FormatInt(int64(cur.ID), 10)
		if in != "" {
			u += "&" + in
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return
	}
	u := "/cases/" + strconv.FormatInt(int64(next), 10) + "?done=" + done + "&prev=" + strconv.FormatInt(int64(cur.ID), 10)
	if in != "" {
		u += "&in=" + url.QueryEscape(in)
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// maxBulk bounds the cases one bulk action changes (two inbox pages).
const maxBulk = 100

// inboxDone says what the action before did, for the inbox's
// confirmation: keyed by "done", with the counts n and failed and the
// finished case prev (never echoed as given).
func (s *Server) inboxDone(r *http.Request, sess *session) string {
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("n"))
	failed, _ := strconv.Atoi(q.Get("failed"))
	w := s.texts(r, sess)
	var msg string
	switch done := q.Get("done"); done {
	case "resolved", "status":
		ref := ""
		if id, err := strconv.ParseInt(q.Get("prev"), 10, 64); err == nil {
			if v, err := s.store.CaseView(r.Context(), citybot.CaseID(id)); err == nil && s.canSee(sess.account, v.Case) {
				ref = string(v.Case.Ref)
			}
		}
		if ref == "" {
			msg = w.T("console.inbox_done_" + done + "_any")
		} else {
			msg = w.Tf("console.inbox_done_"+done, "ref", ref)
		}
		msg += " " + w.T("console.inbox_done_empty")
	case "bulk-assign":
		msg = w.Tn("console.inbox_done_assigned", n)
	case "bulk-status":
		msg = w.Tn("console.inbox_done_bulk_status", n)
	case "bulk-merge":
		msg = w.Tn("console.inbox_done_merged", n)
	default:
		return ""
	}
	if failed > 0 {
		msg += " " + w.Tn("console.inbox_done_failed", failed)
	}
	return msg
}

// inboxBulk applies one action to the cases ticked in the inbox: assign
// them (to an account, or to nobody), change their status (each citizen
// told, as from the case page) or merge them as duplicates into one case.
// A case the officer may not see, or that cannot take the action, is
// counted as failed and left as it is; the others are changed.
func (s *Server) inboxBulk(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, sess, invalid("console.refuse_form"))
		return
	}
	var ids []citybot.CaseID
	for _, raw := range r.PostForm["id"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 || slices.Contains(ids, citybot.CaseID(id)) {
			continue
		}
		ids = append(ids, citybot.CaseID(id))
	}
	if len(ids) == 0 {
		s.fail(w, r, sess, invalid("console.refuse_tick"))
		return
	}
	if len(ids) > maxBulk {
		s.fail(w, r, sess, invalid("console.refuse_too_many", "max", strconv.Itoa(maxBulk)))
		return
	}
	action := r.PostFormValue("action")
	var do func(v citybot.CaseView) error
	switch action {
	case "assign":
		assignee := clip(r.PostFormValue("assignee"), 64)
		if assignee == "-" {
			assignee = ""
		}
		var acct citybot.Account
		if assignee != "" {
			a, err := s.store.AccountByName(ctx, assignee)
			if err != nil || a.Disabled || a.Role == citybot.RoleOfficial {
				s.fail(w, r, sess, invalid("console.refuse_assignee"))
				return
			}
			acct = a
		}
		do = func(v citybot.CaseView) error {
			if assignee != "" && !s.canSee(acct, v.Case) {
				return invalid("console.refuse_sensitive_assign")
			}
			return s.store.AssignCase(ctx, v.Case.ID, assignee, sess.account.Name)
		}
	case "status":
		to := citybot.CaseStatus(r.PostFormValue("status"))
		if !to.Valid() || to == citybot.StatusDuplicate {
			s.fail(w, r, sess, invalid("console.refuse_new_status"))
			return
		}
		reason := clip(r.PostFormValue("reason"), 2000)
		nonce := r.PostFormValue("nonce")
		do = func(v citybot.CaseView) error {
			_, err := s.officer.ChangeStatus(ctx, v.Case.ID, citybot.StatusChange{To: to, Actor: sess.account.Name, Reason: reason}, nonce)
			return err
		}
	case "merge":
		ref := clip(r.PostFormValue("into"), 32)
		if ref == "" {
			s.fail(w, r, sess, invalid("console.refuse_merge_into"))
			return
		}
		into, err := s.store.CaseByRef(ctx, citybot.CaseRef(ref))
		if err != nil || !s.canSee(sess.account, into) {
			s.fail(w, r, sess, citybot.ErrNotFound)
			return
		}
		do = func(v citybot.CaseView) error {
			if v.Case.ID == into.ID {
				return nil // the case the others join
			}
			return s.officer.Merge(ctx, v.Case.ID, into.ID, sess.account.Name)
		}
	default:
		s.fail(w, r, sess, invalid("console.refuse_bulk_action"))
		return
	}
	n, failed := 0, 0
	for _, id := range ids {
		v, err := s.store.CaseView(ctx, id)
		if err == nil && !s.canSee(sess.account, v.Case) {
			err = citybot.ErrNotFound
		}
		if err == nil {
			err = do(v)
		}
		if err != nil {
			if ctx.Err() != nil {
				s.fail(w, r, sess, err)
				return
			}
			s.log.Info("bulk action refused", "action", action, "case", int64(id), "err", err)
			failed++
			continue
		}
		n++
	}
	u := "/inbox?done=bulk-" + action + "&n=" + strconv.Itoa(n) + "&failed=" + strconv.Itoa(failed)
	if in := inboxParams(r.PostFormValue("in")); in != "" {
		u += "&" + in
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}
