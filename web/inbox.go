package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"citybot"
)

// pageSize is the number of cases per inbox page.
const pageSize = 50

// maxPage bounds the inbox's page number (OFFSET costs grow with it).
const maxPage = 2000

// maxDuePage bounds the page number when sorting by time left: each page
// reads every page before it, once per urgency.
const maxDuePage = 40

func allStatuses() []citybot.CaseStatus {
	return []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress, citybot.StatusAnswered,
		citybot.StatusResolved, citybot.StatusClosed, citybot.StatusDuplicate}
}

func allUrgencies() []citybot.Urgency {
	return []citybot.Urgency{citybot.UrgencyCritical, citybot.UrgencyHigh, citybot.UrgencyNormal, citybot.UrgencyLow}
}

// ageChoices are the age filter's values; their words are the
// catalogs' console.age_<value>.
func ageChoices() []string {
	return []string{"24h", "7d", "30d", "older7d", "older30d"}
}

// clip keeps at most n bytes of a query parameter, at a rune boundary.
func clip(s string, n int) string {
	s, _ = citybot.CleanText(strings.TrimSpace(s), n)
	return s
}

// inboxQuery reads the inbox's filters from the URL. Unknown values are
// dropped rather than refused: a filter link never errors.
func (s *Server) inboxQuery(r *http.Request, sess *session) (citybot.InboxQuery, int) {
	return s.inboxQueryOf(r.URL.Query(), sess)
}

// inboxQueryOf reads the inbox's filters from query values.
func (s *Server) inboxQueryOf(v url.Values, sess *session) (citybot.InboxQuery, int) {
	q := citybot.InboxQuery{Limit: pageSize, HideSensitive: !s.readsSensitive(sess.account)}
	for _, st := range v["status"] {
		if cs := citybot.CaseStatus(st); cs.Valid() && !slices.Contains(q.Statuses, cs) {
			q.Statuses = append(q.Statuses, cs)
		}
	}
	q.Topic = clip(v.Get("topic"), 64)
	if u := citybot.Urgency(v.Get("urgency")); u.Rank() <= 3 {
		q.Urgency = u
	}
	if p := citybot.Platform(v.Get("platform")); p.Valid() {
		q.Platform = p
	}
	q.Language = clip(v.Get("language"), 16)
	q.Place = clip(v.Get("place"), 200)
	q.Assignee = clip(v.Get("assignee"), 64)
	q.Search = clip(v.Get("q"), 200)
	now := s.now()
	switch v.Get("age") {
	case "24h":
		q.OpenedAfter = now.Add(-24 * time.Hour)
	case "7d":
		q.OpenedAfter = now.AddDate(0, 0, -7)
	case "30d":
		q.OpenedAfter = now.AddDate(0, 0, -30)
	case "older7d":
		q.OpenedBefore = now.AddDate(0, 0, -7)
	case "older30d":
		q.OpenedBefore = now.AddDate(0, 0, -30)
	}
	pg, _ := strconv.Atoi(v.Get("page"))
	pg = min(max(pg, 1), maxPage)
	if v.Get("sort") == "due" {
		pg = min(pg, maxDuePage)
	}
	q.Offset = (pg - 1) * pageSize
	return q, pg
}

type option struct {
	Value    string
	Label    string
	Count    int
	Counted  bool
	Selected bool
}

type filterSelect struct {
	Name     string
	Label    string
	Multiple bool
	Options  []option
}

type inboxData struct {
	Items []inboxRow
	// ByDue: sorted by time left to the first-answer target (sort=due),
	// instead of most urgent first; SortURL switches to the other order.
	ByDue    bool
	SortURL  string
	Page     int
	PrevURL  string
	NextURL  string
	RowsURL  string
	Total    int
	Filters  []filterSelect
	Search   string
	Place    string
	Filtered bool
	// InQuery is appended to the case links: the view the officer opens
	// a case from, so that the next case comes from it.
	InQuery    string
	InQueryRaw string
	Now        time.Time
	// Done confirms the action before (a bulk action, or a case
	// finished with no case left in the view); Nonce keys the bulk
	// form's status changes.
	Done  string
	Nonce string
	// Bulk choices.
	Assignees    []string
	BulkStatuses []citybot.CaseStatus
	// Surges are the surges in their quiet time (the banner).
	Surges []citybot.Surge
	// CanSendStatement: the banner links to the statement page.
	CanSendStatement bool
}

func counted(fs []citybot.FacetCount) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Value] = f.Count
	}
	return m
}

func (s *Server) inboxData(r *http.Request, sess *session) (inboxData, error) {
	q, pg := s.inboxQuery(r, sess)
	now := s.now()
	byDue := r.URL.Query().Get("sort") == "due"
	tw := s.texts(r, sess)
	var (
		rows []inboxRow
		more bool
		err  error
	)
	if byDue {
		rows, more, err = s.duePage(r, q, now, tw)
	} else {
		var items []citybot.InboxItem
		items, more, err = s.store.InboxPage(r.Context(), q)
		for _, it := range items {
			rows = append(rows, s.rowOf(it, now, tw))
		}
	}
	if err != nil {
		return inboxData{}, err
	}
	if err := s.suggestionCounts(r.Context(), rows); err != nil {
		return inboxData{}, err
	}
	d := inboxData{Items: rows, ByDue: byDue, Page: pg, Search: q.Search, Place: q.Place, Now: now}
	// The view: the inbox's own parameters, without the page and the
	// confirmation of the action before.
	view, _ := url.ParseQuery(inboxParams(r.URL.RawQuery))
	d.Filtered = len(view) > 0
	if d.Filtered {
		d.InQueryRaw = view.Encode()
		d.InQuery = "?in=" + url.QueryEscape(d.InQueryRaw)
	}
	link := func(change func(url.Values)) string {
		v := url.Values{}
		for k, vs := range view {
			v[k] = vs
		}
		change(v)
		if len(v) == 0 {
			return "/inbox"
		}
		return "/inbox?" + v.Encode()
	}
	d.SortURL = link(func(v url.Values) {
		if byDue {
			v.Del("sort")
		} else {
			v.Set("sort", "due")
		}
	})
	page := func(p int) func(url.Values) {
		return func(v url.Values) {
			if p > 1 {
				v.Set("page", strconv.Itoa(p))
			}
		}
	}
	if pg > 1 {
		d.PrevURL = link(page(pg - 1))
	}
	if more && (pg < maxPage && !byDue || pg < maxDuePage) {
		d.NextURL = link(page(pg + 1))
	}
	d.RowsURL = "/inbox/rows"
	if rv := link(page(pg)); rv != "/inbox" {
		d.RowsURL += strings.TrimPrefix(rv, "/inbox")
	}
	return d, nil
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, sess *session) {
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request, sess *session) {
	q, _ := s.inboxQuery(r, sess)
	// The counts are the slow part: they run beside the page's query.
	var (
		counts    citybot.InboxCounts
		countsErr error
		wg        sync.WaitGroup
	)
	wg.Go(func() { counts, countsErr = s.store.InboxCounts(r.Context(), q) })
	d, err := s.inboxData(r, sess)
	wg.Wait()
	if err == nil {
		err = countsErr
	}
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	accounts, err := s.store.Accounts(r.Context())
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d.Total = counts.Total
	d.Done = s.inboxDone(r, sess)
	if d.Surges, err = s.activeSurges(r.Context(), sess); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d.CanSendStatement = s.sender != nil && sess.account.Role != citybot.RoleOfficial
	d.Nonce = randomToken()[:22]
	for _, st := range allStatuses() {
		if st != citybot.StatusNew && st != citybot.StatusDuplicate {
			d.BulkStatuses = append(d.BulkStatuses, st)
		}
	}
	sel := func(name, label string, values []string, labels map[string]string, counts []citybot.FacetCount, chosen []string, multiple bool) filterSelect {
		c := counted(counts)
		f := filterSelect{Name: name, Label: label, Multiple: multiple}
		seen := map[string]bool{}
		add := func(v string) {
			if seen[v] {
				return
			}
			seen[v] = true
			l := labels[v]
			if table := auditNames[name]; l == "" && table != "" {
				l = s.texts(r, sess).Name(table, v) // a status, urgency or topic
			} else if l == "" {
				l = strings.ReplaceAll(v, "_", " ")
			}
			countedHere := name != "assignee" && name != "age"
			if name == "status" && !citybot.CaseStatus(v).Open() && !slices.Contains(chosen, v) {
				// The store counts closed statuses only when chosen.
				countedHere = false
			}
			f.Options = append(f.Options, option{Value: v, Label: l, Count: c[v], Counted: countedHere,
				Selected: slices.Contains(chosen, v)})
		}
		for _, v := range values {
			add(v)
		}
		for _, fc := range counts {
			if fc.Value != "" && !slices.Contains(q.HideTopics, fc.Value) {
				add(fc.Value)
			}
		}
		return f
	}
	var statuses, chosenStatus []string
	for _, st := range allStatuses() {
		statuses = append(statuses, string(st))
	}
	for _, st := range q.Statuses {
		chosenStatus = append(chosenStatus, string(st))
	}
	var urgencies []string
	for _, u := range allUrgencies() {
		urgencies = append(urgencies, string(u))
	}
	var topics []string
	topics = append(topics, s.topics...)
	langLabels := map[string]string{}
	for _, l := range s.languages {
		langLabels[l] = s.languageName(l) + " (" + l + ")"
	}
	var assignees []string
	cw := publicTexts{wordsFor(s.locs(), s.consoleLang(r, sess))}
	assigneeLabels := map[string]string{"-": cw.T("console.unassigned")}
	assignees = append(assignees, "-")
	for _, a := range accounts {
		if a.Role != citybot.RoleOfficial && !a.Disabled {
			assignees = append(assignees, a.Name)
			d.Assignees = append(d.Assignees, a.Name)
			assigneeLabels[a.Name] = a.Name
		}
	}
	ages := []string{}
	ageLabels := map[string]string{}
	for _, a := range ageChoices() {
		ages = append(ages, a)
		ageLabels[a] = cw.T("console.age_" + a)
	}
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	vq := r.URL.Query()
	d.Filters = []filterSelect{
		sel("status", cw.T("console.filter_status"), statuses, nil, counts.Status, chosenStatus, true),
		sel("urgency", cw.T("console.urgency"), urgencies, nil, counts.Urgency, one(string(q.Urgency)), false),
		sel("topic", cw.T("console.topic"), topics, nil, counts.Topic, one(q.Topic), false),
		sel("platform", cw.T("console.platform"), []string{string(citybot.Telegram), string(citybot.Discord)}, map[string]string{"telegram": "Telegram", "discord": "Discord"}, counts.Platform, one(string(q.Platform)), false),
		sel("language", cw.T("console.language_col"), s.languages, langLabels, counts.Language, one(q.Language), false),
		sel("assignee", cw.T("console.assignee"), assignees, assigneeLabels, nil, one(q.Assignee), false),
		sel("age", cw.T("console.age"), ages, ageLabels, nil, one(vq.Get("age")), false),
	}
	s.render(w, r, http.StatusOK, "inbox", sess, d)
}

// inboxRows serves the inbox table's rows alone, for the page's polling
// script: new cases appear without a reload.
func (s *Server) inboxRows(w http.ResponseWriter, r *http.Request, sess *session) {
	d, err := s.inboxData(r, sess)
	if err != nil {
		s.log.Error("inbox rows", "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	s.renderTemplate(w, r, http.StatusOK, "inbox", "rows", sess, d)
}

// Ago says how long ago t was, shortly, in the page's language ("3 h").
func (p publicTexts) Ago(now, t time.Time) string {
	return p.span(now.Sub(t), 0)
}

// span says a duration shortly in the page's language: minutes under an
// hour (at least least), hours under two days, then days.
func (p publicTexts) span(d time.Duration, least int) string {
	switch {
	case d < time.Hour:
		return p.Tn("console.span_minutes", max(least, int(d.Minutes())))
	case d < 48*time.Hour:
		return p.Tn("console.span_hours", int(d.Hours()))
	default:
		return p.Tn("console.span_days", int(d.Hours()/24))
	}
}

// inboxRow is an inbox item with where it stands against its
// first-answer target and its promised date.
type inboxRow struct {
	citybot.InboxItem
	// Left says the time left to the first-answer target ("3 h left"),
	// how long the case is past it ("overdue by 2 days") or "answered";
	// "" when its urgency has no target.
	Left    string
	Overdue bool
	// Settled: answered, or no longer open; nothing runs against a
	// target.
	Settled bool
	// Due is when the first answer is due; zero when answered or without
	// a target.
	Due time.Time
	// PromiseOverdue: the date promised to the citizen (ExpectedBy)
	// passed and the case is still open.
	PromiseOverdue bool
	// LookAlike is how many other open reports grouping suggested look
	// like this case ("3 reports look like this one").
	LookAlike int
}

// Reporters is how many reports the case holds: its own and its
// followers'.
func (r inboxRow) Reporters() int { return 1 + r.Case.Followers }

// suggestionCounts fills the rows' LookAlike from grouping's suggestions.
func (s *Server) suggestionCounts(ctx context.Context, rows []inboxRow) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]citybot.CaseID, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, r.Case.ID)
	}
	counts, err := s.store.SuggestionCounts(ctx, ids[:min(len(ids), 500)])
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].LookAlike = counts[rows[i].Case.ID]
	}
	return nil
}

// rowOf places an inbox item against its service level at now, saying
// where it stands in w's language.
func (s *Server) rowOf(it citybot.InboxItem, now time.Time, w publicTexts) inboxRow {
	row := inboxRow{InboxItem: it}
	if it.Case.ExpectedBy != nil && it.Case.Status.Open() && !now.Before(s.levels.PromiseDue(*it.Case.ExpectedBy)) {
		row.PromiseOverdue = true
	}
	if it.FirstAnswerAt != nil {
		row.Left, row.Settled = w.T("console.row_answered"), true
		return row
	}
	if !it.Case.Status.Open() {
		row.Left, row.Settled = w.Tf("console.row_not_waiting", "status", strings.ReplaceAll(string(it.Case.Status), "_", " ")), true
		return row
	}
	due, ok := s.levels.Due(it.Case.OpenedAt, it.Case.Urgency)
	if !ok {
		return row
	}
	row.Due = due
	if left := due.Sub(now); left > 0 {
		row.Left = w.Tf("console.row_left", "span", w.span(left, 1))
	} else {
		row.Left, row.Overdue = w.Tf("console.row_overdue", "span", w.span(-left, 1)), true
	}
	return row
}

// duePage returns the page of q sorted by time left to the first-answer
// target: the unanswered cases due soonest (the most overdue) first, then
// those whose urgency has no target, then the answered or no longer open
// ones (most urgent, then oldest). Within one urgency the due time grows with the opening
// time, so the page is merged from each urgency's first cases.
func (s *Server) duePage(r *http.Request, q citybot.InboxQuery, now time.Time, w publicTexts) ([]inboxRow, bool, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = pageSize
	}
	want := q.Offset + limit
	urgencies := allUrgencies()
	if q.Urgency != "" {
		urgencies = []citybot.Urgency{q.Urgency}
	}
	var all []inboxRow
	for _, u := range urgencies {
		uq := q
		uq.Urgency, uq.UnansweredFirst, uq.Offset, uq.Limit = u, true, 0, want+1
		items, _, err := s.store.InboxPage(r.Context(), uq)
		if err != nil {
			return nil, false, err
		}
		for _, it := range items {
			all = append(all, s.rowOf(it, now, w))
		}
	}
	slices.SortStableFunc(all, dueCompare)
	if q.Offset >= len(all) {
		return nil, false, nil
	}
	all = all[q.Offset:]
	more := len(all) > limit
	if more {
		all = all[:limit]
	}
	return all, more, nil
}

// dueCompare orders inbox rows by time left (see duePage).
func dueCompare(a, b inboxRow) int {
	group := func(x inboxRow) int {
		switch {
		case !x.Due.IsZero():
			return 0
		case !x.Settled:
			return 1
		}
		return 2
	}
	if c := group(a) - group(b); c != 0 {
		return c
	}
	if c := a.Due.Compare(b.Due); c != 0 {
		return c
	}
	return urgencyCompare(a, b)
}

// urgencyCompare orders inbox rows as the store does: critical first,
// then the oldest.
func urgencyCompare(a, b inboxRow) int {
	if c := a.Case.Urgency.Rank() - b.Case.Urgency.Rank(); c != 0 {
		return c
	}
	if c := a.Case.OpenedAt.Compare(b.Case.OpenedAt); c != 0 {
		return c
	}
	return int(a.Case.ID - b.Case.ID)
}
