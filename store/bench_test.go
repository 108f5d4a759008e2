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
