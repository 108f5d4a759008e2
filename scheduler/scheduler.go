// Package scheduler runs citybot's named periodic jobs (the weekly digest
// draft, reminders, "Is it fixed?" follow-ups, retention) on cron
// schedules read from config, in the city's time zone, with
// github.com/robfig/cron/v3.
//
// A job's error or panic is logged and never stops the process; a job
// still running when its next time comes is skipped, not stacked. Stop
// cancels the running job's context and waits for it
// (<-cron.Stop().Done()).
//
// Missed runs: when Options.State is set, the time of each job's last run
// is stored under "schedule:NAME"; Start runs at once, once, every job
// whose scheduled time passed while citybot was stopped. Jobs must be
// idempotent (the digest's are).
//
// Several processes: when Options.Leases is set (store.DB fits), a job
// runs only in the process holding the lease named after it, so that
// citybot processes sharing one database never run the same job at once.
// A process that finds the lease held waits for it (trying every third of
// Options.LeaseTTL); once it has it, it runs the job only when the
// holder's recorded last run (Options.State, shared by the processes)
// does not cover this firing, so each firing runs once across the
// cluster. The holder renews its lease while the job runs and releases it
// when done; when the holder dies its lease expires after LeaseTTL and a
// waiting process takes the job over. A holder that loses its lease (it
// hung past its end and another took over) has its job's context
// cancelled. Without State, a process finding the lease held skips the
// firing quietly instead of waiting.
//
// For tests, Fire runs the jobs due at the injected clock's time,
// synchronously, without timers.
package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"citybot"
)

// Job is one named periodic task.
type Job struct {
	// Name identifies the job in logs, state and RunNow.
	Name string
	// Spec is a standard five-field cron spec ("0 8 * * MON") or a
	// descriptor ("@daily", "@every 15m"), read in Options.Location.
	Spec string
	// Run does the work; it should return soon after ctx is cancelled.
	Run func(ctx context.Context) error
	// Timeout bounds one run; 0 means 10 minutes.
	Timeout time.Duration
}

// State stores each job's last run (bots.Cursors and store.DB fit).
type State interface {
	Cursor(ctx context.Context, key string) (string, error)
	SetCursor(ctx context.Context, key, value string) error
}

// Leases says which of several processes sharing one database runs a
// job (store.DB fits): TakeLease takes or renews the lease name for
// holder until ttl from now and reports whether holder has it.
type Leases interface {
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// DefaultLeaseTTL is how long a job's lease lasts unless renewed: how
// long after its holder dies another process takes the job over (at its
// next try, a third of it later at most: within 8 s, as serve's leaders'
// parts move). The holder renews it every 2 s while the job runs.
const DefaultLeaseTTL = 6 * time.Second

// Options configure a Scheduler.
type Options struct {
	// Location is the time zone of the specs; nil means UTC.
	Location *time.Location
	Logger   *slog.Logger     // nil discards logs
	Now      func() time.Time // nil means time.Now; used by Fire and catch-up
	// State, when set, records last runs so that runs missed while
	// stopped happen at Start.
	State State
	// Leases, when set, makes each job run in one process at a time
	// across processes sharing the database (see the package comment).
	Leases Leases
	// Holder names this process in the leases; "" means host name,
	// process id and a random suffix.
	Holder string
	// LeaseTTL is how long a lease lasts without renewal; 0 means
	// DefaultLeaseTTL.
	LeaseTTL time.Duration
}

type entry struct {
	job      Job
	schedule cron.Schedule
	mu       sync.Mutex // held while the job runs
	last     time.Time  // last scheduled time handled by Fire
}

// Scheduler runs jobs on their schedules. It is safe for concurrent use.
type Scheduler struct {
	log     *slog.Logger
	now     func() time.Time
	loc     *time.Location
	state   State
	leases  Leases
	holder  string
	ttl     time.Duration
	entries []*entry
	byName  map[string]*entry

	mu      sync.Mutex
	cron    *cron.Cron
	ctx     context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup // jobs run by Fire, RunNow and catch-up
}

// newParser reads standard five-field specs and descriptors.
func newParser() cron.Parser {
	return cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// New returns a Scheduler for jobs, or an error wrapping
// citybot.ErrInvalid that names every job with a bad name, spec or no
// Run function.
func New(opts Options, jobs ...Job) (*Scheduler, error) {
	s := &Scheduler{log: opts.Logger, now: opts.Now, loc: opts.Location, state: opts.State, byName: map[string]*entry{},
		leases: opts.Leases, holder: opts.Holder, ttl: opts.LeaseTTL}
	if s.ttl <= 0 {
		s.ttl = DefaultLeaseTTL
	}
	if s.holder == "" {
		s.holder = NewHolder()
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.log = s.log.With("component", "scheduler")
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	var errs []error
	for _, j := range jobs {
		switch {
		case j.Name == "":
			errs = append(errs, fmt.Errorf("a job has no name"))
			continue
		case s.byName[j.Name] != nil:
			errs = append(errs, fmt.Errorf("job %q is defined twice", j.Name))
			continue
		case j.Run == nil:
			errs = append(errs, fmt.Errorf("job %q has nothing to run", j.Name))
			continue
		}
		sched, err := newParser().Parse(j.Spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %q: schedule %q: %v", j.Name, j.Spec, err))
			continue
		}
		if j.Timeout <= 0 {
			j.Timeout = 10 * time.Minute
		}
		e := &entry{job: j, schedule: sched}
		s.entries = append(s.entries, e)
		s.byName[j.Name] = e
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("scheduler: %w: %w", citybot.ErrInvalid, errors.Join(errs...))
	}
	return s, nil
}

// Names returns the jobs' names in the order given.
func (s *Scheduler) Names() []string {
	out := make([]string, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.job.Name
	}
	return out
}

// Next returns when a job runs next after t (in UTC), or the zero time
// for an unknown job.
func (s *Scheduler) Next(name string, t time.Time) time.Time {
	e := s.byName[name]
	if e == nil {
		return time.Time{}
	}
	return e.schedule.Next(t.In(s.loc)).UTC()
}

// Start runs the jobs on their schedules until Stop, and at once the
// runs missed while stopped (see the package comment). It does not block.
// Calling it twice is a no-op.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cron != nil {
		return
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.cron = cron.New(cron.WithLocation(s.loc), cron.WithParser(newParser()), cron.WithLogger(cronLogger{s.log}))
	for _, e := range s.entries {
		s.cron.Schedule(e.schedule, cron.FuncJob(func() { s.run(s.ctx, e, "schedule", s.now()) }))
	}
	s.cron.Start()
	if s.state != nil {
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			s.catchUp(s.ctx)
		}()
	}
	if s.leases != nil {
		s.log.Info("scheduler started", "jobs", len(s.entries), "location", s.loc.String(), "lease_holder", s.holder, "lease_ttl", s.ttl)
	} else {
		s.log.Info("scheduler started", "jobs", len(s.entries), "location", s.loc.String())
	}
}

// catchUp runs once every job whose scheduled time passed since its last
// recorded run.
func (s *Scheduler) catchUp(ctx context.Context) {
	now := s.now()
	for _, e := range s.entries {
		v, err := s.state.Cursor(ctx, stateKey(e.job.Name))
		if err != nil {
			s.log.Error("read last run", "job", e.job.Name, "err", err)
			continue
		}
		if v == "" {
			// First start: nothing was missed; remember from now on.
			s.setLast(ctx, e.job.Name, now)
			continue
		}
		last, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.log.Warn("unreadable last run, ignored", "job", e.job.Name)
			s.setLast(ctx, e.job.Name, now)
			continue
		}
		if next := e.schedule.Next(last.In(s.loc)); !next.After(now) {
			s.log.Info("running a missed job", "job", e.job.Name, "missed", next.UTC())
			s.run(ctx, e, "catch-up", next)
		}
	}
}

func stateKey(name string) string { return "schedule:" + name }

func (s *Scheduler) setLast(ctx context.Context, name string, t time.Time) {
	if s.state == nil {
		return
	}
	if err := s.state.SetCursor(ctx, stateKey(name), t.UTC().Format(time.RFC3339Nano)); err != nil {
		s.log.Error("record last run", "job", name, "err", err)
	}
}

// Stop stops the schedules, cancels the running jobs' context and waits
// for them to return. Calling it twice, or before Start, is safe.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	c, cancel := s.cron, s.cancel
	s.mu.Unlock()
	if c == nil {
		s.running.Wait()
		return
	}
	cancel()
	<-c.Stop().Done()
	s.running.Wait()
}

// RunNow runs the named job at once, in the caller's goroutine, and
// returns its error. A job already running is not run again: RunNow then
// returns an error wrapping citybot.ErrDuplicate. Unknown names wrap
// citybot.ErrNotFound.
func (s *Scheduler) RunNow(ctx context.Context, name string) error {
	e := s.byName[name]
	if e == nil {
		return fmt.Errorf("scheduler: %w: no job %q", citybot.ErrNotFound, name)
	}
	s.running.Add(1)
	defer s.running.Done()
	_, err := s.run(ctx, e, "manual", time.Time{})
	return err
}

// Fire runs, in the caller's goroutine and in the order given to New,
// every job whose scheduled time falls in (its last fire, Now()]: the
// injected clock's way to drive the schedules in tests. The first Fire of
// a job only sets its starting point unless from is before Now: call
// Fire with from set to where the test's clock starts. It returns the
// names of the jobs it ran (not those another process ran, see Leases).
func (s *Scheduler) Fire(ctx context.Context, from time.Time) []string {
	now := s.now()
	var ran []string
	for _, e := range s.entries {
		if e.last.IsZero() {
			e.last = from
		}
		next := e.schedule.Next(e.last.In(s.loc))
		if next.After(now) {
			continue
		}
		// Several missed times collapse into one run.
		for n := next; !n.After(now); n = e.schedule.Next(n) {
			e.last = n
		}
		s.running.Add(1)
		did, _ := s.run(ctx, e, "fire", e.last)
		s.running.Done()
		if did {
			ran = append(ran, e.job.Name)
		}
	}
	return ran
}

// run runs one job: one at a time per job (and, with leases, across
// processes), bounded by its timeout, with its error or panic logged. due
// is the scheduled time of this firing (zero for a manual run). It
// reports whether the job ran here.
func (s *Scheduler) run(ctx context.Context, e *entry, why string, due time.Time) (ran bool, err error) {
	if !e.mu.TryLock() {
		s.log.Warn("job still running, this run is skipped", "job", e.job.Name, "trigger", why)
		return false, fmt.Errorf("scheduler: job %s: %w: still running", e.job.Name, citybot.ErrDuplicate)
	}
	defer e.mu.Unlock()
	if s.leases != nil {
		held, err := s.lease(ctx, e, why, due)
		if err != nil || !held {
			return false, err
		}
		defer s.release(context.WithoutCancel(ctx), e.job.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, e.job.Timeout)
	defer cancel()
	if s.leases != nil {
		stop := s.renew(ctx, cancel, e.job.Name)
		defer stop()
	}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scheduler: job %s panicked: %v", e.job.Name, p)
			s.log.Error("job panicked", "job", e.job.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	ran = true // also when Run panics
	err = e.job.Run(ctx)
	took := time.Since(start)
	if err != nil {
		s.log.Error("job failed", "job", e.job.Name, "trigger", why, "duration", took, "err", err)
		return true, fmt.Errorf("scheduler: job %s: %w", e.job.Name, err)
	}
	s.log.Info("job done", "job", e.job.Name, "trigger", why, "duration", took)
	s.setLast(context.WithoutCancel(ctx), e.job.Name, s.now())
	return true, nil
}

// lease takes the job's lease before a run. When another process holds
// it, a manual run fails with citybot.ErrDuplicate; a scheduled one waits
// for it when State is set (to take the job over if the holder dies), and
// is skipped otherwise. Once the lease is taken, a scheduled run whose
// firing another process ran already (no scheduled time passed since the
// job's last run in State) is skipped and the lease given back. held reports whether the job is
// to run here, under the lease.
func (s *Scheduler) lease(ctx context.Context, e *entry, why string, due time.Time) (held bool, err error) {
	name := e.job.Name
	took, err := s.leases.TakeLease(ctx, name, s.holder, s.ttl)
	if err != nil {
		s.log.Error("cannot take the job's lease, run skipped", "job", name, "trigger", why, "err", err)
		return false, fmt.Errorf("scheduler: job %s: %w", name, err)
	}
	if !took {
		switch {
		case due.IsZero():
			return false, fmt.Errorf("scheduler: job %s: %w: running on another instance", name, citybot.ErrDuplicate)
		case s.state == nil:
			s.log.Debug("job runs on another instance, skipped", "job", name, "trigger", why)
			return false, nil
		}
		s.log.Debug("job runs on another instance, waiting for its lease", "job", name, "trigger", why)
		if took, err = s.waitLease(ctx, name); err != nil || !took {
			return false, err
		}
	}
	if due.IsZero() || s.state == nil {
		return true, nil
	}
	v, err := s.state.Cursor(ctx, stateKey(name))
	if err != nil {
		s.release(context.WithoutCancel(ctx), name)
		s.log.Error("read last run, run skipped", "job", name, "err", err)
		return false, fmt.Errorf("scheduler: job %s: last run: %w", name, err)
	}
	// As at catch-up: nothing is due when no scheduled time passed since
	// the last run, whoever ran it (in the State's clock, Options.Now).
	if last, perr := time.Parse(time.RFC3339Nano, v); perr == nil && e.schedule.Next(last.In(s.loc)).After(s.now()) {
		s.release(context.WithoutCancel(ctx), name)
		s.log.Debug("job already run by another instance", "job", name, "trigger", why, "due", due.UTC())
		return false, nil
	}
	return true, nil
}

// waitLease tries to take the lease every third of its TTL until it
// gets it or ctx ends (then it returns false and no error).
func (s *Scheduler) waitLease(ctx context.Context, name string) (bool, error) {
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case <-t.C:
		}
		took, err := s.leases.TakeLease(ctx, name, s.holder, s.ttl)
		switch {
		case ctx.Err() != nil:
			return false, nil
		case err != nil:
			s.log.Error("cannot take the job's lease, trying again", "job", name, "err", err)
		case took:
			s.log.Info("took over the job's lease", "job", name)
			return true, nil
		}
	}
}

// renew renews the lease every third of its TTL while the job runs, and
// cancels the job when the lease is lost (another process took it over)
// or could not be renewed for a whole TTL. stop ends the renewals.
func (s *Scheduler) renew(ctx context.Context, cancel context.CancelFunc, name string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.ttl / 3)
		defer t.Stop()
		renewed := time.Now()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			took, err := s.leases.TakeLease(ctx, name, s.holder, s.ttl)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil && time.Since(renewed) >= s.ttl:
				s.log.Error("cannot renew the job's lease, job stopped", "job", name, "err", err)
				cancel()
				return
			case err != nil:
				s.log.Warn("cannot renew the job's lease, trying again", "job", name, "err", err)
			case !took:
				s.log.Error("another instance took the job's lease over, job stopped", "job", name)
				cancel()
				return
			default:
				renewed = time.Now()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// release gives the job's lease back, so that another process need not
// wait for it to expire.
func (s *Scheduler) release(ctx context.Context, name string) {
	if err := s.leases.ReleaseLease(ctx, name, s.holder); err != nil {
		s.log.Warn("cannot release the job's lease; it expires by itself", "job", name, "err", err)
	}
}

// Holder returns the name this process takes leases under.
func (s *Scheduler) Holder() string { return s.holder }

// NewHolder names this process: host, process id and a random
// suffix (a restarted process with the same id is another holder).
func NewHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "citybot"
	}
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
}

// cronLogger sends robfig/cron's own log lines to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
