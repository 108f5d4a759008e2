package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"citybot"
)

// CandidateCases returns the open cases that are not sensitive and match
// q: latest citizen message at or after q.Since, opened at or after
// q.OpenedSince, on one of q.Topics (any topic when empty), most recently
// active first, at most q.Limit (citybot.DefaultCandidateLimit when <= 0);
// then those among the rest in the window that name one of q.Places or lie
// around q.Around, on one of q.PlaceTopics (any when empty), at most
// q.Limit more. Texts are not filled: CaseTexts reads them for the
// few cases worth it. It reads two partial indexes only (migration 0120),
// never the table.
func (db *DB) CandidateCases(ctx context.Context, q citybot.CandidateQuery) ([]citybot.CaseCandidate, error) {
	out, err := db.candidates(ctx, q, false)
	if err != nil || (len(q.Places) == 0 && q.Around == nil) {
		return out, err
	}
	more, err := db.candidates(ctx, q, true)
	if err != nil {
		return nil, err
	}
	seen := make(map[citybot.CaseID]bool, len(out))
	for _, c := range out {
		seen[c.ID] = true
	}
	for _, c := range more {
		if !seen[c.ID] {
			out = append(out, c)
		}
	}
	return out, nil
}

func (db *DB) candidates(ctx context.Context, q citybot.CandidateQuery, byPlace bool) ([]citybot.CaseCandidate, error) {
	text, args := candidateSQL(q, byPlace)
	rows, err := db.stmts.query(ctx, db.r, text, args...)
	if err != nil {
		return nil, fmt.Errorf("store: candidate cases: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.CaseCandidate
	for rows.Next() {
		var c citybot.CaseCandidate
		var places, opened, last string
		var lat, lon sql.NullFloat64
		if err := rows.Scan(&c.ID, &c.Ref, &c.Topic, &places, &lat, &lon, &opened, &last); err != nil {
			return nil, fmt.Errorf("store: candidate cases: %w", err)
		}
		if lat.Valid && lon.Valid {
			c.Location = &citybot.Location{Latitude: lat.Float64, Longitude: lon.Float64}
		}
		c.Places = placeList(places)
		c.OpenedAt, c.LastMessageAt = quickTS(opened), quickTS(last)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: candidate cases: %w", err)
	}
	return out, nil
}

// candidateSQL is a CandidateCases statement and its arguments: by
// topic, or (byPlace) by place whatever the topic.
func candidateSQL(q citybot.CandidateQuery, byPlace bool) (string, []any) {
	limit := q.Limit
	if limit <= 0 {
		limit = citybot.DefaultCandidateLimit
	}
	var sb strings.Builder
	args := make([]any, 0, len(q.Topics)+len(q.Places)+3)
	sb.WriteString(`SELECT id, ref, topic, places, latitude, longitude, opened_at, last_message_at FROM cases `)
	if byPlace {
		// places is a JSON list of strings: a name is matched as a
		// whole element, quotes included.
		sb.WriteString(`INDEXED BY cases_grouping_recent WHERE (`)
		or := ""
		for _, p := range q.Places {
			lit, _ := json.Marshal(p)
			sb.WriteString(or + `places LIKE ? ESCAPE '!'`)
			args = append(args, "%"+likeEscaper.Replace(string(lit))+"%")
			or = ` OR `
		}
		if a := q.Around; a != nil {
			dLat, dLon := box(*a, q.AroundMeters)
			sb.WriteString(or + `(latitude BETWEEN ? AND ? AND longitude BETWEEN ? AND ?)`)
			args = append(args, a.Latitude-dLat, a.Latitude+dLat, a.Longitude-dLon, a.Longitude+dLon)
		}
		sb.WriteString(`) AND `)
		if len(q.PlaceTopics) > 0 {
			sb.WriteString(`topic IN (?` + strings.Repeat(",?", len(q.PlaceTopics)-1) + `) AND `)
			for _, t := range q.PlaceTopics {
				args = append(args, t)
			}
		}
	} else if len(q.Topics) > 0 {
		sb.WriteString(`INDEXED BY cases_grouping_topic WHERE topic IN (`)
		for i, t := range q.Topics {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('?')
			args = append(args, t)
		}
		sb.WriteString(`) AND `)
	} else {
		sb.WriteString(`INDEXED BY cases_grouping_recent WHERE `)
	}
	sb.WriteString(`status IN ` + openStatuses + ` AND sensitive = 0 AND last_message_at >= ? AND opened_at >= ?
		ORDER BY last_message_at DESC LIMIT ?`)
	args = append(args, ts(q.Since), ts(q.OpenedSince), limit)
	return sb.String(), args
}

// maxCachedStmts bounds the statements a stmtCache keeps: grouping's
// statements vary only with how many topics, places or cases they name.
const maxCachedStmts = 256

// stmtCache keeps prepared statements by their text: preparing costs
// about as much as running grouping's short queries.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// query runs text with args on pool, through the statement prepared
// once for text; past maxCachedStmts texts, without one.
func (c *stmtCache) query(ctx context.Context, pool *sql.DB, text string, args ...any) (*sql.Rows, error) {
	c.mu.Lock()
	s, ok := c.m[text]
	if !ok && !c.closed && len(c.m) < maxCachedStmts {
		var err error
		if s, err = pool.PrepareContext(ctx, text); err != nil {
			c.mu.Unlock()
			return nil, err
		}
		if c.m == nil {
			c.m = map[string]*sql.Stmt{}
		}
		c.m[text] = s
	}
	c.mu.Unlock()
	if s == nil {
		return pool.QueryContext(ctx, text, args...)
	}
	return s.QueryContext(ctx, args...)
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for _, s := range c.m {
		errs = append(errs, s.Close())
	}
	c.m = nil
	return errors.Join(errs...)
}

// box is the half-sides, in degrees, of a box of meters around a point
// (a box, not a circle: the caller measures the distance).
func box(at citybot.Location, meters float64) (dLat, dLon float64) {
	const metersPerDegree = 111_320.0
	meters = max(meters, 0)
	dLat = meters / metersPerDegree
	c := math.Cos(at.Latitude * math.Pi / 180)
	if c < 0.01 {
		return dLat, 180
	}
	return dLat, dLat / c
}

// placeList decodes a case's places, a JSON list of strings, quickly
// when no name needs escaping (most), with encoding/json otherwise. A
// damaged list only costs the case its places.
func placeList(s string) []string {
	if s == "[]" || s == "" {
		return nil
	}
	if !strings.Contains(s, `\`) && len(s) >= 4 && s[0] == '[' && s[len(s)-1] == ']' {
		var out []string
		rest := s[1 : len(s)-1]
		for rest != "" {
			if len(rest) < 2 || rest[0] != '"' {
				out = nil
				break
			}
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				out = nil
				break
			}
			out = append(out, rest[1:1+end])
			rest = rest[2+end:]
			if rest != "" {
				if rest[0] != ',' {
					out = nil
					break
				}
				rest = rest[1:]
			}
		}
		if out != nil {
			return out
		}
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil
	}
	return out
}

// quickTS parses a stored time (timeLayout, fixed width) without the
// general parser: grouping reads hundreds per report.
func quickTS(s string) time.Time {
	// 2006-01-02T15:04:05.000000Z
	if len(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return parseTS(s)
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	us, ok7 := num(20, 26)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return parseTS(s)
	}
	return time.Date(y, time.Month(mo), d, h, mi, se, us*1000, time.UTC)
}

// likeEscaper makes a text literal in a LIKE pattern written with ESCAPE
// '!'. Not a backslash: on a PostgreSQL server with
// standard_conforming_strings off, a backslash in a literal escapes the
// quote after it and the statement does not parse.
var likeEscaper = strings.NewReplacer(`!`, `!!`, `%`, `!%`, `_`, `!_`)

// maxTextCases bounds the cases one CaseTexts call reads.
const maxTextCases = 100

// CaseTexts returns, for each case of ids, the texts of its first perCase
// citizen messages that are reports (not thanks or greetings) and still
// hold a text (not erased), oldest first, the messages of the cases
// merged into it (its followers) included. A case without such a message
// is absent from the map. Errors wrap citybot.ErrInvalid when ids holds
// more than 100 cases or perCase is not positive.
func (db *DB) CaseTexts(ctx context.Context, ids []citybot.CaseID, perCase int) (map[citybot.CaseID][]string, error) {
	out := make(map[citybot.CaseID][]string, len(ids))
	switch {
	case len(ids) == 0:
		return out, nil
	case len(ids) > maxTextCases:
		return nil, fmt.Errorf("store: case texts: %w: %d cases, at most %d", citybot.ErrInvalid, len(ids), maxTextCases)
	case perCase <= 0:
		return nil, fmt.Errorf("store: case texts: %w: %d texts per case", citybot.ErrInvalid, perCase)
	}
	// A case's texts are its own and its first perCase followers' (the
	// reports merged into it, joined by grouping or by an officer), the
	// oldest first: a case grows as citizens describe it, and a case with
	// hundreds of followers costs no more than one with a few. First the
	// followers (one range of cases_duplicate_of per case), then one
	// statement with one range of messages_case per case read, each at
	// most perCase rows.
	mainOf := make(map[int64]int64, len(ids))
	read := make([]int64, 0, len(ids))
	var fb strings.Builder
	fargs := make([]any, 0, 2*len(ids))
	for i, id := range ids {
		mainOf[int64(id)] = int64(id)
		read = append(read, int64(id))
		if i > 0 {
			fb.WriteString(" UNION ALL ")
		}
		fb.WriteString(`SELECT * FROM (SELECT duplicate_of, id FROM cases WHERE duplicate_of = ? ORDER BY id LIMIT ?) AS f`)
		fargs = append(fargs, int64(id), perCase)
	}
	frows, err := db.stmts.query(ctx, db.r, fb.String(), fargs...)
	if err != nil {
		return nil, fmt.Errorf("store: case texts: %w", mapErr(err))
	}
	for frows.Next() {
		var main, f int64
		if err := frows.Scan(&main, &f); err != nil {
			frows.Close()
			return nil, fmt.Errorf("store: case texts: %w", err)
		}
		if _, seen := mainOf[f]; !seen {
			mainOf[f] = main
			read = append(read, f)
		}
	}
	frows.Close()
	if err := frows.Err(); err != nil {
		return nil, fmt.Errorf("store: case texts: %w", err)
	}
	var sb strings.Builder
	args := make([]any, 0, 2*len(read))
	for i, id := range read {
		if i > 0 {
			sb.WriteString(" UNION ALL ")
		}
		sb.WriteString(`SELECT * FROM (SELECT case_id, id, text FROM messages WHERE case_id = ? AND direction = 'in'
			AND intent = '' AND text <> '' ORDER BY id LIMIT ?) AS t`)
		args = append(args, id, perCase)
	}
	rows, err := db.stmts.query(ctx, db.r, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: case texts: %w", mapErr(err))
	}
	defer rows.Close()
	type text struct {
		msg  int64
		text string
	}
	byMain := make(map[int64][]text, len(ids))
	for rows.Next() {
		var c, msg int64
		var t string
		if err := rows.Scan(&c, &msg, &t); err != nil {
			return nil, fmt.Errorf("store: case texts: %w", err)
		}
		m := mainOf[c]
		byMain[m] = append(byMain[m], text{msg, t})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: case texts: %w", err)
	}
	for m, ts := range byMain {
		slices.SortFunc(ts, func(a, b text) int { return cmp.Compare(a.msg, b.msg) })
		for _, t := range ts[:min(len(ts), perCase)] {
			out[citybot.CaseID(m)] = append(out[citybot.CaseID(m)], t.text)
		}
	}
	return out, nil
}
