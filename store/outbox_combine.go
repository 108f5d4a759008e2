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

// combinable is the condition, on outbox row o, for an acknowledgement
// that may be carried by a combined one: waiting in a group chat, never
// tried (a row tried before may already have reached the platform under
// its own text), public (not a private delivery, an edit or a file), not
// already combined, about a case. Its case must also not be sensitive
// (see combineCandidates).
const combinable = `o.state = 'pending' AND o.kind = 'ack' AND o.chat_kind IN ('group', 'channel') AND o.to_user = ''
	AND o.edit_of = '' AND o.file_name = '' AND o.batch_text = '' AND o.batch_of IS NULL AND o.attempts = 0
	AND o.last_error = '' AND o.case_id IS NOT NULL`

// maxCombineCandidates bounds how many waiting acknowledgements one
// combination reads; more than fit in one message anyway.
const maxCombineCandidates = 400

// CombineAcks turns the acknowledgement head, waiting in a group chat,
// into the carrier of one message that acknowledges it together with
// other acknowledgements waiting in the same chat. It reads the waiting
// ones (critical cases first, then oldest, at most a few hundred) and
// calls compose with the head's and theirs; compose returns the rows the
// message carries besides head (from others), the message's text and who
// it names. In one transaction the head keeps its place in its chat's
// queue with the combined text (citybot.OutboxItem.Combined), and the
// carried rows wait in sending until the head is settled: MarkSent,
// FailOutbox and MarkDeliveryUnknown on the head settle them with it,
// each exactly once.
//
// It returns false, writing nothing, when head is not such an
// acknowledgement (tried before, private, of a sensitive case, its
// reporter's identity no longer kept…), when no other one waits in its
// chat, or when compose carries none. compose runs inside the write
// transaction: it must not use the DB, and may run more than once.
func (db *DB) CombineAcks(ctx context.Context, head citybot.OutboxID,
	compose func(head citybot.AckCandidate, others []citybot.AckCandidate) (carried []citybot.OutboxID, text string, mentions []citybot.Mention),
) (bool, error) {
	now := ts(db.now())
	// A read first: in a quiet chat (the usual case) nothing waits
	// behind the head, and no write transaction is taken.
	var any int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM outbox h WHERE h.id = ? AND h.state = 'pending' AND h.kind = 'ack'
		AND EXISTS (SELECT 1 FROM outbox o INDEXED BY outbox_chat_acks
			WHERE o.platform = h.platform AND o.chat = h.chat AND o.state = 'pending' AND o.kind = 'ack' AND o.id <> h.id)`,
		int64(head)).Scan(&any)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: combine acks: %w", mapErr(err))
	}
	combined := false
	err = db.write(ctx, func(ctx context.Context, tx querier) error {
		combined = false
		cands, err := combineCandidates(ctx, tx, head, now)
		if err != nil || len(cands) < 2 || cands[0].Item.ID != head {
			return err
		}
		carried, text, mentions := compose(cands[0], cands[1:])
		if len(carried) == 0 || text == "" || len(mentions) == 0 {
			return nil
		}
		valid := map[citybot.OutboxID]bool{}
		for _, c := range cands[1:] {
			valid[c.Item.ID] = true
		}
		for _, id := range carried {
			if !valid[id] {
				return fmt.Errorf("%w: row %d is not a waiting acknowledgement of the chat", citybot.ErrInvalid, id)
			}
		}
		if err := checkMentions(text, mentions); err != nil {
			return err
		}
		enc, err := json.Marshal(encodeMentions(mentions))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE outbox SET batch_text = ?, mentions = ?, updated_at = ? WHERE id = ?`,
			text, string(enc), now, int64(head)); err != nil {
			return err
		}
		for _, id := range carried {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sending', batch_of = ?, updated_at = ? WHERE id = ? AND state = 'pending'`,
				int64(head), now, int64(id)); err != nil {
				return err
			}
		}
		combined = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: combine acks: %w", mapErr(err))
	}
	return combined, nil
}

// combineCandidates reads head (first, when it qualifies) and the other
// acknowledgements waiting in its chat that may be combined with it,
// critical cases first, then oldest.
func combineCandidates(ctx context.Context, q querier, head citybot.OutboxID, now string) ([]citybot.AckCandidate, error) {
	cols := qualified("o", outboxColumns)
	sel := `SELECT ` + cols + `, ci.platform_user_id, c.ref, c.urgency_rank, z.language, ci.language_code, c.language
		FROM outbox o JOIN cases c ON c.id = o.case_id JOIN citizens z ON z.id = c.citizen_id
		JOIN citizen_identities ci ON ci.citizen_id = c.citizen_id AND ci.platform = o.platform
		WHERE ` + combinable + ` AND c.sensitive = 0 AND ci.platform_user_id <> ''`
	scan := func(rows *sql.Rows) (citybot.AckCandidate, error) {
		var c citybot.AckCandidate
		var rank int
		var user, ref string
		dest := []any{}
		it, err := scanOutbox(scannerFunc(func(d ...any) error {
			dest = append(d, &user, &ref, &rank, &c.Chosen, &c.PlatformCode, &c.Detected)
			return rows.Scan(dest...)
		}))
		if err != nil {
			return c, err
		}
		c.Item, c.User, c.Ref, c.Critical = it, citybot.UserID(user), citybot.CaseRef(ref), rank == citybot.UrgencyCritical.Rank()
		return c, nil
	}
	var out []citybot.AckCandidate
	rows, err := q.QueryContext(ctx, sel+` AND o.id = ?`, int64(head))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return nil, err
	}
	h := out[0].Item
	rows, err = q.QueryContext(ctx, sel+` AND o.platform = ? AND o.chat = ? AND o.id <> ? AND o.next_attempt_at <= ?
		ORDER BY o.priority DESC, o.id LIMIT ?`, string(h.Out.Platform), string(h.Out.Chat), int64(head), now, maxCombineCandidates)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// scannerFunc adapts a function to the scanner interface.
type scannerFunc func(dest ...any) error

func (f scannerFunc) Scan(dest ...any) error { return f(dest...) }

// qualified prefixes each column of a comma-separated list with alias.
func qualified(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// storedMention is a mention as the outbox keeps it.
type storedMention struct {
	User  string `json:"u"`
	Start int    `json:"s"`
	End   int    `json:"e"`
}

func encodeMentions(ms []citybot.Mention) []storedMention {
	out := make([]storedMention, len(ms))
	for i, m := range ms {
		out[i] = storedMention{User: string(m.User), Start: m.Start, End: m.End}
	}
	return out
}

// decodeMentions reads a row's mentions; a damaged list reads as none.
func decodeMentions(s string) []citybot.Mention {
	if s == "" {
		return nil
	}
	var ms []storedMention
	if err := json.Unmarshal([]byte(s), &ms); err != nil {
		return nil
	}
	out := make([]citybot.Mention, len(ms))
	for i, m := range ms {
		out[i] = citybot.Mention{User: citybot.UserID(m.User), Start: m.Start, End: m.End}
	}
	return out
}

// checkMentions reports whether mentions are spans of text in order, not
// overlapping, each naming someone, and the text as clean as every text
// the outbox sends (no control, bidi or zero-width characters), so that
// it is stored as it is and the spans stay where they are.
func checkMentions(text string, ms []citybot.Mention) error {
	if clean, _ := citybot.CleanText(citybot.VisibleText(text), citybot.MaxStoredText); clean != text {
		return fmt.Errorf("%w: a combined text must hold no control or invisible characters", citybot.ErrInvalid)
	}
	prev := 0
	for _, m := range ms {
		if m.User == "" || m.Start < prev || m.End <= m.Start || m.End > len(text) {
			return fmt.Errorf("%w: mention spans must be in order, inside the text, and name someone", citybot.ErrInvalid)
		}
		prev = m.End
	}
	return nil
}

// settleCarried settles the rows a combined acknowledgement carried with
// its carrier: state and error as given; sent ones acknowledge their
// cases (from new only, audited) and record the platform's message id.
// It also forgets who the carrier named (the user ids), keeping the
// count.
func settleCarried(ctx context.Context, tx querier, carrier citybot.OutboxItem, state citybot.OutboxState, sentID, lastErr string, now time.Time) error {
	if carrier.Combined == 0 {
		return nil
	}
	blank := make([]storedMention, len(carrier.Out.Mentions))
	for i, m := range carrier.Out.Mentions {
		blank[i] = storedMention{Start: m.Start, End: m.End}
	}
	enc, err := json.Marshal(blank)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET mentions = ? WHERE id = ?`, string(enc), int64(carrier.ID)); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, case_id FROM outbox WHERE batch_of = ? AND state = 'sending'`, int64(carrier.ID))
	if err != nil {
		return err
	}
	type row struct {
		id     int64
		caseID sql.NullInt64
	}
	var carried []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.caseID); err != nil {
			rows.Close()
			return err
		}
		carried = append(carried, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range carried {
		switch state {
		case citybot.OutboxSent:
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'sent', sent_message_id = ?, last_error = '', updated_at = ? WHERE id = ?`,
				sentID, ts(now), r.id); err != nil {
				return err
			}
			if r.caseID.Valid {
				if err := acknowledgeCase(ctx, tx, citybot.CaseID(r.caseID.Int64), now); err != nil {
					return err
				}
			}
		case citybot.OutboxUnknown:
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'failed', delivery_unknown = 1, attempts = attempts + 1,
				last_error = ?, updated_at = ? WHERE id = ?`, clip(lastErr), ts(now), r.id); err != nil {
				return err
			}
			if r.caseID.Valid {
				if err := audit(ctx, tx, now, "dispatcher", "outbox.delivery_unknown", caseSubject(citybot.CaseID(r.caseID.Int64)),
					map[string]any{"outbox_id": r.id, "state": citybot.OutboxSending},
					map[string]any{"outbox_id": r.id, "state": citybot.OutboxUnknown}); err != nil {
					return err
				}
			}
		default: // failed
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ?`,
				clip(lastErr), ts(now), r.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// acknowledgeCase moves a case from new to acknowledged (only from new:
// a case an officer already moved on stays where it is), audited.
func acknowledgeCase(ctx context.Context, tx querier, id citybot.CaseID, now time.Time) error {
	r, err := tx.ExecContext(ctx, `UPDATE cases SET status = 'acknowledged', updated_at = ? WHERE id = ? AND status = 'new'`,
		ts(now), int64(id))
	if err != nil {
		return err
	}
	if n, err := r.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		return audit(ctx, tx, now, "dispatcher", "case.status", caseSubject(id),
			map[string]any{"status": citybot.StatusNew}, map[string]any{"status": citybot.StatusAcknowledged})
	}
	return nil
}
