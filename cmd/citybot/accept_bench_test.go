package main

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
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

// BenchmarkAcceptPipeline measures citybot's intake end to end, as serve
// wires it: the emulator on 127.0.0.1 → the real tgbotapi client → the
// Telegram adapter's polling loop (which stores its offset after each
// update) → the responder (real classifier) → an on-disk SQLite store,
// where the message, its case, its tags and its acknowledgement are
// committed in one transaction (the acknowledgement is then queued). b.N
// updates are posted first, then the bot is started and the clock runs
// until the handler has returned for all of them.
//
// Reported: msg/s (updates handled per second of wall time), and p50_ms /
// p99_ms from the adapter handing an update to the handler to the
// handler's return, i.e. to the acknowledgement being durably queued.
//
//	go test ./cmd/citybot -run '^$' -bench AcceptPipeline -benchtime 2000x
//
// Side by side:
//   - baseline: the same emulator → tgbotapi → adapter path (offsets
//     stored in the same kind of on-disk database) into a handler that
//     does nothing, so the ratio shows what the pipeline itself costs;
//   - pipeline: the whole intake;
//   - pipeline+dispatch: the same while a dispatcher sends the
//     acknowledgements to the emulator (limits off on both sides), as in
//     production.
//
// responder's BenchmarkHandleMessage measures HandleMessage alone with
// parallel callers; store's BenchmarkIngest one transaction serially.
func BenchmarkAcceptPipeline(b *testing.B) {
	b.Run("baseline", func(b *testing.B) { benchAcceptIntake(b, false, false) })
	b.Run("pipeline", func(b *testing.B) { benchAcceptIntake(b, true, false) })
	b.Run("pipeline+dispatch", func(b *testing.B) { benchAcceptIntake(b, true, true) })
}

// benchTimedHandler times each handler call and counts the calls.
type benchTimedHandler struct {
	h    bots.Handler // nil: do nothing
	mu   sync.Mutex
	lat  []time.Duration
	done atomic.Int64
}

func (t *benchTimedHandler) HandleMessage(ctx context.Context, m citybot.Message) error {
	t0 := time.Now()
	var err error
	if t.h != nil {
		err = t.h.HandleMessage(ctx, m)
	}
	d := time.Since(t0)
	if err == nil {
		t.mu.Lock()
		t.lat = append(t.lat, d)
		t.mu.Unlock()
		t.done.Add(1)
	}
	return err
}

func (t *benchTimedHandler) HandleAction(ctx context.Context, a citybot.Action) (string, error) {
	if t.h == nil {
		return "", nil
	}
	return t.h.HandleAction(ctx, a)
}

func benchAcceptIntake(b *testing.B, pipeline, dispatch bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emu := acceptStartEmulator(b, tgemu.Options{MaxPending: b.N + 1, Limits: tgemu.Limits{Disabled: true}})
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	off := telegram.Rate{N: -1}
	bot, err := telegram.New(ctx, telegram.Options{
		Token: emu.Token(), APIEndpoint: emu.Endpoint(), Cursors: db, PollTimeout: time.Second,
		PerChat: off, PerGroup: off, Global: off,
	})
	if err != nil {
		b.Fatal(err)
	}
	th := &benchTimedHandler{}
	var disp *responder.Dispatcher
	if pipeline {
		cfg := DefaultConfig()
		clf, err := classifier.New(cfg.Classifier)
		if err != nil {
			b.Fatal(err)
		}
		var notify func()
		if dispatch {
			disp, err = responder.NewDispatcher(responder.DispatcherOptions{Store: db, Bots: []bots.Bot{bot}, PollInterval: 100 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			notify = disp.Notify
		}
		resp, err := responder.New(responder.Options{Store: db, Classifier: clf, Policy: testPolicy(b, DefaultConfig()), Notify: notify})
		if err != nil {
			b.Fatal(err)
		}
		th.h = resp
	}
	// 200 citizens, private chats; 1 in 5 messages is a follow-up that
	// joins its author's case, as in the end-to-end test.
	for i := range b.N {
		u := tgemu.User{ID: int64(100000 + i%(b.N/5+1)), FirstName: "Bench", LanguageCode: []string{"en", "fr"}[i%2]}
		if _, err := emu.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("%s (%d)", e2eTexts[i%len(e2eTexts)], i)}); err != nil {
			b.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	if disp != nil {
		wg.Add(1)
		go func() { defer wg.Done(); disp.Run(ctx) }()
	}
	b.ResetTimer()
	start := time.Now()
	wg.Add(1)
	go func() { defer wg.Done(); bot.Run(ctx, th) }()
	for th.done.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	sentBy := len(emu.AllSent())
	cancel()
	wg.Wait()

	lat := th.lat
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(0, "ns/op") // wall time per update is 1/msg/s; ns/op would repeat it
	if dispatch {
		// Proof that the dispatcher ran meanwhile: acknowledgements it
		// delivered to the emulator by the end of the timed run.
		b.ReportMetric(float64(sentBy), "acks_sent")
	}
}
