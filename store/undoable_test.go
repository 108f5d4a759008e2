package store

import (
	"context"
	"errors"
	"testing"

	"citybot"
)

// TestUndoableStatement: a write goes on after a statement it expected to
// fail; on PostgreSQL the failure would otherwise abort the transaction.
func TestUndoableStatement(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		ins := `INSERT INTO cursors (key, value, updated_at) VALUES (?, ?, '')`
		err := db.write(ctx, func(ctx context.Context, tx querier) error {
			if _, err := tx.ExecContext(ctx, ins, "a", "1"); err != nil {
				return err
			}
			err := undoable(ctx, tx, func() error {
				_, err := tx.ExecContext(ctx, ins, "a", "2")
				return err
			})
			if !errors.Is(mapErr(err), citybot.ErrDuplicate) {
				t.Errorf("second insert of a: %v, want ErrDuplicate", err)
			}
			_, err = tx.ExecContext(ctx, ins, "b", "3")
			return err
		})
		if err != nil {
			t.Fatalf("write after an undone statement: %v", err)
		}
		for key, want := range map[string]string{"a": "1", "b": "3"} {
			if got, err := db.Cursor(ctx, key); err != nil || got != want {
				t.Errorf("cursor %s = %q, %v; want %q", key, got, err, want)
			}
		}
	})
}

// TestMarkSentReusedMessageID: a platform that gives two sent messages
// the same id (in one chat) keeps the first record, and the second row
// is still marked sent.
func TestMarkSentReusedMessageID(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		var items []citybot.OutboxItem
		for _, k := range []string{"n1", "n2"} {
			items = append(items, citybot.OutboxItem{Kind: citybot.OutboxNotice,
				Out: citybot.Outgoing{Key: k, Platform: citybot.Telegram, Chat: "chat-1", Text: "notice " + k}})
		}
		if _, err := db.Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			claimed, err := claimOutbox(ctx, db, tgOnly, 1)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim #%d: %v, %v", i+1, claimed, err)
			}
			if err := db.MarkSent(ctx, claimed[0].ID, citybot.Sent{ID: "777"}); err != nil {
				t.Fatalf("MarkSent #%d with a reused id: %v", i+1, err)
			}
		}
		var sent, out int
		db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE state = 'sent'`).Scan(&sent)
		db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE direction = 'out' AND platform_message_id = '777'`).Scan(&out)
		if sent != 2 || out != 1 {
			t.Errorf("%d rows sent, %d outgoing messages recorded; want 2 and 1", sent, out)
		}
	})
}
