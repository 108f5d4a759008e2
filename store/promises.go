package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"citybot"
)

// OverduePromises returns up to limit open cases whose promised date
// (expected_by, a day) is at or before before, most urgent then earliest
// promise first, with how many times officers were reminded of that
// promise (a promise changed since the last reminder counts from 0). The
// caller decides when a day ends in the city's time zone: before is a
// coarse bound.
func (db *DB) OverduePromises(ctx context.Context, before time.Time, limit int) ([]citybot.ReminderTarget, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, `SELECT c.id, CASE WHEN p.expected_by = c.expected_by THEN p.times ELSE 0 END,
		CASE WHEN p.expected_by = c.expected_by THEN p.reminded_at ELSE '' END
		FROM cases c LEFT JOIN promise_reminders p ON p.case_id = c.id
		WHERE c.expected_by IS NOT NULL AND c.expected_by <= ? AND c.status IN `+openStatuses+`
		ORDER BY c.urgency_rank, c.expected_by, c.id LIMIT ?`, ts(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: overdue promises: %w", mapErr(err))
	}
	var out []citybot.ReminderTarget
	for rows.Next() {
		var id int64
		var tg citybot.ReminderTarget
		var at sql.NullString
		if err := rows.Scan(&id, &tg.Reminded, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: overdue promises: %w", err)
		}
		tg.Case.ID = citybot.CaseID(id)
		if at.String != "" {
			tg.LastReminded = parseTS(at.String)
		}
		out = append(out, tg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: overdue promises: %w", err)
	}
	if err := db.fillTargetCases(ctx, out); err != nil {
		return nil, fmt.Errorf("store: overdue promises: %w", err)
	}
	return out, nil
}

// RecordPromiseReminders records that officers were reminded of each
// case's current promised date for the times[id]-th time, and queues the
// reminder rows in the same transaction. A case already reminded that
// many times of the same date is skipped, and when every case is, nothing
// is queued (a second run, a restart or a double fire sends nothing
// twice). It returns how many cases were newly recorded.
func (db *DB) RecordPromiseReminders(ctx context.Context, times map[citybot.CaseID]int, items []citybot.OutboxItem) (int, error) {
	n, err := db.recordReminders(ctx, times, items, func(ctx context.Context, tx querier, id citybot.CaseID, k int, now time.Time) (int64, error) {
		r, err := tx.ExecContext(ctx, `INSERT INTO promise_reminders (case_id, expected_by, times, reminded_at)
			SELECT id, expected_by, ?, ? FROM cases WHERE id = ? AND expected_by IS NOT NULL
			ON CONFLICT (case_id) DO UPDATE SET expected_by = excluded.expected_by, times = excluded.times, reminded_at = excluded.reminded_at
			WHERE promise_reminders.expected_by <> excluded.expected_by OR promise_reminders.times < excluded.times`,
			k, ts(now), int64(id))
		if err != nil {
			return 0, err
		}
		return r.RowsAffected()
	})
	if err != nil {
		return 0, fmt.Errorf("store: record promise reminders: %w", err)
	}
	return n, nil
}
