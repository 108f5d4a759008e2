package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"citybot"
)

// CitizenByIdentity returns the citizen behind a platform user id, or an
// error wrapping citybot.ErrNotFound (never seen, or erased).
func (db *DB) CitizenByIdentity(ctx context.Context, p citybot.Platform, user citybot.UserID) (citybot.CitizenID, error) {
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT citizen_id FROM citizen_identities WHERE platform = ? AND platform_user_id = ?`,
		string(p), string(user)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: citizen by identity: %w", mapErr(err))
	}
	return citybot.CitizenID(id), nil
}

// citizenChats are the private chats a citizen wrote in: what is sent
// there is addressed to them alone.
const citizenPrivateChats = `SELECT id FROM chats WHERE kind = 'private' AND id IN (SELECT chat_id FROM messages WHERE citizen_id = ?1)`

// CitizenData returns what the city holds about a citizen: identity,
// messages (oldest first), cases and the answers sent to them (in their
// cases' chats or their private chats; never officers' alerts). Errors
// wrap citybot.ErrNotFound for an unknown citizen.
func (db *DB) CitizenData(ctx context.Context, id citybot.CitizenID) (citybot.CitizenData, error) {
	d := citybot.CitizenData{Citizen: id, Messages: []citybot.CitizenDataEntry{}, Cases: []citybot.CitizenDataCase{}, Answers: []citybot.CitizenDataEntry{}}
	err := func(q querier) error {
		var p, created string
		if err := q.QueryRowContext(ctx, `SELECT platform, language, created_at FROM citizens WHERE id = ?`, int64(id)).Scan(&p, &d.Language, &created); err != nil {
			return err
		}
		d.Platform, d.FirstSeen = citybot.Platform(p), parseTS(created)
		err := q.QueryRowContext(ctx, `SELECT name, handle FROM citizen_identities WHERE citizen_id = ?`, int64(id)).Scan(&d.Name, &d.Handle)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT m.received_at, COALESCE(c.ref, ''), m.text FROM messages m LEFT JOIN cases c ON c.id = m.case_id
			WHERE m.citizen_id = ?1 AND m.direction = 'in' ORDER BY m.id`, int64(id))
		if err != nil {
			return err
		}
		if d.Messages, err = scanEntries(rows, d.Messages); err != nil {
			return err
		}
		rows, err = q.QueryContext(ctx, `SELECT ref, topic, status, opened_at, places FROM cases WHERE citizen_id = ? ORDER BY id`, int64(id))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c citybot.CitizenDataCase
			var ref, status, opened, places string
			if err := rows.Scan(&ref, &c.Topic, &status, &opened, &places); err != nil {
				return err
			}
			c.Ref, c.Status, c.OpenedAt = citybot.CaseRef(ref), citybot.CaseStatus(status), parseTS(opened)
			_ = json.Unmarshal([]byte(places), &c.Places)
			d.Cases = append(d.Cases, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.QueryContext(ctx, `SELECT o.updated_at, COALESCE(c.ref, ''), o.text FROM outbox o LEFT JOIN cases c ON c.id = o.case_id
			WHERE o.state = 'sent' AND o.kind NOT IN ('alert', 'data') AND o.text <> '' AND (
				(o.case_id IN (SELECT id FROM cases WHERE citizen_id = ?1)
				 AND o.chat IN (SELECT platform_chat_id FROM chats WHERE id IN (SELECT chat_id FROM cases WHERE citizen_id = ?1)))
				OR (o.platform = ?2 AND o.chat IN (SELECT platform_chat_id FROM chats WHERE id IN (`+citizenPrivateChats+`))))
			ORDER BY o.id`, int64(id), p)
		if err != nil {
			return err
		}
		d.Answers, err = scanEntries(rows, d.Answers)
		return err
	}(db.r)
	if err != nil {
		return citybot.CitizenData{}, fmt.Errorf("store: citizen data: %w", mapErr(err))
	}
	return d, nil
}

func scanEntries(rows *sql.Rows, out []citybot.CitizenDataEntry) ([]citybot.CitizenDataEntry, error) {
	defer rows.Close()
	for rows.Next() {
		var e citybot.CitizenDataEntry
		var at, ref string
		if err := rows.Scan(&at, &ref, &e.Text); err != nil {
			return out, err
		}
		e.At, e.Case = parseTS(at), citybot.CaseRef(ref)
		out = append(out, e)
	}
	return out, rows.Err()
}

// erased replaces erased texts that must stay non-empty.
const erased = "[erased]"

// ForgetCitizen erases a citizen's identity and texts, for /forget or an
// admin: their platform identity (name, handle, user id) and private
// chats' ids are deleted; their messages lose text, edits, attachments,
// places and classification; their cases keep topic, urgency and status
// (the anonymous counts stay) but lose places, cues and notes; outbox
// rows about their cases or to their private chats lose their text, and
// the pending ones are cancelled, except the row keyed keep (the
// confirmation, "" for none); the audit log's texts about their cases and
// mentioning their name, handle or id are scrubbed. It is audited as
// "citizen.forget" by actor, with counts only. Erasing again is a no-op
// that succeeds. Errors wrap citybot.ErrNotFound for an unknown citizen.
func (db *DB) ForgetCitizen(ctx context.Context, id citybot.CitizenID, actor, keep string) (citybot.Forgotten, error) {
	var f citybot.Forgotten
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		var platform string
		if err := tx.QueryRowContext(ctx, `SELECT platform FROM citizens WHERE id = ?`, int64(id)).Scan(&platform); err != nil {
			return err
		}
		var secrets []string
		var name, handle, user string
		err := tx.QueryRowContext(ctx, `SELECT name, handle, platform_user_id FROM citizen_identities WHERE citizen_id = ?`, int64(id)).Scan(&name, &handle, &user)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		for _, s := range []string{name, handle, strings.TrimPrefix(handle, "@"), user} {
			if len([]rune(s)) >= 3 {
				secrets = append(secrets, s)
			}
		}
		var chats []string
		rows, err := tx.QueryContext(ctx, `SELECT platform_chat_id FROM chats WHERE id IN (`+citizenPrivateChats+`)`, int64(id))
		if err != nil {
			return err
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			chats = append(chats, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		chatList, chatArgs := inList(chats)
		exec := func(q string, args ...any) (int, error) {
			r, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, err
			}
			n, _ := r.RowsAffected()
			return int(n), nil
		}
		// Outbox: cancel what waits, then erase texts, about their cases
		// or to their private chats.
		outboxWhere := `key <> ? AND (case_id IN (SELECT id FROM cases WHERE citizen_id = ?) OR (platform = ? AND chat IN (` + chatList + `)))`
		outboxArgs := append([]any{keep, int64(id), platform}, chatArgs...)
		if f.Cancelled, err = exec(`UPDATE outbox SET state = 'failed', last_error = 'cancelled: the citizen asked to be forgotten', updated_at = ?
			WHERE state = 'pending' AND `+outboxWhere, append([]any{ts(now)}, outboxArgs...)...); err != nil {
			return err
		}
		if _, err := exec(`UPDATE outbox SET text = '', buttons = '', file = NULL WHERE (text <> '' OR file IS NOT NULL) AND `+outboxWhere, outboxArgs...); err != nil {
			return err
		}
		if _, err := exec(`UPDATE outbox SET chat = 'erased' WHERE state <> 'pending' AND state <> 'sending' AND key <> ? AND platform = ? AND chat IN (`+chatList+`)`,
			append([]any{keep, platform}, chatArgs...)...); err != nil {
			return err
		}
		// Messages: theirs, everything said in their cases and in their
		// private chats (what the bot sent them there).
		msgWhere := `(citizen_id = ?1 OR case_id IN (SELECT id FROM cases WHERE citizen_id = ?1) OR chat_id IN (` + citizenPrivateChats + `))`
		if _, err := exec(`DELETE FROM message_edits WHERE message_id IN (SELECT id FROM messages WHERE `+msgWhere+`)`, int64(id)); err != nil {
			return err
		}
		if _, err := exec(`DELETE FROM attachments WHERE message_id IN (SELECT id FROM messages WHERE `+msgWhere+`)`, int64(id)); err != nil {
			return err
		}
		if _, err := exec(`DELETE FROM tags WHERE kind = 'place' AND case_id IN (SELECT id FROM cases WHERE citizen_id = ?)`, int64(id)); err != nil {
			return err
		}
		if f.Messages, err = exec(`UPDATE messages SET text = '', original_size = 0, classification = NULL, latitude = NULL, longitude = NULL
			WHERE `+msgWhere+` AND (text <> '' OR classification IS NOT NULL OR latitude IS NOT NULL)`, int64(id)); err != nil {
			return err
		}
		if f.Cases, err = exec(`UPDATE cases SET places = '[]', sensitive_cues = '[]', latitude = NULL, longitude = NULL
			WHERE citizen_id = ? AND (places <> '[]' OR sensitive_cues <> '[]' OR latitude IS NOT NULL)`, int64(id)); err != nil {
			return err
		}
		if _, err := exec(`UPDATE case_notes SET text = ? WHERE text <> ? AND case_id IN (SELECT id FROM cases WHERE citizen_id = ?)`, erased, erased, int64(id)); err != nil {
			return err
		}
		// Audit texts: about their cases, and any mention of them.
		if _, err := exec(`UPDATE audit_log SET before = '', after = '' WHERE (before <> '' OR after <> '') AND subject IN
			(SELECT 'case:' || id FROM cases WHERE citizen_id = ?)`, int64(id)); err != nil {
			return err
		}
		for _, s := range secrets {
			if _, err := exec(`UPDATE audit_log SET before = replace(before, ?1, ?2), after = replace(after, ?1, ?2)
				WHERE instr(before, ?1) > 0 OR instr(after, ?1) > 0`, s, erased); err != nil {
				return err
			}
		}
		// Identity last: the citizen stays as an anonymous number.
		if _, err := exec(`DELETE FROM citizen_identities WHERE citizen_id = ?`, int64(id)); err != nil {
			return err
		}
		if _, err := exec(`UPDATE chats SET platform_chat_id = 'erased:' || id, title = '' WHERE platform = ? AND platform_chat_id IN (`+chatList+`)`,
			append([]any{platform}, chatArgs...)...); err != nil {
			return err
		}
		return audit(ctx, tx, now, actorOr(actor), "citizen.forget", fmt.Sprintf("citizen:%d", id), nil,
			map[string]any{"messages": f.Messages, "cases": f.Cases, "cancelled": f.Cancelled})
	})
	if err != nil {
		return citybot.Forgotten{}, fmt.Errorf("store: forget citizen: %w", mapErr(err))
	}
	return f, nil
}

// inList returns "?, ?, ?" for vals and the values as arguments; with no
// values, a list that matches nothing.
func inList(vals []string) (string, []any) {
	if len(vals) == 0 {
		return "NULL", nil
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", "), args
}
