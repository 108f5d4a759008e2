package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"citybot"
)

// reportersSQL is how many citizens reported the case of table alias t:
// its own and those of the cases merged into it, each counted once (a
// citizen whose two reports were merged counts once). Read only for a
// case with followers.
func reportersSQL(t string) string {
	return `CASE WHEN ` + t + `.followers = 0 THEN 1 ELSE (SELECT COUNT(DISTINCT r.citizen_id) FROM cases r
		WHERE r.id = ` + t + `.id OR r.duplicate_of = ` + t + `.id) END`
}

// PublicCases returns the cases q selects as public output may show them
// (citybot.PublicCase: no text, no identity, places without digits,
// locations rounded to three decimals), newest first. Duplicates are left
// out, and so are sensitive cases (citybot.Case.Sensitive), always.
// q.Offset skips that many cases first (Open311's paging; the order,
// opened_at then id, is stable). It serves the Open311 API and the CSV
// export.
func (db *DB) PublicCases(ctx context.Context, q citybot.PublicCaseQuery) ([]citybot.PublicCase, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	out, _, _, err := db.publicCasesPage(ctx, q, limit, "", 0)
	if err != nil {
		return nil, fmt.Errorf("store: public cases: %w", err)
	}
	return out, nil
}

// publicCasesPageSize is how many cases PublicCasesEach reads per query.
const publicCasesPageSize = 500

// PublicCasesEach calls fn with each case q selects, as PublicCases
// returns them (newest first, at most q.Limit, <= 0 meaning 1000), reading
// them a page at a time: no read connection is held while fn runs (a
// slow client of the CSV export holds none), and only one page is in
// memory. It stops at fn's first error and returns it.
func (db *DB) PublicCasesEach(ctx context.Context, q citybot.PublicCaseQuery, fn func(citybot.PublicCase) error) error {
	left := q.Limit
	if left <= 0 {
		left = 1000
	}
	afterOpened, afterID := "", int64(0)
	for left > 0 {
		page, lastOpened, lastID, err := db.publicCasesPage(ctx, q, min(left, publicCasesPageSize), afterOpened, afterID)
		if err != nil {
			return fmt.Errorf("store: public cases: %w", err)
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < min(left, publicCasesPageSize) {
			return nil
		}
		left -= len(page)
		afterOpened, afterID = lastOpened, lastID
	}
	return nil
}

// publicCasesPage reads up to limit cases of q, newest first, after the
// keyset (afterOpened, afterID) when afterOpened is set; it returns the
// keyset of its last row.
func (db *DB) publicCasesPage(ctx context.Context, q citybot.PublicCaseQuery, limit int, afterOpened string, afterID int64) ([]citybot.PublicCase, string, int64, error) {
	where := []string{`status <> 'duplicate'`, `sensitive = 0`}
	var args []any
	in := func(col string, vals []string) {
		where = append(where, col+` IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+`)`)
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(q.Refs) > 0 {
		refs := make([]string, len(q.Refs))
		for i, r := range q.Refs {
			refs[i] = strings.ToUpper(strings.TrimSpace(string(r)))
		}
		in("ref", refs)
	}
	if q.Topic != "" {
		where = append(where, `topic = ?`)
		args = append(args, q.Topic)
	}
	if len(q.ExcludeTopic) > 0 {
		in("topic NOT", q.ExcludeTopic)
	}
	if q.Open != nil {
		if *q.Open {
			where = append(where, `status IN `+openStatuses)
		} else {
			where = append(where, `status NOT IN `+openStatuses)
		}
	}
	if !q.After.IsZero() {
		where = append(where, `opened_at >= ?`)
		args = append(args, ts(q.After))
	}
	if !q.Before.IsZero() {
		where = append(where, `opened_at < ?`)
		args = append(args, ts(q.Before))
	}
	if q.MinReporters > 1 {
		where = append(where, `followers >= ?`)
		args = append(args, q.MinReporters-1)
	}
	if afterOpened == "" && q.Offset > 0 {
		// Paging by offset: start after the last case skipped, the
		// keyset of the order below.
		err := db.r.QueryRowContext(ctx, `SELECT opened_at, id FROM cases WHERE `+strings.Join(where, " AND ")+
			` ORDER BY opened_at DESC, id DESC LIMIT 1 OFFSET ?`, append(slices.Clone(args), q.Offset-1)...).Scan(&afterOpened, &afterID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", 0, nil // past the end
		}
		if err != nil {
			return nil, "", 0, mapErr(err)
		}
	}
	if afterOpened != "" {
		where = append(where, `(opened_at < ? OR (opened_at = ? AND id < ?))`)
		args = append(args, afterOpened, afterOpened, afterID)
	}
	args = append(args, limit)
	rows, err := db.xr.QueryContext(ctx, `SELECT id, ref, topic, status, places, latitude, longitude, opened_at, updated_at, expected_by,
		first_answer_at, resolved_at, `+reportersSQL("cases")+` FROM cases WHERE `+strings.Join(where, " AND ")+` ORDER BY opened_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", 0, mapErr(err)
	}
	defer rows.Close()
	var (
		out        []citybot.PublicCase
		lastOpened string
		lastID     int64
	)
	for rows.Next() {
		var (
			c                           citybot.PublicCase
			ref, status, places         string
			lat, lon                    sql.NullFloat64
			opened, updated             string
			expected, answered, resolve sql.NullString
		)
		if err := rows.Scan(&lastID, &ref, &c.Topic, &status, &places, &lat, &lon, &opened, &updated, &expected, &answered, &resolve, &c.Reporters); err != nil {
			return nil, "", 0, err
		}
		lastOpened = opened
		c.Ref, c.Status = citybot.CaseRef(ref), citybot.CaseStatus(status)
		c.OpenedAt, c.UpdatedAt = parseTS(opened), parseTS(updated)
		c.ExpectedBy, c.AnsweredAt, c.ResolvedAt = parseNullTS(expected), parseNullTS(answered), parseNullTS(resolve)
		var names []string
		if json.Unmarshal([]byte(places), &names) == nil {
			for _, n := range names {
				if n = db.places.Public(n); n != "" {
					c.Places = append(c.Places, n)
				}
			}
		}
		if lat.Valid && lon.Valid {
			round := func(f float64) float64 { return math.Round(f*1000) / 1000 }
			c.Location = &citybot.Location{Latitude: round(lat.Float64), Longitude: round(lon.Float64)}
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", 0, err
	}
	return out, lastOpened, lastID, nil
}
