package web

import (
	"fmt"
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

func allStatuses() []citybot.CaseStatus {
	return []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress, citybot.StatusAnswered,
		citybot.StatusResolved, citybot.StatusClosed, citybot.StatusDuplicate}
}

func allUrgencies() []citybot.Urgency {
	return []citybot.Urgency{citybot.UrgencyCritical, citybot.UrgencyHigh, citybot.UrgencyNormal, citybot.UrgencyLow}
}

// ageChoices are the age filter's values, with their labels.
func ageChoices() [][2]string {
	return [][2]string{{"24h", "opened in the last 24 hours"}, {"7d", "opened in the last 7 days"}, {"30d", "opened in the last 30 days"},
		{"older7d", "older than 7 days"}, {"older30d", "older than 30 days"}}
}

// clip keeps at most n bytes of a query parameter, at a rune boundary.
func clip(s string, n int) string {
	s, _ = citybot.CleanText(strings.TrimSpace(s), n)
	return s
}

// inboxQuery reads the inbox's filters from the URL. Unknown values are
// dropped rather than refused: a filter link never errors.
func (s *Server) inboxQuery(r *http.Request, sess *session) (citybot.InboxQuery, int) {
	v := r.URL.Query()
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
	Items    []citybot.InboxItem
	Page     int
	PrevURL  string
	NextURL  string
	RowsURL  string
	Total    int
	Filters  []filterSelect
	Search   string
	Place    string
	Filtered bool
	Now      time.Time
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
	items, more, err := s.store.InboxPage(r.Context(), q)
	if err != nil {
		return inboxData{}, err
	}
	d := inboxData{Items: items, Page: pg, Search: q.Search, Place: q.Place, Now: s.now()}
	base := r.URL.Query()
	base.Del("page")
	d.Filtered = len(base) > 0
	link := func(p int) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return "/inbox"
		}
		return "/inbox?" + v.Encode()
	}
	if pg > 1 {
		d.PrevURL = link(pg - 1)
	}
	if more && pg < maxPage {
		d.NextURL = link(pg + 1)
	}
	d.RowsURL = "/inbox/rows"
	if len(r.URL.RawQuery) > 0 {
		d.RowsURL += "?" + r.URL.Query().Encode()
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
			if l == "" {
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
	assigneeLabels := map[string]string{"-": "unassigned"}
	assignees = append(assignees, "-")
	for _, a := range accounts {
		if a.Role != citybot.RoleOfficial && !a.Disabled {
			assignees = append(assignees, a.Name)
			assigneeLabels[a.Name] = a.Name
		}
	}
	ages := []string{}
	ageLabels := map[string]string{}
	for _, a := range ageChoices() {
		ages = append(ages, a[0])
		ageLabels[a[0]] = a[1]
	}
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	vq := r.URL.Query()
	d.Filters = []filterSelect{
		sel("status", "Status (default: open)", statuses, nil, counts.Status, chosenStatus, true),
		sel("urgency", "Urgency", urgencies, nil, counts.Urgency, one(string(q.Urgency)), false),
		sel("topic", "Topic", topics, nil, counts.Topic, one(q.Topic), false),
		sel("platform", "Platform", []string{string(citybot.Telegram), string(citybot.Discord)}, map[string]string{"telegram": "Telegram", "discord": "Discord"}, counts.Platform, one(string(q.Platform)), false),
		sel("language", "Language", s.languages, langLabels, counts.Language, one(q.Language), false),
		sel("assignee", "Assignee", assignees, assigneeLabels, nil, one(q.Assignee), false),
		sel("age", "Age", ages, ageLabels, nil, one(vq.Get("age")), false),
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
	s.renderTemplate(w, http.StatusOK, "inbox", "rows", sess, d)
}

// age says how long ago t was, shortly.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", max(0, int(d.Minutes())))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	default:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
}
