package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"citybot"
)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const caseColumns = `c.id, c.ref, c.status, c.topic, c.urgency, c.language, c.platform, ch.platform_chat_id, c.citizen_id,
	c.latitude, c.longitude, c.places, c.expected_by, c.close_reason, c.duplicate_of, c.opened_at, c.updated_at,
	c.sensitive, c.sensitive_cues, c.followers`

const caseFrom = ` FROM cases c JOIN chats ch ON ch.id = c.chat_id `

type scanner interface{ Scan(dest ...any) error }

func scanCase(s scanner) (citybot.Case, error) {
	var (
		c                   citybot.Case
		status, urg, plat   string
		chat, ref           string
		lat, lon            sql.NullFloat64
		places              string
		expected            sql.NullString
		dupOf               sql.NullInt64
		opened, updated     string
		id, citizen         int64
		topic, lang, reason string
		sensitive           bool
		cues                string
		followers           int
	)
	if err := s.Scan(&id, &ref, &status, &topic, &urg, &lang, &plat, &chat, &citizen,
		&lat, &lon, &places, &expected, &reason, &dupOf, &opened, &updated, &sensitive, &cues, &followers); err != nil {
		return c, err
	}
	c = citybot.Case{
		ID: citybot.CaseID(id), Ref: citybot.CaseRef(ref), Status: citybot.CaseStatus(status),
		Topic: topic, Urgency: citybot.Urgency(urg), Language: lang, Platform: citybot.Platform(plat),
		Chat: citybot.ChatID(chat), Citizen: citybot.CitizenID(citizen), ExpectedBy: parseNullTS(expected),
		CloseReason: reason, DuplicateOf: citybot.CaseID(dupOf.Int64),
		OpenedAt: parseTS(opened), UpdatedAt: parseTS(updated), Sensitive: sensitive, Followers: followers,
	}
	if sensitive && cues != "" && cues != "[]" {
		if err := json.Unmarshal([]byte(cues), &c.SensitiveCues); err != nil {
			c.SensitiveCues = nil
		}
	}
	if lat.Valid && lon.Valid {
		c.Location = &citybot.Location{Latitude: lat.Float64, Longitude: lon.Float64}
	}
	if err := json.Unmarshal([]byte(places), &c.Places); err != nil {
		c.Places = nil
	}
	return c, nil
}

func caseByID(ctx context.Context, q querier, id citybot.CaseID) (citybot.Case, error) {
	return scanCase(q.QueryRowContext(ctx, `SELECT `+caseColumns+caseFrom+`WHERE c.id = ?`, int64(id)))
}

func citizenCases(ctx context.Context, q querier, citizen citybot.CitizenID, limit int) ([]citybot.Case, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+caseColumns+caseFrom+`WHERE c.citizen_id = ? ORDER BY c.id DESC LIMIT ?`,
		int64(citizen), limit)
	if err != nil {
		return nil, err
	}
	return collectCases(rows)
}

func collectCases(rows *sql.Rows) ([]citybot.Case, error) {
	defer rows.Close()
	var out []citybot.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func caseSubject(id citybot.CaseID) string { return "case:" + strconv.FormatInt(int64(id), 10) }

// audit appends one entry to the audit log. before and after are encoded as
// JSON; nil encodes as "".
func audit(ctx context.Context, q querier, now time.Time, actor, action, subject string, before, after any) error {
	enc := func(v any) (string, error) {
		if v == nil {
			return "", nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return err
	}
	a, err := enc(after)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
		ts(now), actor, action, subject, b, a)
	return err
}

// Case returns the case with this id, or an error wrapping
// citybot.ErrNotFound.
func (db *DB) Case(ctx context.Context, id citybot.CaseID) (citybot.Case, error) {
	c, err := caseByID(ctx, db.r, id)
	if err != nil {
		return c, fmt.Errorf("store: case: %w", mapErr(err))
	}
	return c, nil
}

// CaseByRef returns the case with this reference (case-insensitive), or an
// error wrapping citybot.ErrNotFound.
func (db *DB) CaseByRef(ctx context.Context, ref citybot.CaseRef) (citybot.Case, error) {
	c, err := scanCase(db.r.QueryRowContext(ctx, `SELECT `+caseColumns+caseFrom+`WHERE c.ref = ?`,
		strings.ToUpper(strings.TrimSpace(string(ref)))))
	if err != nil {
		return c, fmt.Errorf("store: case by ref: %w", mapErr(err))
	}
	return c, nil
}

// CitizenCases returns up to limit of a citizen's cases, newest first.
func (db *DB) CitizenCases(ctx context.Context, citizen citybot.CitizenID, limit int) ([]citybot.Case, error) {
	cs, err := citizenCases(ctx, db.r, citizen, limit)
	if err != nil {
		return nil, fmt.Errorf("store: citizen cases: %w", mapErr(err))
	}
	return cs, nil
}

// Inbox returns the cases f selects, critical first, then oldest first.
func (db *DB) Inbox(ctx context.Context, f citybot.CaseFilter) ([]citybot.Case, error) {
	var where []string
	var args []any
	from := caseFrom
	if len(f.Statuses) == 0 {
		// Open cases come from the partial index, already in inbox
		// order: the page is read without sorting every open case.
		from = ` FROM cases c INDEXED BY cases_inbox_open JOIN chats ch ON ch.id = c.chat_id `
		where = append(where, `c.status IN `+openStatuses)
	} else {
		marks := make([]string, len(f.Statuses))
		for i, s := range f.Statuses {
			marks[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, `c.status IN (`+strings.Join(marks, ", ")+`)`)
	}
	if f.Topic != "" {
		where = append(where, `c.topic = ?`)
		args = append(args, f.Topic)
	}
	if f.Urgency != "" {
		where = append(where, `c.urgency_rank = ?`)
		args = append(args, f.Urgency.Rank())
	}
	if f.Platform != "" {
		where = append(where, `c.platform = ?`)
		args = append(args, string(f.Platform))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit, max(0, f.Offset))
	rows, err := db.r.QueryContext(ctx, `SELECT `+caseColumns+from+`WHERE `+strings.Join(where, " AND ")+
		` ORDER BY c.urgency_rank, c.followers DESC, c.opened_at, c.id LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: inbox: %w", mapErr(err))
	}
	cs, err := collectCases(rows)
	if err != nil {
		return nil, fmt.Errorf("store: inbox: %w", mapErr(err))
	}
	return cs, nil
}

// SetCaseStatus moves a case along its lifecycle and records it in the
// audit log. It returns the updated case; an error wrapping
// citybot.ErrNotFound for an unknown case (or DuplicateOf), and
// citybot.ErrInvalid for a transition citybot.CaseStatus.CanMoveTo
// forbids, a close without a reason, or a duplicate of itself.
func (db *DB) SetCaseStatus(ctx context.Context, id citybot.CaseID, ch citybot.StatusChange) (citybot.Case, error) {
	var out citybot.Case
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		out, err = setCaseStatus(ctx, tx, db.now().UTC(), id, ch)
		return err
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: set case status: %w", mapErr(err))
	}
	return out, nil
}

func setCaseStatus(ctx context.Context, tx querier, now time.Time, id citybot.CaseID, ch citybot.StatusChange) (citybot.Case, error) {
	cur, err := caseByID(ctx, tx, id)
	if err != nil {
		return cur, err
	}
	if !cur.Status.CanMoveTo(ch.To) {
		return cur, fmt.Errorf("%w: case %s cannot move from %s to %s", citybot.ErrInvalid, cur.Ref, cur.Status, ch.To)
	}
	reason, _ := citybot.CleanText(strings.TrimSpace(ch.Reason), 2000)
	var dup sql.NullInt64
	switch ch.To {
	case citybot.StatusClosed:
		if reason == "" {
			return cur, fmt.Errorf("%w: closing a case needs a reason", citybot.ErrInvalid)
		}
	case citybot.StatusDuplicate:
		if ch.DuplicateOf == 0 || ch.DuplicateOf == id {
			return cur, fmt.Errorf("%w: a duplicate needs another case", citybot.ErrInvalid)
		}
		if _, err := caseByID(ctx, tx, ch.DuplicateOf); err != nil {
			return cur, err
		}
		dup = sql.NullInt64{Int64: int64(ch.DuplicateOf), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET status = ?, close_reason = ?, duplicate_of = ?, updated_at = ? WHERE id = ?`,
		string(ch.To), reason, dup, ts(now), int64(id)); err != nil {
		return cur, err
	}
	actor := ch.Actor
	if actor == "" {
		actor = "citybot"
	}
	after := map[string]any{"status": ch.To}
	if reason != "" {
		after["reason"] = reason
	}
	if dup.Valid {
		after["duplicate_of"] = dup.Int64
	}
	if err := audit(ctx, tx, now, actor, "case.status", caseSubject(id), map[string]any{"status": cur.Status}, after); err != nil {
		return cur, err
	}
	return caseByID(ctx, tx, id)
}

// SetExpectedBy records when the city expects to have dealt with a case
// (nil clears it). Errors wrap citybot.ErrNotFound for an unknown case.
func (db *DB) SetExpectedBy(ctx context.Context, id citybot.CaseID, by *time.Time, actor string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		cur, err := caseByID(ctx, tx, id)
		if err != nil {
			return err
		}
		var v sql.NullString
		if by != nil {
			v = sql.NullString{String: ts(*by), Valid: true}
		}
		now := db.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET expected_by = ?, updated_at = ? WHERE id = ?`, v, ts(now), int64(id)); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "case.expected_by", caseSubject(id),
			map[string]any{"expected_by": cur.ExpectedBy}, map[string]any{"expected_by": by})
	})
	if err != nil {
		return fmt.Errorf("store: set expected by: %w", mapErr(err))
	}
	return nil
}

// CaseTags returns a case's tags, oldest first.
func (db *DB) CaseTags(ctx context.Context, id citybot.CaseID) ([]citybot.Tag, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT kind, value, confidence, source, set_by, at FROM tags WHERE case_id = ? ORDER BY id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("store: case tags: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.Tag
	for rows.Next() {
		var t citybot.Tag
		var src, at string
		if err := rows.Scan(&t.Kind, &t.Value, &t.Confidence, &src, &t.SetBy, &at); err != nil {
			return nil, fmt.Errorf("store: case tags: %w", err)
		}
		t.Source, t.At = citybot.TagSource(src), parseTS(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: case tags: %w", err)
	}
	return out, nil
}

// Audit returns the audit entries about subject (e.g. "case:42"), oldest
// first.
func (db *DB) Audit(ctx context.Context, subject string) ([]citybot.AuditEntry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, actor, action, subject, before, after FROM audit_log WHERE subject = ? ORDER BY id`, subject)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", mapErr(err))
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("store: audit: %w", err)
	}
	return out, nil
}

// scanAudit reads audit_log rows selected as (id, at, actor, action,
// subject, before, after) and closes rows.
func scanAudit(rows *sql.Rows) ([]citybot.AuditEntry, error) {
	defer rows.Close()
	var out []citybot.AuditEntry
	for rows.Next() {
		var e citybot.AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Subject, &e.Before, &e.After); err != nil {
			return nil, err
		}
		e.At = parseTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetCitizenLanguage records the preferred language of the citizen behind
// a platform identity, creating the citizen when new, and returns them.
func (db *DB) SetCitizenLanguage(ctx context.Context, p citybot.Platform, s citybot.Sender, lang string) (citybot.Citizen, error) {
	if !p.Valid() {
		return citybot.Citizen{}, fmt.Errorf("store: set citizen language: %w: unknown platform", citybot.ErrInvalid)
	}
	var c citybot.Citizen
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		now := db.now().UTC()
		if c, err = upsertCitizen(ctx, tx, p, s, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE citizens SET language = ? WHERE id = ?`, lang, int64(c.ID)); err != nil {
			return err
		}
		c.Language = lang
		return nil
	})
	if err != nil {
		return citybot.Citizen{}, fmt.Errorf("store: set citizen language: %w", mapErr(err))
	}
	return c, nil
}

// MessageText returns the stored text of an inbound message, whether it
// was cut, and when it was last edited (zero when never). Errors wrap
// citybot.ErrNotFound.
func (db *DB) MessageText(ctx context.Context, p citybot.Platform, chat citybot.ChatID, id citybot.PlatformMessageID) (text string, truncated bool, editedAt time.Time, err error) {
	var ed sql.NullString
	err = db.r.QueryRowContext(ctx, `SELECT m.text, m.text_truncated, m.edited_at FROM messages m JOIN chats ch ON ch.id = m.chat_id
		WHERE ch.platform = ? AND ch.platform_chat_id = ? AND m.platform_message_id = ? AND m.direction = 'in'`,
		string(p), string(chat), string(id)).Scan(&text, &truncated, &ed)
	if err != nil {
		return "", false, time.Time{}, fmt.Errorf("store: message text: %w", mapErr(err))
	}
	if t := parseNullTS(ed); t != nil {
		editedAt = *t
	}
	return text, truncated, editedAt, nil
}

// CaseMessages returns the messages of a case, in and out, oldest first,
// with their attachments. An unknown case has no messages.
func (db *DB) CaseMessages(ctx context.Context, id citybot.CaseID) ([]citybot.StoredMessage, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT m.id, m.direction, ch.platform, ch.platform_chat_id, m.platform_message_id,
		COALESCE(m.citizen_id, 0), COALESCE(m.case_id, 0), m.command, m.reply_to, m.text, m.text_truncated, m.original_size,
		m.classification, m.latitude, m.longitude, m.sent_at, m.received_at, m.edited_at, m.sensitive, m.intent
		FROM messages m JOIN chats ch ON ch.id = m.chat_id WHERE m.case_id = ? ORDER BY m.id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("store: case messages: %w", mapErr(err))
	}
	var out []citybot.StoredMessage
	byID := map[citybot.MessageID]int{}
	for rows.Next() {
		var (
			m                         citybot.StoredMessage
			dir, plat, chat, pid, rep string
			cit, cas                  int64
			class                     sql.NullString
			lat, lon                  sql.NullFloat64
			sent, recv                string
			edited                    sql.NullString
			intent                    string
		)
		if err := rows.Scan(&m.ID, &dir, &plat, &chat, &pid, &cit, &cas, &m.Command, &rep, &m.Text, &m.Truncated, &m.OriginalSize,
			&class, &lat, &lon, &sent, &recv, &edited, &m.Sensitive, &intent); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: case messages: %w", err)
		}
		m.Direction, m.Platform, m.Chat = citybot.Direction(dir), citybot.Platform(plat), citybot.ChatID(chat)
		m.PlatformID, m.ReplyTo = citybot.PlatformMessageID(pid), citybot.PlatformMessageID(rep)
		m.Citizen, m.Case = citybot.CitizenID(cit), citybot.CaseID(cas)
		m.SentAt, m.ReceivedAt, m.EditedAt = parseTS(sent), parseTS(recv), parseNullTS(edited)
		m.Intent = citybot.Intent(intent)
		if class.Valid {
			var cl citybot.Classification
			if json.Unmarshal([]byte(class.String), &cl) == nil {
				m.Classification = &cl
			}
		}
		if lat.Valid && lon.Valid {
			m.Location = &citybot.Location{Latitude: lat.Float64, Longitude: lon.Float64}
		}
		byID[m.ID] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: case messages: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	arows, err := db.r.QueryContext(ctx, `SELECT a.message_id, a.kind, a.file_id, a.mime_type, a.name, a.size
		FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.case_id = ? ORDER BY a.id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("store: case messages: %w", mapErr(err))
	}
	defer arows.Close()
	for arows.Next() {
		var mid int64
		var a citybot.Attachment
		var kind string
		if err := arows.Scan(&mid, &kind, &a.FileID, &a.MIMEType, &a.Name, &a.Size); err != nil {
			return nil, fmt.Errorf("store: case messages: %w", err)
		}
		a.Kind = citybot.AttachmentKind(kind)
		if i, ok := byID[citybot.MessageID(mid)]; ok {
			out[i].Attachments = append(out[i].Attachments, a)
		}
	}
	if err := arows.Err(); err != nil {
		return nil, fmt.Errorf("store: case messages: %w", err)
	}
	return out, nil
}
