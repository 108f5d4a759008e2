package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"citybot"
	"citybot/grouping"
)

// errNoop rolls back a transaction that found nothing to do.
var errNoop = errors.New("store: no-op")

// Per-citizen fairness: one citizen flooding text cannot fill the
// database. Within floodWindow, a citizen's texts beyond floodBytes in
// all, and a text they already sent in it, are stored cut to floodKeep
// bytes (the cut recorded, as for citybot.MaxStoredText). Nobody else's
// messages are touched.
const (
	floodWindow = time.Minute
	floodBytes  = 64 << 10
	floodKeep   = 1 << 10
)

// floodCut returns text as it is stored for a citizen who may be
// flooding (see floodBytes).
func floodCut(ctx context.Context, tx querier, citizen citybot.CitizenID, text string, truncated bool, now time.Time) (string, bool, error) {
	if len(text) <= floodKeep {
		return text, truncated, nil
	}
	var recent int64
	var repeat int
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(octet_length(text)), 0), COALESCE(MAX(CASE WHEN text = ?3 THEN 1 ELSE 0 END), 0) FROM messages
		WHERE citizen_id = ?1 AND received_at >= ?2 AND direction = 'in'`, int64(citizen), ts(now.Add(-floodWindow)), text).Scan(&recent, &repeat)
	if err != nil {
		return "", false, err
	}
	if repeat == 0 && recent+int64(len(text)) <= floodBytes {
		return text, truncated, nil
	}
	cut, _ := citybot.CleanText(text, floodKeep)
	return cut, true, nil
}

// openStatuses is the SQL list of citybot.CaseStatus.Open statuses.
const openStatuses = `('new', 'acknowledged', 'in_progress', 'answered')`

// Ingest records one inbound message and everything it causes in one
// transaction: the chat, the pseudonymous citizen and their private
// identity, the message (text cleaned and capped at citybot.MaxStoredText
// bytes, the cut recorded), its attachments, its case (joined or opened per
// in.Mode), its classifier tags, the citizen's language choice, and the
// outbox rows that reply returns. reply runs inside the transaction, after
// everything else, with what was done; it must not block. It may be nil.
//
// Delivering the same (Platform, Chat, ID) again changes nothing and
// returns a result with Duplicate set (reply is not called). An edit
// (Message.Edit) of a stored message replaces its text, keeps the old one
// in the edit history and, while the case is still new, replaces the
// message's classifier tags (and the case's topic and urgency when the
// message opened it); an edit that makes an open case more urgent raises
// its urgency and sets Escalated. reply is then called with Edited set.
// A new message that joins an existing case gets CaseLastQueued. An edit of a
// message never seen is stored as a new message.
//
// Errors wrap citybot.ErrInvalid for a message without platform, chat or
// id, and whatever reply returns. On error nothing is stored.
func (db *DB) Ingest(ctx context.Context, in citybot.Intake, reply func(citybot.IntakeResult) ([]citybot.OutboxItem, error)) (citybot.IntakeResult, error) {
	m := in.Message
	if !m.Platform.Intakes() || m.Chat == "" || m.ID == "" {
		return citybot.IntakeResult{}, fmt.Errorf("store: ingest: %w: message needs a known platform, a chat and an id", citybot.ErrInvalid)
	}
	text, truncated := citybot.CleanText(m.Text, citybot.MaxStoredText)
	var classJSON sql.NullString
	if in.Classification != nil {
		b, err := json.Marshal(in.Classification)
		if err != nil {
			return citybot.IntakeResult{}, fmt.Errorf("store: ingest: %w", err)
		}
		classJSON = sql.NullString{String: string(b), Valid: true}
	}
	now := db.now().UTC()
	var res citybot.IntakeResult
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		res = citybot.IntakeResult{}
		lk, err := lookupIntake(ctx, tx, m)
		if err != nil {
			return err
		}
		chatID, err := saveChat(ctx, tx, lk.chat, m.Platform, m.Chat, m.ChatKind, m.ChatTitle, now)
		if err != nil {
			return err
		}
		res.Citizen, err = saveCitizen(ctx, tx, lk.citizen, m.Platform, m.Sender, now)
		if err != nil {
			return err
		}
		if in.Contact != nil && m.Platform == citybot.Open311 && !in.Contact.Empty() {
			if err := upsertContact(ctx, tx, res.Citizen.ID, *in.Contact, now); err != nil {
				return err
			}
		}
		handled := false
		if m.Edit {
			handled, err = db.applyEdit(ctx, tx, lk.msg, in, text, truncated, classJSON, now, &res)
			if err != nil {
				return err
			}
		}
		if !handled {
			if lk.msg != nil {
				return errNoop // a redelivery
			}
			if err := db.insertInbound(ctx, tx, chatID, in, text, truncated, classJSON, now, &res); err != nil {
				return err
			}
		}
		if in.SetLanguage != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE citizens SET language = ? WHERE id = ?`, in.SetLanguage, res.Citizen.ID); err != nil {
				return err
			}
			res.Citizen.Language = in.SetLanguage
		}
		if in.LoadCases > 0 {
			res.Cases, err = citizenCases(ctx, tx, res.Citizen.ID, in.LoadCases)
			if err != nil {
				return err
			}
			for _, c := range res.Cases {
				if c.DuplicateOf == 0 {
					continue
				}
				if _, ok := res.Followed[c.DuplicateOf]; ok {
					continue
				}
				f, err := caseByID(ctx, tx, c.DuplicateOf)
				if err != nil {
					return err
				}
				if res.Followed == nil {
					res.Followed = map[citybot.CaseID]citybot.Case{}
				}
				res.Followed[f.ID] = f
			}
		}
		if reply == nil {
			return nil
		}
		items, err := reply(res)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Private {
				// Delivered to the citizen's private chat: the store
				// fills the recipient from their identity.
				if _, err := queueCaseItems(ctx, tx, []citybot.OutboxItem{it}, "", now); err != nil {
					return err
				}
				continue
			}
			if _, err := insertOutbox(ctx, tx, it, now); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errNoop) {
		return citybot.IntakeResult{Duplicate: true, Citizen: res.Citizen, Message: res.Message}, nil
	}
	if err != nil {
		return citybot.IntakeResult{}, fmt.Errorf("store: ingest: %w", mapErr(err))
	}
	return res, nil
}

// insertInbound stores a message not stored before (see lookupIntake).
func (db *DB) insertInbound(ctx context.Context, tx querier, chatID int64, in citybot.Intake, text string, truncated bool, classJSON sql.NullString, now time.Time, res *citybot.IntakeResult) error {
	m := in.Message
	var lat, lon sql.NullFloat64
	if m.Location != nil {
		lat = sql.NullFloat64{Float64: m.Location.Latitude, Valid: true}
		lon = sql.NullFloat64{Float64: m.Location.Longitude, Valid: true}
	}
	sentAt := m.SentAt
	if sentAt.IsZero() {
		sentAt = now
	}
	var editedAt sql.NullString
	if m.Edit {
		editedAt = sql.NullString{String: ts(now), Valid: true}
	}
	var err error
	if text, truncated, err = floodCut(ctx, tx, res.Citizen.ID, text, truncated, now); err != nil {
		return err
	}
	var (
		c                *citybot.Case
		isNew, escalated bool
		caseID           sql.NullInt64
	)
	switch in.Mode {
	case citybot.CaseNone:
	case citybot.CaseFeedback:
		if c, err = feedbackCase(ctx, tx, chatID, res.Citizen.ID); err != nil {
			return err
		}
	default:
		if c, isNew, escalated, err = db.assignCase(ctx, tx, in, chatID, res.Citizen.ID, now); err != nil {
			return err
		}
		if isNew && in.Group != nil {
			if res.Joined, res.Suggested, err = joinGroup(ctx, tx, c, in.Group, now); err != nil {
				return err
			}
		}
	}
	if c != nil {
		caseID = sql.NullInt64{Int64: int64(c.ID), Valid: true}
	}
	intent := ""
	if in.Intent.IsFeedback() {
		intent = string(in.Intent)
	}
	id, err := insertID(ctx, tx, `INSERT INTO messages
		(direction, chat_id, platform_message_id, citizen_id, case_id, reply_to, command, text, text_truncated, original_size,
		 classification, latitude, longitude, sent_at, received_at, edited_at, sensitive, intent)
		VALUES ('in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		chatID, string(m.ID), int64(res.Citizen.ID), caseID, string(m.ReplyTo), m.Command, text, truncated, len(m.Text),
		classJSON, lat, lon, ts(sentAt), ts(now), editedAt, in.Sensitive, intent)
	if err != nil {
		return err
	}
	res.Message = citybot.MessageID(id)
	for _, a := range m.Attachments {
		if _, err := tx.ExecContext(ctx, `INSERT INTO attachments (message_id, kind, file_id, mime_type, name, size) VALUES (?, ?, ?, ?, ?, ?)`,
			id, string(a.Kind), a.FileID, a.MIMEType, a.Name, a.Size); err != nil {
			return err
		}
	}
	if c == nil {
		return nil
	}
	if in.Classification != nil && in.Mode != citybot.CaseFeedback && !in.Intent.IsFeedback() {
		if err := insertClassifierTags(ctx, tx, c.ID, id, in.Classification, now); err != nil {
			return err
		}
	}
	if in.Sensitive && !isNew {
		if res.BecameSensitive, err = markSensitive(ctx, tx, c, in.SensitiveCues, now); err != nil {
			return err
		}
	}
	res.Case, res.NewCase, res.Escalated = c, isNew, escalated
	if !isNew {
		// When the citizen last heard about the case, so that the
		// pipeline does not answer every line of a follow-up.
		var last sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT created_at FROM outbox WHERE case_id = ? AND kind <> 'alert' ORDER BY id DESC LIMIT 1`, int64(c.ID)).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if t := parseNullTS(last); t != nil {
			res.CaseLastQueued = *t
		}
	}
	return nil
}

// applyEdit applies an edit to the stored message stored (nil when the
// message was never stored: it reports false, so that the caller stores
// it as new).
func (db *DB) applyEdit(ctx context.Context, tx querier, stored *storedInbound, in citybot.Intake, text string, truncated bool, classJSON sql.NullString, now time.Time, res *citybot.IntakeResult) (bool, error) {
	if stored == nil {
		return false, nil
	}
	id, oldText, caseID := stored.id, stored.text, stored.caseID
	res.Message = citybot.MessageID(id)
	if oldText == text {
		return true, errNoop // the same edit delivered again
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO message_edits (message_id, old_text, edited_at) VALUES (?, ?, ?)`, id, oldText, ts(now)); err != nil {
		return false, err
	}
	// An edit never unmarks a sensitive message.
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET text = ?, text_truncated = ?, original_size = ?, edited_at = ?,
		classification = COALESCE(?, classification), sensitive = MAX(sensitive, ?) WHERE id = ?`,
		text, truncated, len(in.Message.Text), ts(now), classJSON, in.Sensitive, id); err != nil {
		return false, err
	}
	res.Edited = true
	if !caseID.Valid {
		return true, nil
	}
	c, err := caseByID(ctx, tx, citybot.CaseID(caseID.Int64))
	if err != nil {
		return false, err
	}
	if in.Sensitive {
		if res.BecameSensitive, err = markSensitive(ctx, tx, &c, in.SensitiveCues, now); err != nil {
			return false, err
		}
	}
	cl := in.Classification
	if cl != nil && c.Status == citybot.StatusNew {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE case_id = ? AND message_id = ? AND source = 'classifier'`, caseID.Int64, id); err != nil {
			return false, err
		}
		if err := insertClassifierTags(ctx, tx, c.ID, id, cl, now); err != nil {
			return false, err
		}
		var first int64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(id) FROM messages WHERE case_id = ?`, caseID.Int64).Scan(&first); err != nil {
			return false, err
		}
		if first == id {
			u := urgencyOf(cl)
			places, _ := json.Marshal(placeNames(cl))
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET topic = ?, urgency = ?, urgency_rank = ?, urgency_score = ?,
				language = ?, places = ?, updated_at = ? WHERE id = ?`,
				topicOf(cl), string(u), u.Rank(), cl.UrgencyScore, cl.Language, string(places), ts(now), caseID.Int64); err != nil {
				return false, err
			}
			res.Escalated = u.Rank() < c.Urgency.Rank()
			c.Topic, c.Urgency, c.Language, c.Places, c.UpdatedAt = topicOf(cl), u, cl.Language, placeNames(cl), now
		}
	}
	// An edit that makes an open case more urgent raises it, whatever
	// its status.
	if u := urgencyOf(cl); cl != nil && c.Status.Open() && u.Rank() < c.Urgency.Rank() {
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET urgency = ?, urgency_rank = ?, urgency_score = MAX(urgency_score, ?), updated_at = ?
			WHERE id = ?`, string(u), u.Rank(), cl.UrgencyScore, ts(now), caseID.Int64); err != nil {
			return false, err
		}
		c.Urgency, c.UpdatedAt, res.Escalated = u, now, true
	}
	if res.Escalated {
		if err := audit(ctx, tx, now, "citybot", "case.escalate", caseSubject(c.ID), nil, map[string]any{"urgency": c.Urgency}); err != nil {
			return false, err
		}
	}
	res.Case = &c
	return true, nil
}

// assignCase finds the case the message follows up, or opens one when
// the mode allows (and, per in.Group, joins it to another citizen's case
// as a follower). It returns a nil case when the message joins none.
//
// Which of the citizen's own cases a message follows up is a domain rule
// decided in Go (grouping.FollowUpCase); the store only loads the
// citizen's cases in the chat and writes the decision.
func (db *DB) assignCase(ctx context.Context, tx querier, in citybot.Intake, chatID int64, citizen citybot.CitizenID, now time.Time) (c *citybot.Case, isNew, escalated bool, err error) {
	m := in.Message
	own, err := ownCases(ctx, tx, chatID, citizen, m.ReplyTo, now.Add(-max(in.Window, 0)))
	if err != nil {
		return nil, false, false, err
	}
	var window time.Duration
	if in.Window > 0 {
		window = in.Window
	}
	caseID := int64(grouping.FollowUpCase(own, now, window))
	cl := in.Classification
	var lat, lon sql.NullFloat64
	if m.Location != nil {
		lat = sql.NullFloat64{Float64: m.Location.Latitude, Valid: true}
		lon = sql.NullFloat64{Float64: m.Location.Longitude, Valid: true}
	}
	if caseID != 0 {
		cur, err := caseByID(ctx, tx, citybot.CaseID(caseID))
		if err != nil {
			return nil, false, false, err
		}
		base := `last_message_at = ?, updated_at = ?, latitude = COALESCE(latitude, ?), longitude = COALESCE(longitude, ?)`
		baseArgs := []any{ts(now), ts(now), lat, lon}
		// The case whose urgency the message may raise: the case itself,
		// or for a follower writing again the case it follows (officers
		// are alerted of that one, never of a follower).
		target := cur
		if cur.Status == citybot.StatusDuplicate && cur.DuplicateOf != 0 {
			if target, err = caseByID(ctx, tx, cur.DuplicateOf); err != nil {
				return nil, false, false, err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET `+base+` WHERE id = ?`, append(baseArgs, caseID)...); err != nil {
				return nil, false, false, err
			}
		}
		set, args := base, slices.Clone(baseArgs)
		if cl != nil {
			if u := urgencyOf(cl); u.Rank() < target.Urgency.Rank() {
				set += `, urgency = ?, urgency_rank = ?, urgency_score = MAX(urgency_score, ?)`
				args = append(args, string(u), u.Rank(), cl.UrgencyScore)
				escalated = true
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET `+set+` WHERE id = ?`, append(args, int64(target.ID))...); err != nil {
			return nil, false, false, err
		}
		got := cur
		got.UpdatedAt = now
		if got.Location == nil && m.Location != nil {
			loc := *m.Location
			got.Location = &loc
		}
		if escalated {
			got.Urgency = urgencyOf(cl)
			after := map[string]any{"urgency": got.Urgency}
			if target.ID != cur.ID {
				after["by_follower"] = cur.Ref
			}
			if err := audit(ctx, tx, now, "citybot", "case.escalate", caseSubject(target.ID),
				map[string]any{"urgency": target.Urgency}, after); err != nil {
				return nil, false, false, err
			}
		}
		return &got, false, escalated, nil
	}
	if in.Mode != citybot.CaseJoinOrOpen {
		return nil, false, false, nil
	}
	u := citybot.UrgencyNormal
	var score float64
	topic, lang := "other", ""
	places := []byte("[]")
	if cl != nil {
		u, score, topic, lang = urgencyOf(cl), cl.UrgencyScore, topicOf(cl), cl.Language
		places, _ = json.Marshal(placeNames(cl))
	}
	var cues []string
	if in.Sensitive {
		cues = mergeCues(nil, in.SensitiveCues)
	}
	cuesJSON, _ := json.Marshal(cues)
	if cues == nil {
		cuesJSON = []byte("[]")
	}
	var ref citybot.CaseRef
	const insertCase = `INSERT INTO cases
		(ref, status, topic, urgency, urgency_rank, urgency_score, language, platform, chat_id, citizen_id,
		 latitude, longitude, places, opened_at, updated_at, last_message_at, sensitive, sensitive_cues)
		VALUES (?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	_, pg := tx.(pgQuerier)
	for attempt := 0; ; attempt++ {
		ref = newRef()
		args := []any{string(ref), topic, string(u), u.Rank(), score, lang, string(m.Platform), chatID, int64(citizen),
			lat, lon, string(places), ts(now), ts(now), ts(now), in.Sensitive, string(cuesJSON)}
		var err error
		if pg {
			// A reference taken inserts nothing: no savepoint needed
			// (undoable's two round trips). On SQLite, ON CONFLICT
			// would cost the scans insertID avoids.
			err = tx.QueryRowContext(ctx, insertCase+` ON CONFLICT (ref) DO NOTHING RETURNING id`, args...).Scan(&caseID)
			if errors.Is(err, sql.ErrNoRows) {
				err = fmt.Errorf("case reference %s taken: %w", ref, citybot.ErrDuplicate)
			}
		} else {
			err = undoable(ctx, tx, func() (err error) {
				caseID, err = insertID(ctx, tx, insertCase, args...)
				return err
			})
		}
		if errors.Is(mapErr(err), citybot.ErrDuplicate) && attempt < 20 {
			// Reference taken: the failed statement was undone alone;
			// draw another.
			continue
		}
		if err != nil {
			return nil, false, false, err
		}
		break
	}
	got := citybot.Case{
		ID: citybot.CaseID(caseID), Ref: ref, Status: citybot.StatusNew, Topic: topic, Urgency: u, Language: lang,
		Platform: m.Platform, Chat: m.Chat, Citizen: citizen, Places: placeNames(cl), OpenedAt: now, UpdatedAt: now,
		Sensitive: in.Sensitive, SensitiveCues: cues,
	}
	if m.Location != nil {
		loc := *m.Location
		got.Location = &loc
	}
	return &got, true, false, nil
}

// ownCases loads the citizen's cases in a chat that a new message may
// follow up (grouping.FollowUpCase decides): those open or merged into
// another whose latest message came at or after since, and the case of the
// message replyTo names when it is theirs.
func ownCases(ctx context.Context, tx querier, chatID int64, citizen citybot.CitizenID, replyTo citybot.PlatformMessageID, since time.Time) ([]citybot.OwnCase, error) {
	var replied int64
	if replyTo != "" {
		err := tx.QueryRowContext(ctx, `SELECT c.id FROM messages m JOIN cases c ON c.id = m.case_id
			WHERE m.chat_id = ? AND m.platform_message_id = ? AND c.citizen_id = ? LIMIT 1`,
			chatID, string(replyTo), int64(citizen)).Scan(&replied)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT c.id, c.status, c.last_message_at, c.duplicate_of, COALESCE(d.status, '')
		FROM cases c LEFT JOIN cases d ON d.id = c.duplicate_of
		WHERE c.citizen_id = ? AND c.chat_id = ? AND (c.last_message_at >= ? OR c.id = ?)
		  AND (c.status IN `+openStatuses+` OR c.status = 'duplicate')
		ORDER BY c.last_message_at DESC, c.id DESC LIMIT 20`, int64(citizen), chatID, ts(since), replied)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []citybot.OwnCase
	for rows.Next() {
		var o citybot.OwnCase
		var status, last, mainStatus string
		var main sql.NullInt64
		if err := rows.Scan(&o.ID, &status, &last, &main, &mainStatus); err != nil {
			return nil, err
		}
		o.Status, o.LastMessageAt, o.MainStatus = citybot.CaseStatus(status), parseTS(last), citybot.CaseStatus(mainStatus)
		o.Main, o.RepliedTo = citybot.CaseID(main.Int64), int64(o.ID) == replied
		out = append(out, o)
	}
	return out, rows.Err()
}

// joinGroup merges the case c a report just opened into the case grouping
// chose (d.Join) as a new follower, when that case (or the case it was
// merged into since) is still open and not sensitive; else, and for
// grouping's suggestions, it records the suggestions for officers. It
// returns the case joined (nil when none) and how many suggestions were
// recorded. Audited as case.group_join by "grouping" on the joined case.
func joinGroup(ctx context.Context, tx querier, c *citybot.Case, d *citybot.GroupDecision, now time.Time) (*citybot.Case, int, error) {
	if d.Join != 0 && d.Join != c.ID {
		target, err := caseByID(ctx, tx, d.Join)
		if err != nil && !errors.Is(err, sql.ErrNoRows) && !errors.Is(err, citybot.ErrNotFound) {
			return nil, 0, err
		}
		if err == nil && target.Status == citybot.StatusDuplicate && target.DuplicateOf != 0 && target.DuplicateOf != c.ID {
			// Merged since grouping read it: follow it to its case.
			if target, err = caseByID(ctx, tx, target.DuplicateOf); err != nil {
				return nil, 0, err
			}
		}
		if err == nil && target.Status.Open() && !target.Sensitive && !c.Sensitive {
			// The case was opened in this transaction: new, so it may
			// become a duplicate (as setCaseStatus would check).
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET status = 'duplicate', duplicate_of = ?, updated_at = ? WHERE id = ?`,
				int64(target.ID), ts(now), int64(c.ID)); err != nil {
				return nil, 0, err
			}
			if err := audit(ctx, tx, now, "grouping", "case.status", caseSubject(c.ID), map[string]any{"status": c.Status},
				map[string]any{"status": citybot.StatusDuplicate, "duplicate_of": int64(target.ID)}); err != nil {
				return nil, 0, err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET last_message_at = MAX(last_message_at, ?), updated_at = ? WHERE id = ?`,
				ts(now), ts(now), int64(target.ID)); err != nil {
				return nil, 0, err
			}
			// Officers are alerted of the case followed, not of each
			// follower: a more urgent follower raises it.
			if _, err := tx.ExecContext(ctx, `DELETE FROM alerts WHERE case_id = ? AND state = 'due'`, int64(c.ID)); err != nil {
				return nil, 0, err
			}
			if c.Urgency.Rank() < target.Urgency.Rank() {
				if _, err := tx.ExecContext(ctx, `UPDATE cases SET urgency = ?, urgency_rank = ?, urgency_score = MAX(urgency_score, ?), updated_at = ? WHERE id = ?`,
					string(c.Urgency), c.Urgency.Rank(), 0.0, ts(now), int64(target.ID)); err != nil {
					return nil, 0, err
				}
				if err := audit(ctx, tx, now, "citybot", "case.escalate", caseSubject(target.ID),
					map[string]any{"urgency": target.Urgency}, map[string]any{"urgency": c.Urgency, "by_follower": c.Ref}); err != nil {
					return nil, 0, err
				}
				target.Urgency = c.Urgency
			}
			if err := audit(ctx, tx, now, "grouping", "case.group_join", caseSubject(target.ID), nil,
				map[string]any{"joined": c.Ref, "into": target.Ref}); err != nil {
				return nil, 0, err
			}
			c.Status, c.DuplicateOf = citybot.StatusDuplicate, target.ID
			return &target, 0, nil
		}
	}
	added := 0
	for _, sg := range d.Suggest {
		if sg.Like == c.ID || sg.Like <= 0 || c.Sensitive {
			continue
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO case_suggestions (case_id, like_id, score, signals, created_at)
			SELECT ?, b.id, ?, ?, ? FROM cases b
			WHERE b.id = ? AND b.status IN `+openStatuses+` AND b.sensitive = 0
			ON CONFLICT (case_id, like_id) DO NOTHING`,
			int64(c.ID), sg.Score, int64(sg.Signals), ts(now), int64(sg.Like))
		if err != nil {
			return nil, 0, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return nil, 0, err
		}
		added += int(n)
	}
	return nil, added, nil
}

// feedbackCase returns the citizen's most recent case in the chat,
// whatever its status (the case it was merged into, for a duplicate), or
// nil when they have none.
func feedbackCase(ctx context.Context, tx querier, chatID int64, citizen citybot.CitizenID) (*citybot.Case, error) {
	var id int64
	var dup sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT id, duplicate_of FROM cases WHERE citizen_id = ? AND chat_id = ?
		ORDER BY last_message_at DESC, id DESC LIMIT 1`, int64(citizen), chatID).Scan(&id, &dup)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if dup.Valid {
		id = dup.Int64
	}
	c, err := caseByID(ctx, tx, citybot.CaseID(id))
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// maxCues is how many sensitive cues a case keeps.
const maxCues = 16

// mergeCues returns have with the cues of add not yet in it, each cleaned
// and cut to 64 bytes, at most maxCues in all.
func mergeCues(have, add []string) []string {
	out := slices.Clone(have)
	for _, c := range add {
		c, _ = citybot.CleanText(strings.TrimSpace(c), 64)
		if c == "" || slices.Contains(out, c) {
			continue
		}
		if len(out) >= maxCues {
			break
		}
		out = append(out, c)
	}
	return out
}

// markSensitive flags case c sensitive, adding cues, and updates c. It
// reports whether c was not sensitive before (then the change is
// audited, by citybot).
func markSensitive(ctx context.Context, tx querier, c *citybot.Case, cues []string, now time.Time) (bool, error) {
	was := c.Sensitive
	merged := mergeCues(c.SensitiveCues, cues)
	if was && len(merged) == len(c.SensitiveCues) {
		return false, nil
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return false, err
	}
	if merged == nil {
		b = []byte("[]")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cases SET sensitive = 1, sensitive_cues = ? WHERE id = ?`, string(b), int64(c.ID)); err != nil {
		return false, err
	}
	c.Sensitive, c.SensitiveCues = true, merged
	if was {
		return false, nil
	}
	return true, audit(ctx, tx, now, "citybot", "case.sensitive", caseSubject(c.ID),
		map[string]any{"sensitive": false}, map[string]any{"sensitive": true, "reason": "a sensitive message joined the case"})
}

// insertID runs an INSERT and returns the new row's id.
//
// Inserts into tables that other tables reference use neither RETURNING
// nor ON CONFLICT: either makes SQLite treat the statement as a multi-row
// write and scan every child table for rows pointing at the new key, a
// full scan where the child column has no index.
//
// On PostgreSQL, which has no last insert id, it adds RETURNING id (there
// it costs no scan).
func insertID(ctx context.Context, tx querier, query string, args ...any) (int64, error) {
	if _, ok := tx.(pgQuerier); ok {
		var id int64
		err := tx.QueryRowContext(ctx, query+` RETURNING id`, args...).Scan(&id)
		return id, err
	}
	r, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return r.LastInsertId()
}

func urgencyOf(cl *citybot.Classification) citybot.Urgency {
	if cl == nil || cl.Urgency.Rank() > citybot.UrgencyLow.Rank() {
		return citybot.UrgencyNormal
	}
	return cl.Urgency
}

func topicOf(cl *citybot.Classification) string {
	if cl == nil || cl.Topic.Label == "" {
		return "other"
	}
	return cl.Topic.Label
}

// placeNames are the case's places: those overlapping personal data (a
// neighbour's name in "cour de Mme Dupont") are left out, since they are
// shown in the console's filters and, when street-like, in public.
func placeNames(cl *citybot.Classification) []string {
	names := []string{}
	if cl == nil {
		return names
	}
	for _, p := range citybot.PlacesClearOfPersonalData(cl) {
		names = append(names, p.Name)
	}
	return names
}

func insertClassifierTags(ctx context.Context, tx querier, caseID citybot.CaseID, msgID int64, cl *citybot.Classification, now time.Time) error {
	type tag struct {
		kind, value string
		conf        float64
	}
	tags := []tag{
		{"topic", topicOf(cl), cl.Topic.Confidence},
		{"urgency", string(urgencyOf(cl)), cl.UrgencyConfidence},
	}
	if cl.Language != "" {
		tags = append(tags, tag{"language", cl.Language, 1})
	}
	for _, p := range cl.Places {
		tags = append(tags, tag{"place", p.Name, 1})
	}
	q := `INSERT INTO tags (case_id, message_id, kind, value, confidence, source, set_by, at) VALUES `
	args := make([]any, 0, 7*len(tags))
	for i, t := range tags {
		if i > 0 {
			q += ", "
		}
		q += "(?, ?, ?, ?, ?, 'classifier', ?, ?)"
		args = append(args, int64(caseID), msgID, t.kind, t.value, t.conf, cl.Model, ts(now))
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

// intakeLookup is what the store knows of an inbound message's chat,
// sender and the message itself, read in one query (lookupIntake): each
// nil when not stored yet.
type intakeLookup struct {
	chat    *storedChat
	citizen *storedCitizen
	msg     *storedInbound
}

type storedChat struct {
	id          int64
	kind, title string
}

type storedCitizen struct {
	id                             int64
	language, created              string
	name, handle, languageCodeSeen string
}

type storedInbound struct {
	id     int64
	text   string
	caseID sql.NullInt64
}

// intakeLookupSQL is lookupIntake's statement: each join on a unique key
// (TestQueryPlans).
const intakeLookupSQL = `SELECT ch.id, ch.kind, ch.title, c.id, c.language, c.created_at, i.name, i.handle, i.language_code,
		m.id, m.text, m.case_id
	FROM (SELECT 1 AS one) k
	LEFT JOIN chats ch ON ch.platform = ?1 AND ch.platform_chat_id = ?2
	LEFT JOIN citizen_identities i ON i.platform = ?1 AND i.platform_user_id = ?3
	LEFT JOIN citizens c ON c.id = i.citizen_id
	LEFT JOIN messages m ON m.chat_id = ch.id AND m.platform_message_id = ?4 AND m.direction = 'in'`

// lookupIntake reads at once the chat, the sender's identity and the
// stored message that m names (a redelivery or an edit): one statement,
// where three would be three round trips to PostgreSQL.
func lookupIntake(ctx context.Context, tx querier, m citybot.Message) (intakeLookup, error) {
	var (
		chatID              sql.NullInt64
		chatKind, chatTitle sql.NullString
		citizenID           sql.NullInt64
		lang, created       sql.NullString
		name, handle, code  sql.NullString
		msgID               sql.NullInt64
		msgText             sql.NullString
		msgCase             sql.NullInt64
	)
	err := tx.QueryRowContext(ctx, intakeLookupSQL, string(m.Platform), string(m.Chat), string(m.Sender.ID), string(m.ID)).
		Scan(&chatID, &chatKind, &chatTitle, &citizenID, &lang, &created, &name, &handle, &code, &msgID, &msgText, &msgCase)
	if err != nil {
		return intakeLookup{}, err
	}
	var lk intakeLookup
	if chatID.Valid {
		lk.chat = &storedChat{id: chatID.Int64, kind: chatKind.String, title: chatTitle.String}
	}
	if citizenID.Valid {
		lk.citizen = &storedCitizen{id: citizenID.Int64, language: lang.String, created: created.String,
			name: name.String, handle: handle.String, languageCodeSeen: code.String}
	}
	if msgID.Valid {
		lk.msg = &storedInbound{id: msgID.Int64, text: msgText.String, caseID: msgCase}
	}
	return lk, nil
}

func upsertChat(ctx context.Context, tx querier, p citybot.Platform, chat citybot.ChatID, kind citybot.ChatKind, title string, now time.Time) (int64, error) {
	var found storedChat
	err := tx.QueryRowContext(ctx, `SELECT id, kind, title FROM chats WHERE platform = ? AND platform_chat_id = ?`,
		string(p), string(chat)).Scan(&found.id, &found.kind, &found.title)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return saveChat(ctx, tx, nil, p, chat, kind, title, now)
	case err != nil:
		return 0, err
	}
	return saveChat(ctx, tx, &found, p, chat, kind, title, now)
}

// saveChat is upsertChat once the chat was looked up (found is nil when
// it is new).
func saveChat(ctx context.Context, tx querier, found *storedChat, p citybot.Platform, chat citybot.ChatID, kind citybot.ChatKind, title string, now time.Time) (int64, error) {
	title, _ = citybot.CleanText(title, 512)
	if found == nil {
		if kind == "" {
			kind = citybot.ChatPrivate
		}
		return insertID(ctx, tx, `INSERT INTO chats (platform, platform_chat_id, kind, title, created_at) VALUES (?, ?, ?, ?, ?)`,
			string(p), string(chat), string(kind), title, ts(now))
	}
	id, oldKind, oldTitle := found.id, found.kind, found.title
	var err error
	if title == "" {
		title = oldTitle
	}
	if kind == "" {
		kind = citybot.ChatKind(oldKind)
	}
	if oldKind != string(kind) || oldTitle != title {
		_, err = tx.ExecContext(ctx, `UPDATE chats SET kind = ?, title = ? WHERE id = ?`, string(kind), title, id)
	}
	return id, err
}

// upsertContact keeps what an Open311 client said about a citizen, with
// their private identity; a field left empty keeps what was known.
func upsertContact(ctx context.Context, tx querier, id citybot.CitizenID, c citybot.Contact, now time.Time) error {
	clean := func(s string) string { s, _ = citybot.CleanText(s, 256); return s }
	_, err := tx.ExecContext(ctx, `INSERT INTO open311_contacts (citizen_id, email, first_name, last_name, phone, device_id, account_id, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (citizen_id) DO UPDATE SET
			email = CASE WHEN excluded.email <> '' THEN excluded.email ELSE open311_contacts.email END,
			first_name = CASE WHEN excluded.first_name <> '' THEN excluded.first_name ELSE open311_contacts.first_name END,
			last_name = CASE WHEN excluded.last_name <> '' THEN excluded.last_name ELSE open311_contacts.last_name END,
			phone = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE open311_contacts.phone END,
			device_id = CASE WHEN excluded.device_id <> '' THEN excluded.device_id ELSE open311_contacts.device_id END,
			account_id = CASE WHEN excluded.account_id <> '' THEN excluded.account_id ELSE open311_contacts.account_id END,
			updated_at = excluded.updated_at`,
		int64(id), clean(c.Email), clean(c.FirstName), clean(c.LastName), clean(c.Phone), clean(c.DeviceID), clean(c.AccountID), ts(now))
	return err
}

// upsertCitizen returns the pseudonymous citizen behind a platform
// identity, creating both when new and keeping the private identity
// (name, handle, language code) current.
func upsertCitizen(ctx context.Context, tx querier, p citybot.Platform, s citybot.Sender, now time.Time) (citybot.Citizen, error) {
	var found storedCitizen
	err := tx.QueryRowContext(ctx, `SELECT c.id, c.language, c.created_at, i.name, i.handle, i.language_code
		FROM citizen_identities i JOIN citizens c ON c.id = i.citizen_id
		WHERE i.platform = ? AND i.platform_user_id = ?`, string(p), string(s.ID)).
		Scan(&found.id, &found.language, &found.created, &found.name, &found.handle, &found.languageCodeSeen)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return saveCitizen(ctx, tx, nil, p, s, now)
	case err != nil:
		return citybot.Citizen{Platform: p}, err
	}
	return saveCitizen(ctx, tx, &found, p, s, now)
}

// saveCitizen is upsertCitizen once the identity was looked up (found is
// nil when it is new).
func saveCitizen(ctx context.Context, tx querier, found *storedCitizen, p citybot.Platform, s citybot.Sender, now time.Time) (citybot.Citizen, error) {
	name, _ := citybot.CleanText(s.Name, 256)
	handle, _ := citybot.CleanText(s.Handle, 256)
	langCode, _ := citybot.CleanText(s.LanguageCode, 35)
	c := citybot.Citizen{Platform: p}
	var (
		id                      int64
		created                 string
		oldName, oldHandle, old string
		err                     error
	)
	if found != nil {
		id, c.Language, created, oldName, oldHandle, old = found.id, found.language, found.created, found.name, found.handle, found.languageCodeSeen
	}
	switch {
	case found == nil:
		if id, err = insertID(ctx, tx, `INSERT INTO citizens (platform, created_at) VALUES (?, ?)`, string(p), ts(now)); err != nil {
			return c, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO citizen_identities
			(citizen_id, platform, platform_user_id, name, handle, language_code, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, string(p), string(s.ID), name, handle, langCode, ts(now)); err != nil {
			return c, err
		}
		created = ts(now)
	case oldName != name || oldHandle != handle || (langCode != "" && old != langCode):
		if langCode == "" {
			langCode = old
		}
		if _, err := tx.ExecContext(ctx, `UPDATE citizen_identities SET name = ?, handle = ?, language_code = ?, updated_at = ?
			WHERE citizen_id = ?`, name, handle, langCode, ts(now), id); err != nil {
			return c, err
		}
	}
	c.ID = citybot.CitizenID(id)
	c.CreatedAt = parseTS(created)
	return c, nil
}

// refAlphabet has no characters that read alike (0/O/D/Q, 1/I/L/J, 2/Z,
// 5/S, 8/B, 6/G, U/V).
const refAlphabet = "ACEFHKMNPRTWXY34679"

// RefLen is the length of a case reference.
const RefLen = 6

// newRef draws a random case reference from refAlphabet.
func newRef() citybot.CaseRef {
	const n = byte(len(refAlphabet))
	limit := 255 - 255%n // reject bytes that would bias the draw
	var out [RefLen]byte
	var buf [16]byte
	i := 0
	for i < RefLen {
		rand.Read(buf[:]) // never fails (crypto/rand)
		for _, b := range buf {
			if b >= limit {
				continue
			}
			out[i] = refAlphabet[b%n]
			i++
			if i == RefLen {
				break
			}
		}
	}
	return citybot.CaseRef(out[:])
}
