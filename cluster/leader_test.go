package cluster_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
	"citybot/cluster"
	"citybot/internal/storetest"
	"citybot/store"
)

// Two citybot processes on one database are two store handles on one
// SQLite file or one PostgreSQL database (when CITYBOT_TEST_POSTGRES_URL
// is set), each with its own Leader of the same part: subtests sqlite/…
// and postgres/….

// ttl is short so that a dead leader's lease ends within the test;
// nothing is asserted about durations, only about the order of events
// on the database's clock.
const ttl = 900 * time.Millisecond

// engine is one database of one engine: open returns another handle
// on it, exec runs SQL on it behind the store's back.
type engine struct {
	open func() *store.DB
	exec func(query string, args ...any)
}

func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	t.Helper()
	storetest.ForEachEngine(t, "citybot_cluster", store.Options{}, func(t *testing.T, db storetest.Database) {
		param := "?"
		if db.Driver == "pgx" {
			param = "$1"
		}
		f(t, engine{open: db.Open, exec: func(query string, args ...any) {
			t.Helper()
			raw, err := sql.Open(db.Driver, db.Source)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(query+" WHERE name = "+param, args...); err != nil {
				t.Fatal(err)
			}
		}})
	})
}

// leases is one process's store: once dead it fails every lease call,
// as a killed process no longer renews nor releases. It remembers when
// its last successful take began: its lease ends no sooner than that
// plus ttl.
type leases struct {
	*store.DB
	dead     atomic.Bool
	mu       sync.Mutex
	lastTake time.Time
}

var errDead = errors.New("this process is dead")

func (l *leases) TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if l.dead.Load() {
		return false, errDead
	}
	began := time.Now()
	ok, err := l.DB.TakeLease(ctx, name, holder, ttl)
	if ok && err == nil {
		l.mu.Lock()
		l.lastTake = began
		l.mu.Unlock()
	}
	return ok, err
}

func (l *leases) ReleaseLease(ctx context.Context, name, holder string) error {
	if l.dead.Load() {
		return errDead
	}
	return l.DB.ReleaseLease(ctx, name, holder)
}

func (l *leases) endsNoSoonerThan() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastTake.Add(ttl)
}

// running counts the runs of the part across processes.
type running struct {
	now, most atomic.Int32
}

func (r *running) enter() {
	n := r.now.Add(1)
	for {
		m := r.most.Load()
		if n <= m || r.most.CompareAndSwap(m, n) {
			return
		}
	}
}

func (r *running) leave() { r.now.Add(-1) }

// process is one citybot process's Leader of the part "telegram.poll".
type process struct {
	holder string
	leases *leases
	leader *cluster.Leader
	starts atomic.Int32
	stops  atomic.Int32
	cancel context.CancelFunc
	done   chan error
}

const part = "telegram.poll"

func start(t *testing.T, db *store.DB, holder string, all *running) *process {
	t.Helper()
	p := &process{holder: holder, leases: &leases{DB: db}, done: make(chan error, 1)}
	var err error
	p.leader, err = cluster.New(cluster.Options{Name: part, Holder: holder, Leases: p.leases, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		p.done <- p.leader.Run(ctx, func(ctx context.Context) error {
			all.enter()
			p.starts.Add(1)
			<-ctx.Done()
			p.stops.Add(1)
			all.leave()
			return ctx.Err()
		})
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop cancels the process's Leader and waits for Run to return.
func (p *process) stop(t *testing.T) error {
	t.Helper()
	p.cancel()
	select {
	case err, ok := <-p.done:
		if ok {
			close(p.done)
		}
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: Run did not return after its context was cancelled", p.holder)
		return nil
	}
}

// waitFor polls cond until it holds; the test fails if it never does.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func leading(p *process) bool {
	return p.leader.Status().Role == cluster.Leading && p.starts.Load() > 0
}

// firstLeader starts two processes and returns the one that leads, then
// the other.
func firstLeader(t *testing.T, e engine, all *running) (*process, *process) {
	t.Helper()
	a := start(t, e.open(), "host-a:1:aa", all)
	b := start(t, e.open(), "host-b:2:bb", all)
	waitFor(t, "one process leads", func() bool { return leading(a) || leading(b) })
	if leading(a) {
		return a, b
	}
	return b, a
}

// TestOneLeaderAtATime: of two processes, one runs the part and renews
// its lease for many lease lengths; the other stands by, naming it,
// and never runs the part.
func TestOneLeaderAtATime(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		var all running
		lead, other := firstLeader(t, e, &all)
		waitFor(t, "the other stands by, naming the leader", func() bool {
			s := other.leader.Status()
			return s.Role == cluster.StandingBy && s.Leader == lead.holder
		})
		// Let the leader renew many times: the other tries as often.
		ctx := context.Background()
		var renewals int
		var last time.Time
		waitFor(t, "the leader renews its lease five times", func() bool {
			l, err := lead.leases.LeaseOf(ctx, part)
			if err != nil || l.Holder != lead.holder {
				t.Fatalf("lease %+v, %v; want %s's", l, err, lead.holder)
			}
			if !l.Expires.Equal(last) {
				renewals, last = renewals+1, l.Expires
			}
			return renewals > 5
		})
		if n := other.starts.Load(); n != 0 {
			t.Errorf("the process standing by ran the part %d times", n)
		}
		if got := lead.leader.Status(); got.Role != cluster.Leading || got.Leader != lead.holder {
			t.Errorf("leader's status %+v", got)
		}
		if m := all.most.Load(); m != 1 {
			t.Errorf("the part ran on %d processes at once", m)
		}
	})
}

// TestCleanStopHandsOverAtOnce: a leader stopped cleanly stops its part,
// then releases its lease; the other process takes the part over before
// the lease would have ended.
func TestCleanStopHandsOverAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		var all running
		lead, other := firstLeader(t, e, &all)
		if err := lead.stop(t); err != nil {
			t.Fatalf("clean stop: Run = %v, want nil", err)
		}
		if lead.stops.Load() != 1 || lead.leader.Status().Role != cluster.Stopped {
			t.Fatalf("stopped leader: %d stops, status %+v", lead.stops.Load(), lead.leader.Status())
		}
		ends := lead.leases.endsNoSoonerThan()
		waitFor(t, "the other process leads", func() bool { return leading(other) })
		l, err := other.leases.LeaseOf(context.Background(), part)
		if err != nil || l.Holder != other.holder {
			t.Fatalf("lease %+v, %v", l, err)
		}
		if !l.TakenAt.Before(ends) {
			t.Errorf("taken over at %v, not before the released lease would have ended (%v)", l.TakenAt, ends)
		}
		if m := all.most.Load(); m != 1 {
			t.Errorf("the part ran on %d processes at once", m)
		}
	})
}

// TestKilledLeaderTakenOver: a leader killed (no renewal, no release)
// loses the part; the other process takes it over once the lease has
// ended, not before.
func TestKilledLeaderTakenOver(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		var all running
		lead, other := firstLeader(t, e, &all)
		lead.leases.dead.Store(true)
		lead.stop(t) // its release fails: the lease stays until it ends
		ends := lead.leases.endsNoSoonerThan()
		waitFor(t, "the other process takes over", func() bool { return leading(other) })
		l, err := other.leases.LeaseOf(context.Background(), part)
		if err != nil || l.Holder != other.holder {
			t.Fatalf("lease %+v, %v", l, err)
		}
		if l.TakenAt.Before(ends) {
			t.Errorf("taken over at %v, before the dead leader's lease ended (%v at the soonest)", l.TakenAt, ends)
		}
		if m := all.most.Load(); m != 1 {
			t.Errorf("the part ran on %d processes at once", m)
		}
	})
}

// TestUnreachableLeaseStopsThePart: a leader that can no longer renew
// its lease (its database unreachable, the process alive) stops its part
// itself, before the other process takes it over.
func TestUnreachableLeaseStopsThePart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		var all running
		lead, other := firstLeader(t, e, &all)
		lead.leases.dead.Store(true)
		waitFor(t, "the cut-off leader stops its part", func() bool { return lead.stops.Load() == 1 })
		if s := lead.leader.Status(); s.Role != cluster.StandingBy {
			t.Errorf("cut-off leader's status %+v, want standing by", s)
		}
		waitFor(t, "the other process takes over", func() bool { return leading(other) })
		if m := all.most.Load(); m != 1 {
			t.Errorf("the part ran on %d processes at once", m)
		}
	})
}

// TestLostLeaseStopsThePart: when another holder is found in the lease
// (written behind the store's back), the leader stops its part at its
// next renewal, stands by naming that holder, and leads again once that
// holder's lease ends.
func TestLostLeaseStopsThePart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		var all running
		p := start(t, e.open(), "host-a:1:aa", &all)
		waitFor(t, "the process leads", func() bool { return leading(p) })
		e.exec("UPDATE job_leases SET holder = 'intruder:9:99'", part)
		waitFor(t, "the part is stopped", func() bool { return p.stops.Load() == 1 })
		waitFor(t, "the process leads again once the intruder's lease ends", func() bool { return p.starts.Load() == 2 })
		if s := p.leader.Status(); s.Role != cluster.Leading || s.Leader != p.holder {
			t.Errorf("status %+v", s)
		}
	})
}

// TestPartErrorEndsRun: a part that fails on its own (a rejected token)
// ends Run with its error, its lease released for another process.
func TestPartErrorEndsRun(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		db := e.open()
		l, err := cluster.New(cluster.Options{Name: part, Holder: "host-a:1:aa", Leases: db, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		err = l.Run(context.Background(), func(context.Context) error { return citybot.ErrForbidden })
		if !errors.Is(err, citybot.ErrForbidden) {
			t.Fatalf("Run = %v, want the part's error", err)
		}
		if ls, err := db.LeaseOf(context.Background(), part); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("lease after the part failed: %+v, %v; want released", ls, err)
		}
	})
}

// TestSoleProcessAlwaysLeads: with no leases (one process on SQLite) the
// part runs at once and Run returns its result.
func TestSoleProcessAlwaysLeads(t *testing.T) {
	l, err := cluster.New(cluster.Options{Name: part, Holder: "host-a:1:aa"})
	if err != nil {
		t.Fatal(err)
	}
	var seen cluster.Status
	err = l.Run(context.Background(), func(context.Context) error {
		seen = l.Status()
		return citybot.ErrForbidden
	})
	if !errors.Is(err, citybot.ErrForbidden) || seen.Role != cluster.Leading || seen.Leader != "host-a:1:aa" {
		t.Errorf("Run = %v, status while running %+v", err, seen)
	}
	if s := l.Status(); s.Role != cluster.Stopped {
		t.Errorf("status after Run: %+v", s)
	}
}

func TestNewRefusesNoNames(t *testing.T) {
	for _, o := range []cluster.Options{{Holder: "h"}, {Name: part}, {Name: " ", Holder: "h"}} {
		if _, err := cluster.New(o); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", o, err)
		}
	}
}
