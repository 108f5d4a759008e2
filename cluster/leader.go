// Package cluster runs the parts of citybot that must run in one process
// at a time when several citybot processes share one database: Telegram's
// polling (Telegram answers a second poller with 409 Conflict), Discord's
// gateway connection (two would hand every message over twice), the alert
// and surge loops.
//
// A Leader runs its part only while its process holds the part's lease
// (store.DB's TakeLease, in the job_leases table, on the database's
// clock). It tries to take the lease at once, then every third of the
// lease's length; once it has it, it runs the part and renews the lease
// every third of its length. It cancels the part at once when a renewal
// fails or finds the lease taken by another process, so that the part
// stops before its lease can end and never runs on two processes at once
// (what the part does while it winds down, such as finishing the update in
// hand, must be safe to do twice: citybot's intake stores each message
// once). On a clean stop it releases the lease once the part has returned,
// and another process takes it at its next try. When a process dies
// (SIGKILL, power loss) its lease ends a lease's length after its last
// renewal and another process takes over within a lease's length and one
// try: with DefaultTTL, within 8 s.
//
// With no Leases (one process on one SQLite file) the part simply runs.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"citybot"
	"citybot/internal/pause"
)

// Leases is what a Leader needs of the store (store.DB fits).
type Leases interface {
	// TakeLease takes or renews the lease name for holder until ttl
	// from now and reports whether holder has it.
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives up holder's lease, if it still has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// LeaseOf returns the lease on name; citybot.ErrNotFound when free.
	LeaseOf(ctx context.Context, name string) (citybot.Lease, error)
}

// DefaultTTL is how long a part's lease lasts without renewal: a dead
// leader's part moves to another process within DefaultTTL and one try
// (a third of it).
const DefaultTTL = 6 * time.Second

// Roles a Leader reports.
const (
	Leading    = "leading"     // this process runs the part
	StandingBy = "standing by" // another process runs it, or the lease cannot be read
	Stopped    = "stopped"     // Run has not started or has returned
)

// Options configure a Leader.
type Options struct {
	// Name is the part's lease ("telegram.poll"), shown in logs and
	// on /healthz.
	Name string
	// Holder names this process in the lease (host, process id and a
	// random part: no secret).
	Holder string
	// Leases holds the lease; nil means this process is the only one
	// and always leads.
	Leases Leases
	// TTL is the lease's length without renewal; 0 means DefaultTTL.
	TTL time.Duration
	// Logger receives "leading" and "standing by"; nil discards.
	Logger *slog.Logger
}

// Status is what a Leader reports of its part: its role here, which
// process leads (its holder name, when known), and since when this
// process has had that role.
type Status struct {
	Role   string    `json:"role"`
	Leader string    `json:"leader,omitempty"`
	Since  time.Time `json:"since"`
}

// Leader runs one part under its lease. Create it with New. Status may be
// called from any goroutine; Run is called once at a time.
type Leader struct {
	name, holder string
	leases       Leases
	ttl          time.Duration
	log          *slog.Logger

	mu     sync.Mutex
	status Status
}

// New checks opts and returns a Leader. Errors wrap citybot.ErrInvalid
// for an empty name or holder.
func New(opts Options) (*Leader, error) {
	if strings.TrimSpace(opts.Name) == "" || strings.TrimSpace(opts.Holder) == "" {
		return nil, fmt.Errorf("cluster: %w: a part needs a lease name and a holder", citybot.ErrInvalid)
	}
	l := &Leader{name: opts.Name, holder: opts.Holder, leases: opts.Leases, ttl: opts.TTL, log: opts.Logger,
		status: Status{Role: Stopped}}
	if l.ttl <= 0 {
		l.ttl = DefaultTTL
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.log = l.log.With("component", "cluster", "part", opts.Name)
	return l, nil
}

// Name returns the part's lease name.
func (l *Leader) Name() string { return l.name }

// Status returns the part's role in this process now.
func (l *Leader) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Leader) setStatus(role, leader string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status.Role != role || l.status.Since.IsZero() {
		l.status.Since = time.Now().UTC()
	}
	l.status.Role, l.status.Leader = role, leader
}

// Run runs run while this process holds the part's lease, until ctx is
// cancelled or run returns on its own. run gets a context cancelled when
// ctx is or when the lease is lost; it must return soon after. Run
// returns nil once ctx is cancelled (the lease released if it was held),
// and run's own result, the lease released, when run returns while ctx
// lives and the lease is still held: a part that fails (a rejected token)
// fails its process as it would without a lease. A part standing by never
// returns before ctx ends.
func (l *Leader) Run(ctx context.Context, run func(ctx context.Context) error) error {
	defer l.setStatus(Stopped, "")
	if l.leases == nil {
		l.setStatus(Leading, l.holder)
		return run(ctx)
	}
	every := l.ttl / 3
	var (
		failing bool   // the last try failed: logged once, not at every try
		shown   string // the leader last logged while standing by
	)
	for {
		took, err := l.take(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil:
			if !failing {
				l.log.Warn("cannot read the part's lease; standing by until it can", "holder", l.holder, "retry_every", every, "err", err)
				failing, shown = true, ""
			}
			l.setStatus(StandingBy, "")
		case !took:
			leader := l.leaderNow(ctx)
			if failing || leader != shown {
				l.log.Info("standing by", "holder", l.holder, "leader", leader)
				failing, shown = false, leader
			}
			l.setStatus(StandingBy, leader)
		default:
			failing, shown = false, ""
			l.log.Info("leading", "holder", l.holder, "lease_ttl", l.ttl)
			l.setStatus(Leading, l.holder)
			lost, err := l.lead(ctx, run)
			if !lost {
				l.release(ctx)
				if ctx.Err() != nil || errors.Is(err, context.Canceled) {
					return nil
				}
				return err
			}
			l.setStatus(StandingBy, "")
		}
		if !pause.For(ctx, every) {
			return nil
		}
	}
}

// lead runs run under the lease, renewing it every third of its length,
// until run returns (lost false, run's error) or a renewal fails or
// finds the lease lost: then it cancels run, waits for it and reports
// lost.
func (l *Leader) lead(ctx context.Context, run func(ctx context.Context) error) (lost bool, err error) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(rctx) }()
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return false, err
		case <-t.C:
		}
		if ctx.Err() != nil {
			continue // run is stopping with ctx
		}
		took, err := l.take(ctx)
		if ctx.Err() != nil {
			continue
		}
		if err == nil && took {
			continue
		}
		if err != nil {
			l.log.Warn("cannot renew the part's lease; stopping it here before the lease can end", "holder", l.holder, "err", err)
		} else {
			l.log.Warn("the part's lease was taken by another process; stopping it here", "holder", l.holder, "leader", l.leaderNow(ctx))
		}
		l.setStatus(StandingBy, "")
		cancel()
		if rerr := <-done; rerr != nil && !errors.Is(rerr, context.Canceled) {
			l.log.Warn("the part stopped with an error after its lease was lost", "holder", l.holder, "err", rerr)
		}
		return true, nil
	}
}

// take takes or renews the lease, giving up after a third of its
// length: a renewal that takes longer is a failed one.
func (l *Leader) take(ctx context.Context) (bool, error) {
	tctx, cancel := context.WithTimeout(ctx, l.ttl/3)
	defer cancel()
	return l.leases.TakeLease(tctx, l.name, l.holder, l.ttl)
}

// leaderNow reads who holds the lease, "" when unknown or free.
func (l *Leader) leaderNow(ctx context.Context) string {
	tctx, cancel := context.WithTimeout(ctx, l.ttl/3)
	defer cancel()
	ls, err := l.leases.LeaseOf(tctx, l.name)
	if err != nil {
		return ""
	}
	return ls.Holder
}

// release gives the lease up so that another process takes the part at
// its next try; a failure leaves it to expire.
func (l *Leader) release(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.ttl/3)
	defer cancel()
	if err := l.leases.ReleaseLease(rctx, l.name, l.holder); err != nil {
		l.log.Warn("cannot release the part's lease; another process takes it when it ends", "holder", l.holder, "err", err)
		return
	}
	l.log.Info("released the part's lease", "holder", l.holder)
}
