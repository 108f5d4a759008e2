package responder

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"citybot"
)

// RetrainLeases is what a Retrainer needs to run one training at a time
// among the processes sharing a database (store.DB fits): TakeLease takes
// or renews the lease name for holder until ttl from now and says whether
// holder has it; ReleaseLease gives it up.
type RetrainLeases interface {
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

const (
	// RetrainLease is the name of the lease a training holds.
	RetrainLease = "retrain"
	// DefaultRetrainLeaseTTL is how long a training's lease lasts
	// unless renewed (it is renewed every third of it while the training
	// runs): how long a training that died with its process keeps others
	// from starting.
	DefaultRetrainLeaseTTL = time.Minute
	// releaseTimeout bounds giving the lease back after a training,
	// shutdown included.
	releaseTimeout = 5 * time.Second
)

// trainJob is a training Start hands to Run.
type trainJob struct {
	actor  string
	labels []citybot.LabeledText
	run    citybot.TrainingRun
}

// begin marks a training as running for actor: it refuses (an error
// wrapping citybot.ErrDuplicate) when one runs already, here or, with
// Leases, in another process, and (citybot.ErrInvalid) when officers have
// corrected nothing yet. It returns the corrections to train on; the
// caller calls end once the training is over.
func (r *Retrainer) begin(ctx context.Context, actor string) ([]citybot.LabeledText, error) {
	r.mu.Lock()
	if r.busy {
		r.mu.Unlock()
		return nil, fmt.Errorf("responder: retrain: %w: a training is already running", citybot.ErrDuplicate)
	}
	r.busy = true
	r.mu.Unlock()
	labels, err := r.opts.Store.OfficerLabels(ctx)
	if err == nil && len(labels) == 0 {
		err = fmt.Errorf("responder: retrain: %w: officers have corrected no case yet", citybot.ErrInvalid)
	} else if err != nil {
		err = fmt.Errorf("responder: retrain: %w", err)
	}
	if err == nil && r.opts.Leases != nil {
		took, lerr := r.opts.Leases.TakeLease(ctx, RetrainLease, r.opts.Holder, r.opts.LeaseTTL)
		switch {
		case lerr != nil:
			err = fmt.Errorf("responder: retrain: %w", lerr)
		case !took:
			err = fmt.Errorf("responder: retrain: %w: a training is already running in another citybot process", citybot.ErrDuplicate)
		}
	}
	if err != nil {
		r.mu.Lock()
		r.busy = false
		r.mu.Unlock()
		return nil, err
	}
	r.mu.Lock()
	r.running = &citybot.TrainingRun{By: actor, Since: r.opts.Now().UTC(), Corrections: len(labels)}
	r.mu.Unlock()
	return labels, nil
}

// end gives the lease back and marks the training begun by begin as over;
// failed, when not nil, is kept as the last failed training.
func (r *Retrainer) end(ctx context.Context, failed *citybot.TrainingRun) {
	if r.opts.Leases != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		if err := r.opts.Leases.ReleaseLease(rctx, RetrainLease, r.opts.Holder); err != nil {
			// It expires after LeaseTTL.
			r.log.Warn("the training's lease was not given back: another training can start once it expires", "lease_ttl", r.opts.LeaseTTL, "err", err)
		}
		cancel()
	}
	r.mu.Lock()
	r.busy, r.running = false, nil
	if failed != nil {
		r.failed = failed
	}
	r.mu.Unlock()
}

// keepLease renews the training's lease every third of its TTL until the
// returned stop is called (which waits for the renewal in flight).
func (r *Retrainer) keepLease(ctx context.Context) (stop func()) {
	if r.opts.Leases == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			took, err := r.opts.Leases.TakeLease(ctx, RetrainLease, r.opts.Holder, r.opts.LeaseTTL)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				r.log.Warn("the training's lease was not renewed: the training goes on", "err", err)
			case !took:
				// This process stalled past the lease's end and another
				// took it: both train, which costs time, not data.
				r.log.Warn("the training's lease was taken by another citybot process: the training goes on")
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}

// Start begins a training in the background and returns at once; Run
// runs it (Start before Run is started queues it). Status says it runs
// (Training) until its report is Pending, or, when it failed, Failed (its
// error is logged). It returns the training started, or an error
// wrapping citybot.ErrDuplicate when another training runs (here or in
// another process), one wrapping citybot.ErrInvalid when there is no
// correction yet, or another error when Run has stopped or the store
// fails.
func (r *Retrainer) Start(ctx context.Context, actor string) (citybot.TrainingRun, error) {
	labels, err := r.begin(ctx, actor)
	if err != nil {
		return citybot.TrainingRun{}, err
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		r.end(ctx, nil)
		return citybot.TrainingRun{}, errors.New("responder: retrain: the retrainer has stopped")
	}
	run := *r.running
	r.failed = nil
	// Never blocks: begin lets one training at a time through, and Run
	// empties the channel when it stops.
	r.jobs <- trainJob{actor: actor, labels: labels, run: run}
	r.mu.Unlock()
	r.log.Info("training started", "by", actor, "corrections", len(labels))
	return run, nil
}

// Run runs the trainings Start begins, one at a time, until ctx is
// cancelled; a training in progress then stops (its work is dropped, the
// candidate waiting before it stays) and Run returns nil once it has.
// Start refuses trainings after that. It returns an error when called
// twice.
func (r *Retrainer) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.serving || r.stopped {
		r.mu.Unlock()
		return errors.New("responder: retrainer: Run was called already")
	}
	r.serving = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.stopped = true
		var left bool
		select {
		case <-r.jobs: // started but never run
			left = true
		default:
		}
		r.mu.Unlock()
		if left {
			r.end(ctx, nil)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case j := <-r.jobs:
			r.background(ctx, j)
		}
	}
}

// background runs the training j and records how it ended.
func (r *Retrainer) background(ctx context.Context, j trainJob) {
	stop := r.keepLease(ctx)
	_, err := r.train(ctx, j.actor, j.labels) // it logs and audits its report
	stop()
	switch {
	case err == nil:
		r.end(ctx, nil)
	case ctx.Err() != nil:
		r.end(ctx, nil)
		r.log.Info("training stopped: citybot is shutting down", "by", j.actor, "since", j.run.Since)
	default:
		r.end(ctx, &j.run)
		r.log.Error("training failed", "by", j.actor, "since", j.run.Since, "err", err)
	}
}
