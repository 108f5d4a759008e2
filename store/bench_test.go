package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
)

// BenchmarkIngest measures one intake transaction, serially, on disk, on
// each engine side by side.
func BenchmarkIngest(b *testing.B) {
	forEachEngineB(b, benchIngest)
}

func benchIngest(b *testing.B, te testEngine) {
	ctx := context.Background()
	db, err := te.open(ctx, te.newSource(b), Options{})
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

// BenchmarkIngestParallel measures intake throughput with 16 callers at
// once (a burst: writes are committed in groups), on each engine side by
// side; msgs/s is the throughput.
//
//	go test ./store -run '^$' -bench IngestParallel -benchtime 3000x
func BenchmarkIngestParallel(b *testing.B) {
	forEachEngineB(b, func(b *testing.B, te testEngine) {
		ctx := context.Background()
		db, err := te.open(ctx, te.newSource(b), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		var next atomic.Int64
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						return
					}
					user := fmt.Sprint("u", i)
					m := msg("chat-"+user, "1", user, "There is a huge pothole on Main Street near the school")
					if _, err := db.Ingest(ctx, report(m, "roads", citybot.UrgencyNormal), ackFor); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	})
}

// BenchmarkMarkSent measures recording a delivered acknowledgement (which
// also acknowledges its case), on each engine side by side.
func BenchmarkMarkSent(b *testing.B) {
	forEachEngineB(b, benchMarkSent)
}

func benchMarkSent(b *testing.B, te testEngine) {
	ctx := context.Background()
	db, err := te.open(ctx, te.newSource(b), Options{})
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
	items, err := claimOutbox(ctx, db, tgOnly, b.N)
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

// BenchmarkMarkSentUnderLoad measures the crash window of the outbox: the
// time from a platform's success to the sent row being committed
// (MarkSent's latency), while 16 callers ingest messages as fast as they
// can (load) and with no other writer (idle), side by side. A row still in
// sending when the process dies is sent again at restart, so this window
// bounds the chance of a duplicate message.
//
//	go test ./store -run '^$' -bench MarkSentUnderLoad -benchtime 2000x
func BenchmarkMarkSentUnderLoad(b *testing.B) {
	for _, load := range []bool{false, true} {
		name := "idle"
		if load {
			name = "load"
		}
		b.Run(name, func(b *testing.B) { benchMarkSentUnder(b, load) })
	}
}

func benchMarkSentUnder(b *testing.B, load bool) {
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
	items, err := claimOutbox(ctx, db, tgOnly, b.N)
	if err != nil || len(items) != b.N {
		b.Fatalf("claimed %d, %v", len(items), err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ingested atomic.Int64
	if load {
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					user := fmt.Sprintf("load-%d-%d", w, i)
					m := msg("chat-"+user, "1", user, "There is a huge pothole on Main Street near the school")
					if _, err := db.Ingest(ctx, report(m, "roads", citybot.UrgencyNormal), ackFor); err != nil {
						b.Error(err)
						return
					}
					ingested.Add(1)
				}
			}()
		}
		time.Sleep(50 * time.Millisecond) // let the queue fill
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i, it := range items {
		start := time.Now()
		if err := db.MarkSent(ctx, it.ID, citybot.Sent{ID: citybot.PlatformMessageID(fmt.Sprint("s", i))}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
	b.ReportMetric(float64(ingested.Load())/float64(b.N), "ingests/marksent")
}
