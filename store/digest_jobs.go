package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"citybot"
)

// DueFollowups returns up to limit resolved cases, resolved at or before
// resolvedBefore (and at most 30 days before it: later is too late to
// ask), whose citizen was not yet asked "Is it fixed?", with the
// citizen's preferred language; sensitive cases and topics in hide are
// left out. Oldest resolution first. The followers of such a case (cases
// merged into it, not sensitive, not yet asked) come too, right after it,
// each with its own citizen: every follower is asked.
func (db *DB) DueFollowups(ctx context.Context, resolvedBefore time.Time, hide []string, limit int) ([]citybot.FollowupTarget, error) {
	if limit <= 0 {
		limit = 100
	}
	args := []any{ts(resolvedBefore.AddDate(0, 0, -30)), ts(resolvedBefore)}
	excl := ""
	if len(hide) > 0 {
		excl = ` AND m.topic NOT IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(hide)), ", ") + `)`
		for _, h := range hide {
			args = append(args, h)
		}
	}
	args = append(args, limit, limit)
	// The resolved cases (m) not yet asked, or with a follower not yet
	// asked; then each of them (c) and its followers.
	rows, err := db.r.QueryContext(ctx, `WITH due AS (
		SELECT m.id, m.resolved_at FROM cases m
		WHERE m.resolved_at >= ? AND m.resolved_at <= ? AND `+db.eng.noIndex("m.status")+` = 'resolved' AND m.sensitive = 0`+excl+`
		  AND (NOT EXISTS (SELECT 1 FROM followups f WHERE f.case_id = m.id)
		    OR EXISTS (SELECT 1 FROM cases d WHERE d.duplicate_of = m.id AND d.status = 'duplicate' AND d.sensitive = 0
		        AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.case_id = d.id)))
		ORDER BY m.resolved_at, m.id LIMIT ?)
		SELECT `+caseColumns+`, COALESCE(z.language, '')`+caseFrom+`
		JOIN due ON due.id = c.id OR (c.duplicate_of = due.id AND c.status = 'duplicate')
		LEFT JOIN citizens z ON z.id = c.citizen_id
		WHERE c.sensitive = 0 AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.case_id = c.id)
		ORDER BY due.resolved_at, due.id, c.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: due followups: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.FollowupTarget
	for rows.Next() {
		var t citybot.FollowupTarget
		if t.Case, err = scanCase(withExtra{rows, &t.Language}); err != nil {
			return nil, fmt.Errorf("store: due followups: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: due followups: %w", err)
	}
	return out, nil
}

// withExtra scans the case columns followed by extra destinations.
type withExtra struct {
	s     scanner
	extra *string
}

func (w withExtra) Scan(dest ...any) error { return w.s.Scan(append(dest, w.extra)...) }

// QueueFollowup records that a case's citizen is asked "Is it fixed?" and
// queues the question (it) in the same transaction, in a group as a
// reply to the citizen's latest message in the case. It reports false when
// the case was already asked (nothing is queued then). Errors wrap
// citybot.ErrNotFound for an unknown case and citybot.ErrInvalid for a
// malformed outbox row.
func (db *DB) QueueFollowup(ctx context.Context, id citybot.CaseID, it citybot.OutboxItem) (bool, error) {
	added := false
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		if _, err := caseByID(ctx, tx, id); err != nil {
			return err
		}
		now := db.now().UTC()
		r, err := tx.ExecContext(ctx, `INSERT INTO followups (case_id, asked_at, outbox_key) VALUES (?, ?, ?) ON CONFLICT (case_id) DO NOTHING`,
			int64(id), ts(now), it.Out.Key)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return nil
		}
		added = true
		// As any row of a case: in a group, the question answers the
		// citizen's own message, so they see it is theirs.
		_, err = queueCaseItems(ctx, tx, []citybot.OutboxItem{it}, "", now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: queue followup: %w", mapErr(err))
	}
	return added, nil
}

// RecordFollowup records a citizen's answer to "Is it fixed?". Only the
// case's own citizen (platform user id user on platform p) may answer,
// once. "Not fixed" reopens the case followed (the case itself, or for a
// follower the case it was merged into) when it is resolved: to
// in_progress, by actor "citizen", in the audit log, once however many
// followers say so; reopened (may be nil) then returns, in the same
// transaction, the outbox rows that tell the case's followers. It returns
// the answering case as it is after. Errors wrap citybot.ErrNotFound when
// the case was never asked, citybot.ErrForbidden when user is not the
// case's citizen, and citybot.ErrDuplicate when the question was answered
// already.
func (db *DB) RecordFollowup(ctx context.Context, id citybot.CaseID, p citybot.Platform, user citybot.UserID, fixed bool,
	reopened func(v citybot.CaseView, by citybot.Case) []citybot.OutboxItem) (citybot.Case, error) {
	var out citybot.Case
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var answer string
		if err := tx.QueryRowContext(ctx, `SELECT answer FROM followups WHERE case_id = ?`, int64(id)).Scan(&answer); err != nil {
			return err
		}
		c, err := caseByID(ctx, tx, id)
		if err != nil {
			return err
		}
		var ok int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM citizen_identities WHERE citizen_id = ? AND platform = ? AND platform_user_id = ?`,
			int64(c.Citizen), string(p), string(user)).Scan(&ok); err != nil {
			return err
		}
		if ok == 0 {
			return fmt.Errorf("%w: only the case's citizen may answer", citybot.ErrForbidden)
		}
		if answer != "" {
			return fmt.Errorf("%w: already answered", citybot.ErrDuplicate)
		}
		now := db.now().UTC()
		answer = "not_fixed"
		if fixed {
			answer = "fixed"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE followups SET answer = ?, answered_at = ? WHERE case_id = ?`, answer, ts(now), int64(id)); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, "citizen", "case.followup", caseSubject(id), nil, map[string]any{"answer": answer}); err != nil {
			return err
		}
		out = c
		if fixed {
			return nil
		}
		main := c
		if c.Status == citybot.StatusDuplicate && c.DuplicateOf != 0 {
			if main, err = caseByID(ctx, tx, c.DuplicateOf); err != nil {
				return err
			}
		}
		if main.Status != citybot.StatusResolved {
			return nil // reopened already, or moved on
		}
		after, err := setCaseStatus(ctx, tx, now, main.ID, citybot.StatusChange{To: citybot.StatusInProgress, Actor: "citizen"})
		if err != nil {
			return err
		}
		if main.ID == c.ID {
			out = after
		}
		if reopened == nil {
			return nil
		}
		v, err := caseView(ctx, tx, main.ID)
		if err != nil {
			return err
		}
		_, err = queueCaseItems(ctx, tx, reopened(v, c), "citizen", now)
		return err
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: record followup: %w", mapErr(err))
	}
	return out, nil
}

// DueReminders returns up to limit open cases opened at or before
// openedBefore that have no first answer yet and about which officers were
// not reminded, critical first, then oldest.
func (db *DB) DueReminders(ctx context.Context, openedBefore time.Time, limit int) ([]citybot.Case, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+caseColumns+caseFrom+`
		WHERE c.status IN `+openStatuses+` AND c.first_answer_at IS NULL AND c.opened_at <= ?
		  AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.case_id = c.id)
		ORDER BY c.urgency_rank, c.opened_at, c.id LIMIT ?`, ts(openedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due reminders: %w", mapErr(err))
	}
	cs, err := collectCases(rows)
	if err != nil {
		return nil, fmt.Errorf("store: due reminders: %w", mapErr(err))
	}
	return cs, nil
}

// QueueReminders records that officers were reminded about the cases and
// queues the reminder rows in the same transaction; cases already reminded
// are skipped. It returns how many cases were newly recorded.
func (db *DB) QueueReminders(ctx context.Context, ids []citybot.CaseID, items []citybot.OutboxItem) (int, error) {
	// A first reminder: RecordReminders skips a case already reminded
	// once or more.
	times := make(map[citybot.CaseID]int, len(ids))
	for _, id := range ids {
		times[id] = 1
	}
	return db.RecordReminders(ctx, times, items)
}

// retentionBatch bounds the rows one retention transaction changes, so
// that intake never waits long behind it.
const retentionBatch = 500

// ApplyRetention removes or anonymises citizen data older than the
// policy's days, counted back from the store's clock, in small
// transactions, and returns what it changed. Data of open cases is kept.
// It stops early, with ctx's error, when ctx is cancelled.
func (db *DB) ApplyRetention(ctx context.Context, p citybot.RetentionPolicy) (citybot.RetentionResult, error) {
	var res citybot.RetentionResult
	now := db.now().UTC()
	cut := func(days int) string { return ts(now.AddDate(0, 0, -days)) }
	notOpen := `(m.case_id IS NULL OR NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = m.case_id AND c.status IN ` + openStatuses + `))`
	steps := []struct {
		days  int
		count *int
		query string
	}{
		{p.MessageDays, &res.Messages, `UPDATE messages SET text = '', classification = NULL, latitude = NULL, longitude = NULL
			WHERE id IN (SELECT m.id FROM messages m WHERE m.received_at < ?1 AND (m.text <> '' OR m.classification IS NOT NULL OR m.latitude IS NOT NULL)
			AND ` + notOpen + ` LIMIT ?2)`},
		{p.MessageDays, new(int), `DELETE FROM message_edits WHERE id IN (SELECT e.id FROM message_edits e JOIN messages m ON m.id = e.message_id
			WHERE m.received_at < ?1 AND ` + notOpen + ` LIMIT ?2)`},
		{p.AttachmentDays, &res.Attachments, `DELETE FROM attachments WHERE id IN (SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id
			WHERE m.received_at < ?1 AND ` + notOpen + ` LIMIT ?2)`},
		// A private row's person (outbox.to_user) goes with their identity.
		{p.IdentityDays, new(int), `UPDATE outbox SET to_user = '' WHERE id IN (SELECT o.id FROM outbox o
			WHERE o.to_user <> '' AND o.state IN ('sent', 'failed') AND o.updated_at < ?1
			AND NOT EXISTS (SELECT 1 FROM citizen_identities ci WHERE ci.platform = o.platform AND ci.platform_user_id = o.to_user) LIMIT ?2)`},
		{p.OutboxDays, &res.Outbox, `UPDATE outbox SET text = '', buttons = '', to_user = '', file = NULL, batch_text = '', mentions = '' WHERE id IN (SELECT id FROM outbox
			WHERE state IN ('sent', 'failed') AND updated_at < ?1 AND (text <> '' OR buttons <> '' OR to_user <> '' OR file IS NOT NULL OR batch_text <> '') LIMIT ?2)`},
	}
	if p.IdentityDays > 0 {
		n, err := db.retireIdentities(ctx, cut(p.IdentityDays))
		res.Identities += n
		if err != nil {
			return res, err
		}
	}
	for _, st := range steps {
		if st.days <= 0 {
			continue
		}
		for {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("store: retention: %w", err)
			}
			var n int64
			err := db.write(ctx, func(ctx context.Context, tx querier) error {
				r, err := tx.ExecContext(ctx, st.query, cut(st.days), retentionBatch)
				if err != nil {
					return err
				}
				n, err = r.RowsAffected()
				return err
			})
			if err != nil {
				return res, fmt.Errorf("store: retention: %w", mapErr(err))
			}
			*st.count += int(n)
			if n < retentionBatch {
				break
			}
		}
	}
	if res != (citybot.RetentionResult{}) {
		err := db.write(ctx, func(ctx context.Context, tx querier) error {
			return audit(ctx, tx, now, "scheduler", "retention.apply", "retention", nil, res)
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			return res, fmt.Errorf("store: retention: %w", mapErr(err))
		}
	}
	return res, nil
}

// retireIdentities deletes, in small transactions, the platform identity
// (name, handle, user id) of every citizen silent since cut: no message
// since, no open case and no case changed since. As /forget does, the
// audit log's texts naming them are scrubbed and their private chats'
// ids (on Telegram, their user id) erased, in the outbox too; their
// cases and anonymous counts stay. It returns how many identities went.
func (db *DB) retireIdentities(ctx context.Context, cut string) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("store: retention: %w", err)
		}
		n := 0
		err := db.write(ctx, func(ctx context.Context, tx querier) error {
			n = 0
			rows, err := tx.QueryContext(ctx, `SELECT ci.citizen_id, ci.platform, ci.name, ci.handle, ci.platform_user_id FROM citizen_identities ci
				WHERE ci.updated_at < ?1
				AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.citizen_id = ci.citizen_id AND m.received_at >= ?1)
				AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.citizen_id = ci.citizen_id AND (c.status IN `+openStatuses+` OR c.updated_at >= ?1))
				LIMIT ?2`, cut, identityBatch)
			if err != nil {
				return err
			}
			type who struct {
				id                           int64
				platform, name, handle, user string
			}
			var ws []who
			for rows.Next() {
				var w who
				if err := rows.Scan(&w.id, &w.platform, &w.name, &w.handle, &w.user); err != nil {
					rows.Close()
					return err
				}
				ws = append(ws, w)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, w := range ws {
				for _, sec := range []string{w.name, w.handle, strings.TrimPrefix(w.handle, "@"), w.user} {
					if len([]rune(sec)) < 3 {
						continue
					}
					if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET before = replace(before, ?1, ?2), after = replace(after, ?1, ?2)
						WHERE instr(before, ?1) > 0 OR instr(after, ?1) > 0`, sec, erased); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, `UPDATE outbox SET chat = 'erased', to_user = '' WHERE state <> 'pending' AND state <> 'sending'
					AND platform = ?2 AND chat IN (SELECT platform_chat_id FROM chats WHERE id IN (`+citizenPrivateChats+`))`, w.id, w.platform); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE chats SET platform_chat_id = 'erased:' || id, title = '' WHERE id IN (`+citizenPrivateChats+`)`, w.id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM citizen_identities WHERE citizen_id = ?`, w.id); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("store: retention: identities: %w", mapErr(err))
		}
		total += n
		if n < identityBatch {
			return total, nil
		}
	}
}

// identityBatch is how many identities one retention transaction retires.
const identityBatch = 100

// UnansweredCases returns open cases without a first answer opened at or
// before openedBefore, most urgent then oldest first, at most limit, with
// how many times officers were reminded of each.
func (db *DB) UnansweredCases(ctx context.Context, openedBefore time.Time, limit int) ([]citybot.ReminderTarget, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.r.QueryContext(ctx, `SELECT c.id, COALESCE(r.times, 0), COALESCE(r.reminded_at, '') FROM cases c
		LEFT JOIN reminders r ON r.case_id = c.id
		WHERE c.status IN `+openStatuses+` AND c.first_answer_at IS NULL AND c.opened_at <= ?
		ORDER BY c.urgency_rank, c.opened_at, c.id LIMIT ?`, ts(openedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("store: unanswered cases: %w", mapErr(err))
	}
	var out []citybot.ReminderTarget
	for rows.Next() {
		var id int64
		var tg citybot.ReminderTarget
		var at string
		if err := rows.Scan(&id, &tg.Reminded, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: unanswered cases: %w", err)
		}
		tg.Case.ID, tg.LastReminded = citybot.CaseID(id), parseTS(at)
		out = append(out, tg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unanswered cases: %w", err)
	}
	if err := db.fillTargetCases(ctx, out); err != nil {
		return nil, fmt.Errorf("store: unanswered cases: %w", err)
	}
	return out, nil
}

// fillTargetCases replaces each target's case, known by its id only, with
// the whole case (read after the target rows are closed: one read
// connection may be all there is).
func (db *DB) fillTargetCases(ctx context.Context, targets []citybot.ReminderTarget) error {
	for i := range targets {
		c, err := caseByID(ctx, db.r, targets[i].Case.ID)
		if err != nil {
			return mapErr(err)
		}
		targets[i].Case = c
	}
	return nil
}

// RecordReminders records that officers were reminded of each case of
// times for the times[id]-th time, and queues the reminder rows in the
// same transaction. A case already reminded that many times is skipped,
// and when every case is, nothing is queued. It returns how many cases
// were newly recorded.
func (db *DB) RecordReminders(ctx context.Context, times map[citybot.CaseID]int, items []citybot.OutboxItem) (int, error) {
	n, err := db.recordReminders(ctx, times, items, func(ctx context.Context, tx querier, id citybot.CaseID, k int, now time.Time) (int64, error) {
		r, err := tx.ExecContext(ctx, `INSERT INTO reminders (case_id, reminded_at, times) VALUES (?, ?, ?)
			ON CONFLICT (case_id) DO UPDATE SET reminded_at = excluded.reminded_at, times = excluded.times
			WHERE reminders.times < excluded.times`, int64(id), ts(now), k)
		if err != nil {
			return 0, err
		}
		return r.RowsAffected()
	})
	if err != nil {
		return 0, fmt.Errorf("store: record reminders: %w", err)
	}
	return n, nil
}

// recordReminders records, in one transaction, each case's reminder
// count of times through upsert (which reports the rows it changed) and,
// when any changed, queues items: a reminder already recorded (a double
// fire) queues nothing. It returns the rows changed; its error is mapped
// (mapErr), for the caller to wrap.
func (db *DB) recordReminders(ctx context.Context, times map[citybot.CaseID]int, items []citybot.OutboxItem,
	upsert func(ctx context.Context, tx querier, id citybot.CaseID, k int, now time.Time) (int64, error)) (int, error) {
	n := 0
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		n = 0
		now := db.now().UTC()
		for id, k := range times {
			c, err := upsert(ctx, tx, id, k, now)
			if err != nil {
				return err
			}
			n += int(c)
		}
		if n == 0 {
			return nil
		}
		for _, it := range items {
			if _, err := insertOutbox(ctx, tx, it, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, mapErr(err)
	}
	return n, nil
}

// FirstAnswers returns the cases first answered in [start, end)
// (duplicates left out, sensitive ones included: times only), with their
// urgency, opening and first answer.
func (db *DB) FirstAnswers(ctx context.Context, start, end time.Time) ([]citybot.FirstAnswer, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT urgency, opened_at, first_answer_at FROM cases
		WHERE first_answer_at >= ? AND first_answer_at < ? AND status <> 'duplicate' ORDER BY id`, ts(start), ts(end))
	if err != nil {
		return nil, fmt.Errorf("store: first answers: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.FirstAnswer
	for rows.Next() {
		var u, opened, answered string
		if err := rows.Scan(&u, &opened, &answered); err != nil {
			return nil, fmt.Errorf("store: first answers: %w", err)
		}
		out = append(out, citybot.FirstAnswer{Urgency: citybot.Urgency(u), OpenedAt: parseTS(opened), AnsweredAt: parseTS(answered)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: first answers: %w", err)
	}
	return out, nil
}
