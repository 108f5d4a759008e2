package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"citybot"
)

// The surge warning (migration 0190): the detector (accountability.Surger)
// counts the reports of the last hour and of the same hour in past weeks
// (SurgeReports), and records a surge with its alert's outbox rows in one
// transaction (RecordSurge), which refuses a surge whose places are still
// quiet, so that one surge alerts once across restarts and double runs.

// SurgeReports returns the reports (cases opened, Open311's included)
// opened in [from, to), oldest first, each with the case its citizen
// follows (Root) and that case's topic: a report grouped or merged into
// another case is the same problem, so it counts under the topic of the
// case it follows, not its own tag (a burst main's "the road is
// flooding" is not a surge of roads reports). It reads the
// cases_opened_at index.
func (db *DB) SurgeReports(ctx context.Context, from, to time.Time) ([]citybot.SurgeReport, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT c.id, r.id, r.ref, r.topic, c.places, c.sensitive, c.opened_at
		FROM cases c JOIN cases r ON r.id = COALESCE(c.duplicate_of, c.id) WHERE c.opened_at >= ? AND c.opened_at < ? ORDER BY c.opened_at, c.id`, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("store: surge reports: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.SurgeReport
	for rows.Next() {
		var r citybot.SurgeReport
		var id, root int64
		var places, opened, ref string
		if err := rows.Scan(&id, &root, &ref, &r.Topic, &places, &r.Sensitive, &opened); err != nil {
			return nil, fmt.Errorf("store: surge reports: %w", err)
		}
		r.Case, r.Root, r.RootRef, r.Places, r.OpenedAt = citybot.CaseID(id), citybot.CaseID(root), citybot.CaseRef(ref), placeList(places), parseTS(opened)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: surge reports: %w", err)
	}
	return out, nil
}

// FirstCaseAt returns when the first case was opened; ok is false when
// there is none (a new city).
func (db *DB) FirstCaseAt(ctx context.Context) (at time.Time, ok bool, err error) {
	var s sql.NullString
	if err := db.r.QueryRowContext(ctx, `SELECT MIN(opened_at) FROM cases`).Scan(&s); err != nil {
		return time.Time{}, false, fmt.Errorf("store: first case: %w", mapErr(err))
	}
	if !s.Valid {
		return time.Time{}, false, nil
	}
	return parseTS(s.String), true, nil
}

// FollowerCounts returns, for each of ids, how many citizens follow it:
// the case and the cases merged into it.
func (db *DB) FollowerCounts(ctx context.Context, ids []citybot.CaseID) (map[citybot.CaseID]int, error) {
	out := make(map[citybot.CaseID]int, len(ids))
	for _, id := range ids {
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM cases WHERE duplicate_of = ?`, int64(id)).Scan(&n); err != nil {
			return nil, fmt.Errorf("store: follower counts: %w", mapErr(err))
		}
		out[id] = n + 1
	}
	return out, nil
}

// QuietSurges returns topic's surges still quiet at now, with their
// place keys and main case.
func (db *DB) QuietSurges(ctx context.Context, topic string, now time.Time) ([]citybot.Surge, error) {
	out, err := quietSurges(ctx, db.r, topic, now)
	if err != nil {
		return nil, fmt.Errorf("store: quiet surges: %w", mapErr(err))
	}
	return out, nil
}

// quietSurges are topic's surges still quiet at now, with their keys and
// main case.
func quietSurges(ctx context.Context, q querier, topic string, now time.Time) ([]citybot.Surge, error) {
	rows, err := q.QueryContext(ctx, `SELECT place_keys, COALESCE(case_id, 0) FROM surges WHERE topic = ? AND quiet_until > ?`, topic, ts(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []citybot.Surge
	for rows.Next() {
		var raw string
		var caseID int64
		if err := rows.Scan(&raw, &caseID); err != nil {
			return nil, err
		}
		s := citybot.Surge{Topic: topic, Case: citybot.CaseID(caseID)}
		if err := json.Unmarshal([]byte(raw), &s.Keys); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RecordSurge records surge s and queues its alert (the rows build
// returns for the surge's id), audited as "surge.alert", in one
// transaction. It reports false, recording nothing, when s overlaps a
// surge of its topic still quiet at s.At (citybot.Surge.Overlaps: another
// run, or an earlier check of the same burst, alerted it). Errors wrap
// citybot.ErrInvalid for a surge without topic or keys.
func (db *DB) RecordSurge(ctx context.Context, s citybot.Surge, build func(id int64) []citybot.OutboxItem) (bool, error) {
	if s.Topic == "" || len(s.Keys) == 0 || !s.QuietUntil.After(s.At) {
		return false, fmt.Errorf("store: record surge: %w: a surge needs a topic, places and a quiet time", citybot.ErrInvalid)
	}
	done := false
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		done = false
		quiet, err := quietSurges(ctx, tx, s.Topic, s.At)
		if err != nil {
			return err
		}
		for _, old := range quiet {
			if s.Overlaps(old) {
				return nil
			}
		}
		places, _ := json.Marshal(nonNil(s.Places))
		keys, _ := json.Marshal(s.Keys)
		var caseID sql.NullInt64
		if s.Case != 0 {
			caseID = sql.NullInt64{Int64: int64(s.Case), Valid: true}
		}
		id, err := insertID(ctx, tx, `INSERT INTO surges (topic, places, place_keys, reports, usual, case_id, sensitive, at, quiet_until)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.Topic, string(places), string(keys), s.Count, s.Usual, caseID, s.Sensitive,
			ts(s.At), ts(s.QuietUntil))
		if err != nil {
			return err
		}
		now := db.now().UTC()
		items := build(id)
		for _, it := range items {
			if _, err := insertOutbox(ctx, tx, it, now); err != nil {
				return err
			}
		}
		// The audit names no citizen: topic, count and the main case.
		if err := audit(ctx, tx, now, "citybot", "surge.alert", "surge:"+strconv.FormatInt(id, 10), nil,
			map[string]any{"topic": s.Topic, "count": s.Count, "usual": s.Usual, "case": int64(s.Case), "chats": len(items)}); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: record surge: %w", mapErr(err))
	}
	return done, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ActiveSurges returns the surges still in their quiet time at now, most
// recent first, with their main case's reference: the console's banner.
func (db *DB) ActiveSurges(ctx context.Context, now time.Time) ([]citybot.Surge, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT s.id, s.topic, s.places, s.place_keys, s.reports, s.usual, COALESCE(s.case_id, 0),
		COALESCE(c.ref, ''), s.sensitive, s.at, s.quiet_until
		FROM surges s LEFT JOIN cases c ON c.id = s.case_id WHERE s.quiet_until > ? ORDER BY s.at DESC, s.id DESC LIMIT 50`, ts(now))
	if err != nil {
		return nil, fmt.Errorf("store: active surges: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.Surge
	for rows.Next() {
		var s citybot.Surge
		var places, keys, at, quiet, ref string
		var caseID int64
		if err := rows.Scan(&s.ID, &s.Topic, &places, &keys, &s.Count, &s.Usual, &caseID, &ref, &s.Sensitive, &at, &quiet); err != nil {
			return nil, fmt.Errorf("store: active surges: %w", err)
		}
		if err := errors.Join(json.Unmarshal([]byte(places), &s.Places), json.Unmarshal([]byte(keys), &s.Keys)); err != nil {
			return nil, fmt.Errorf("store: active surges: %w", err)
		}
		s.Case, s.Ref, s.At, s.QuietUntil = citybot.CaseID(caseID), citybot.CaseRef(ref), parseTS(at), parseTS(quiet)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: active surges: %w", err)
	}
	return out, nil
}
