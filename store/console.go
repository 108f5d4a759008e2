package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"citybot"
)

// inboxWhere turns a query into SQL conditions and their arguments. With
// facets false it leaves out the five faceted filters (status, urgency,
// topic, platform, language), which InboxCounts applies in Go.
//
// On PostgreSQL, a search's matches are resolved first (searchMatches)
// and given as pgMatches.
func inboxWhere(eng Engine, q citybot.InboxQuery, facets bool, pgMatches []int64) (string, []any) {
	var where []string
	var args []any
	if facets {
		// With no status chosen, literally the partial index's
		// condition, so that the planner can use cases_inbox_open.
		where = append(where, statusCondition(q, &args))
		if q.Topic != "" {
			where = append(where, `c.topic = ?`)
			args = append(args, q.Topic)
		}
		if q.Urgency != "" {
			where = append(where, `c.urgency_rank = ?`)
			args = append(args, q.Urgency.Rank())
		}
		if q.Platform != "" {
			where = append(where, `c.platform = ?`)
			args = append(args, string(q.Platform))
		}
		if q.Language != "" {
			where = append(where, `c.language = ?`)
			args = append(args, q.Language)
		}
	}
	if len(q.HideTopics) > 0 {
		marks := make([]string, len(q.HideTopics))
		for i, t := range q.HideTopics {
			marks[i] = "?"
			args = append(args, t)
		}
		where = append(where, `c.topic NOT IN (`+strings.Join(marks, ", ")+`)`)
	}
	if q.HideSensitive {
		// "+": never an index constraint, so that the inbox keeps its
		// ordered index (cases_inbox_open); the covering indexes carry
		// the column.
		where = append(where, eng.noIndex("c.sensitive")+` = 0`)
	}
	if q.Place != "" && eng == Postgres {
		where = append(where, `EXISTS (SELECT 1 FROM jsonb_array_elements_text(c.places::jsonb) AS p(value) WHERE p.value = ?)`)
		args = append(args, q.Place)
	} else if q.Place != "" {
		where = append(where, `EXISTS (SELECT 1 FROM json_each(c.places) WHERE json_each.value = ?)`)
		args = append(args, q.Place)
	}
	switch q.Assignee {
	case "":
	case "-":
		where = append(where, `c.assignee = ''`)
	default:
		where = append(where, `c.assignee = ?`)
		args = append(args, q.Assignee)
	}
	if !q.OpenedBefore.IsZero() {
		where = append(where, `c.opened_at < ?`)
		args = append(args, ts(q.OpenedBefore))
	}
	if !q.OpenedAfter.IsZero() {
		where = append(where, `c.opened_at >= ?`)
		args = append(args, ts(q.OpenedAfter))
	}
	if tsQuery(q.Search) != "" && eng == Postgres {
		where = append(where, `c.id IN (SELECT m.case_id FROM messages m WHERE m.id = ANY(?) AND m.case_id IS NOT NULL)`)
		args = append(args, pgMatches)
	} else if m := ftsQuery(q.Search); m != "" {
		// Only the most recent matches: a common word would otherwise
		// pull in most of the store.
		where = append(where, `c.id IN (SELECT m.case_id FROM messages m WHERE m.id IN (
			SELECT docid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY docid DESC LIMIT `+strconv.Itoa(MaxSearchMatches)+`)
			AND m.case_id IS NOT NULL)`)
		args = append(args, m)
	}
	if len(where) == 0 {
		return "1 = 1", args
	}
	return strings.Join(where, " AND "), args
}

// MaxSearchMatches is how many of the most recent messages matching a
// search the inbox considers: older matches of a very common word are
// left out, so that a search stays fast on a large store.
const MaxSearchMatches = 2000

// searchWindows are the spans of the newest message ids that
// searchMatches looks in, one after the other, until one holds
// enough matches; 0 is every message. A span's start is rounded down to
// a multiple of round.
type searchWindows struct {
	spans []int64
	round int64
}

var defaultSearchWindows = searchWindows{spans: []int64{16 << 10, 256 << 10, 0}, round: 4096}

// searchMatches returns the ids of the newest messages (at most limit,
// MaxSearchMatches for the inbox) that the search s matches, newest
// first, on PostgreSQL.
//
// PostgreSQL's text index (a GIN index) gives its matches in no order: to
// keep the newest 2,000 it would read every match, 140,000 rows for a
// word in one message in seven of a million. So the search looks among
// the newest 16,384 messages first, where the planner intersects the
// text index with the id range and reads only the matches in it; only
// when they hold fewer than limit matches does it widen the
// span (256 Ki, then every message). The newest matches of a wider span
// are those of a narrower one when it holds enough, so the result is the
// same as one search over everything. The bound is written in the query,
// rounded down to 4,096 ids (so that a new statement is prepared once
// per 4,096 messages), for the planner to see how narrow it is.
func (db *DB) searchMatches(ctx context.Context, s string, limit int) ([]int64, error) {
	m := tsQuery(s)
	if m == "" {
		return nil, nil
	}
	var newest int64
	if err := db.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM messages`).Scan(&newest); err != nil {
		return nil, err
	}
	var ids []int64
	for _, w := range db.search.spans {
		from := int64(0)
		if w > 0 {
			from = max(0, (newest-w)/db.search.round*db.search.round)
		}
		// The expression of the index messages_fts (migration 0010).
		rows, err := db.r.QueryContext(ctx, `SELECT id FROM messages
			WHERE to_tsvector('citybot_search'::regconfig, text) @@ to_tsquery('citybot_search'::regconfig, ?) AND id > `+
			strconv.FormatInt(from, 10)+` ORDER BY id DESC LIMIT `+strconv.Itoa(limit), m)
		if err != nil {
			return nil, err
		}
		ids = ids[:0]
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(ids) == limit || from == 0 {
			break
		}
	}
	return ids, nil
}

// inboxMatches is searchMatches for q's search when the store needs it
// (PostgreSQL; SQLite's full-text table gives its matches newest first).
func (db *DB) inboxMatches(ctx context.Context, q citybot.InboxQuery) ([]int64, error) {
	if db.eng != Postgres {
		return nil, nil
	}
	return db.searchMatches(ctx, q.Search, MaxSearchMatches)
}

// ftsQuery turns what an officer typed into an FTS4 query: every word must
// appear (a prefix match on the last one); operators and quotes typed are
// treated as plain text. It returns "" when nothing searchable is left.
func ftsQuery(s string) string {
	words := searchWords(s)
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	if len(words) > 0 {
		words[len(words)-1] = strings.TrimSuffix(words[len(words)-1], `"`) + `*"`
	}
	return strings.Join(words, " ")
}

// tsQuery is ftsQuery for PostgreSQL's text search: every word must
// appear, the last one as a prefix ('water' & 'cut':*). Words hold only
// letters and digits, so they need no quoting beyond the quotes.
func tsQuery(s string) string {
	words := searchWords(s)
	for i, w := range words {
		words[i] = `'` + w + `'`
	}
	if len(words) > 0 {
		words[len(words)-1] += `:*`
	}
	return strings.Join(words, " & ")
}

// searchWords splits what an officer typed into at most 12 words of
// letters and digits.
func searchWords(s string) []string {
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 12 {
		words = words[:12]
	}
	return words
}

// InboxPage returns the cases q selects, critical first then oldest (the
// unanswered first with q.UnansweredFirst), with each case's assignee,
// the start of its first message and its first answer's time, and
// whether more cases follow the page.
func (db *DB) InboxPage(ctx context.Context, q citybot.InboxQuery) (items []citybot.InboxItem, more bool, err error) {
	matches, err := db.inboxMatches(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("store: inbox page: search: %w", mapErr(err))
	}
	where, args := inboxWhere(db.eng, q, true, matches)
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit+1, max(0, q.Offset))
	order := ""
	if q.UnansweredFirst {
		order = "c.first_answer_at IS NOT NULL, "
	}
	from := caseFrom
	if len(q.Statuses) == 0 && q.Search == "" {
		// Open cases come from the partial index, already in inbox order
		// (urgency, then followers, then age): the page is read without
		// sorting every open case. Named, because SQLite's planner would
		// rather sort the status index's rows.
		from = ` FROM cases c INDEXED BY cases_inbox_open JOIN chats ch ON ch.id = c.chat_id `
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+caseColumns+`, c.assignee,
		COALESCE((SELECT substr(m.text, 1, 400) FROM messages m WHERE m.case_id = c.id AND m.direction = 'in' ORDER BY m.id LIMIT 1), ''),
		c.first_answer_at`+from+`WHERE `+where+` ORDER BY `+order+`c.urgency_rank, c.followers DESC, c.opened_at, c.id LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("store: inbox page: %w", mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var it citybot.InboxItem
		var assignee, excerpt string
		var answered sql.NullString
		c, err := scanCase(multiScan{rows, []any{&assignee, &excerpt, &answered}})
		if err != nil {
			return nil, false, fmt.Errorf("store: inbox page: %w", err)
		}
		it.Case, it.Assignee, it.Excerpt, it.FirstAnswerAt = c, assignee, excerpt, parseNullTS(answered)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("store: inbox page: %w", mapErr(err))
	}
	if len(items) > limit {
		items, more = items[:limit], true
	}
	return items, more, nil
}

// multiScan lets scanCase read the case columns of a row that has more.
type multiScan struct {
	rows  *sql.Rows
	extra []any
}

func (m multiScan) Scan(dest ...any) error { return m.rows.Scan(append(dest, m.extra...)...) }

// InboxCounts counts the cases per status, urgency, topic, platform and
// language: for each of these filters, among the cases q selects with
// that filter left out (so that the counts say what choosing another
// value would give). Total is the number of cases q selects.
//
// Status counts cover the open statuses and the statuses q selects, not
// the others: counting every resolved and closed case would scan the
// whole table on every inbox view. It runs one grouped query on a
// covering index.
func (db *DB) InboxCounts(ctx context.Context, q citybot.InboxQuery) (citybot.InboxCounts, error) {
	type group struct {
		status, topic, platform, language string
		rank, n                           int
	}
	counted := q
	counted.Statuses = []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress, citybot.StatusAnswered}
	for _, st := range q.Statuses {
		if !st.Open() {
			counted.Statuses = append(counted.Statuses, st)
		}
	}
	matches, err := db.inboxMatches(ctx, q)
	if err != nil {
		return citybot.InboxCounts{}, fmt.Errorf("store: inbox counts: search: %w", mapErr(err))
	}
	where, args := inboxWhere(db.eng, q, false, matches)
	where += " AND " + statusCondition(counted, &args)
	rows, err := db.r.QueryContext(ctx, `SELECT c.status, c.urgency_rank, c.topic, c.platform, c.language, count(*)
		FROM cases c WHERE `+where+` GROUP BY 1, 2, 3, 4, 5`, args...)
	if err != nil {
		return citybot.InboxCounts{}, fmt.Errorf("store: inbox counts: %w", mapErr(err))
	}
	defer rows.Close()
	var groups []group
	for rows.Next() {
		var g group
		if err := rows.Scan(&g.status, &g.rank, &g.topic, &g.platform, &g.language, &g.n); err != nil {
			return citybot.InboxCounts{}, fmt.Errorf("store: inbox counts: %w", err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return citybot.InboxCounts{}, fmt.Errorf("store: inbox counts: %w", mapErr(err))
	}
	statusOK := func(s string) bool {
		if len(q.Statuses) == 0 {
			return citybot.CaseStatus(s).Open()
		}
		return slices.Contains(q.Statuses, citybot.CaseStatus(s))
	}
	// match reports whether g passes every faceted filter but skip.
	match := func(g group, skip string) bool {
		return (skip == "status" || statusOK(g.status)) &&
			(skip == "urgency" || q.Urgency == "" || g.rank == q.Urgency.Rank()) &&
			(skip == "topic" || q.Topic == "" || g.topic == q.Topic) &&
			(skip == "platform" || q.Platform == "" || g.platform == string(q.Platform)) &&
			(skip == "language" || q.Language == "" || g.language == q.Language)
	}
	facet := func(name string, val func(group) string) []citybot.FacetCount {
		m := map[string]int{}
		var order []string
		for _, g := range groups {
			if !match(g, name) {
				continue
			}
			v := val(g)
			if _, ok := m[v]; !ok {
				order = append(order, v)
			}
			m[v] += g.n
		}
		out := make([]citybot.FacetCount, 0, len(order))
		for _, v := range order {
			out = append(out, citybot.FacetCount{Value: v, Count: m[v]})
		}
		sortFacets(out)
		return out
	}
	var c citybot.InboxCounts
	c.Status = facet("status", func(g group) string { return g.status })
	c.Urgency = facet("urgency", func(g group) string { return string(urgencyOfRank(g.rank)) })
	c.Topic = facet("topic", func(g group) string { return g.topic })
	c.Platform = facet("platform", func(g group) string { return g.platform })
	c.Language = facet("language", func(g group) string { return g.language })
	for _, g := range groups {
		if match(g, "") {
			c.Total += g.n
		}
	}
	return c, nil
}

// statusCondition is the SQL condition on the statuses q selects (every
// open status when none), appending its arguments.
func statusCondition(q citybot.InboxQuery, args *[]any) string {
	if len(q.Statuses) == 0 {
		return `c.status IN ` + openStatuses
	}
	marks := make([]string, len(q.Statuses))
	for i, s := range q.Statuses {
		marks[i] = "?"
		*args = append(*args, string(s))
	}
	return `c.status IN (` + strings.Join(marks, ", ") + `)`
}

func urgencyOfRank(r int) citybot.Urgency {
	for _, u := range []citybot.Urgency{citybot.UrgencyCritical, citybot.UrgencyHigh, citybot.UrgencyNormal, citybot.UrgencyLow} {
		if u.Rank() == r {
			return u
		}
	}
	return citybot.UrgencyNormal
}

// sortFacets orders counts by value, so that the console's lists do not
// jump around as counts change.
func sortFacets(fs []citybot.FacetCount) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Value < fs[j-1].Value; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// caseView loads a case with its assignee, the cases merged into it, its
// citizens' languages and its chats' kinds.
func caseView(ctx context.Context, q querier, id citybot.CaseID) (citybot.CaseView, error) {
	var v citybot.CaseView
	var assignee string
	c, err := scanCase(rowScan{q.QueryRowContext(ctx, `SELECT `+caseColumns+`, c.assignee`+caseFrom+`WHERE c.id = ?`, int64(id)), &assignee})
	if err != nil {
		return v, err
	}
	v.Case, v.Assignee = c, assignee
	rows, err := q.QueryContext(ctx, `SELECT `+caseColumns+caseFrom+`WHERE c.duplicate_of = ? ORDER BY c.id`, int64(id))
	if err != nil {
		return v, err
	}
	if v.Merged, err = collectCases(rows); err != nil {
		return v, err
	}
	v.Languages = map[citybot.CitizenID]string{}
	v.ChatKinds = map[citybot.CaseID]citybot.ChatKind{}
	for _, cc := range append([]citybot.Case{c}, v.Merged...) {
		var lang, kind string
		if err := q.QueryRowContext(ctx, `SELECT language FROM citizens WHERE id = ?`, int64(cc.Citizen)).Scan(&lang); err != nil {
			return v, err
		}
		v.Languages[cc.Citizen] = lang
		if err := q.QueryRowContext(ctx, `SELECT ch.kind FROM cases c JOIN chats ch ON ch.id = c.chat_id WHERE c.id = ?`, int64(cc.ID)).Scan(&kind); err != nil {
			return v, err
		}
		v.ChatKinds[cc.ID] = citybot.ChatKind(kind)
	}
	return v, nil
}

type rowScan struct {
	row   *sql.Row
	extra *string
}

func (r rowScan) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }

// CaseView returns a case with its assignee, the cases merged into it and
// its citizens' preferred languages. Errors wrap citybot.ErrNotFound.
func (db *DB) CaseView(ctx context.Context, id citybot.CaseID) (citybot.CaseView, error) {
	v, err := caseView(ctx, db.r, id)
	if err != nil {
		return v, fmt.Errorf("store: case view: %w", mapErr(err))
	}
	return v, nil
}

// maxConversation is the most messages of each direction a case page
// shows (the latest).
const maxConversation = 500

// Conversation returns a case's messages, oldest first: the citizen's, and
// every outbox row about the case (sent or not) with the officer who wrote
// it. Texts are as stored: citizen text is hostile.
func (db *DB) Conversation(ctx context.Context, id citybot.CaseID) ([]citybot.ConversationEntry, error) {
	var out []citybot.ConversationEntry
	rows, err := db.r.QueryContext(ctx, `SELECT id, text, text_truncated, edited_at, sent_at, latitude, longitude, classification, sensitive, intent FROM (
		SELECT * FROM messages WHERE case_id = ? AND direction = 'in' ORDER BY id DESC LIMIT ?) AS m ORDER BY id`, int64(id), maxConversation)
	if err != nil {
		return nil, fmt.Errorf("store: conversation: %w", mapErr(err))
	}
	index := map[int64]int{}
	for rows.Next() {
		var (
			e        citybot.ConversationEntry
			mid      int64
			edited   sql.NullString
			sent     string
			lat, lon sql.NullFloat64
			class    sql.NullString
			intent   string
		)
		if err := rows.Scan(&mid, &e.Text, &e.Truncated, &edited, &sent, &lat, &lon, &class, &e.Sensitive, &intent); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: conversation: %w", err)
		}
		e.Direction, e.At, e.Edited, e.Intent = "in", parseTS(sent), edited.Valid, citybot.Intent(intent)
		if lat.Valid && lon.Valid {
			e.Location = &citybot.Location{Latitude: lat.Float64, Longitude: lon.Float64}
		}
		if class.Valid && class.String != "" {
			var cl citybot.Classification
			if json.Unmarshal([]byte(class.String), &cl) == nil {
				e.Classification = &cl
			}
		}
		index[mid] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: conversation: %w", err)
	}
	rows, err = db.r.QueryContext(ctx, `SELECT a.message_id, a.kind, a.file_id, a.mime_type, a.name, a.size, a.id,
		COALESCE(md.state, ''), COALESCE(md.reason, '')
		FROM attachments a JOIN messages m ON m.id = a.message_id LEFT JOIN media md ON md.attachment_id = a.id
		WHERE m.case_id = ? ORDER BY a.id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("store: conversation: %w", mapErr(err))
	}
	for rows.Next() {
		var mid int64
		var a citybot.Attachment
		var kind, kept string
		if err := rows.Scan(&mid, &kind, &a.FileID, &a.MIMEType, &a.Name, &a.Size, &a.ID, &kept, &a.KeptReason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: conversation: %w", err)
		}
		a.Kind, a.Kept = citybot.AttachmentKind(kind), citybot.MediaState(kept)
		if i, ok := index[mid]; ok {
			out[i].Attachments = append(out[i].Attachments, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: conversation: %w", err)
	}
	rows, err = db.r.QueryContext(ctx, `SELECT text, kind, state, created_at, author FROM (
		SELECT o.id,
			-- An acknowledgement that went out combined shows the message
			-- the group read (see CombineAcks).
			COALESCE(NULLIF((SELECT b.batch_text FROM outbox b WHERE b.id = o.batch_of), ''), NULLIF(o.batch_text, ''), o.text) AS text,
			o.kind,
			CASE WHEN o.state = 'failed' AND o.delivery_unknown = 1 THEN 'unknown' ELSE o.state END AS state,
			o.created_at, COALESCE(om.author, '') AS author
		FROM outbox o LEFT JOIN officer_messages om ON om.outbox_key = o.key
		WHERE o.case_id = ? AND o.kind <> 'alert' ORDER BY o.id DESC LIMIT ?) AS o ORDER BY id`, int64(id), maxConversation)
	if err != nil {
		return nil, fmt.Errorf("store: conversation: %w", mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var e citybot.ConversationEntry
		var kind, state, created string
		if err := rows.Scan(&e.Text, &kind, &state, &created, &e.Author); err != nil {
			return nil, fmt.Errorf("store: conversation: %w", err)
		}
		e.Direction, e.Kind, e.State, e.At = "out", citybot.OutboxKind(kind), citybot.OutboxState(state), parseTS(created)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: conversation: %w", err)
	}
	// Both lists are in time order; merge them stably.
	sortEntries(out)
	return out, nil
}

func sortEntries(es []citybot.ConversationEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].At.Before(es[j-1].At); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// CorrectCase records an officer's topic and urgency for a case: the
// case's columns change and each change is stored as an officer tag (the
// training data of the next model) and in the audit log. An empty topic
// or urgency leaves it as it is. It returns the updated case. Errors wrap
// citybot.ErrNotFound for an unknown case and citybot.ErrInvalid for an
// unknown urgency or a missing actor.
func (db *DB) CorrectCase(ctx context.Context, id citybot.CaseID, topic string, urgency citybot.Urgency, actor string) (citybot.Case, error) {
	topic = strings.TrimSpace(topic)
	if actor == "" || (urgency != "" && urgency.Rank() > 3) || len(topic) > 64 {
		return citybot.Case{}, fmt.Errorf("store: correct case: %w: an officer, a known urgency and a topic of at most 64 bytes are needed", citybot.ErrInvalid)
	}
	var out citybot.Case
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		cur, err := caseByID(ctx, tx, id)
		if err != nil {
			return err
		}
		now := db.now().UTC()
		before, after := map[string]any{}, map[string]any{}
		tag := func(kind, value string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO tags (case_id, kind, value, confidence, source, set_by, at) VALUES (?, ?, ?, 1, 'officer', ?, ?)`,
				int64(id), kind, value, actor, ts(now))
			return err
		}
		if topic != "" && topic != cur.Topic {
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET topic = ?, updated_at = ? WHERE id = ?`, topic, ts(now), int64(id)); err != nil {
				return err
			}
			before["topic"], after["topic"] = cur.Topic, topic
		}
		if topic != "" {
			// Confirming the classifier's topic is a label too.
			if err := tag("topic", topic); err != nil {
				return err
			}
		}
		if urgency != "" && urgency != cur.Urgency {
			if _, err := tx.ExecContext(ctx, `UPDATE cases SET urgency = ?, urgency_rank = ?, updated_at = ? WHERE id = ?`,
				string(urgency), urgency.Rank(), ts(now), int64(id)); err != nil {
				return err
			}
			before["urgency"], after["urgency"] = cur.Urgency, urgency
		}
		if urgency != "" {
			if err := tag("urgency", string(urgency)); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, now, actor, "case.correct", caseSubject(id), before, after); err != nil {
			return err
		}
		out, err = caseByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: correct case: %w", mapErr(err))
	}
	return out, nil
}

// MaxSensitiveReason is the longest reason accepted for setting or
// clearing a case's sensitive flag, in bytes.
const MaxSensitiveReason = 2000

// SetCaseSensitive sets (sensitive true) or clears a case's sensitive
// flag by hand: an explicit staff decision, with a reason, recorded in
// the audit log (action case.sensitive, with the reason). The caller
// checks that actor's role may read sensitive cases. Clearing forgets the
// cues; a later sensitive message flags the case again. Setting the flag
// it already has changes nothing and is not audited. It returns the
// updated case. Errors wrap citybot.ErrNotFound for an unknown case and
// citybot.ErrInvalid for a missing actor or reason.
func (db *DB) SetCaseSensitive(ctx context.Context, id citybot.CaseID, sensitive bool, actor, reason string) (citybot.Case, error) {
	reason, _ = citybot.CleanText(strings.TrimSpace(reason), MaxSensitiveReason)
	if actor == "" || reason == "" {
		return citybot.Case{}, fmt.Errorf("store: set case sensitive: %w: a reason is needed", citybot.ErrInvalid)
	}
	var out citybot.Case
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		cur, err := caseByID(ctx, tx, id)
		if err != nil {
			return err
		}
		out = cur
		if cur.Sensitive == sensitive {
			return nil
		}
		now := db.now().UTC()
		cues := "[]"
		if sensitive {
			cues = `["set by staff"]`
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET sensitive = ?, sensitive_cues = ?, updated_at = ? WHERE id = ?`,
			sensitive, cues, ts(now), int64(id)); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, "case.sensitive", caseSubject(id),
			map[string]any{"sensitive": cur.Sensitive}, map[string]any{"sensitive": sensitive, "reason": reason}); err != nil {
			return err
		}
		out, err = caseByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: set case sensitive: %w", mapErr(err))
	}
	return out, nil
}

// FlagSensitiveTopics flags sensitive every case on one of topics that is
// not flagged yet and on whose flag staff never decided (no case.sensitive
// entry in its audit log): the backfill of a city's configured sensitive
// topics, safe to run at every start. It runs once per distinct list (the
// list last applied is kept), and returns how many cases it flagged.
func (db *DB) FlagSensitiveTopics(ctx context.Context, topics []string) (int, error) {
	list := slices.Clone(topics)
	slices.Sort(list)
	list = slices.Compact(list)
	key, _ := json.Marshal(list)
	n := 0
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		n = 0
		var last string
		err := tx.QueryRowContext(ctx, `SELECT value FROM cursors WHERE key = 'store:sensitive_topics'`).Scan(&last)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if last == string(key) {
			return nil
		}
		now := db.now().UTC()
		for _, t := range list {
			cue, _ := json.Marshal([]string{"topic:" + t})
			r, err := tx.ExecContext(ctx, `UPDATE cases SET sensitive = 1, sensitive_cues = ?
				WHERE topic = ? AND sensitive = 0
				  AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.subject = 'case:' || cases.id AND a.action = 'case.sensitive')`,
				string(cue), t)
			if err != nil {
				return err
			}
			k, err := r.RowsAffected()
			if err != nil {
				return err
			}
			n += int(k)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES ('store:sensitive_topics', ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, string(key), ts(now))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: flag sensitive topics: %w", mapErr(err))
	}
	return n, nil
}

// AssignCase gives a case to a staff account by name ("" unassigns it).
// Errors wrap citybot.ErrNotFound for an unknown case or account.
func (db *DB) AssignCase(ctx context.Context, id citybot.CaseID, assignee, actor string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		v, err := caseView(ctx, tx, id)
		if err != nil {
			return err
		}
		if assignee != "" {
			if err := tx.QueryRowContext(ctx, `SELECT name FROM accounts WHERE name = ? AND disabled = 0`, assignee).Scan(&assignee); err != nil {
				return err
			}
		}
		now := db.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET assignee = ?, updated_at = ? WHERE id = ?`, assignee, ts(now), int64(id)); err != nil {
			return err
		}
		return audit(ctx, tx, now, actorOr(actor), "case.assign", caseSubject(id),
			map[string]any{"assignee": v.Assignee}, map[string]any{"assignee": assignee})
	})
	if err != nil {
		return fmt.Errorf("store: assign case: %w", mapErr(err))
	}
	return nil
}

// AddNote adds an internal note to a case (never sent to the citizen).
// Errors wrap citybot.ErrNotFound for an unknown case and
// citybot.ErrInvalid for an empty note or author.
func (db *DB) AddNote(ctx context.Context, id citybot.CaseID, author, text string) (citybot.CaseNote, error) {
	text, _ = citybot.CleanText(strings.TrimSpace(text), 8000)
	if text == "" || author == "" {
		return citybot.CaseNote{}, fmt.Errorf("store: add note: %w: a note needs text and an author", citybot.ErrInvalid)
	}
	var n citybot.CaseNote
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		if _, err := caseByID(ctx, tx, id); err != nil {
			return err
		}
		now := db.now().UTC()
		nid, err := insertID(ctx, tx, `INSERT INTO case_notes (case_id, author, text, at) VALUES (?, ?, ?, ?)`, int64(id), author, text, ts(now))
		if err != nil {
			return err
		}
		n = citybot.CaseNote{ID: nid, Case: id, Author: author, Text: text, At: now}
		return audit(ctx, tx, now, author, "case.note", caseSubject(id), nil, map[string]any{"note": nid})
	})
	if err != nil {
		return citybot.CaseNote{}, fmt.Errorf("store: add note: %w", mapErr(err))
	}
	return n, nil
}

// CaseNotes returns a case's internal notes, oldest first.
func (db *DB) CaseNotes(ctx context.Context, id citybot.CaseID) ([]citybot.CaseNote, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, author, text, at FROM case_notes WHERE case_id = ? ORDER BY id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("store: case notes: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.CaseNote
	for rows.Next() {
		n := citybot.CaseNote{Case: id}
		var at string
		if err := rows.Scan(&n.ID, &n.Author, &n.Text, &at); err != nil {
			return nil, fmt.Errorf("store: case notes: %w", err)
		}
		n.At = parseTS(at)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: case notes: %w", err)
	}
	return out, nil
}

// CannedAnswers returns the prepared answers, by topic then language.
func (db *DB) CannedAnswers(ctx context.Context) ([]citybot.CannedAnswer, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT topic, language, text, updated_by, updated_at FROM canned_answers ORDER BY topic, language`)
	if err != nil {
		return nil, fmt.Errorf("store: canned answers: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.CannedAnswer
	for rows.Next() {
		var a citybot.CannedAnswer
		var at string
		if err := rows.Scan(&a.Topic, &a.Language, &a.Text, &a.UpdatedBy, &at); err != nil {
			return nil, fmt.Errorf("store: canned answers: %w", err)
		}
		a.UpdatedAt = parseTS(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: canned answers: %w", err)
	}
	return out, nil
}

// SetCannedAnswer creates or replaces the prepared answer for a topic and
// language; an empty text deletes it. Errors wrap citybot.ErrInvalid for a
// missing topic, language or author.
func (db *DB) SetCannedAnswer(ctx context.Context, a citybot.CannedAnswer) error {
	a.Topic, a.Language = strings.TrimSpace(a.Topic), strings.TrimSpace(a.Language)
	a.Text, _ = citybot.CleanText(strings.TrimSpace(a.Text), 8000)
	if a.Topic == "" || a.Language == "" || a.UpdatedBy == "" || len(a.Topic) > 64 || len(a.Language) > 16 {
		return fmt.Errorf("store: set canned answer: %w: a topic, a language and an author are needed", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		var old string
		err := tx.QueryRowContext(ctx, `SELECT text FROM canned_answers WHERE topic = ? AND language = ?`, a.Topic, a.Language).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if a.Text == "" {
			_, err = tx.ExecContext(ctx, `DELETE FROM canned_answers WHERE topic = ? AND language = ?`, a.Topic, a.Language)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO canned_answers (topic, language, text, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (topic, language) DO UPDATE SET text = excluded.text, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
				a.Topic, a.Language, a.Text, a.UpdatedBy, ts(now))
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, now, a.UpdatedBy, "canned.set", "canned:"+a.Topic+"/"+a.Language,
			map[string]any{"text": old}, map[string]any{"text": a.Text})
	})
	if err != nil {
		return fmt.Errorf("store: set canned answer: %w", mapErr(err))
	}
	return nil
}

// AuditLog returns up to limit audit entries older than beforeID (0: the
// newest), newest first.
func (db *DB) AuditLog(ctx context.Context, beforeID int64, limit int) ([]citybot.AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	if beforeID <= 0 {
		beforeID = 1 << 62
	}
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, actor, action, subject, before, after FROM audit_log
		WHERE id < ? ORDER BY id DESC LIMIT ?`, beforeID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", mapErr(err))
	}
	out, err := scanAudit(rows)
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	return out, nil
}

// queueCaseItems queues outbox rows built for a case, filling each row's
// chat kind and, in groups, the message it answers (the citizen's latest
// message in the row's case), and records author as the officer who wrote
// them. A row marked Private gets the case citizen's platform user id in
// Out.To (and answers no message); when the citizen has no identity on the
// row's platform any more, the row is queued as failed: it is never sent
// to the group instead. It returns how many rows were new (0 when every
// key was already queued: a resubmitted form).
func queueCaseItems(ctx context.Context, tx querier, items []citybot.OutboxItem, author string, now time.Time) (int, error) {
	n := 0
	for _, it := range items {
		if it.Private {
			if it.Case == 0 {
				return n, fmt.Errorf("%w: a private outbox row needs a case", citybot.ErrInvalid)
			}
			var user string
			err := tx.QueryRowContext(ctx, `SELECT i.platform_user_id FROM cases c
				JOIN citizen_identities i ON i.citizen_id = c.citizen_id AND i.platform = ?
				WHERE c.id = ?`, string(it.Out.Platform), int64(it.Case)).Scan(&user)
			switch {
			case errors.Is(err, sql.ErrNoRows) || err == nil && user == "":
				it.State, it.LastError = citybot.OutboxFailed, "no private chat: the citizen's identity is no longer kept"
			case err != nil:
				return n, err
			}
			it.Out.To = citybot.UserID(user)
			it.Out.ReplyTo = ""
		}
		if it.Out.ChatKind == "" {
			var kind string
			err := tx.QueryRowContext(ctx, `SELECT kind FROM chats WHERE platform = ? AND platform_chat_id = ?`,
				string(it.Out.Platform), string(it.Out.Chat)).Scan(&kind)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return n, err
			}
			it.Out.ChatKind = citybot.ChatKind(kind)
		}
		if it.Out.ReplyTo == "" && it.Case != 0 && it.Out.ChatKind != citybot.ChatPrivate && !it.Private {
			var pm string
			err := tx.QueryRowContext(ctx, `SELECT platform_message_id FROM messages WHERE case_id = ? AND direction = 'in' ORDER BY id DESC LIMIT 1`,
				int64(it.Case)).Scan(&pm)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return n, err
			}
			it.Out.ReplyTo = citybot.PlatformMessageID(pm)
		}
		added, err := insertOutbox(ctx, tx, it, now)
		if err != nil {
			return n, err
		}
		if !added {
			continue
		}
		n++
		if author != "" && it.Case != 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO officer_messages (outbox_key, case_id, author, at) VALUES (?, ?, ?, ?)
				ON CONFLICT (outbox_key) DO NOTHING`, it.Out.Key, int64(it.Case), author, ts(now)); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// AnswerCase queues an officer's answer to a case in one transaction:
// build gets the case (with the cases merged into it and its citizens'
// languages) and returns the outbox rows to queue, one per citizen who
// follows the case; the rows are recorded as written by actor; the case
// moves to answered when its status allows; the audit log records text.
// Queuing rows whose keys are already queued (a resubmitted form) changes
// nothing. It returns the case as it is after. Errors wrap
// citybot.ErrNotFound for an unknown case, citybot.ErrInvalid for rows
// without key or chat, and whatever build returns.
func (db *DB) AnswerCase(ctx context.Context, id citybot.CaseID, actor, text string, build func(citybot.CaseView) ([]citybot.OutboxItem, error)) (citybot.Case, error) {
	var out citybot.Case
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		v, err := caseView(ctx, tx, id)
		if err != nil {
			return err
		}
		out = v.Case
		items, err := build(v)
		if err != nil {
			return err
		}
		now := db.now().UTC()
		n, err := queueCaseItems(ctx, tx, items, actor, now)
		if err != nil || n == 0 {
			return err
		}
		keys := make([]string, len(items))
		for i, it := range items {
			keys[i] = it.Out.Key
		}
		if err := audit(ctx, tx, now, actor, "case.answer", caseSubject(id), nil, map[string]any{"text": text, "keys": keys}); err != nil {
			return err
		}
		if v.Case.Status.CanMoveTo(citybot.StatusAnswered) {
			out, err = setCaseStatus(ctx, tx, now, id, citybot.StatusChange{To: citybot.StatusAnswered, Actor: actor})
			return err
		}
		return nil
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: answer case: %w", mapErr(err))
	}
	return out, nil
}

// ChangeCaseStatus moves a case along its lifecycle as SetCaseStatus does
// and, in the same transaction, queues the notices build returns (build
// gets the case before the change and the case after it). It returns the
// updated case. Errors wrap citybot.ErrNotFound, citybot.ErrInvalid (as
// SetCaseStatus) and whatever build returns.
func (db *DB) ChangeCaseStatus(ctx context.Context, id citybot.CaseID, ch citybot.StatusChange, build func(before citybot.CaseView, after citybot.Case) ([]citybot.OutboxItem, error)) (citybot.Case, error) {
	var out citybot.Case
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		v, err := caseView(ctx, tx, id)
		if err != nil {
			return err
		}
		now := db.now().UTC()
		if out, err = setCaseStatus(ctx, tx, now, id, ch); err != nil {
			return err
		}
		if build == nil {
			return nil
		}
		items, err := build(v, out)
		if err != nil {
			return err
		}
		_, err = queueCaseItems(ctx, tx, items, ch.Actor, now)
		return err
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: change case status: %w", mapErr(err))
	}
	return out, nil
}

// MergeCases marks dup a duplicate of into, in one transaction: cases
// already merged into dup now follow into; build gets both cases (before
// the merge) and returns the notices to queue. Errors wrap
// citybot.ErrNotFound for an unknown case, citybot.ErrInvalid when dup is
// not open, when into is a duplicate itself, or when both are the same
// case, and whatever build returns.
func (db *DB) MergeCases(ctx context.Context, dup, into citybot.CaseID, actor string, build func(dup, into citybot.CaseView) ([]citybot.OutboxItem, error)) error {
	if dup == into {
		return fmt.Errorf("store: merge cases: %w: a case cannot be merged into itself", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		dv, err := caseView(ctx, tx, dup)
		if err != nil {
			return err
		}
		iv, err := caseView(ctx, tx, into)
		if err != nil {
			return err
		}
		if iv.Case.Status == citybot.StatusDuplicate {
			return fmt.Errorf("%w: case %s is itself a duplicate", citybot.ErrInvalid, iv.Case.Ref)
		}
		now := db.now().UTC()
		if _, err := setCaseStatus(ctx, tx, now, dup, citybot.StatusChange{To: citybot.StatusDuplicate, Actor: actor, DuplicateOf: into}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE cases SET duplicate_of = ?, updated_at = ? WHERE duplicate_of = ?`, int64(into), ts(now), int64(dup)); err != nil {
			return err
		}
		if dv.Case.Sensitive && !iv.Case.Sensitive {
			// The surviving case now holds a sensitive report.
			if _, err := markSensitive(ctx, tx, &iv.Case, append(slices.Clone(dv.Case.SensitiveCues), "merged:"+string(dv.Case.Ref)), now); err != nil {
				return err
			}
		}
		if err := audit(ctx, tx, now, actorOr(actor), "case.merge", caseSubject(into), nil,
			map[string]any{"merged": dv.Case.Ref, "into": iv.Case.Ref}); err != nil {
			return err
		}
		if build == nil {
			return nil
		}
		items, err := build(dv, iv)
		if err != nil {
			return err
		}
		_, err = queueCaseItems(ctx, tx, items, actor, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: merge cases: %w", mapErr(err))
	}
	return nil
}

// OfficerLabels returns the officers' latest topic and urgency label of
// every case they labelled, with the text of the case's first citizen
// message, oldest first: the corrections the next model learns from
// (citybot train --from-store). Cases without a citizen message are left
// out.
func (db *DB) OfficerLabels(ctx context.Context) ([]citybot.LabeledText, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT t.case_id, t.kind, t.value, t.set_by, t.at, m.text
		FROM tags t
		JOIN messages m ON m.id = (SELECT min(id) FROM messages WHERE case_id = t.case_id AND direction = 'in')
		WHERE t.source = 'officer' AND t.kind IN ('topic', 'urgency')
		  AND t.id = (SELECT max(id) FROM tags t2 WHERE t2.case_id = t.case_id AND t2.kind = t.kind AND t2.source = 'officer')
		ORDER BY t.id`)
	if err != nil {
		return nil, fmt.Errorf("store: officer labels: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.LabeledText
	for rows.Next() {
		var l citybot.LabeledText
		var id int64
		var at string
		if err := rows.Scan(&id, &l.Kind, &l.Label, &l.SetBy, &at, &l.Text); err != nil {
			return nil, fmt.Errorf("store: officer labels: %w", err)
		}
		l.Case, l.At = citybot.CaseID(id), parseTS(at)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: officer labels: %w", err)
	}
	return out, nil
}

// RecordAudit appends an entry to the audit log (for actions outside the
// store, such as a model switch). At is set to now; Before and After are
// stored as given. Errors wrap citybot.ErrInvalid for a missing actor,
// action or subject.
func (db *DB) RecordAudit(ctx context.Context, e citybot.AuditEntry) error {
	if e.Actor == "" || e.Action == "" || e.Subject == "" {
		return fmt.Errorf("store: record audit: %w: an entry needs an actor, an action and a subject", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
			ts(db.now()), e.Actor, e.Action, e.Subject, e.Before, e.After)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: record audit: %w", mapErr(err))
	}
	return nil
}
