package web

import (
	"context"
	"encoding/csv"
	"errors"
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
	// Streamed a page of cases at a time: a slow client holds no read
	// connection and the export is never whole in memory. An error after
	// the first bytes can only cut the file short; it is logged.
	cw := newCasesCSV(w, p.loc)
	started := false
	err = p.store.PublicCasesEach(r.Context(), pq, func(c citybot.PublicCase) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="citybot-cases.csv"`)
			cw.header()
		}
		return cw.row(c)
	})
	if err != nil && !started {
		p.fail(w, r, err)
		return
	}
	if !started {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="citybot-cases.csv"`)
		cw.header()
	}
	if ferr := cw.flush(); err == nil {
		err = ferr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		p.log.Error("csv export", "err", err)
	}
}

// WriteCasesCSV writes cases as CSV (RFC 4180, UTF-8, a header line):
// reference, topic, status, the case's datetimes in loc (nil means UTC),
// places and the rounded location. It carries no citizen text or
// identity; cells that a spreadsheet would read as a formula are
// defused. It returns the writer's error.
func WriteCasesCSV(w io.Writer, cases []citybot.PublicCase, loc *time.Location) error {
	cw := newCasesCSV(w, loc)
	cw.header()
	for _, c := range cases {
		if err := cw.row(c); err != nil {
			return err
		}
	}
	return cw.flush()
}

// casesCSV writes the CSV export row by row, flushing every 200 rows.
type casesCSV struct {
	cw  *csv.Writer
	loc *time.Location
	n   int
}

func newCasesCSV(w io.Writer, loc *time.Location) *casesCSV {
	if loc == nil {
		loc = time.UTC
	}
	return &casesCSV{cw: csv.NewWriter(w), loc: loc}
}

func (c *casesCSV) header() { c.cw.Write(csvHeader()) }

func (c *casesCSV) ts(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(c.loc).Format(time.RFC3339)
}

func (c *casesCSV) row(pc citybot.PublicCase) error {
	lat, lon := "", ""
	if pc.Location != nil {
		lat, lon = strconv.FormatFloat(pc.Location.Latitude, 'f', -1, 64), strconv.FormatFloat(pc.Location.Longitude, 'f', -1, 64)
	}
	opened, updated := pc.OpenedAt, pc.UpdatedAt
	if err := c.cw.Write([]string{csvSafe(string(pc.Ref)), csvSafe(pc.Topic), string(pc.Status), c.ts(&opened), c.ts(&updated),
		c.ts(pc.AnsweredAt), c.ts(pc.ResolvedAt), c.ts(pc.ExpectedBy), csvSafe(strings.Join(pc.Places, "; ")), lat, lon}); err != nil {
		return err
	}
	if c.n++; c.n%200 == 0 {
		c.cw.Flush()
		return c.cw.Error()
	}
	return nil
}

func (c *casesCSV) flush() error {
	c.cw.Flush()
	return c.cw.Error()
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
