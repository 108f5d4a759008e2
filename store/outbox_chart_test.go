package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"citybot"
)

// A chart row names its week, and only a chart row does; the week comes
// back with the row.
func TestOutboxChartRow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, err := te.open(ctx, te.newSource(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		out := citybot.Outgoing{Key: "digest:2026-W10:telegram:-1:en:chart", Platform: citybot.Telegram, Chat: "-1", Text: "caption"}
		for _, bad := range []citybot.OutboxItem{
			{Kind: citybot.OutboxChart, Out: out},
			{Kind: citybot.OutboxNotice, ChartWeek: "2026-W10", Out: out},
		} {
			if _, err := db.Enqueue(ctx, bad); !errors.Is(err, citybot.ErrInvalid) {
				t.Errorf("Enqueue(%s with week %q) = %v, want ErrInvalid", bad.Kind, bad.ChartWeek, err)
			}
		}
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Kind: citybot.OutboxChart, ChartWeek: "2026-W10", Out: out}); err != nil {
			t.Fatal(err)
		}
		it, err := db.OutboxItem(ctx, out.Key)
		if err != nil || it.Kind != citybot.OutboxChart || it.ChartWeek != "2026-W10" {
			t.Fatalf("row %+v, %v", it, err)
		}
	})
}

// TestMigrationMakesChartRows: a chart row queued by a citybot from before
// 0110 (kind notice, key …:chart) becomes a chart row of its week; other
// rows stay as they are.
func TestMigrationMakesChartRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "citybot.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Undo 0110 by hand, as if the file came from an older citybot.
	for _, q := range []string{`ALTER TABLE outbox DROP COLUMN chart_week`, `DELETE FROM schema_migrations WHERE version = 110`} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, key := range []string{"digest:2026-W47:telegram:-100:en:chart", "digest:2026-W47:telegram:-100:en", "in:7:ack"} {
		if _, err := db.w.ExecContext(ctx, `INSERT INTO outbox (key, kind, platform, chat, text, next_attempt_at, created_at, updated_at)
			VALUES (?, 'notice', 'telegram', '-100', 'text', '2026-11-23T08:00:00Z', '2026-11-23T08:00:00Z', '2026-11-23T08:00:00Z')`, key); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if db, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for key, want := range map[string]citybot.OutboxItem{
		"digest:2026-W47:telegram:-100:en:chart": {Kind: citybot.OutboxChart, ChartWeek: "2026-W47"},
		"digest:2026-W47:telegram:-100:en":       {Kind: citybot.OutboxNotice},
		"in:7:ack":                               {Kind: citybot.OutboxNotice},
	} {
		it, err := db.OutboxItem(ctx, key)
		if err != nil || it.Kind != want.Kind || it.ChartWeek != want.ChartWeek {
			t.Errorf("%s after migration: %s %q (%v), want %s %q", key, it.Kind, it.ChartWeek, err, want.Kind, want.ChartWeek)
		}
	}
}
