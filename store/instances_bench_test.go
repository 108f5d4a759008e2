package store

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"citybot"
)

// BenchmarkInstanceHeartbeat measures one renewal of an instance's
// heartbeat (one lease write, as every 2 s in each instance), on each
// engine side by side. A send limit shared through the database would
// cost at least this much on every send; the in-memory share of the
// limits (bots.LimitSharer) costs nothing per send.
func BenchmarkInstanceHeartbeat(b *testing.B) {
	forEachEngineB(b, func(b *testing.B, te testEngine) {
		ctx := context.Background()
		db, err := te.open(ctx, te.newSource(b), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		b.ResetTimer()
		for range b.N {
			if err := db.InstanceHeartbeat(ctx, "bench", 10*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAbandonedOutboxSweep measures one sweep for a dead
// instance's rows (as every 5 s in each instance) over an outbox of
// 50,000 sent rows and 8 in sending by a live instance, on each engine
// side by side: the partial index on rows in sending keeps it from
// reading the sent ones.
func BenchmarkAbandonedOutboxSweep(b *testing.B) {
	forEachEngineB(b, func(b *testing.B, te testEngine) {
		ctx := context.Background()
		db, err := te.open(ctx, te.newSource(b), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		const rows, batch = 50000, 1000
		for i := 0; i < rows; i += batch {
			var items []citybot.OutboxItem
			for j := i; j < i+batch; j++ {
				items = append(items, citybot.OutboxItem{Out: citybot.Outgoing{Key: fmt.Sprint("k", j), Platform: citybot.Telegram,
					Chat: citybot.ChatID(fmt.Sprint("chat-", j)), Text: "notice"}})
			}
			if _, err := db.Enqueue(ctx, items...); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := db.w.ExecContext(ctx, `UPDATE outbox SET state = 'sent'`); err != nil {
			b.Fatal(err)
		}
		if _, err := db.w.ExecContext(ctx, `UPDATE outbox SET state = 'sending', claimed_by = 'live' WHERE id <= 8`); err != nil {
			b.Fatal(err)
		}
		if _, err := db.w.ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
		if err := db.InstanceHeartbeat(ctx, "live", time.Hour); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			got, err := db.AbandonedOutbox(ctx, []citybot.Platform{citybot.Telegram, citybot.Discord}, "self")
			if err != nil || len(got) != 0 {
				b.Fatalf("abandoned = %d rows, %v", len(got), err)
			}
		}
	})
}

// BenchmarkCrossInstanceWake measures, on PostgreSQL, the time from one
// process queueing a row (Enqueue's commit) to another process's
// WatchOutbox waking: what an answer typed on another instance's console
// waits before a dispatcher looks for it, instead of up to [outbox]
// poll_interval. Beside it, the queueing alone on the same database.
func BenchmarkCrossInstanceWake(b *testing.B) {
	if os.Getenv(testPostgresURL) == "" {
		b.Skip(testPostgresURL + " not set")
	}
	te := testEngine{Postgres}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := te.newSource(b)
	var dbs []*DB
	for range 2 {
		db, err := te.open(ctx, src, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	wakes := make(chan struct{}, 1)
	go dbs[1].WatchOutbox(ctx, func() {
		select {
		case wakes <- struct{}{}:
		default:
		}
	})
	<-wakes // listening
	n := 0
	queue := func() {
		n++
		if _, err := dbs[0].Enqueue(context.Background(), citybot.OutboxItem{Out: citybot.Outgoing{Key: fmt.Sprint("k", n),
			Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("c", n)), Text: "answer"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("enqueue+wake", func(b *testing.B) {
		for range b.N {
			queue()
			<-wakes
		}
	})
	b.Run("enqueue", func(b *testing.B) {
		for range b.N {
			queue()
		}
	})
}
