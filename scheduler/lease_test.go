package scheduler_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot/internal/storetest"
	"citybot/internal/testclock"
	"citybot/scheduler"
	"citybot/store"
)

// Two citybot processes on one database are two store handles on one
// SQLite file or one PostgreSQL database (when CITYBOT_TEST_POSTGRES_URL
// is set), each with its own scheduler: subtests sqlite/… and postgres/….

// leaseTTL is short so that a dead holder's lease expires within the
// test; nothing is asserted about durations.
const leaseTTL = 300 * time.Millisecond

// forEachEngine runs f with a function opening another handle on one
// fresh database of each engine available.
func forEachEngine(t *testing.T, f func(t *testing.T, open func() *store.DB)) {
	t.Helper()
	storetest.ForEachEngine(t, "citybot_sched", store.Options{}, func(t *testing.T, db storetest.Database) { f(t, db.Open) })
}

// leases wraps a process's store: it counts the lease calls, and once
// dead it fails them all, as a process that died no longer renews.
type leases struct {
	*store.DB
	takes atomic.Int32
	dead  atomic.Bool
}

var errDead = errors.New("this process is dead")

func (l *leases) TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	l.takes.Add(1)
	if l.dead.Load() {
		return false, errDead
	}
	return l.DB.TakeLease(ctx, name, holder, ttl)
}

func (l *leases) ReleaseLease(ctx context.Context, name, holder string) error {
	if l.dead.Load() {
		return errDead
	}
	return l.DB.ReleaseLease(ctx, name, holder)
}

// process is one citybot process's scheduler of a weekly "digest" job.
type process struct {
	s      *scheduler.Scheduler
	db     *store.DB
	leases *leases
	runs   atomic.Int32
}

func newProcess(t *testing.T, db *store.DB, holder string, c *clock, run func(ctx context.Context, p *process) error) *process {
	t.Helper()
	p := &process{db: db, leases: &leases{DB: db}}
	var err error
	p.s, err = scheduler.New(scheduler.Options{Now: c.Now, State: db, Leases: p.leases, Holder: holder, LeaseTTL: leaseTTL},
		scheduler.Job{Name: "digest", Spec: "0 8 * * MON", Timeout: time.Minute, Run: func(ctx context.Context) error {
			p.runs.Add(1)
			if run != nil {
				return run(ctx, p)
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLeaseEachFiringRunsOnce: two schedulers on one database, firing
// one after the other or at once, run each weekly firing once between
// them, and the lease is free again afterwards.
func TestLeaseEachFiringRunsOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		// Sunday 1 March 2026; the job runs on Mondays at 08:00 UTC.
		from := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		c := testclock.New(from)
		a := newProcess(t, open(), "host-a:1", c, nil)
		b := newProcess(t, open(), "host-b:2", c, nil)
		monday := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		orders := []string{"a then b", "b then a", "at once", "at once", "at once"}
		for week, order := range orders {
			c.Set(monday.AddDate(0, 0, 7*week).Add(time.Minute))
			var ranA, ranB []string
			switch order {
			case "a then b": // b's timer fires half a minute after a's run
				ranA = a.s.Fire(ctx, from)
				c.Set(c.Now().Add(30 * time.Second))
				ranB = b.s.Fire(ctx, from)
			case "b then a":
				ranB = b.s.Fire(ctx, from)
				ranA = a.s.Fire(ctx, from)
			default:
				var wg sync.WaitGroup
				wg.Go(func() { ranA = a.s.Fire(ctx, from) })
				wg.Go(func() { ranB = b.s.Fire(ctx, from) })
				wg.Wait()
			}
			if n := len(ranA) + len(ranB); n != 1 {
				t.Errorf("week %d (%s): a ran %v, b ran %v; want one run in all", week+1, order, ranA, ranB)
			}
			if got := a.runs.Load() + b.runs.Load(); got != int32(week+1) {
				t.Fatalf("week %d (%s): %d runs in all, want %d", week+1, order, got, week+1)
			}
			if l, err := a.db.LeaseOf(ctx, "digest"); err == nil {
				t.Errorf("week %d: the lease is still held after the run: %+v", week+1, l)
			}
		}
		// Between firings, nothing runs.
		c.Set(c.Now().Add(time.Hour))
		if ran := append(a.s.Fire(ctx, from), b.s.Fire(ctx, from)...); len(ran) != 0 {
			t.Errorf("ran %v between firings", ran)
		}
	})
}

// TestLeaseLiveHolderKeepsTheJob: while one process runs a job longer
// than the lease lasts, it renews the lease; the other waits and, once
// the run is done, does not run the firing again.
func TestLeaseLiveHolderKeepsTheJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		from := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		c := testclock.New(time.Date(2026, 3, 2, 8, 1, 0, 0, time.UTC))
		var b *process
		a := newProcess(t, open(), "host-a:1", c, func(ctx context.Context, a *process) error {
			// Run until b has tried the lease five times: more than the
			// lease's length without a renewal (b tries every third).
			for b.leases.takes.Load() < 5 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(10 * time.Millisecond):
				}
			}
			return nil
		})
		started := make(chan struct{})
		b = newProcess(t, open(), "host-b:2", c, nil)
		var ranA []string
		var wg sync.WaitGroup
		wg.Go(func() {
			close(started)
			ranA = a.s.Fire(ctx, from)
		})
		<-started
		// Wait until a holds the lease, then fire b.
		for {
			if l, err := b.db.LeaseOf(ctx, "digest"); err == nil && l.Holder == "host-a:1" {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		ranB := b.s.Fire(ctx, from)
		wg.Wait()
		if len(ranA) != 1 || len(ranB) != 0 || a.runs.Load() != 1 || b.runs.Load() != 0 {
			t.Fatalf("a ran %v (%d), b ran %v (%d); want a once and b never", ranA, a.runs.Load(), ranB, b.runs.Load())
		}
		if n := b.leases.takes.Load(); n < 5 {
			t.Errorf("b tried the lease %d times while a ran, want at least 5", n)
		}
	})
}

// TestLeaseDeadHolderIsTakenOver: a process dies while running a job (it
// stops renewing its lease, and never records the run): once its lease
// has expired, the other process takes the job over and runs the firing,
// and the dead one's job is stopped.
func TestLeaseDeadHolderIsTakenOver(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		from := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		c := testclock.New(time.Date(2026, 3, 2, 8, 1, 0, 0, time.UTC))
		running := make(chan struct{})
		var aStopped atomic.Bool
		a := newProcess(t, open(), "host-a:1", c, func(ctx context.Context, a *process) error {
			close(running)
			<-ctx.Done() // hangs until its lease is found lost
			aStopped.Store(true)
			return ctx.Err()
		})
		var bLease, aLease struct {
			holder  string
			taken   time.Time
			expires time.Time
		}
		b := newProcess(t, open(), "host-b:2", c, func(ctx context.Context, b *process) error {
			l, err := b.db.LeaseOf(ctx, "digest")
			if err != nil {
				return err
			}
			bLease.holder, bLease.taken = l.Holder, l.TakenAt
			return nil
		})
		var ranA []string
		var wg sync.WaitGroup
		wg.Go(func() { ranA = a.s.Fire(ctx, from) })
		<-running
		a.leases.dead.Store(true)
		l, err := b.db.LeaseOf(ctx, "digest")
		if err != nil || l.Holder != "host-a:1" {
			t.Fatalf("lease while a runs: %+v, %v", l, err)
		}
		aLease.expires = l.Expires
		ranB := b.s.Fire(ctx, from)
		wg.Wait()
		if len(ranB) != 1 || b.runs.Load() != 1 {
			t.Fatalf("b ran %v (%d times); want the job taken over once", ranB, b.runs.Load())
		}
		if bLease.holder != "host-b:2" || bLease.taken.Before(aLease.expires) {
			t.Errorf("b ran under the lease %+v; want its own, taken at or after a's end %v", bLease, aLease.expires)
		}
		if !aStopped.Load() || len(ranA) != 1 {
			t.Errorf("a's job stopped %v, a ran %v; want a's hung job stopped once its lease was lost", aStopped.Load(), ranA)
		}
		// The firing is recorded as done: a later firing of the same week
		// (say a restarted a) does not run it again.
		a.leases.dead.Store(false)
		c.Set(c.Now().Add(time.Hour))
		if ran := b.s.Fire(ctx, from); len(ran) != 0 {
			t.Errorf("b ran %v again", ran)
		}
		if _, err := b.db.LeaseOf(ctx, "digest"); err == nil {
			t.Error("b kept the lease after its run")
		}
	})
}

// TestLeaseManualRunRefusedWhileHeld: "run now" on one process while the
// other holds the job's lease is refused as a duplicate.
func TestLeaseManualRunRefusedWhileHeld(t *testing.T) {
	forEachEngine(t, func(t *testing.T, open func() *store.DB) {
		ctx := context.Background()
		c := testclock.New(time.Date(2026, 3, 2, 8, 1, 0, 0, time.UTC))
		db := open()
		if ok, err := db.TakeLease(ctx, "digest", "host-a:1", time.Hour); err != nil || !ok {
			t.Fatalf("take: %v %v", ok, err)
		}
		b := newProcess(t, open(), "host-b:2", c, nil)
		if err := b.s.RunNow(ctx, "digest"); err == nil || b.runs.Load() != 0 {
			t.Fatalf("RunNow = %v with %d runs; want refused", err, b.runs.Load())
		}
		if err := db.ReleaseLease(ctx, "digest", "host-a:1"); err != nil {
			t.Fatal(err)
		}
		if err := b.s.RunNow(ctx, "digest"); err != nil || b.runs.Load() != 1 {
			t.Fatalf("RunNow after release = %v with %d runs", err, b.runs.Load())
		}
	})
}

// BenchmarkLeaseOverhead runs a job that does nothing with and without
// the lease on one SQLite file, side by side: the cost the lease adds to
// a run for a single process (two writes: the take and the release).
func BenchmarkLeaseOverhead(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "citybot.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	job := scheduler.Job{Name: "digest", Spec: "@every 1m", Run: func(context.Context) error { return nil }}
	for _, bc := range []struct {
		name string
		opts scheduler.Options
	}{
		{"state", scheduler.Options{State: db}},
		{"state+lease", scheduler.Options{State: db, Leases: db}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := scheduler.New(bc.opts, job)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := s.RunNow(ctx, "digest"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
