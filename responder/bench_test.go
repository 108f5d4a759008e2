package responder_test

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
	"citybot/bots"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

// BenchmarkHandleMessage measures the whole inbound pipeline with the real
// classifier on an on-disk SQLite store: messages ingested per second from
// parallel callers, and the latency from HandleMessage's call to its return
// (message, case, tags and acknowledgement committed). With dispatch=true,
// a dispatcher drains the outbox meanwhile, as in production.
//
//	go test ./responder -run '^$' -bench HandleMessage -benchtime 5000x
//
// baseline runs the same parallel load of the cheapest durable write (one
// cursor upsert per call) side by side, so that the pipeline can be read
// as a ratio to what the machine and SQLite allow at that moment.
func BenchmarkHandleMessage(b *testing.B) {
	b.Run("baseline", benchBaseline)
	for _, dispatch := range []bool{false, true} {
		b.Run(fmt.Sprintf("dispatch=%v", dispatch), func(b *testing.B) { benchHandle(b, dispatch) })
	}
}

func benchBaseline(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var seq atomic.Int64
	runParallel(b, func() error {
		n := seq.Add(1)
		return db.SetCursor(ctx, fmt.Sprint("k", n), fmt.Sprint(n))
	})
}

// runParallel calls fn b.N times from 4×GOMAXPROCS goroutines and reports
// calls per second and the p50 and p99 latency of a call.
func runParallel(b *testing.B, fn func() error) {
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.SetParallelism(4) // 4×GOMAXPROCS callers, like an adapter's concurrent updates
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			t0 := time.Now()
			if err := fn(); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msg/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(pct(0.90), "p90_ms")
	b.ReportMetric(pct(0.95), "p95_ms")
	b.ReportMetric(pct(0.999), "p999_ms")
}

func benchHandle(b *testing.B, dispatch bool) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var notify func()
	if dispatch {
		bot := &nullBot{}
		d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Bots: []bots.Bot{bot}})
		if err != nil {
			b.Fatal(err)
		}
		dctx, cancel := context.WithCancel(ctx)
		go d.Run(dctx)
		defer func() { cancel(); d.Stop() }()
		notify = d.Notify
	}
	cl, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	r, err := responder.New(responder.Options{Store: db, Classifier: cl, Policy: testPolicy(b), Notify: notify})
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{
		"There is a huge pothole on Main Street near the school",
		"Il y a une coupure d'eau rue Victor Hugo depuis ce matin",
		"Gas smell in the building at 4 Elm Street",
		"The street light in front of the library is out",
	}
	var seq atomic.Int64
	runParallel(b, func() error {
		n := seq.Add(1)
		// 1 citizen in 3 writes again: follow-ups join cases.
		user := fmt.Sprint("u", n%(int64(b.N)/3+1))
		return r.HandleMessage(ctx, citybot.Message{
			Platform: citybot.Telegram, Chat: citybot.ChatID("chat-" + user), ChatKind: citybot.ChatPrivate,
			ID: citybot.PlatformMessageID(fmt.Sprint(n)), Sender: citybot.Sender{ID: citybot.UserID(user)},
			Text: texts[n%int64(len(texts))], SentAt: time.Now(),
		})
	})
}

// nullBot accepts every send at once.
type nullBot struct{ n atomic.Int64 }

func (*nullBot) Platform() citybot.Platform                    { return citybot.Telegram }
func (*nullBot) Limits() bots.Limits                           { return bots.Limits{MaxText: 4096} }
func (*nullBot) Run(ctx context.Context, h bots.Handler) error { <-ctx.Done(); return nil }
func (b *nullBot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	return citybot.Sent{ID: citybot.PlatformMessageID(fmt.Sprint("s", b.n.Add(1)))}, nil
}
