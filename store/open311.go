package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"citybot"
)

// PublicCases returns the cases q selects as public output may show them
// (citybot.PublicCase: no text, no identity, places without digits,
// locations rounded to three decimals), newest first. Duplicates are left
// out, and so are sensitive cases (citybot.Case.Sensitive), always. It
// serves the Open311 API and the CSV export.
func (db *DB) PublicCases(ctx context.Context, q citybot.PublicCaseQuery) ([]citybot.PublicCase, error) {
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
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx, `SELECT ref, topic, status, places, latitude, longitude, opened_at, updated_at, expected_by,
		first_answer_at, resolved_at FROM cases WHERE `+strings.Join(where, " AND ")+` ORDER BY opened_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: public cases: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.PublicCase
	for rows.Next() {
		var (
			c                           citybot.PublicCase
			ref, status, places         string
			lat, lon                    sql.NullFloat64
			opened, updated             string
			expected, answered, resolve sql.NullString
		)
		if err := rows.Scan(&ref, &c.Topic, &status, &places, &lat, &lon, &opened, &updated, &expected, &answered, &resolve); err != nil {
			return nil, fmt.Errorf("store: public cases: %w", err)
		}
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
		return nil, fmt.Errorf("store: public cases: %w", err)
	}
	return out, nil
}
