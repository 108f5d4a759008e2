package store

import (
	"context"
	"testing"
)

func TestPrintPlans(t *testing.T) {
	db := openTest(t, nil)
	ctx := context.Background()
	for _, q := range []string{
		`SELECT id FROM cases WHERE citizen_id = 1 AND chat_id = 1 AND last_message_at >= 'x' AND status IN ` + openStatuses + ` ORDER BY last_message_at DESC LIMIT 1`,
		`SELECT c.id, c.language, c.created_at, i.name, i.handle, i.language_code FROM citizen_identities i JOIN citizens c ON c.id = i.citizen_id WHERE i.platform = 'a' AND i.platform_user_id = 'b'`,
		`SELECT 1 FROM messages WHERE chat_id = 1 AND platform_message_id = 'x' AND direction = 'in'`,
		`SELECT * FROM outbox o WHERE o.state = 'pending' AND o.next_attempt_at <= 'x' AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.platform = o.platform AND p.chat = o.chat AND p.id < o.id AND p.state IN ('pending', 'sending')) ORDER BY o.next_attempt_at, o.id LIMIT 4`,
		`SELECT c.id FROM cases c WHERE c.status IN ` + openStatuses + ` ORDER BY c.urgency_rank, c.opened_at, c.id LIMIT 50`,
	} {
		rows, err := db.r.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			rows.Scan(&id, &parent, &notused, &detail)
			t.Logf("%.40s… %s", q, detail)
		}
		rows.Close()
	}
}
