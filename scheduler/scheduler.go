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
// For tests, Fire runs the jobs due at the injected clock's time,
// synchronously, without timers.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// Options configure a Scheduler.
type Options struct {
	// Location is the time zone of the specs; nil means UTC.
	Location *time.Location
	Logger   *slog.Logger     // nil discards logs
	Now      func() time.Time // nil means time.Now; used by Fire and catch-up
	// State, when set, records last runs so that runs missed while
	// stopped happen at Start.
	State State
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
	s := &Scheduler{log: opts.Logger, now: opts.Now, loc: opts.Location, state: opts.State, byName: map[string]*entry{}}
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
		s.cron.Schedule(e.schedule, cron.FuncJob(func() { s.run(s.ctx, e, "schedule") }))
	}
	s.cron.Start()
	if s.state != nil {
		s.running.Add(1)
		go func() {
			defer s.running.Done()
			s.catchUp(s.ctx)
		}()
	}
	s.log.Info("scheduler started", "jobs", len(s.entries), "location", s.loc.String())
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
			s.run(ctx, e, "catch-up")
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
	return s.run(ctx, e, "manual")
}

// Fire runs, in the caller's goroutine and in the order given to New,
// every job whose scheduled time falls in (its last fire, Now()]: the
// injected clock's way to drive the schedules in tests. The first Fire of
// a job only sets its starting point unless from is before Now: call
// Fire with from set to where the test's clock starts. It returns the
// names of the jobs it ran.
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
		s.run(ctx, e, "fire")
		s.running.Done()
		ran = append(ran, e.job.Name)
	}
	return ran
}

// run runs one job: one at a time per job, bounded by its timeout, with
// its error or panic logged.
func (s *Scheduler) run(ctx context.Context, e *entry, why string) (err error) {
	if !e.mu.TryLock() {
		s.log.Warn("job still running, this run is skipped", "job", e.job.Name, "trigger", why)
		return fmt.Errorf("scheduler: job %s: %w: still running", e.job.Name, citybot.ErrDuplicate)
	}
	defer e.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, e.job.Timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scheduler: job %s panicked: %v", e.job.Name, p)
			s.log.Error("job panicked", "job", e.job.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	err = e.job.Run(ctx)
	took := time.Since(start)
	if err != nil {
		s.log.Error("job failed", "job", e.job.Name, "trigger", why, "duration", took, "err", err)
		return fmt.Errorf("scheduler: job %s: %w", e.job.Name, err)
	}
	s.log.Info("job done", "job", e.job.Name, "trigger", why, "duration", took)
	s.setLast(context.WithoutCancel(ctx), e.job.Name, s.now())
	return nil
}

// cronLogger sends robfig/cron's own log lines to slog.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "err", err)...)
}
