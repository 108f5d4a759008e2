package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"citybot"
)

// BenchmarkIngest measures one intake transaction, serially, on disk.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	for i := range b.N {
		user := fmt.Sprint("u", i%(b.N/3+1))
		m := msg("chat-"+user, fmt.Sprint(i), user, "There is a huge pothole on Main Street near the school")
		in := report(m, "roads", citybot.UrgencyNormal)
		in.Window = 30 * time.Minute
		if _, err := db.Ingest(ctx, in, ackFor); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarkSent measures recording a delivered acknowledgement (which
// also acknowledges its case).
func BenchmarkMarkSent(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for i := range b.N {
		user := fmt.Sprint("u", i)
		if _, err := db.Ingest(ctx, report(msg("chat-"+user, "1", user, "pothole"), "roads", citybot.UrgencyNormal), ackFor); err != nil {
			b.Fatal(err)
		}
	}
	items, err := db.ClaimOutbox(ctx, tgOnly, b.N)
	if err != nil || len(items) != b.N {
		b.Fatalf("claimed %d, %v", len(items), err)
	}
	b.ResetTimer()
	for i, it := range items {
		if err := db.MarkSent(ctx, it.ID, citybot.Sent{ID: citybot.PlatformMessageID(fmt.Sprint("s", i))}); err != nil {
			b.Fatal(err)
		}
	}
}
