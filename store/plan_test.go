package store

import (
	"context"
	"strings"
	"testing"
)

// TestQueryPlans holds that the hot queries use their indexes: a full scan
// would not show in small tests, only in production.
func TestQueryPlans(t *testing.T) {
	db := openTest(t, nil)
	ctx := context.Background()
	tests := []struct {
		name, query string
		want        []string // each must appear in the plan
		avoid       string   // must not appear in the plan
	}{
		{"case window", `SELECT id FROM cases WHERE citizen_id = 1 AND chat_id = 1 AND last_message_at >= 'x' AND status IN ` + openStatuses +
			` ORDER BY last_message_at DESC LIMIT 1`, []string{"INDEX cases_citizen_chat"}, ""},
		{"identity", `SELECT c.id FROM citizen_identities i JOIN citizens c ON c.id = i.citizen_id WHERE i.platform = 'a' AND i.platform_user_id = 'b'`,
			[]string{"sqlite_autoindex_citizen_identities_1"}, ""},
		{"redelivery", `SELECT 1 FROM messages WHERE chat_id = 1 AND platform_message_id = 'x' AND direction = 'in'`,
			[]string{"sqlite_autoindex_messages_1"}, ""},
		{"intake lookup", strings.NewReplacer("?1", "'telegram'", "?2", "'c'", "?3", "'u'", "?4", "'m'").Replace(intakeLookupSQL),
			[]string{"sqlite_autoindex_chats_1", "sqlite_autoindex_citizen_identities_1", "INTEGER PRIMARY KEY", "sqlite_autoindex_messages_1"}, "SCAN m"},
		{"claim", `SELECT id FROM outbox o WHERE o.state = 'pending' AND o.next_attempt_at <= 'x' AND o.platform IN ('telegram', 'discord') AND NOT EXISTS (SELECT 1 FROM outbox p
			WHERE p.platform = o.platform AND p.chat = o.chat AND p.id < o.id AND p.state IN ('pending', 'sending')) ORDER BY o.next_attempt_at, o.id LIMIT 4`,
			[]string{"INDEX outbox_due", "INDEX outbox_chat_queue"}, ""},
		{"heads, critical first", `SELECT id FROM outbox o INDEXED BY outbox_claim WHERE o.state = 'pending' AND o.next_attempt_at <= 'x' AND o.platform IN ('telegram', 'discord') AND NOT EXISTS (SELECT 1 FROM outbox p
			WHERE p.platform = o.platform AND p.chat = o.chat AND p.id < o.id AND p.state IN ('pending', 'sending')) ORDER BY o.priority DESC, o.next_attempt_at, o.id LIMIT 4`,
			[]string{"INDEX outbox_claim", "INDEX outbox_chat_queue"}, "TEMP B-TREE"},
		{"repeated reply", `SELECT 1 FROM outbox WHERE platform = 'telegram' AND chat = '7' AND state IN ('pending', 'sending') AND state = 'pending'
			AND kind = 'reply' AND chat_kind = 'private' AND to_user = '' AND text = 'x' AND buttons = '' LIMIT 1`, []string{"INDEX outbox_chat_queue"}, ""},
		{"inbox", `SELECT c.id FROM cases c INDEXED BY cases_inbox_open JOIN chats ch ON ch.id = c.chat_id WHERE c.status IN ` + openStatuses +
			` AND c.topic = 'roads' ORDER BY c.urgency_rank, c.followers DESC, c.opened_at, c.id LIMIT 50`, []string{"INDEX cases_inbox_open"}, "TEMP B-TREE"},
		{"last row about a case", `SELECT created_at FROM outbox WHERE case_id = 1 ORDER BY id DESC LIMIT 1`,
			[]string{"INDEX outbox_case_console"}, "TEMP B-TREE"},
		{"failed rows", `SELECT COUNT(*) FROM outbox WHERE state = 'failed'`, []string{"outbox_failed"}, ""},
		{"tags of a case", `SELECT kind FROM tags WHERE case_id = 1 ORDER BY id`, []string{"INDEX tags_case"}, ""},
		{"audit", `SELECT id FROM audit_log WHERE subject = 'case:1' ORDER BY id`, []string{"INDEX audit_log_subject"}, ""},
		{"inbox without sensitive cases", `SELECT c.id FROM cases c INDEXED BY cases_inbox_open JOIN chats ch ON ch.id = c.chat_id WHERE c.status IN ` + openStatuses +
			` AND +c.sensitive = 0 ORDER BY c.urgency_rank, c.followers DESC, c.opened_at, c.id LIMIT 50`, []string{"INDEX cases_inbox_open"}, "TEMP B-TREE"},
		{"thanks of a week", `SELECT COUNT(DISTINCT citizen_id) FROM messages WHERE intent <> '' AND intent = 'thanks' AND received_at >= 'a' AND received_at < 'b'`,
			[]string{"INDEX messages_feedback"}, ""},
		{"received of a week", `SELECT topic, platform, places, first_answer_at IS NOT NULL, sensitive FROM cases
			WHERE opened_at >= 'a' AND opened_at < 'b' AND status <> 'duplicate'`, []string{"COVERING INDEX cases_opened_at"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.r.QueryContext(ctx, `EXPLAIN QUERY PLAN `+tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			if tt.avoid != "" && strings.Contains(all, tt.avoid) {
				t.Errorf("plan %q has %q", all, tt.avoid)
			}
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("plan %q lacks %q", all, w)
				}
			}
		})
	}
}
