package web

import (
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"citybot"
)

// csvHeader returns the CSV export's columns: no text, no identity.
func csvHeader() []string {
	return []string{"reference", "topic", "status", "opened_at", "updated_at", "first_answer_at", "resolved_at",
		"expected_by", "places", "latitude", "longitude"}
}

// maxExportSpan is the longest period one CSV export covers.
const maxExportSpan = 366 * 24 * time.Hour

// casesCSV exports cases as CSV (RFC 4180, UTF-8): from and to (dates or
// W3C datetimes; the default is the last 90 days, at most 366 days) and
// topic filter; at most 100,000 rows; sensitive cases (their flag) left
// out. At most PublicOptions.MaxExports run at once: one more is told to
// come back (503), so that exports cannot take every read connection of
// the store from the console and the health check.
func (p *Public) casesCSV(w http.ResponseWriter, r *http.Request) {
	select {
	case p.exports <- struct{}{}:
		defer func() { <-p.exports }()
	default:
		p.log.Warn("csv export refused: too many at once")
		w.Header().Set("Retry-After", "10")
		http.Error(w, "Too many exports at once; try again in a few seconds.", http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	pq := citybot.PublicCaseQuery{Limit: 100000, Topic: q.Get("topic")}
	var err error
	if pq.After, err = parseW3C(q.Get("from")); err != nil {
		http.Error(w, "from must be a date (2006-01-02) or a W3C datetime.", http.StatusBadRequest)
		return
	}
	if pq.Before, err = parseW3C(q.Get("to")); err != nil {
		http.Error(w, "to must be a date (2006-01-02) or a W3C datetime.", http.StatusBadRequest)
		return
	}
	if pq.After.IsZero() && pq.Before.IsZero() {
		pq.After = p.now().Add(-90 * 24 * time.Hour)
	}
	end := pq.Before
	if end.IsZero() {
		end = p.now()
	}
	if pq.After.IsZero() {
		pq.After = end.Add(-90 * 24 * time.Hour)
	}
	if end.Sub(pq.After) > maxExportSpan {
		http.Error(w, "One export covers at most 366 days: give from (and to) within a year.", http.StatusBadRequest)
		return
	}
	cases, err := p.store.PublicCases(r.Context(), pq)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="citybot-cases.csv"`)
	if err := WriteCasesCSV(w, cases, p.loc); err != nil {
		p.log.Error("csv export", "error", err)
	}
}

// WriteCasesCSV writes cases as CSV (RFC 4180, UTF-8, a header line):
// reference, topic, status, the case's datetimes in loc (nil means UTC),
// places and the rounded location. It carries no citizen text or
// identity; cells that a spreadsheet would read as a formula are
// defused. It returns the writer's error.
func WriteCasesCSV(w io.Writer, cases []citybot.PublicCase, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	cw := csv.NewWriter(w)
	cw.Write(csvHeader())
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format(time.RFC3339)
	}
	for _, c := range cases {
		lat, lon := "", ""
		if c.Location != nil {
			lat, lon = strconv.FormatFloat(c.Location.Latitude, 'f', -1, 64), strconv.FormatFloat(c.Location.Longitude, 'f', -1, 64)
		}
		opened, updated := c.OpenedAt, c.UpdatedAt
		cw.Write([]string{csvSafe(string(c.Ref)), csvSafe(c.Topic), string(c.Status), ts(&opened), ts(&updated), ts(c.AnsweredAt),
			ts(c.ResolvedAt), ts(c.ExpectedBy), csvSafe(strings.Join(c.Places, "; ")), lat, lon})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formulas (a cell starting with =, +, - or @
// gets a leading apostrophe) and removes invisible characters.
func csvSafe(s string) string {
	s = citybot.VisibleText(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
