package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"citybot"
)

// suggestionVisible is the SQL condition for a suggestion officers still
// see: not dismissed, both cases open and neither sensitive (a case that
// became sensitive, or was merged or closed, drops out of every list).
const suggestionVisible = `s.dismissed_at IS NULL
	AND a.status IN ` + openStatuses + ` AND b.status IN ` + openStatuses + `
	AND a.sensitive = 0 AND b.sensitive = 0`

// AddCaseSuggestions records that cases look like others (grouping's
// suggestions), each pair once: a pair already recorded (even dismissed),
// a case missing, closed or sensitive, is skipped. It returns how many
// pairs it added. A suggestion of a case to itself is an error wrapping
// citybot.ErrInvalid, and nothing is recorded.
func (db *DB) AddCaseSuggestions(ctx context.Context, ss []citybot.CaseSuggestion) (int, error) {
	for _, s := range ss {
		if s.Case == s.Like || s.Case <= 0 || s.Like <= 0 {
			return 0, fmt.Errorf("store: add case suggestions: %w: case %d like %d", citybot.ErrInvalid, s.Case, s.Like)
		}
	}
	if len(ss) == 0 {
		return 0, nil
	}
	now := db.now().UTC()
	added := 0
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		added = 0
		for _, s := range ss {
			res, err := tx.ExecContext(ctx, `INSERT INTO case_suggestions (case_id, like_id, score, signals, created_at)
				SELECT a.id, b.id, ?, ?, ? FROM cases a, cases b
				WHERE a.id = ? AND b.id = ? AND a.status IN `+openStatuses+` AND b.status IN `+openStatuses+`
				  AND a.sensitive = 0 AND b.sensitive = 0
				ON CONFLICT (case_id, like_id) DO NOTHING`,
				s.Score, int64(s.Signals), ts(now), int64(s.Case), int64(s.Like))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			added += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: add case suggestions: %w", mapErr(err))
	}
	return added, nil
}

// CaseSuggestions returns the suggestions officers still see that name
// the case, either way (it looks like another, or another looks like it),
// best first.
func (db *DB) CaseSuggestions(ctx context.Context, id citybot.CaseID) ([]citybot.CaseSuggestion, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT s.case_id, a.ref, s.like_id, b.ref, s.score, s.signals, s.created_at
		FROM case_suggestions s JOIN cases a ON a.id = s.case_id JOIN cases b ON b.id = s.like_id
		WHERE s.case_id = ? AND `+suggestionVisible+`
		UNION ALL
		SELECT s.case_id, a.ref, s.like_id, b.ref, s.score, s.signals, s.created_at
		FROM case_suggestions s JOIN cases a ON a.id = s.case_id JOIN cases b ON b.id = s.like_id
		WHERE s.like_id = ? AND `+suggestionVisible+`
		ORDER BY 5 DESC, 1, 3`, int64(id), int64(id))
	if err != nil {
		return nil, fmt.Errorf("store: case suggestions: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.CaseSuggestion
	for rows.Next() {
		var s citybot.CaseSuggestion
		var signals int64
		var at string
		if err := rows.Scan(&s.Case, &s.CaseRef, &s.Like, &s.LikeRef, &s.Score, &signals, &at); err != nil {
			return nil, fmt.Errorf("store: case suggestions: %w", err)
		}
		s.Signals, s.At = uint16(signals), parseTS(at)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: case suggestions: %w", err)
	}
	return out, nil
}

// SuggestionCounts returns, for each case of ids, how many open cases
// still suggested look like it ("3 reports look like this one"); cases
// with none are absent. At most 500 ids, or an error wrapping
// citybot.ErrInvalid.
func (db *DB) SuggestionCounts(ctx context.Context, ids []citybot.CaseID) (map[citybot.CaseID]int, error) {
	out := map[citybot.CaseID]int{}
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > 500 {
		return nil, fmt.Errorf("store: suggestion counts: %w: %d cases, at most 500", citybot.ErrInvalid, len(ids))
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = int64(id)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT s.like_id, count(*) FROM case_suggestions s
		JOIN cases a ON a.id = s.case_id JOIN cases b ON b.id = s.like_id
		WHERE s.like_id IN (?`+strings.Repeat(",?", len(ids)-1)+`) AND `+suggestionVisible+`
		GROUP BY s.like_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: suggestion counts: %w", mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id citybot.CaseID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("store: suggestion counts: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: suggestion counts: %w", err)
	}
	return out, nil
}

// DismissCaseSuggestion records that an officer found the case is not the
// same problem as like: the pair is no longer shown, nor suggested again.
// Audited as case.suggestion_dismiss on the case. An error wraps
// citybot.ErrNotFound when no such suggestion is shown.
func (db *DB) DismissCaseSuggestion(ctx context.Context, id, like citybot.CaseID, actor string) error {
	now := db.now().UTC()
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var likeRef string
		err := tx.QueryRowContext(ctx, `SELECT b.ref FROM case_suggestions s JOIN cases a ON a.id = s.case_id JOIN cases b ON b.id = s.like_id
			WHERE s.case_id = ? AND s.like_id = ? AND `+suggestionVisible, int64(id), int64(like)).Scan(&likeRef)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("suggestion of case %d like %d: %w", id, like, citybot.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE case_suggestions SET dismissed_at = ?, dismissed_by = ? WHERE case_id = ? AND like_id = ?`,
			ts(now), actor, int64(id), int64(like)); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "case.suggestion_dismiss", caseSubject(id), nil, map[string]string{"like": likeRef})
	})
	if err != nil {
		return fmt.Errorf("store: dismiss case suggestion: %w", mapErr(err))
	}
	return nil
}
