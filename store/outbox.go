package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"citybot"
)

const outboxColumns = `id, key, kind, platform, chat, chat_kind, reply_to, text, buttons, case_id, state, attempts,
	next_attempt_at, last_error, sent_message_id, created_at, updated_at, delivery_unknown, to_user, edit_of, file_name, file, chart_week,
	batch_text, mentions, claimed_by`

func scanOutbox(s scanner) (citybot.OutboxItem, error) {
	var (
		it                                  citybot.OutboxItem
		id                                  int64
		key, kind, plat, chat, chatKind     string
		replyTo, text, buttons, state       string
		caseID                              sql.NullInt64
		next, lastErr, sentID, created, upd string
		unknown                             bool
		to, editOf, fileName, chartWeek     string
		file                                []byte
		batchText, mentions, claimedBy      string
	)
	if err := s.Scan(&id, &key, &kind, &plat, &chat, &chatKind, &replyTo, &text, &buttons, &caseID, &state,
		&it.Attempts, &next, &lastErr, &sentID, &created, &upd, &unknown, &to, &editOf, &fileName, &file, &chartWeek,
		&batchText, &mentions, &claimedBy); err != nil {
		return it, err
	}
	if unknown && state == string(citybot.OutboxFailed) {
		state = string(citybot.OutboxUnknown)
	}
	it.ID = citybot.OutboxID(id)
	it.Out = citybot.Outgoing{Key: key, Platform: citybot.Platform(plat), Chat: citybot.ChatID(chat),
		ChatKind: citybot.ChatKind(chatKind), ReplyTo: citybot.PlatformMessageID(replyTo), Text: text, To: citybot.UserID(to),
		Edit: citybot.PlatformMessageID(editOf)}
	if fileName != "" {
		// A sent row's file is dropped: its Data is then nil.
		it.Out.File = &citybot.File{Name: fileName, Data: file}
	}
	if buttons != "" {
		if err := json.Unmarshal([]byte(buttons), &it.Out.Buttons); err != nil {
			it.Out.Buttons = nil
		}
	}
	it.Kind, it.Case, it.State = citybot.OutboxKind(kind), citybot.CaseID(caseID.Int64), citybot.OutboxState(state)
	it.NextAttemptAt, it.LastError, it.SentID = parseTS(next), lastErr, citybot.PlatformMessageID(sentID)
	it.CreatedAt, it.UpdatedAt = parseTS(created), parseTS(upd)
	it.ChartWeek = citybot.Week(chartWeek)
	it.ClaimedBy = claimedBy
	if batchText != "" {
		// A carrier of a combined acknowledgement sends the combined
		// message, to the whole group: it replies to no one message.
		it.Out.Text, it.Out.ReplyTo = batchText, ""
		it.Out.Mentions = decodeMentions(mentions)
		it.Combined = len(it.Out.Mentions)
	}
	return it, nil
}

// platformList returns "(?, ?…)" and its arguments.
func platformList(ps []citybot.Platform) (string, []any) {
	marks := make([]string, len(ps))
	args := make([]any, len(ps))
	for i, p := range ps {
		marks[i], args[i] = "?", string(p)
	}
	return "(" + strings.Join(marks, ", ") + ")", args
}

// open311NotSent is why a row about an Open311 report is not sent, in
// words officers read.
const open311NotSent = "not sent: this report came from another app (Open311), which has no chat to answer; the app shows its status"

// insertOutbox queues one row; a row with the same key already queued
// makes it a no-op that reports false. A row whose State is
// citybot.OutboxFailed is stored as given up at once, with its LastError
// (a private row whose citizen cannot be reached privately).
//
// A row for an Open311 report (platform citybot.Open311: another app's
// report, with no chat to answer) is recorded as given up at once, with
// open311NotSent as its reason: an officer's answer or a notice about the
// case is kept and counted (first answer, status) but never sent.
func insertOutbox(ctx context.Context, q querier, it citybot.OutboxItem, now time.Time) (bool, error) {
	o := it.Out
	if o.Key == "" || !o.Platform.Intakes() || o.Chat == "" {
		return false, fmt.Errorf("%w: an outbox row needs a key, a known platform and a chat", citybot.ErrInvalid)
	}
	if o.Platform == citybot.Open311 {
		it.State, it.LastError = citybot.OutboxFailed, open311NotSent
	}
	kind := it.Kind
	if kind == "" {
		kind = citybot.OutboxNotice
	}
	if (kind == citybot.OutboxChart) != (it.ChartWeek != "") {
		return false, fmt.Errorf("%w: a chart row, and only one, names the week of its chart", citybot.ErrInvalid)
	}
	var buttons string
	if len(o.Buttons) > 0 {
		// Labels reach the citizen: no bidi or zero-width characters.
		bs := make([][]citybot.Button, len(o.Buttons))
		for i, row := range o.Buttons {
			bs[i] = make([]citybot.Button, len(row))
			for j, btn := range row {
				bs[i][j] = citybot.Button{Label: citybot.VisibleText(btn.Label), Data: btn.Data}
			}
		}
		b, err := json.Marshal(bs)
		if err != nil {
			return false, err
		}
		buttons = string(b)
	}
	var caseID sql.NullInt64
	if it.Case != 0 {
		caseID = sql.NullInt64{Int64: int64(it.Case), Valid: true}
	}
	next := it.NextAttemptAt
	if next.IsZero() {
		next = now
	}
	// Everything sent to a citizen goes through here: no bidi override or
	// zero-width character reaches them, whoever wrote the text.
	text, _ := citybot.CleanText(citybot.VisibleText(o.Text), citybot.MaxStoredText)
	state, lastErr := "pending", ""
	if it.State == citybot.OutboxFailed {
		state, lastErr = "failed", it.LastError
	}
	// A check then a plain INSERT (see insertID for why not ON CONFLICT);
	// writes are serialised, so nothing comes between the two.
	var one int
	switch err := q.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE key = ?`, o.Key).Scan(&one); {
	case err == nil:
		return false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, err
	}
	if kind == citybot.OutboxReply && o.ChatKind == citybot.ChatPrivate && o.To == "" && state == "pending" {
		// A citizen repeating a command in their private chat (/status
		// ten times a second) gets its answer once: while the same
		// answer (text and buttons) still waits in that chat, it is not
		// queued again. (The repeated state IN term lets SQLite use the
		// partial index outbox_chat_queue.)
		switch err := q.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE platform = ? AND chat = ?
			AND state IN ('pending', 'sending') AND state = 'pending' AND kind = 'reply' AND chat_kind = 'private'
			AND to_user = '' AND text = ? AND buttons = ? LIMIT 1`,
			string(o.Platform), string(o.Chat), text, buttons).Scan(&one); {
		case err == nil:
			return false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return false, err
		}
		// A citizen flooding commands (/status, /help, /start in turn)
		// gets at most maxPendingReplies answers waiting in their chat;
		// the others are coalesced away, so that one chat never takes
		// the platform's sending rate from everyone else.
		var waiting int
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE platform = ? AND chat = ?
			AND state IN ('pending', 'sending') AND kind = 'reply' AND chat_kind = 'private' AND to_user = ''`,
			string(o.Platform), string(o.Chat)).Scan(&waiting); err != nil {
			return false, err
		}
		if waiting >= maxPendingReplies {
			return false, nil
		}
	}
	// A row about a critical case jumps the queue (see ClaimOutbox).
	priority := 0
	if caseID.Valid {
		var rank int
		switch err := q.QueryRowContext(ctx, `SELECT urgency_rank FROM cases WHERE id = ?`, caseID.Int64).Scan(&rank); {
		case err == nil:
			if rank == citybot.UrgencyCritical.Rank() {
				priority = 1
			}
		case !errors.Is(err, sql.ErrNoRows):
			return false, err
		}
	}
	fileName, file := "", []byte(nil)
	if o.File != nil {
		fileName, file = o.File.Name, o.File.Data
		if fileName == "" {
			fileName = "document"
		}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO outbox
		(key, kind, platform, chat, chat_kind, reply_to, text, buttons, case_id, state, last_error, next_attempt_at, created_at, updated_at, to_user, priority, edit_of, file_name, file, chart_week)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Key, string(kind), string(o.Platform), string(o.Chat), string(o.ChatKind), string(o.ReplyTo), text, buttons,
		caseID, state, lastErr, ts(next), ts(now), ts(now), string(o.To), priority, string(o.Edit), fileName, file, string(it.ChartWeek))
	return err == nil, err
}

// maxPendingReplies is how many answers to commands may wait at once in
// one private chat (see insertOutbox).
const maxPendingReplies = 3

// Enqueue queues outgoing messages in one transaction, in order. A row
// whose key is already queued is skipped: queueing is idempotent. It
// returns how many rows were new. Errors wrap citybot.ErrInvalid for a row
// without key, platform or chat (and then nothing is queued).
func (db *DB) Enqueue(ctx context.Context, items ...citybot.OutboxItem) (int, error) {
	n := 0
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		n = 0
		now := db.now().UTC()
		for _, it := range items {
			added, err := insertOutbox(ctx, tx, it, now)
			if err != nil {
				return err
			}
			if added {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue: %w", mapErr(err))
	}
	return n, nil
}

// OutboxHeads returns up to limit due rows of the given platforms that
// ClaimOutbox would claim, in the same order (critical first, then oldest
// due), without claiming them: a read, which takes no write transaction.
// The Dispatcher reads the heads, asks each platform's rate limiter for a
// slot, and claims (ClaimOutboxIDs) only the rows that can go now.
func (db *DB) OutboxHeads(ctx context.Context, platforms []citybot.Platform, limit int) ([]citybot.OutboxItem, error) {
	if limit <= 0 || len(platforms) == 0 {
		return nil, nil
	}
	out, err := outboxHeads(ctx, db.r, ts(db.now()), platforms, limit)
	if err != nil {
		return nil, fmt.Errorf("store: outbox heads: %w", mapErr(err))
	}
	return out, nil
}

// ClaimOutboxIDs marks the rows with these ids that are still pending as
// sending, claimed by claimer (the name of the citybot process that is
// about to send them, which keeps its heartbeat: InstanceHeartbeat), in
// one transaction, and returns them in the order of ids; rows no longer
// pending are left out. Each row is claimed once, even by several
// processes on one database: on PostgreSQL a row another transaction is
// claiming is skipped (FOR UPDATE SKIP LOCKED); SQLite runs one write
// transaction at a time. Errors wrap citybot.ErrInvalid for an empty
// claimer.
func (db *DB) ClaimOutboxIDs(ctx context.Context, claimer string, ids []citybot.OutboxID) ([]citybot.OutboxItem, error) {
	if strings.TrimSpace(claimer) == "" {
		return nil, fmt.Errorf("store: claim outbox: %w: a claim names its claimer", citybot.ErrInvalid)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var out []citybot.OutboxItem
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		out = out[:0]
		for _, id := range ids {
			it, err := scanOutbox(tx.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ? AND state = 'pending'`+skipLocked(tx), int64(id)))
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return markClaimed(ctx, tx, ts(db.now()), claimer, out)
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox: %w", mapErr(err))
	}
	return out, nil
}

// outboxHeads selects up to limit claimable rows (see ClaimOutbox).
func outboxHeads(ctx context.Context, q querier, now string, platforms []citybot.Platform, limit int) ([]citybot.OutboxItem, error) {
	in, pargs := platformList(platforms)
	// Walking outbox_claim in its order stops after limit heads instead
	// of sorting every due row (thousands in a surge) on each claim.
	rows, err := q.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox o INDEXED BY outbox_claim
		WHERE o.state = 'pending' AND o.next_attempt_at <= ? AND o.platform IN `+in+`
		  AND NOT EXISTS (SELECT 1 FROM outbox p
			WHERE p.platform = o.platform AND p.chat = o.chat AND p.id < o.id AND p.state IN ('pending', 'sending'))
		ORDER BY o.priority DESC, o.next_attempt_at, o.id LIMIT ?`, append(append([]any{now}, pargs...), limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []citybot.OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// markClaimed sets rows to sending, claimed by claimer.
func markClaimed(ctx context.Context, tx querier, now, claimer string, items []citybot.OutboxItem) error {
	for i := range items {
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sending', claimed_by = ?, updated_at = ? WHERE id = ?`,
			claimer, now, int64(items[i].ID)); err != nil {
			return err
		}
		items[i].State, items[i].ClaimedBy = citybot.OutboxSending, claimer
	}
	return nil
}

// MarkSent records that a claimed row was delivered: the row becomes sent,
// the outbound message is stored (attached to the row's case, so that a
// citizen's reply to it joins the case), and an acknowledgement moves its
// case from new to acknowledged. It goes ahead of other writes waiting to
// commit (ingests, claims), so that the time in which a crash would make
// the row go out twice stays short under load. Errors wrap
// citybot.ErrNotFound for an unknown row.
func (db *DB) MarkSent(ctx context.Context, id citybot.OutboxID, sent citybot.Sent) error {
	// Urgent: until this commits, a crash would send the row again.
	err := db.writeUrgent(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		it, err := scanOutbox(tx.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, int64(id)))
		if err != nil {
			return err
		}
		if it.State == citybot.OutboxSent {
			return nil
		}
		// A sent file's bytes are dropped (the name stays): the outbox
		// keeps no second copy of what it carried.
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', sent_message_id = ?, last_error = '', updated_at = ?, file = NULL WHERE id = ?`,
			string(sent.ID), ts(now), int64(id)); err != nil {
			return err
		}
		var caseID sql.NullInt64
		if it.Case != 0 {
			caseID = sql.NullInt64{Int64: int64(it.Case), Valid: true}
		}
		// A private row went to a chat only the adapter knows: it is not
		// recorded under Chat (the group), where its message id means
		// another message. An alert to officers is not part of the
		// case's conversation (a reply to it must not join the case),
		// and an edit changed a message already recorded.
		if sent.ID != "" && it.Out.To == "" && it.Kind != citybot.OutboxAlert && it.Out.Edit == "" {
			chatID, err := upsertChat(ctx, tx, it.Out.Platform, it.Out.Chat, it.Out.ChatKind, "", now)
			if err != nil {
				return err
			}
			sentAt := sent.SentAt
			if sentAt.IsZero() {
				sentAt = now
			}
			err = undoable(ctx, tx, func() error {
				_, err := tx.ExecContext(ctx, `INSERT INTO messages
					(direction, chat_id, platform_message_id, case_id, outbox_id, reply_to, text, sent_at, received_at)
					VALUES ('out', ?, ?, ?, ?, ?, ?, ?, ?)`,
					chatID, string(sent.ID), caseID, int64(id), string(it.Out.ReplyTo), it.Out.Text, ts(sentAt), ts(now))
				return err
			})
			// A platform that reuses a message id: keep the first record.
			if err != nil && !errors.Is(mapErr(err), citybot.ErrDuplicate) {
				return err
			}
		}
		if it.Kind == citybot.OutboxAck && it.Case != 0 {
			// new → acknowledged, and only from new: a case an officer
			// already moved on stays where it is.
			if err := acknowledgeCase(ctx, tx, it.Case, now); err != nil {
				return err
			}
		}
		// The acknowledgements a combined one carried were sent with it.
		return settleCarried(ctx, tx, it, citybot.OutboxSent, string(sent.ID), "", now)
	})
	if err != nil {
		return fmt.Errorf("store: mark sent: %w", mapErr(err))
	}
	return nil
}

// RetryOutbox puts a claimed row back to pending, due at next, recording
// lastErr (which must already be safe to show staff). countAttempt adds
// one to the row's attempts. Errors wrap citybot.ErrNotFound for an
// unknown row.
func (db *DB) RetryOutbox(ctx context.Context, id citybot.OutboxID, next time.Time, countAttempt bool, lastErr string) error {
	inc := 0
	if countAttempt {
		inc = 1
	}
	return db.updateOutbox(ctx, "retry outbox", `UPDATE outbox SET state = 'pending', next_attempt_at = ?, attempts = attempts + ?,
		last_error = ?, updated_at = ? WHERE id = ?`, ts(next), inc, clip(lastErr), ts(db.now()), int64(id))
}

// FailOutbox gives up on a row for good, recording lastErr and counting
// the attempt. When a failure follow-up is set (SetFailureFollowup), the
// rows it returns for the failed row are queued in the same transaction,
// each once by its key: a crash never loses them nor queues them twice.
// Errors wrap citybot.ErrNotFound for an unknown row.
func (db *DB) FailOutbox(ctx context.Context, id citybot.OutboxID, lastErr string) error {
	follow := db.onFail.Load()
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		r, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ?
			WHERE id = ?`, clip(lastErr), ts(db.now()), int64(id))
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, sql.ErrNoRows)
		}
		it, err := scanOutbox(tx.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, int64(id)))
		if err != nil {
			return err
		}
		// The acknowledgements a combined one carried fail with it.
		if err := settleCarried(ctx, tx, it, citybot.OutboxFailed, "", lastErr, db.now().UTC()); err != nil {
			return err
		}
		if follow == nil {
			return nil
		}
		for _, f := range (*follow)(it) {
			if _, err := insertOutbox(ctx, tx, f, db.now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: fail outbox: %w", mapErr(err))
	}
	return nil
}

// SetFailureFollowup sets the function that, when a row is given up for
// good (FailOutbox), returns the rows to queue about it (an alert to
// admins that a public post failed); nil removes it. f runs inside the
// write transaction: it must not use the DB and should be quick.
func (db *DB) SetFailureFollowup(f func(failed citybot.OutboxItem) []citybot.OutboxItem) {
	if f == nil {
		db.onFail.Store(nil)
		return
	}
	db.onFail.Store(&f)
}

func (db *DB) updateOutbox(ctx context.Context, op, query string, args ...any) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		r, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return errors.Join(err, sql.ErrNoRows)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, mapErr(err))
	}
	return nil
}

func clip(s string) string {
	s, _ = citybot.CleanText(s, 1000)
	return s
}

// SendingOutbox returns every row of the given platforms in sending, in
// queue order, whoever claimed it (ClaimedBy) and whether that process
// still lives (see AbandonedOutbox). UpdatedAt is when the row was
// claimed. Rows a combined acknowledgement carries are left out: they
// are settled with their carrier.
func (db *DB) SendingOutbox(ctx context.Context, platforms []citybot.Platform) ([]citybot.OutboxItem, error) {
	out, err := db.sendingOutbox(ctx, platforms, "")
	if err != nil {
		return nil, fmt.Errorf("store: sending outbox: %w", err)
	}
	return out, nil
}

// sendingOutbox reads the carriers of the given platforms in sending
// that meet cond (on the row o, with its arguments args), when cond is
// not "".
func (db *DB) sendingOutbox(ctx context.Context, platforms []citybot.Platform, cond string, args ...any) ([]citybot.OutboxItem, error) {
	if len(platforms) == 0 {
		return nil, nil
	}
	in, pargs := platformList(platforms)
	if cond != "" {
		cond = " AND " + cond
	}
	args = append(pargs, args...)
	// The partial index of rows in sending: never a scan of the sent ones.
	rows, err := db.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox o INDEXED BY outbox_sending
		WHERE o.state = 'sending' AND o.batch_of IS NULL AND o.platform IN `+in+cond+` ORDER BY o.id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []citybot.OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// MarkDeliveryUnknown gives up on a row a dead process left in sending
// without sending it again: it becomes citybot.OutboxUnknown (stored as
// failed, flagged), with lastErr (safe to show staff) and one more
// attempt. Only a row whose claimer is gone (see AbandonedOutbox) is
// settled: a live process's row in flight is never touched, and when two
// processes settle the same row, one does. The row's case keeps its
// status: an acknowledgement given up this way leaves its case new, at
// the top of the officers' inbox. The audit log records it against the
// case. It returns the case's reference ("" for a row without a case).
// Errors wrap citybot.ErrNotFound when no row with this id is in sending
// by a dead claimer.
func (db *DB) MarkDeliveryUnknown(ctx context.Context, id citybot.OutboxID, lastErr string) (citybot.CaseRef, error) {
	var ref citybot.CaseRef
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		ref = ""
		now := db.now().UTC()
		it, err := scanOutbox(tx.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox o
			WHERE o.id = ? AND o.state = 'sending' AND `+claimerGone+skipLocked(tx), int64(id), ts(now)))
		if err != nil {
			return err
		}
		caseID := sql.NullInt64{Int64: int64(it.Case), Valid: it.Case != 0}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'failed', delivery_unknown = 1, attempts = attempts + 1,
			last_error = ?, updated_at = ? WHERE id = ?`, clip(lastErr), ts(now), int64(id)); err != nil {
			return err
		}
		// So are the acknowledgements a combined one carried, each
		// audited against its case.
		if err := settleCarried(ctx, tx, it, citybot.OutboxUnknown, "", lastErr, now); err != nil {
			return err
		}
		if !caseID.Valid {
			return nil
		}
		var r string
		if err := tx.QueryRowContext(ctx, `SELECT ref FROM cases WHERE id = ?`, caseID.Int64).Scan(&r); err != nil {
			return err
		}
		ref = citybot.CaseRef(r)
		return audit(ctx, tx, now, "dispatcher", "outbox.delivery_unknown", caseSubject(citybot.CaseID(caseID.Int64)),
			map[string]any{"outbox_id": int64(id), "state": citybot.OutboxSending},
			map[string]any{"outbox_id": int64(id), "state": citybot.OutboxUnknown})
	})
	if err != nil {
		return "", fmt.Errorf("store: mark delivery unknown: %w", mapErr(err))
	}
	return ref, nil
}

// OutboxStats counts the rows still to send and those given up, and finds
// the creation time of the oldest row still to send.
func (db *DB) OutboxStats(ctx context.Context) (citybot.OutboxStats, error) {
	var s citybot.OutboxStats
	var oldest sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')),
		(SELECT COUNT(*) FROM outbox WHERE state = 'failed'),
		(SELECT MIN(created_at) FROM outbox WHERE state IN ('pending', 'sending'))`).Scan(&s.Pending, &s.Failed, &oldest)
	if err != nil {
		return s, fmt.Errorf("store: outbox stats: %w", mapErr(err))
	}
	if t := parseNullTS(oldest); t != nil {
		s.Oldest = *t
	}
	return s, nil
}

// NextOutboxDueAfter is NextOutboxDue among the rows due after after: the
// rows due by then are the ones a claim reads (and may have left waiting
// for their rate limit), so that a caller can sleep until the next row
// comes due.
func (db *DB) NextOutboxDueAfter(ctx context.Context, platforms []citybot.Platform, after time.Time) (next time.Time, ok bool, err error) {
	return db.nextOutboxDue(ctx, platforms, ts(after))
}

func (db *DB) nextOutboxDue(ctx context.Context, platforms []citybot.Platform, after string) (next time.Time, ok bool, err error) {
	if len(platforms) == 0 {
		return time.Time{}, false, nil
	}
	in, pargs := platformList(platforms)
	var v sql.NullString
	if err := db.r.QueryRowContext(ctx, `SELECT MIN(o.next_attempt_at) FROM outbox o
		WHERE o.state = 'pending' AND o.next_attempt_at > ? AND o.platform IN `+in+` AND NOT EXISTS (SELECT 1 FROM outbox p
			WHERE p.platform = o.platform AND p.chat = o.chat AND p.id < o.id AND p.state IN ('pending', 'sending'))`,
		append([]any{after}, pargs...)...).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("store: next outbox due: %w", mapErr(err))
	}
	if t := parseNullTS(v); t != nil {
		return *t, true, nil
	}
	return time.Time{}, false, nil
}

// OutboxItem returns the outbox row with this key, or an error wrapping
// citybot.ErrNotFound.
func (db *DB) OutboxItem(ctx context.Context, key string) (citybot.OutboxItem, error) {
	it, err := scanOutbox(db.r.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE key = ?`, key))
	if err != nil {
		return it, fmt.Errorf("store: outbox item: %w", mapErr(err))
	}
	return it, nil
}

// OutboxItems returns the outbox rows whose key starts with prefix (every
// row when prefix is empty), in queue order.
func (db *DB) OutboxItems(ctx context.Context, prefix string) ([]citybot.OutboxItem, error) {
	// Escape LIKE wildcards so that the prefix is taken literally.
	rows, err := db.r.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE key LIKE ? ESCAPE '!' ORDER BY id`, likeEscaper.Replace(prefix)+"%")
	if err != nil {
		return nil, fmt.Errorf("store: outbox items: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("store: outbox items: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: outbox items: %w", err)
	}
	return out, nil
}

// Cursor returns the value stored for key, or "" when none is. It
// implements bots.Cursors.
func (db *DB) Cursor(ctx context.Context, key string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, `SELECT value FROM cursors WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: cursor: %w", mapErr(err))
	}
	return v, nil
}

// SetCursor stores value for key, replacing any earlier value. It
// implements bots.Cursors.
func (db *DB) SetCursor(ctx context.Context, key, value string) error {
	if key == "" {
		return fmt.Errorf("store: set cursor: %w: empty key", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, key, value, ts(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set cursor: %w", mapErr(err))
	}
	return nil
}
