package responder_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"citybot"
	"citybot/bots"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

// Several citybot processes on one database are several store handles on
// one SQLite file or one PostgreSQL database (when
// CITYBOT_TEST_POSTGRES_URL is set), each with its own dispatcher:
// subtests sqlite/… and postgres/….

// jumpClock is the wall clock moved forward by the test: processes'
// heartbeats expire when it jumps, without the test waiting for them.
type jumpClock struct{ off atomic.Int64 }

func (c *jumpClock) Now() time.Time       { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *jumpClock) Jump(d time.Duration) { c.off.Add(int64(d)) }
func (c *jumpClock) opts() store.Options  { return store.Options{Now: c.Now} }

// forEachDatabase runs f with a function opening another handle (another
// process) on one fresh database of each engine available.
func forEachDatabase(t *testing.T, opts store.Options, f func(t *testing.T, open func() *store.DB)) {
	t.Helper()
	storetest.ForEachEngine(t, "citybot_disp", opts, func(t *testing.T, db storetest.Database) { f(t, db.Open) })
}

// process is one citybot process's dispatcher on its own store handle.
type process struct {
	name string
	db   *store.DB
	bot  *fakeBot
	d    *responder.Dispatcher
	reg  *prometheus.Registry
	logs *logBuf
	stop context.CancelFunc
	done chan error
}

func startProcess(t *testing.T, name string, db *store.DB, clk *jumpClock, workers int) *process {
	t.Helper()
	p := &process{name: name, db: db, bot: newFakeBot(t, citybot.Telegram), reg: prometheus.NewRegistry(), logs: &logBuf{},
		done: make(chan error, 1)}
	// Every send waits until the test lets it go: rows stay in flight.
	p.bot.block = make(chan struct{})
	d, err := responder.NewDispatcher(responder.DispatcherOptions{
		Store: db, Bots: []bots.Bot{p.bot}, Now: clk.Now, Workers: workers, Instance: name,
		// Long enough that a live process never looks dead on a slow
		// machine; the test makes time jump instead of waiting.
		HeartbeatTTL: 5 * time.Second, SweepInterval: 20 * time.Millisecond,
		Registerer: p.reg, Logger: slog.New(slog.NewTextHandler(p.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	p.d = d
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	go func() { p.done <- d.Run(ctx) }()
	t.Cleanup(func() {
		p.release()
		cancel()
		if err := <-p.done; err != nil {
			t.Errorf("%s: Run = %v", name, err)
		}
	})
	return p
}

// release lets the process's sends in flight finish.
func (p *process) release() {
	p.bot.mu.Lock()
	defer p.bot.mu.Unlock()
	if p.bot.block != nil {
		close(p.bot.block)
		p.bot.block = nil
	}
}

// calls counts the sends the process's bot began.
func (p *process) calls() int {
	p.bot.mu.Lock()
	defer p.bot.mu.Unlock()
	n := 0
	for _, c := range p.bot.calls {
		n += c
	}
	return n
}

// TestDispatchersSettleOnlyDeadInstances: two dispatchers (two processes)
// on one database each have rows in flight. A dies mid-send: its context
// is cancelled and its sends never return, so its heartbeat is left to
// expire without any row marked. B then settles A's rows (delivery
// unknown, never sent again, counted), while its own rows in flight are
// never touched and are sent once when their sends return.
func TestDispatchersSettleOnlyDeadInstances(t *testing.T) {
	clk := &jumpClock{}
	forEachDatabase(t, clk.opts(), func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		dbA, dbB := open(), open()
		const rows = 6
		var items []citybot.OutboxItem
		for i := range rows {
			items = append(items, citybot.OutboxItem{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{
				Key: fmt.Sprint("n", i), Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("chat-", i)), Text: "notice"}})
		}
		if _, err := dbA.Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		a := startProcess(t, "A", dbA, clk, rows/2)
		waitFor(t, "A's sends to start", func() bool { return a.calls() == rows/2 })
		b := startProcess(t, "B", dbB, clk, rows/2)
		waitFor(t, "B's sends to start", func() bool { return b.calls() == rows/2 })

		claimedBy := func() map[string][]string { // instance → keys in sending
			all, err := dbB.OutboxItems(ctx, "n")
			if err != nil {
				t.Fatal(err)
			}
			m := map[string][]string{}
			for _, it := range all {
				if it.State == citybot.OutboxSending {
					m[it.ClaimedBy] = append(m[it.ClaimedBy], it.Out.Key)
				}
			}
			return m
		}
		before := claimedBy()
		if len(before["A"]) != rows/2 || len(before["B"]) != rows/2 {
			t.Fatalf("in sending: %v; want %d rows each by A and B", before, rows/2)
		}
		if n, err := dbB.LiveInstances(ctx); err != nil || n != 2 {
			t.Errorf("LiveInstances = %d, %v; want 2", n, err)
		}
		// Both live: B's sweeps (every 20 ms) leave A's rows alone.
		sweeps := time.Now().Add(200 * time.Millisecond)
		for time.Now().Before(sweeps) {
			if got := claimedBy(); len(got["A"]) != rows/2 {
				t.Fatalf("A's rows settled while A lives: %v", got)
			}
			time.Sleep(20 * time.Millisecond)
		}

		// A dies mid-send: its Run is cancelled, its sends never return.
		a.stop()
		unknownOf := func(keys []string) int {
			n := 0
			for _, k := range keys {
				if it, err := dbB.OutboxItem(ctx, k); err == nil && it.State == citybot.OutboxUnknown {
					n++
				}
			}
			return n
		}
		// Time passes (in jumps) until A's heartbeat, renewed while it
		// waits for its sends at most for that wait's budget, expires.
		for deadline := time.Now().Add(30 * time.Second); unknownOf(before["A"]) < rows/2; {
			if time.Now().After(deadline) {
				t.Fatalf("A's rows not settled after its death: %v", claimedBy())
			}
			clk.Jump(5 * time.Minute)
			time.Sleep(50 * time.Millisecond)
		}
		for _, k := range before["A"] {
			it, _ := dbB.OutboxItem(ctx, k)
			if it.LastError == "" || !strings.Contains(it.LastError, "delivery unknown") || it.SentID != "" {
				t.Errorf("%s = %+v; want delivery unknown, not sent", k, it)
			}
			if n := b.bot.callCount(k); n != 0 {
				t.Errorf("%s sent %d times by B; want never (A may have sent it)", k, n)
			}
		}
		if got := claimedBy(); len(got["B"]) != rows/2 || len(got["A"]) != 0 {
			t.Errorf("after A's death, in sending: %v; want B's %d rows untouched", got, rows/2)
		}
		if n := counterSum(t, b.reg, "citybot_outbox_dead_instance_rows_total"); n != rows/2 {
			t.Errorf("B counted %v rows of dead instances, want %d", n, rows/2)
		}
		if n := strings.Count(b.logs.String(), "delivery unknown: a crash interrupted the send"); n != rows/2 {
			t.Errorf("B logged %d delivery-unknown warnings, want %d:\n%s", n, rows/2, b.logs)
		}

		// B's sends return: its rows are recorded sent, each once.
		b.release()
		waitFor(t, "B's rows to be sent", func() bool {
			n := 0
			for _, k := range before["B"] {
				if it, err := dbB.OutboxItem(ctx, k); err == nil && it.State == citybot.OutboxSent {
					n++
				}
			}
			return n == rows/2
		})
		for _, k := range before["B"] {
			if n := b.bot.callCount(k); n != 1 {
				t.Errorf("%s sent %d times, want once", k, n)
			}
		}
		// A clean stop releases B's heartbeat: no instance lives.
		b.stop()
		if err := <-b.done; err != nil {
			t.Errorf("B: Run = %v", err)
		}
		b.done <- nil // for the cleanup
		if n, err := dbB.LiveInstances(ctx); err != nil || n != 0 {
			t.Errorf("LiveInstances after B's stop = %d, %v; want 0", n, err)
		}
	})
}

// counterSum sums the counter family name in reg.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// sleepCounter counts the dispatcher's reads of when the next row is
// due, each once it has returned: the last thing the dispatcher does
// before it sleeps.
type sleepCounter struct {
	*store.DB
	n atomic.Int64
}

func (s *sleepCounter) NextOutboxDueAfter(ctx context.Context, ps []citybot.Platform, after time.Time) (time.Time, bool, error) {
	defer s.n.Add(1)
	return s.DB.NextOutboxDueAfter(ctx, ps, after)
}

// TestDispatcherWokenByOtherInstance: on PostgreSQL, a row queued by
// another process (another store handle, whose writes no Notify of this
// dispatcher follows) is sent at once: the dispatcher, asleep and
// polling only hourly, is woken by the database's notification.
func TestDispatcherWokenByOtherInstance(t *testing.T) {
	forEachDatabase(t, store.Options{}, func(t *testing.T, open func() *store.DB) {
		dbA, dbB := open(), open()
		if dbA.Engine() != store.Postgres {
			t.Skip("SQLite: one process per file, its dispatcher woken in memory")
		}
		bot := newFakeBot(t, citybot.Telegram)
		sleeps := &sleepCounter{DB: dbB}
		d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: sleeps, Bots: []bots.Bot{bot}, PollInterval: time.Hour, Instance: "B"})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, d)
		// Asleep twice: after its first look at the empty outbox, and
		// after the wake-up the watcher gives once it listens.
		waitFor(t, "the dispatcher to sleep, listening", func() bool { return sleeps.n.Load() >= 2 })
		if _, err := dbA.Enqueue(context.Background(), citybot.OutboxItem{Kind: citybot.OutboxNotice,
			Out: citybot.Outgoing{Key: "answer", Platform: citybot.Telegram, Chat: "c1", Text: "An officer answered"}}); err != nil {
			t.Fatal(err)
		}
		// waitFor's deadline (10 s, far below the hour's poll) only
		// fails the test instead of hanging.
		waitFor(t, "the answer to be sent", func() bool { return bot.callCount("answer") == 1 })
	})
}

// sharingBot is a fakeBot that records the share of its platform's
// limits the dispatcher gives it (bots.LimitSharer).
type sharingBot struct {
	*fakeBot
	n atomic.Int64
}

func (b *sharingBot) ShareLimits(n int) { b.n.Store(int64(n)) }

// TestDispatchersShareLimits: three dispatchers (three processes) on one
// database each tell their bot that three instances live, so that each
// keeps to a third of the platform's limits; once one stops (releasing
// its heartbeat), the two others learn they are two. The gauge of live
// instances says the same.
func TestDispatchersShareLimits(t *testing.T) {
	forEachDatabase(t, store.Options{}, func(t *testing.T, open func() *store.DB) {
		type inst struct {
			bot  *sharingBot
			reg  *prometheus.Registry
			stop func() error
		}
		var insts []inst
		for i := range 3 {
			bot := &sharingBot{fakeBot: newFakeBot(t, citybot.Telegram)}
			reg := prometheus.NewRegistry()
			d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: open(), Bots: []bots.Bot{bot}, Registerer: reg,
				Instance: fmt.Sprint("instance-", i), HeartbeatTTL: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			insts = append(insts, inst{bot: bot, reg: reg, stop: runDispatcher(t, d)})
		}
		gauge := func(reg *prometheus.Registry) float64 {
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() == "citybot_instances_live" {
					return mf.GetMetric()[0].GetGauge().GetValue()
				}
			}
			return 0
		}
		for i, in := range insts {
			waitFor(t, fmt.Sprint("instance ", i, " to share with 3"), func() bool { return in.bot.n.Load() == 3 })
			if g := gauge(in.reg); g != 3 {
				t.Errorf("instance %d: citybot_instances_live = %v, want 3", i, g)
			}
		}
		if err := insts[2].stop(); err != nil {
			t.Fatal(err)
		}
		for i, in := range insts[:2] {
			waitFor(t, fmt.Sprint("instance ", i, " to share with 2"), func() bool { return in.bot.n.Load() == 2 })
		}
	})
}

// flakyHeartbeat is a process's store whose heartbeat can be made to
// fail (the database unreachable for it), counting the dispatcher's
// trips round its loop (see sleepCounter).
type flakyHeartbeat struct {
	sleepCounter
	fail atomic.Bool
}

func (f *flakyHeartbeat) InstanceHeartbeat(ctx context.Context, instance string, ttl time.Duration) error {
	if f.fail.Load() {
		return fmt.Errorf("heartbeat refused (test)")
	}
	return f.DB.InstanceHeartbeat(ctx, instance, ttl)
}

// TestDispatcherStaleHeartbeatClaimsNothing: a dispatcher whose heartbeat
// can no longer be renewed, and has grown old enough for its peers to
// soon take it for dead, claims nothing (it says so once); once renewed,
// it sends again.
func TestDispatcherStaleHeartbeatClaimsNothing(t *testing.T) {
	clk := &jumpClock{}
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "citybot.db"), clk.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &flakyHeartbeat{sleepCounter: sleepCounter{DB: db}}
	bot := newFakeBot(t, citybot.Telegram)
	logs := &logBuf{}
	d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: st, Bots: []bots.Bot{bot}, Now: clk.Now, PollInterval: time.Hour,
		HeartbeatTTL: 5 * time.Second, Instance: "me", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	runDispatcher(t, d)
	waitFor(t, "the dispatcher to sleep", func() bool { return st.n.Load() >= 1 })

	st.fail.Store(true)
	clk.Jump(4 * time.Second) // past four fifths of the heartbeat's length
	queue := func(key string) {
		if _, err := db.Enqueue(context.Background(), citybot.OutboxItem{Kind: citybot.OutboxNotice,
			Out: citybot.Outgoing{Key: key, Platform: citybot.Telegram, Chat: "c1", Text: "An officer answered"}}); err != nil {
			t.Fatal(err)
		}
	}
	queue("while-stale")
	for range 2 { // two trips round the loop, each after a wake-up
		n := st.n.Load()
		d.Notify()
		waitFor(t, "the dispatcher to go round", func() bool { return st.n.Load() > n })
	}
	if bot.callCount("while-stale") != 0 {
		t.Fatal("sent while its heartbeat was stale")
	}
	if it, err := db.OutboxItem(context.Background(), "while-stale"); err != nil || it.State != citybot.OutboxPending {
		t.Errorf("row = %+v, %v; want pending, unclaimed", it, err)
	}
	if n := strings.Count(logs.String(), "heartbeat not renewed: claiming nothing"); n != 1 {
		t.Errorf("logged the stale heartbeat %d times, want once:\n%s", n, logs)
	}

	st.fail.Store(false)
	d.Notify()
	waitFor(t, "the row to be sent once the heartbeat is renewed", func() bool { return bot.callCount("while-stale") == 1 })
	if !strings.Contains(logs.String(), "claiming again") {
		t.Errorf("no line says it claims again:\n%s", logs)
	}
}

// TestNewcomerWaitsToBeCounted: a dispatcher that starts beside a live
// one sends nothing until the live one has counted it and keeps to its
// half of the platform's limits; else, for a moment, the two together
// would send at one and a half times the platform's limit.
func TestNewcomerWaitsToBeCounted(t *testing.T) {
	forEachDatabase(t, store.Options{}, func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		const ttl = 2 * time.Second
		// A sends on Discord only: the Telegram rows are B's.
		a := &sharingBot{fakeBot: newFakeBot(t, citybot.Discord)}
		da, err := responder.NewDispatcher(responder.DispatcherOptions{Store: open(), Bots: []bots.Bot{a}, Instance: "A", HeartbeatTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, da)
		waitFor(t, "A to count itself", func() bool { return a.n.Load() == 1 })

		dbB := open()
		var items []citybot.OutboxItem
		for i := range 5 {
			items = append(items, citybot.OutboxItem{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{
				Key: fmt.Sprint("b", i), Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("chat-b", i)), Text: "notice"}})
		}
		b := &sharingBot{fakeBot: newFakeBot(t, citybot.Telegram)}
		var early atomic.Int64 // B's sends while A still counted one instance
		b.fail = func(citybot.Outgoing) error {
			if a.n.Load() != 2 {
				early.Add(1)
			}
			return nil
		}
		dispB, err := responder.NewDispatcher(responder.DispatcherOptions{Store: dbB, Bots: []bots.Bot{b}, Instance: "B", HeartbeatTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, dispB)
		waitFor(t, "B to count two instances", func() bool { return b.n.Load() == 2 })
		if _, err := dbB.Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		dispB.Notify() // as intake does: queued, send at once
		waitFor(t, "B's sends", func() bool {
			n := 0
			for _, it := range items {
				n += b.callCount(it.Out.Key)
			}
			return n > 0
		})
		if n := early.Load(); n > 0 {
			t.Errorf("B sent %d messages before A counted it", n)
		}
	})
}

// TestRestartAfterCrashDoesNotWait: a dispatcher restarted after its
// process died finds the dead process's heartbeat still live but no
// longer renewed: nobody to wait for, it sends at once (it does not log
// the newcomer's wait), where beside a live instance it waits.
func TestRestartAfterCrashDoesNotWait(t *testing.T) {
	forEachDatabase(t, store.Options{}, func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		const ttl = 5 * time.Second
		db := open()
		// The process before the crash: its heartbeat, never renewed,
		// lives ttl; two renewals (2 s) pass without a renewal.
		if err := db.InstanceHeartbeat(ctx, "before-crash", ttl); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2*ttl/5 + 100*time.Millisecond)
		if n, err := db.LiveInstances(ctx); err != nil || n != 1 {
			t.Fatalf("LiveInstances = %d, %v; want 1 (the dead process's heartbeat not yet expired)", n, err)
		}
		bot := newFakeBot(t, citybot.Telegram)
		logs := &logBuf{}
		d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Bots: []bots.Bot{bot}, Instance: "after-crash",
			HeartbeatTTL: ttl, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, d)
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Kind: citybot.OutboxNotice,
			Out: citybot.Outgoing{Key: "answer", Platform: citybot.Telegram, Chat: "c1", Text: "An officer answered"}}); err != nil {
			t.Fatal(err)
		}
		d.Notify()
		waitFor(t, "the answer to be sent", func() bool { return bot.callCount("answer") == 1 })
		if strings.Contains(logs.String(), "waiting for the other instances") {
			t.Errorf("the restarted dispatcher waited for a dead process:\n%s", logs.String())
		}
	})
}

// failFirstCount is a store whose first count of live instances fails.
type failFirstCount struct {
	*store.DB
	failed atomic.Bool
}

func (f *failFirstCount) LiveInstances(ctx context.Context) (int, error) {
	if !f.failed.Swap(true) {
		return 0, fmt.Errorf("count failed (test)")
	}
	return f.DB.LiveInstances(ctx)
}

// TestNewcomerWaitsWhenFirstCountFails: a newcomer whose first count of
// the live instances fails does not take itself for the only one: beside
// an instance renewing its heartbeat it still waits to be counted.
func TestNewcomerWaitsWhenFirstCountFails(t *testing.T) {
	forEachDatabase(t, store.Options{}, func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		const ttl = 5 * time.Second
		db := open()
		a, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Bots: []bots.Bot{newFakeBot(t, citybot.Telegram)}, Instance: "A", HeartbeatTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, a)
		waitFor(t, "A's heartbeat", func() bool { n, err := db.LiveInstances(ctx); return err == nil && n == 1 })
		logs := &logBuf{}
		flaky := &failFirstCount{DB: db}
		b, err := responder.NewDispatcher(responder.DispatcherOptions{Store: flaky, Bots: []bots.Bot{newFakeBot(t, citybot.Telegram)}, Instance: "B",
			HeartbeatTTL: ttl, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		runDispatcher(t, b)
		waitFor(t, "B's first count", func() bool { return flaky.failed.Load() })
		waitFor(t, "B to log its wait", func() bool { return strings.Contains(logs.String(), "waiting for the other instances") })
	})
}
