package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
)

// durations returns the count, median and 90th percentile of ds (sorted in
// place), by the nearest-rank method.
func durations(ds []time.Duration) citybot.Durations {
	if len(ds) == 0 {
		return citybot.Durations{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(ds))+0.999999) - 1
		return ds[min(max(i, 0), len(ds)-1)]
	}
	return citybot.Durations{Count: len(ds), Median: rank(0.5), P90: rank(0.9)}
}

func facets(m map[string]int) []citybot.FacetCount {
	out := make([]citybot.FacetCount, 0, len(m))
	for v, n := range m {
		out = append(out, citybot.FacetCount{Value: v, Count: n})
	}
	slices.SortFunc(out, func(a, b citybot.FacetCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Value, b.Value)
	})
	return out
}

// DigestFigures computes the public figures of the period [start, end):
// cases received by topic, platform and place, answered, time to first
// answer and to resolution (median, 90th percentile), resolved, confirmed
// fixed, still open, promises kept and missed. Places of the hide topics
// and the sensitive cases are left out of ByPlace; their counts stay in
// ByTopic. Thanks counts the citizens who said thank you.
// Promises whose date has not passed yet (before the store's clock) are not
// counted, and only a resolved case keeps a promise; the store knows no
// time zone, so the Digester recounts promises by the end of the promised
// day in the city's (Promises). The figures carry no text and no identity.
func (db *DB) DigestFigures(ctx context.Context, start, end time.Time, hide []string) (citybot.DigestFigures, error) {
	f, err := db.digestFigures(ctx, start.UTC(), end.UTC(), hide)
	if err != nil {
		return f, fmt.Errorf("store: digest figures: %w", mapErr(err))
	}
	return f, nil
}

func (db *DB) digestFigures(ctx context.Context, start, end time.Time, hide []string) (citybot.DigestFigures, error) {
	f := citybot.DigestFigures{Start: start, End: end}
	s, e := ts(start), ts(end)
	topics := map[string]*citybot.TopicFigures{}
	topic := func(name string) *citybot.TopicFigures {
		t := topics[name]
		if t == nil {
			t = &citybot.TopicFigures{Topic: name}
			topics[name] = t
		}
		return t
	}
	platforms, places := map[string]int{}, map[string]int{}

	// Cases received in the period.
	rows, err := db.r.QueryContext(ctx, `SELECT topic, platform, places, opened_at, COALESCE(first_answer_at, ''), sensitive FROM cases
		WHERE opened_at >= ? AND opened_at < ? AND status <> 'duplicate'`, s, e)
	if err != nil {
		return f, err
	}
	for rows.Next() {
		var tp, plat, pl, opened, answeredAt string
		var sensitive bool
		if err := rows.Scan(&tp, &plat, &pl, &opened, &answeredAt, &sensitive); err != nil {
			rows.Close()
			return f, err
		}
		f.Received++
		t := topic(tp)
		t.Received++
		platforms[plat]++
		if answeredAt != "" {
			f.Answered++
			t.Answered++
			switch took := parseTS(answeredAt).Sub(parseTS(opened)); {
			case took <= time.Hour:
				f.AnsweredWithinHour++
				f.AnsweredWithinDay++
			case took <= 24*time.Hour:
				f.AnsweredWithinDay++
			}
		}
		if pl != "[]" && pl != "" && !sensitive && !slices.Contains(hide, tp) {
			var names []string
			if json.Unmarshal([]byte(pl), &names) == nil {
				for _, n := range names {
					if n = db.places.Public(n); n != "" {
						places[n]++
					}
				}
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}

	// Time to first answer, for cases first answered in the period.
	all, per, err := db.spans(ctx, `SELECT topic, opened_at, first_answer_at FROM cases
		WHERE first_answer_at >= ? AND first_answer_at < ? AND status <> 'duplicate'`, s, e)
	if err != nil {
		return f, err
	}
	f.FirstAnswer = durations(all)
	for tp, ds := range per {
		topic(tp).FirstAnswer = durations(ds)
	}
	// Time to resolution, for cases resolved in the period.
	all, per, err = db.spans(ctx, `SELECT topic, opened_at, resolved_at FROM cases
		WHERE resolved_at >= ? AND resolved_at < ?`, s, e)
	if err != nil {
		return f, err
	}
	f.Resolution = durations(all)
	f.Resolved = len(all)
	for tp, ds := range per {
		topic(tp).Resolved = len(ds)
	}

	// The citizens' answers to "Is it fixed?".
	if err := db.r.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN answer = 'fixed' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN answer = 'not_fixed' THEN 1 ELSE 0 END), 0)
		FROM followups WHERE answer <> '' AND answered_at >= ? AND answered_at < ?`, s, e).Scan(&f.ConfirmedFixed, &f.NotFixed); err != nil {
		return f, err
	}

	// Citizens who said thank you (feedback, not reports); "intent <> ''"
	// lets SQLite use the partial index messages_feedback.
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT citizen_id) FROM messages
		WHERE intent <> '' AND intent = 'thanks' AND received_at >= ? AND received_at < ?`, s, e).Scan(&f.Thanks); err != nil {
		return f, err
	}

	// Open at the end of the period: open now, or resolved or closed
	// since.
	if err := db.r.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM cases WHERE status IN `+openStatuses+` AND opened_at < ?) +
		(SELECT COUNT(*) FROM cases WHERE resolved_at >= ? AND opened_at < ?) +
		(SELECT COUNT(*) FROM cases WHERE status = 'closed' AND updated_at >= ? AND opened_at < ?)`,
		e, e, e, e, e).Scan(&f.StillOpen); err != nil {
		return f, err
	}

	// Promises: expected-by dates that fell in the period and have passed.
	cut := end
	if now := db.now().UTC(); now.Before(cut) {
		cut = now
	}
	if cut.After(start) {
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN resolved_at IS NOT NULL AND resolved_at <= expected_by THEN 1 ELSE 0 END), 0)
			FROM cases WHERE expected_by >= ? AND expected_by < ? AND status <> 'duplicate'`, s, ts(cut)).Scan(&f.PromisesDue, &f.PromisesKept); err != nil {
			return f, err
		}
		f.PromisesOverdue = f.PromisesDue - f.PromisesKept
	}

	for _, t := range topics {
		f.ByTopic = append(f.ByTopic, *t)
	}
	slices.SortFunc(f.ByTopic, func(a, b citybot.TopicFigures) int {
		if c := cmp.Compare(b.Received, a.Received); c != 0 {
			return c
		}
		return cmp.Compare(a.Topic, b.Topic)
	})
	f.ByPlatform = facets(platforms)
	// A place named by a single case could point at the person who wrote:
	// only places at least two cases mention are counted.
	for name, n := range places {
		if n < 2 {
			delete(places, name)
		}
	}
	f.ByPlace = facets(places)
	if f.Equity, err = db.equity(ctx, start, end, hide); err != nil {
		return f, err
	}
	return f, nil
}

// spans runs a query of (topic, from, to) rows and returns the durations,
// all together and per topic.
func (db *DB) spans(ctx context.Context, query string, args ...any) ([]time.Duration, map[string][]time.Duration, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var all []time.Duration
	per := map[string][]time.Duration{}
	for rows.Next() {
		var tp, from, to string
		if err := rows.Scan(&tp, &from, &to); err != nil {
			return nil, nil, err
		}
		d := max(parseTS(to).Sub(parseTS(from)), 0)
		all = append(all, d)
		per[tp] = append(per[tp], d)
	}
	return all, per, rows.Err()
}

// DigestExamples returns the raw material of up to limit "you said, we
// did" examples among the cases resolved in [start, end) that an officer
// answered, sensitive cases and topics in hide left out: the citizen's first message with the
// classifier's personal-data spans, the officer's first answer, and the
// citizen's private name and handle for the redaction. The texts are NOT
// redacted: never show them as they are.
func (db *DB) DigestExamples(ctx context.Context, start, end time.Time, hide []string, limit int) ([]citybot.ExampleSource, error) {
	if limit <= 0 {
		return nil, nil
	}
	args := []any{ts(start), ts(end)}
	excl := ""
	if len(hide) > 0 {
		excl = ` AND c.topic NOT IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(hide)), ", ") + `)`
		for _, h := range hide {
			args = append(args, h)
		}
	}
	args = append(args, limit)
	// The case's first message: its text, and its classification for
	// the spans of personal data.
	rows, err := db.r.QueryContext(ctx, `SELECT c.id, c.topic, m.text, COALESCE(m.classification, ''),
		c.resolved_at, COALESCE(c.language, ''), `+reportersSQL("c")+`,
		COALESCE(ci.name, ''), COALESCE(ci.handle, '')
		FROM cases c LEFT JOIN citizen_identities ci ON ci.citizen_id = c.citizen_id
		LEFT JOIN messages m ON m.id = (SELECT m1.id FROM messages m1
			WHERE m1.case_id = c.id AND m1.direction = 'in' AND m1.command = '' AND m1.text <> '' ORDER BY m1.id LIMIT 1)
		WHERE c.resolved_at >= ? AND c.resolved_at < ? AND c.first_answer_at IS NOT NULL AND c.sensitive = 0`+excl+`
		  AND EXISTS (SELECT 1 FROM officer_messages om WHERE om.case_id = c.id)
		ORDER BY c.resolved_at, c.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: digest examples: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.ExampleSource
	for rows.Next() {
		var (
			id               int64
			tp               string
			said, classified sql.NullString
			resolved, lang   string
			name, handle     string
			cl               citybot.Classification
		)
		var reporters int
		if err := rows.Scan(&id, &tp, &said, &classified, &resolved, &lang, &reporters, &name, &handle); err != nil {
			return nil, fmt.Errorf("store: digest examples: %w", err)
		}
		if !said.Valid {
			continue
		}
		text := said.String
		if classified.String != "" {
			if err := json.Unmarshal([]byte(classified.String), &cl); err != nil {
				// Without the spans the text cannot be redacted well.
				continue
			}
		}
		ex := citybot.ExampleSource{Case: citybot.CaseID(id), Topic: tp, Said: text, SaidPersonal: cl.PersonalData,
			SaidLang: cl.Language, CaseLang: lang, Did: resolved, Reporters: reporters}
		for _, v := range []string{name, handle, strings.TrimPrefix(handle, "@")} {
			if strings.TrimSpace(v) != "" {
				ex.Avoid = append(ex.Avoid, v)
			}
		}
		out = append(out, ex)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: digest examples: %w", err)
	}
	rows.Close()
	// What was done: the answers given once the case was resolved first
	// (Did held resolved_at until here).
	kept := out[:0]
	for _, ex := range out {
		dids, err := db.answersDoneFirst(ctx, ex.Case, ex.Did)
		if err != nil {
			return nil, fmt.Errorf("store: digest examples: %w", mapErr(err))
		}
		if len(dids) == 0 {
			continue
		}
		ex.Dids, ex.Did = dids, dids[0]
		kept = append(kept, ex)
	}
	return kept, nil
}

// answersDoneFirst returns the texts of the officers' answers on a case
// (their first part; not the status and merge notices the responder keys
// officer:status: and officer:merge:): those at or after resolved
// (a timestamp), newest first, then the others, newest first.
func (db *DB) answersDoneFirst(ctx context.Context, id citybot.CaseID, resolved string) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT o.text FROM officer_messages om JOIN outbox o ON o.key = om.outbox_key
		WHERE om.case_id = ? AND o.text <> '' AND om.outbox_key NOT LIKE 'officer:status:%' AND om.outbox_key NOT LIKE 'officer:merge:%'
		  AND om.outbox_key NOT LIKE '%:group'
		  AND (om.outbox_key NOT LIKE '%#%' OR om.outbox_key LIKE '%#1') ORDER BY om.at >= ? DESC, om.at DESC, o.id DESC LIMIT 20`, int64(id), resolved)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

const digestColumns = `id, week, revision, state, figures, previous, examples, note, texts, chart, drafted_by, created_at,
	decided_by, decided_at, comment, publish_equity`

func scanDigest(s scanner) (citybot.Digest, error) {
	var (
		d                               citybot.Digest
		id                              int64
		week, state, fig, prev, ex, txt string
		created, decided                string
	)
	if err := s.Scan(&id, &week, &d.Revision, &state, &fig, &prev, &ex, &d.Note, &txt, &d.Chart, &d.DraftedBy, &created,
		&d.DecidedBy, &decided, &d.Comment, &d.PublishEquity); err != nil {
		return d, err
	}
	d.ID, d.Week, d.State = citybot.DigestID(id), citybot.Week(week), citybot.DigestState(state)
	d.CreatedAt = parseTS(created)
	if decided != "" {
		d.DecidedAt = parseTS(decided)
	}
	for _, p := range []struct {
		src string
		dst any
	}{{fig, &d.Figures}, {prev, &d.Previous}, {ex, &d.Examples}, {txt, &d.Texts}} {
		if err := json.Unmarshal([]byte(p.src), p.dst); err != nil {
			return d, fmt.Errorf("digest %d: %w", id, err)
		}
	}
	return d, nil
}

func digestSubject(id citybot.DigestID) string { return "digest:" + strconv.FormatInt(int64(id), 10) }

// SaveDigestDraft stores d as a new draft revision of its week and, in the
// same transaction, queues the outbox rows notify returns (the officials'
// notice with its buttons; notify gets the stored digest, with its id).
// It returns the stored draft. A week that already has a pending draft or
// an approved digest is refused with an error wrapping
// citybot.ErrDuplicate (a second scheduler fire is a no-op); a digest
// without week or texts with citybot.ErrInvalid.
func (db *DB) SaveDigestDraft(ctx context.Context, d citybot.Digest, notify func(citybot.Digest) ([]citybot.OutboxItem, error)) (citybot.Digest, error) {
	d, err := db.saveDraft(ctx, d, notify, false)
	if err != nil {
		return citybot.Digest{}, fmt.Errorf("store: save digest draft: %w", err)
	}
	return d, nil
}

// RedraftDigest stores d as a new draft revision of its week, like
// SaveDigestDraft, but a pending draft of the week does not stop it: that
// draft is set aside in the same transaction (state changes_requested,
// decided by d.DraftedBy, with a comment naming the new revision, and
// audited), so that a press on its old Approve button is refused. A week
// with an approved digest is refused with an error wrapping
// citybot.ErrDuplicate: an approved week is never redrafted.
func (db *DB) RedraftDigest(ctx context.Context, d citybot.Digest, notify func(citybot.Digest) ([]citybot.OutboxItem, error)) (citybot.Digest, error) {
	d, err := db.saveDraft(ctx, d, notify, true)
	if err != nil {
		return citybot.Digest{}, fmt.Errorf("store: redraft digest: %w", err)
	}
	return d, nil
}

func (db *DB) saveDraft(ctx context.Context, d citybot.Digest, notify func(citybot.Digest) ([]citybot.OutboxItem, error), replace bool) (citybot.Digest, error) {
	if d.Week == "" || len(d.Texts) == 0 {
		return d, fmt.Errorf("%w: a digest needs a week and texts", citybot.ErrInvalid)
	}
	if replace && strings.TrimSpace(d.DraftedBy) == "" {
		return d, fmt.Errorf("%w: a redraft needs the account that asks for it", citybot.ErrInvalid)
	}
	enc := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		var approved, pending int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN state = 'approved' THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN state = 'draft' THEN 1 ELSE 0 END), 0)
			FROM digests WHERE week = ?`, string(d.Week)).Scan(&approved, &pending); err != nil {
			return err
		}
		if approved > 0 {
			return fmt.Errorf("%w: week %s is approved already", citybot.ErrDuplicate, d.Week)
		}
		if pending > 0 && !replace {
			return fmt.Errorf("%w: week %s already has a draft", citybot.ErrDuplicate, d.Week)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(revision), 0) + 1 FROM digests WHERE week = ?`, string(d.Week)).Scan(&d.Revision); err != nil {
			return err
		}
		if pending > 0 {
			var oldID int64
			var oldRev int
			if err := tx.QueryRowContext(ctx, `SELECT id, revision FROM digests WHERE week = ? AND state = 'draft'`,
				string(d.Week)).Scan(&oldID, &oldRev); err != nil {
				return err
			}
			note := fmt.Sprintf("Replaced by version %d.", d.Revision)
			if _, err := tx.ExecContext(ctx, `UPDATE digests SET state = 'changes_requested', decided_by = ?, decided_at = ?, comment = ?
				WHERE id = ? AND state = 'draft'`, d.DraftedBy, ts(now), note, oldID); err != nil {
				return err
			}
			if err := audit(ctx, tx, now, d.DraftedBy, "digest.replace", digestSubject(citybot.DigestID(oldID)),
				map[string]any{"state": citybot.DigestDraft}, map[string]any{"state": citybot.DigestChangesRequested,
					"week": d.Week, "revision": oldRev, "replaced_by": d.Revision}); err != nil {
				return err
			}
		}
		d.State, d.CreatedAt = citybot.DigestDraft, now
		d.DecidedBy, d.DecidedAt, d.Comment = "", time.Time{}, ""
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO digests (week, revision, state, figures, previous, examples, note, texts, chart, drafted_by, created_at)
			VALUES (?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			string(d.Week), d.Revision, enc(d.Figures), enc(d.Previous), enc(d.Examples), d.Note, enc(d.Texts), d.Chart,
			d.DraftedBy, ts(now)).Scan(&id); err != nil {
			return err
		}
		d.ID = citybot.DigestID(id)
		if err := audit(ctx, tx, now, d.DraftedBy, "digest.draft", digestSubject(d.ID), nil,
			map[string]any{"week": d.Week, "revision": d.Revision}); err != nil {
			return err
		}
		return queueAll(ctx, tx, now, d, notify)
	})
	if err != nil {
		return citybot.Digest{}, mapErr(err)
	}
	return d, nil
}

func queueAll(ctx context.Context, tx querier, now time.Time, d citybot.Digest, build func(citybot.Digest) ([]citybot.OutboxItem, error)) error {
	if build == nil {
		return nil
	}
	items, err := build(d)
	if err != nil {
		return err
	}
	for _, it := range items {
		if _, err := insertOutbox(ctx, tx, it, now); err != nil {
			return err
		}
	}
	return nil
}

// DecideDigest records an official's decision on a draft and, when it
// approves, queues in the same transaction the outbox rows posts returns
// (the public posts, keyed so that each channel gets the digest once). The
// audit log records who decided what and when. It returns the digest as
// decided. Errors wrap citybot.ErrNotFound for an unknown digest,
// citybot.ErrInvalid for a digest no longer a draft (decided already) or a
// send-back without a comment, and whatever posts returns.
func (db *DB) DecideDigest(ctx context.Context, id citybot.DigestID, dec citybot.DigestDecision, posts func(citybot.Digest) ([]citybot.OutboxItem, error)) (citybot.Digest, error) {
	var out citybot.Digest
	comment, _ := citybot.CleanText(strings.TrimSpace(dec.Comment), 4000)
	if strings.TrimSpace(dec.Actor) == "" {
		return out, fmt.Errorf("store: decide digest: %w: the decision needs an actor", citybot.ErrInvalid)
	}
	if !dec.Approve && comment == "" {
		return out, fmt.Errorf("store: decide digest: %w: sending a draft back needs a comment", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		d, err := scanDigest(tx.QueryRowContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE id = ?`, int64(id)))
		if err != nil {
			return err
		}
		if d.State != citybot.DigestDraft {
			return fmt.Errorf("%w: this digest was already decided (%s by %s)", citybot.ErrInvalid, d.State, d.DecidedBy)
		}
		now := db.now().UTC()
		d.State = citybot.DigestChangesRequested
		action := "digest.request_changes"
		if dec.Approve {
			d.State, action = citybot.DigestApproved, "digest.approve"
		}
		d.DecidedBy, d.DecidedAt, d.Comment = dec.Actor, now, comment
		d.PublishEquity = dec.Approve && dec.PublishEquity
		if _, err := tx.ExecContext(ctx, `UPDATE digests SET state = ?, decided_by = ?, decided_at = ?, comment = ?, publish_equity = ? WHERE id = ? AND state = 'draft'`,
			string(d.State), d.DecidedBy, ts(now), comment, d.PublishEquity, int64(id)); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, dec.Actor, action, digestSubject(id), map[string]any{"state": citybot.DigestDraft},
			map[string]any{"state": d.State, "week": d.Week, "revision": d.Revision, "comment": comment, "publish_equity": d.PublishEquity}); err != nil {
			return err
		}
		if dec.Approve {
			if err := queueAll(ctx, tx, now, d, posts); err != nil {
				return err
			}
		}
		out = d
		return nil
	})
	if err != nil {
		return citybot.Digest{}, fmt.Errorf("store: decide digest: %w", mapErr(err))
	}
	return out, nil
}

// Digest returns the digest with this id, or an error wrapping
// citybot.ErrNotFound.
func (db *DB) Digest(ctx context.Context, id citybot.DigestID) (citybot.Digest, error) {
	d, err := scanDigest(db.r.QueryRowContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE id = ?`, int64(id)))
	if err != nil {
		return d, fmt.Errorf("store: digest: %w", mapErr(err))
	}
	return d, nil
}

// ApprovedDigest returns the approved digest of a week, or an error
// wrapping citybot.ErrNotFound.
func (db *DB) ApprovedDigest(ctx context.Context, week citybot.Week) (citybot.Digest, error) {
	d, err := scanDigest(db.r.QueryRowContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE week = ? AND state = 'approved'`, string(week)))
	if err != nil {
		return d, fmt.Errorf("store: approved digest: %w", mapErr(err))
	}
	return d, nil
}

// Digests returns up to limit digests in the given states (every state
// when none is given), newest week first, then newest revision.
func (db *DB) Digests(ctx context.Context, limit int, states ...citybot.DigestState) ([]citybot.Digest, error) {
	if limit <= 0 {
		limit = 50
	}
	var args []any
	where := ""
	if len(states) > 0 {
		where = ` WHERE state IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(states)), ", ") + `)`
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+digestColumns+` FROM digests`+where+` ORDER BY week DESC, revision DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: digests: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.Digest
	for rows.Next() {
		d, err := scanDigest(rows)
		if err != nil {
			return nil, fmt.Errorf("store: digests: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: digests: %w", err)
	}
	return out, nil
}

// CommentDigest adds an official's comment to a digest sent back for
// changes (after the comment given with the decision) and records it in
// the audit log. Errors wrap citybot.ErrNotFound for an unknown digest and
// citybot.ErrInvalid for an empty comment or a digest not sent back.
func (db *DB) CommentDigest(ctx context.Context, id citybot.DigestID, actor, comment string) error {
	comment, _ = citybot.CleanText(strings.TrimSpace(comment), 4000)
	if comment == "" || strings.TrimSpace(actor) == "" {
		return fmt.Errorf("store: comment digest: %w: a comment needs text and an author", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		d, err := scanDigest(tx.QueryRowContext(ctx, `SELECT `+digestColumns+` FROM digests WHERE id = ?`, int64(id)))
		if err != nil {
			return err
		}
		if d.State != citybot.DigestChangesRequested {
			return fmt.Errorf("%w: only a digest sent back takes comments", citybot.ErrInvalid)
		}
		all := strings.TrimSpace(d.Comment + "\n\n" + actor + ": " + comment)
		if _, err := tx.ExecContext(ctx, `UPDATE digests SET comment = ? WHERE id = ?`, all, int64(id)); err != nil {
			return err
		}
		return audit(ctx, tx, db.now().UTC(), actor, "digest.comment", digestSubject(id), nil, map[string]any{"comment": comment})
	})
	if err != nil {
		return fmt.Errorf("store: comment digest: %w", mapErr(err))
	}
	return nil
}

// Promises returns the promised days of the cases (duplicates left out)
// whose expected-by date lies in [from, to), with when each was resolved
// (nil when it is not resolved now), then the dates officers replaced or
// cleared (MovedAt set) that lie in [from, to) or were moved in it.
func (db *DB) Promises(ctx context.Context, from, to time.Time) ([]citybot.Promise, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, expected_by, COALESCE(resolved_at, '') FROM cases
		WHERE expected_by >= ? AND expected_by < ? AND status <> 'duplicate' ORDER BY expected_by, id`, ts(from.UTC()), ts(to.UTC()))
	if err != nil {
		return nil, fmt.Errorf("store: promises: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.Promise
	for rows.Next() {
		var id int64
		var by, resolved string
		if err := rows.Scan(&id, &by, &resolved); err != nil {
			return nil, fmt.Errorf("store: promises: %w", err)
		}
		p := citybot.Promise{Case: citybot.CaseID(id), ExpectedBy: parseTS(by)}
		if resolved != "" {
			r := parseTS(resolved)
			p.ResolvedAt = &r
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: promises: %w", err)
	}
	rows.Close()
	// The dates officers replaced or cleared: those of the range, and
	// those moved in the range.
	mv, err := db.r.QueryContext(ctx, `SELECT m.case_id, m.old_date, COALESCE(m.new_date, ''), m.moved_at, COALESCE(c.resolved_at, '')
		FROM promise_moves m JOIN cases c ON c.id = m.case_id
		WHERE ((m.old_date >= ?1 AND m.old_date < ?2) OR (m.moved_at >= ?1 AND m.moved_at < ?2)) AND c.status <> 'duplicate'
		ORDER BY m.old_date, m.id`, ts(from.UTC()), ts(to.UTC()))
	if err != nil {
		return nil, fmt.Errorf("store: promises: %w", mapErr(err))
	}
	defer mv.Close()
	for mv.Next() {
		var id int64
		var by, to, at, resolved string
		if err := mv.Scan(&id, &by, &to, &at, &resolved); err != nil {
			return nil, fmt.Errorf("store: promises: %w", err)
		}
		moved := parseTS(at)
		p := citybot.Promise{Case: citybot.CaseID(id), ExpectedBy: parseTS(by), MovedAt: &moved}
		if to != "" {
			p.MovedTo = parseTS(to)
		}
		if resolved != "" {
			r := parseTS(resolved)
			p.ResolvedAt = &r
		}
		out = append(out, p)
	}
	if err := mv.Err(); err != nil {
		return nil, fmt.Errorf("store: promises: %w", err)
	}
	return out, nil
}
