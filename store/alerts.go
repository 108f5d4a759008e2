package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"citybot"
)

// Alerts: a trigger (migration 0050) records a 'due' alert in the same
// transaction that makes a case critical, whoever made it (intake, a
// follow-up, an officer's correction). The alerter queues it (QueueAlert),
// escalates it (EscalateAlert) and closes it (CloseAlert, TakeCase).

const alertColumns = `a.case_id, a.state, a.raised_at, a.queued_at, a.escalations, a.taken_by, a.taken_at, c.assignee, c.first_answer_at, a.redacted`

func scanAlert(s scanner) (citybot.Alert, error) {
	var (
		al                   citybot.Alert
		id                   int64
		state, raised, taken string
		queued, takenAt, ans sql.NullString
	)
	if err := s.Scan(&id, &state, &raised, &queued, &al.Escalations, &taken, &takenAt, &al.Assignee, &ans, &al.Redacted); err != nil {
		return al, err
	}
	al.Case.ID, al.State, al.TakenBy = citybot.CaseID(id), citybot.AlertState(state), taken
	al.RaisedAt, al.AnsweredAt = parseTS(raised), parseNullTS(ans)
	if t := parseNullTS(queued); t != nil {
		al.QueuedAt = *t
	}
	if t := parseNullTS(takenAt); t != nil {
		al.TakenAt = *t
	}
	return al, nil
}

// alerts loads alerts in state, oldest raised first, with their cues.
func (db *DB) alerts(ctx context.Context, q querier, where string, args ...any) ([]citybot.Alert, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts a JOIN cases c ON c.id = a.case_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []citybot.Alert
	for rows.Next() {
		al, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, al)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Case, err = caseByID(ctx, q, out[i].Case.ID); err != nil {
			return nil, err
		}
		if out[i].Cues, err = alertCues(ctx, q, out[i].Case.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// alertCues says what made a case critical: an officer's urgency tag
// when the latest urgency decision was an officer's, else the urgency
// cues of the case's latest message classified critical.
func alertCues(ctx context.Context, q querier, id citybot.CaseID) ([]string, error) {
	var by, at sql.NullString
	err := q.QueryRowContext(ctx, `SELECT set_by, at FROM tags WHERE case_id = ? AND kind = 'urgency' AND source = 'officer'
		ORDER BY at DESC, id DESC LIMIT 1`, int64(id)).Scan(&by, &at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	officer := err == nil
	var raw sql.NullString
	var msgAt string
	// The classification is JSON written by encoding/json (compact): a
	// LIKE reads it alike on both engines.
	err = q.QueryRowContext(ctx, `SELECT classification, received_at FROM messages WHERE case_id = ? AND direction = 'in'
		AND classification LIKE '%"Urgency":"critical"%' ORDER BY id DESC LIMIT 1`,
		int64(id)).Scan(&raw, &msgAt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if officer && (err != nil || at.String >= msgAt) {
		return []string{"set by " + by.String}, nil
	}
	if err != nil || !raw.Valid {
		return nil, nil
	}
	var cl citybot.Classification
	if json.Unmarshal([]byte(raw.String), &cl) != nil {
		return nil, nil
	}
	return cl.UrgencyCues, nil
}

// DueAlerts returns up to limit alerts waiting to be queued, oldest first.
func (db *DB) DueAlerts(ctx context.Context, limit int) ([]citybot.Alert, error) {
	out, err := db.alerts(ctx, db.r, `a.state = 'due' ORDER BY a.raised_at, a.case_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due alerts: %w", mapErr(err))
	}
	return out, nil
}

// OpenAlerts returns up to limit queued alerts not closed yet, oldest
// first.
func (db *DB) OpenAlerts(ctx context.Context, limit int) ([]citybot.Alert, error) {
	out, err := db.alerts(ctx, db.r, `a.state = 'open' ORDER BY a.queued_at, a.case_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: open alerts: %w", mapErr(err))
	}
	return out, nil
}

// QueueAlert queues a due alert's outbox rows and opens it, in one
// transaction. It reports false, queueing nothing, when the alert is no
// longer due (another run queued it). Errors wrap citybot.ErrNotFound
// for a case without an alert.
func (db *DB) QueueAlert(ctx context.Context, id citybot.CaseID, items []citybot.OutboxItem) (bool, error) {
	done := false
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		done = false
		now := db.now().UTC()
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM alerts WHERE case_id = ?`, int64(id)).Scan(&state); err != nil {
			return err
		}
		if state != string(citybot.AlertDue) {
			return nil
		}
		for _, it := range items {
			if _, err := insertOutbox(ctx, tx, it, now); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'open', queued_at = ? WHERE case_id = ?`, ts(now), int64(id)); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: queue alert: %w", mapErr(err))
	}
	return done, nil
}

// EscalateAlert queues the n-th escalation of an open alert and records
// it, in one transaction. It reports false, queueing nothing, when the
// alert is no longer open or already has n escalations.
func (db *DB) EscalateAlert(ctx context.Context, id citybot.CaseID, n int, items []citybot.OutboxItem) (bool, error) {
	done := false
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		done = false
		now := db.now().UTC()
		r, err := tx.ExecContext(ctx, `UPDATE alerts SET escalations = ? WHERE case_id = ? AND state = 'open' AND escalations < ?`,
			n, int64(id), n)
		if err != nil {
			return err
		}
		if k, err := r.RowsAffected(); err != nil || k == 0 {
			return err
		}
		for _, it := range items {
			if _, err := insertOutbox(ctx, tx, it, now); err != nil {
				return err
			}
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: escalate alert: %w", mapErr(err))
	}
	return done, nil
}

// CloseAlert closes a case's alert (no more escalation), recording why.
// Closing a closed alert changes nothing.
func (db *DB) CloseAlert(ctx context.Context, id citybot.CaseID, why string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'closed', closed_why = ? WHERE case_id = ? AND state <> 'closed'`,
			clip(why), int64(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: close alert: %w", mapErr(err))
	}
	return nil
}

// TakeCase assigns case id to account when nobody has it yet, the way
// the console's AssignCase does (audited as case.assign by the account),
// closes its alert, and replaces the alert rows about the case: for each
// outbox row of kind alert that is not itself an edit, edit returns the
// new text and buttons; a row already sent gets an edit row (key
// alert:CASE:taken:ROW) replacing its message, a row still pending is
// rewritten in place. All in one transaction. A case already assigned is
// left as it is (Already, TakenBy the assignee). Errors wrap
// citybot.ErrNotFound for an unknown case, and citybot.ErrForbidden when
// account is unknown, disabled, not allowed to change cases (an
// official), or not in mayRead for a sensitive case.
func (db *DB) TakeCase(ctx context.Context, id citybot.CaseID, account string, mayRead []citybot.Role,
	edit func(c citybot.Case, takenBy string, row citybot.OutboxItem) citybot.Outgoing) (citybot.TakeResult, error) {
	var res citybot.TakeResult
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		res = citybot.TakeResult{}
		v, err := caseView(ctx, tx, id)
		if err != nil {
			return err
		}
		res.Case = v.Case
		var role string
		switch err := tx.QueryRowContext(ctx, `SELECT role FROM accounts WHERE name = ? AND disabled = 0`, account).Scan(&role); {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("%w: no enabled account %q", citybot.ErrForbidden, account)
		case err != nil:
			return err
		}
		r := citybot.Role(role)
		if r != citybot.RoleAdmin && r != citybot.RoleOfficer || v.Case.Sensitive && !slices.Contains(mayRead, r) {
			return fmt.Errorf("%w: role %s may not take this case", citybot.ErrForbidden, r)
		}
		if v.Assignee != "" {
			res.TakenBy, res.Already = v.Assignee, true
			return nil
		}
		now := db.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET assignee = ?, updated_at = ? WHERE id = ?`, account, ts(now), int64(id)); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, account, "case.assign", caseSubject(id),
			map[string]any{"assignee": ""}, map[string]any{"assignee": account, "via": "alert"}); err != nil {
			return err
		}
		res.TakenBy = account
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'closed', closed_why = 'taken', taken_by = ?, taken_at = ?
			WHERE case_id = ?`, account, ts(now), int64(id)); err != nil {
			return err
		}
		return replaceAlertRows(ctx, tx, id, now, "taken", nil, func(row citybot.OutboxItem) citybot.Outgoing {
			return edit(v.Case, account, row)
		})
	})
	if err != nil {
		return res, fmt.Errorf("store: take case: %w", mapErr(err))
	}
	return res, nil
}

// replaceAlertRows replaces the alert rows of case id (kind alert, not
// edits) for which keep is false (every one when keep is nil): a row
// still pending is rewritten in place with edit's text and buttons, a row
// sent gets an edit row keyed alert:CASE:WHY:ROW replacing its message.
// A row being sent is left as it is.
func replaceAlertRows(ctx context.Context, tx querier, id citybot.CaseID, now time.Time, why string,
	keep func(citybot.OutboxItem) bool, edit func(citybot.OutboxItem) citybot.Outgoing) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE case_id = ? AND kind = 'alert' AND edit_of = ''
		AND state IN ('pending', 'sent') ORDER BY id`, int64(id))
	if err != nil {
		return err
	}
	var items []citybot.OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			rows.Close()
			return err
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, it := range items {
		if keep != nil && keep(it) {
			continue
		}
		out := edit(it)
		buttons := ""
		if len(out.Buttons) > 0 {
			b, err := json.Marshal(out.Buttons)
			if err != nil {
				return err
			}
			buttons = string(b)
		}
		switch {
		case it.State == citybot.OutboxPending:
			text, _ := citybot.CleanText(out.Text, citybot.MaxStoredText)
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET text = ?, buttons = ?, updated_at = ? WHERE id = ? AND state = 'pending'`,
				text, buttons, ts(now), int64(it.ID)); err != nil {
				return err
			}
		case it.SentID != "":
			out.Key = "alert:" + strconv.FormatInt(int64(id), 10) + ":" + why + ":" + strconv.FormatInt(int64(it.ID), 10)
			out.Platform, out.Chat, out.ChatKind, out.Edit, out.ReplyTo, out.To = it.Out.Platform, it.Out.Chat, it.Out.ChatKind, it.SentID, "", ""
			if _, err := insertOutbox(ctx, tx, citybot.OutboxItem{Out: out, Kind: citybot.OutboxAlert, Case: id}, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// RedactAlert cuts down, once, the alert messages of case id that went
// to chats where keep is false (the chats not allowed to hear of a
// sensitive case) to what edit returns, in one transaction, and marks the
// alert redacted. It reports false when it was redacted already. Errors
// wrap citybot.ErrNotFound for a case without an alert.
func (db *DB) RedactAlert(ctx context.Context, id citybot.CaseID, keep func(citybot.OutboxItem) bool,
	edit func(citybot.OutboxItem) citybot.Outgoing) (bool, error) {
	done := false
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		done = false
		var redacted bool
		if err := tx.QueryRowContext(ctx, `SELECT redacted FROM alerts WHERE case_id = ?`, int64(id)).Scan(&redacted); err != nil || redacted {
			return err
		}
		if err := replaceAlertRows(ctx, tx, id, db.now().UTC(), "redact", keep, edit); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET redacted = 1 WHERE case_id = ?`, int64(id)); err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: redact alert: %w", mapErr(err))
	}
	return done, nil
}

// TakenUnedited returns the cases taken since since whose alert rows
// include one sent after the take (it was being sent when the case was
// taken) and not yet edited to say so.
func (db *DB) TakenUnedited(ctx context.Context, since time.Time) ([]citybot.TakeResult, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT a.case_id, a.taken_by FROM alerts a
		WHERE a.state = 'closed' AND a.taken_by <> '' AND a.taken_at >= ? AND EXISTS (
			SELECT 1 FROM outbox o WHERE o.case_id = a.case_id AND o.kind = 'alert' AND o.edit_of = ''
			  AND o.state = 'sent' AND o.sent_message_id <> ''
			  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.key = 'alert:' || a.case_id || ':taken:' || o.id))`, ts(since))
	if err != nil {
		return nil, fmt.Errorf("store: taken unedited: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.TakeResult
	for rows.Next() {
		var id int64
		var r citybot.TakeResult
		if err := rows.Scan(&id, &r.TakenBy); err != nil {
			return nil, fmt.Errorf("store: taken unedited: %w", err)
		}
		r.Case.ID = citybot.CaseID(id)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: taken unedited: %w", err)
	}
	return out, nil
}

// EditTakenAlerts queues, for a taken case, the edit of every alert row
// sent without one yet (see TakenUnedited), as TakeCase does; rows still
// pending were rewritten by the take and are left alone.
func (db *DB) EditTakenAlerts(ctx context.Context, id citybot.CaseID, edit func(c citybot.Case, takenBy string, row citybot.OutboxItem) citybot.Outgoing) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var by string
		if err := tx.QueryRowContext(ctx, `SELECT taken_by FROM alerts WHERE case_id = ?`, int64(id)).Scan(&by); err != nil || by == "" {
			return err
		}
		c, err := caseByID(ctx, tx, id)
		if err != nil {
			return err
		}
		return replaceAlertRows(ctx, tx, id, db.now().UTC(), "taken",
			func(row citybot.OutboxItem) bool { return row.State == citybot.OutboxPending },
			func(row citybot.OutboxItem) citybot.Outgoing { return edit(c, by, row) })
	})
	if err != nil {
		return fmt.Errorf("store: edit taken alerts: %w", mapErr(err))
	}
	return nil
}
