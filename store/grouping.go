package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"citybot"
)

// CandidateCases returns the open cases that are not sensitive and match
// q: latest citizen message at or after q.Since, opened at or after
// q.OpenedSince, on one of q.Topics (any topic when empty); most recently
// active first, at most q.Limit (citybot.DefaultCandidateLimit when <= 0).
// Texts are not filled: CaseTexts reads them for the few cases worth it.
// It reads two partial indexes only (migration 0120), never the table.
func (db *DB) CandidateCases(ctx context.Context, q citybot.CandidateQuery) ([]citybot.CaseCandidate, error) {
	stmt, args := candidateSQL(q)
	rows, err := db.r.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("store: candidate cases: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.CaseCandidate
	for rows.Next() {
		var c citybot.CaseCandidate
		var places, opened, last string
		if err := rows.Scan(&c.ID, &c.Ref, &c.Topic, &places, &opened, &last); err != nil {
			return nil, fmt.Errorf("store: candidate cases: %w", err)
		}
		if err := json.Unmarshal([]byte(places), &c.Places); err != nil {
			// A damaged list only costs this case its places.
			c.Places = nil
		}
		c.OpenedAt, c.LastMessageAt = parseTS(opened), parseTS(last)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: candidate cases: %w", err)
	}
	return out, nil
}

// candidateSQL is CandidateCases' statement and its arguments.
func candidateSQL(q citybot.CandidateQuery) (string, []any) {
	limit := q.Limit
	if limit <= 0 {
		limit = citybot.DefaultCandidateLimit
	}
	var sb strings.Builder
	args := make([]any, 0, len(q.Topics)+3)
	sb.WriteString(`SELECT id, ref, topic, places, opened_at, last_message_at FROM cases `)
	if len(q.Topics) > 0 {
		sb.WriteString(`INDEXED BY cases_grouping_topic WHERE topic IN (`)
		for i, t := range q.Topics {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('?')
			args = append(args, t)
		}
		sb.WriteString(`) AND `)
	} else {
		sb.WriteString(`INDEXED BY cases_grouping_recent WHERE `)
	}
	sb.WriteString(`status IN ` + openStatuses + ` AND sensitive = 0 AND last_message_at >= ? AND opened_at >= ?
		ORDER BY last_message_at DESC LIMIT ?`)
	args = append(args, ts(q.Since), ts(q.OpenedSince), limit)
	return sb.String(), args
}

// maxTextCases bounds the cases one CaseTexts call reads.
const maxTextCases = 100

// CaseTexts returns, for each case of ids, the texts of its first perCase
// citizen messages that are reports (not thanks or greetings) and still
// hold a text (not erased), oldest first. A case without such a message
// is absent from the map. Errors wrap citybot.ErrInvalid when ids holds
// more than 100 cases or perCase is not positive.
func (db *DB) CaseTexts(ctx context.Context, ids []citybot.CaseID, perCase int) (map[citybot.CaseID][]string, error) {
	out := make(map[citybot.CaseID][]string, len(ids))
	switch {
	case len(ids) == 0:
		return out, nil
	case len(ids) > maxTextCases:
		return nil, fmt.Errorf("store: case texts: %w: %d cases, at most %d", citybot.ErrInvalid, len(ids), maxTextCases)
	case perCase <= 0:
		return nil, fmt.Errorf("store: case texts: %w: %d texts per case", citybot.ErrInvalid, perCase)
	}
	// One statement, one index range per case (messages_case), each
	// reading at most perCase rows however many followers the case has.
	var sb strings.Builder
	args := make([]any, 0, 2*len(ids))
	for i, id := range ids {
		if i > 0 {
			sb.WriteString(" UNION ALL ")
		}
		sb.WriteString(`SELECT * FROM (SELECT case_id, id, text FROM messages WHERE case_id = ? AND direction = 'in'
			AND intent = '' AND text <> '' ORDER BY id LIMIT ?)`)
		args = append(args, int64(id), perCase)
	}
	rows, err := db.r.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: case texts: %w", mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id citybot.CaseID
		var msg int64
		var text string
		if err := rows.Scan(&id, &msg, &text); err != nil {
			return nil, fmt.Errorf("store: case texts: %w", err)
		}
		out[id] = append(out[id], text)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: case texts: %w", err)
	}
	return out, nil
}
