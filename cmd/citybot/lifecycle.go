package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// group runs serve's long-lived parts (bots, HTTP server, dispatcher,
// emulators), each under its own context, and stops them one by one in
// the order serve chooses, each within its timeout. It is not safe for
// concurrent use: serve drives it from one goroutine.
type group struct {
	logger *slog.Logger
	parts  []*part
	// exited receives the first part that returns before being asked to
	// stop: serve then shuts everything down.
	exited chan *part
}

// part is one running component.
type part struct {
	name    string
	timeout time.Duration
	cancel  context.CancelFunc
	done    chan struct{}
	err     error // valid once done is closed
	stopped bool  // stop was asked
}

func newGroup(logger *slog.Logger) *group {
	return &group{logger: logger, exited: make(chan *part, 16)}
}

// start runs fn in a goroutine under a context that only stop cancels:
// a signal does not reach it directly, so serve can stop parts in order.
// fn must return soon after its context is cancelled.
func (g *group) start(ctx context.Context, name string, timeout time.Duration, fn func(ctx context.Context) error) {
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &part{name: name, timeout: timeout, cancel: cancel, done: make(chan struct{})}
	g.parts = append(g.parts, p)
	go func() {
		defer close(p.done)
		p.err = fn(pctx)
		if pctx.Err() == nil {
			// Returned on its own: tell serve, which will stop the rest.
			select {
			case g.exited <- p:
			default:
			}
		}
	}()
	g.logger.Info("started", "part", name)
}

// stop cancels the named part and waits for it to return, at most its
// timeout. It returns the part's error (nil for a clean stop, including
// context.Canceled) or a timeout error. Stopping a part twice or an
// unknown part returns nil.
func (g *group) stop(name string) error {
	var p *part
	for _, q := range g.parts {
		if q.name == name {
			p = q
		}
	}
	if p == nil || p.stopped {
		return nil
	}
	p.stopped = true
	began := time.Now()
	p.cancel()
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		err := fmt.Errorf("%s did not stop within %s", p.name, p.timeout)
		g.logger.Error("stop timed out", "part", p.name, "timeout", p.timeout)
		return err
	}
	err := p.err
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if err != nil {
		g.logger.Error("stopped with error", "part", p.name, "err", err, "took", time.Since(began).Round(time.Millisecond))
		return fmt.Errorf("%s: %w", p.name, err)
	}
	g.logger.Info("stopped", "part", p.name, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// stopAll stops every part not yet stopped, in the order given, then any
// others in reverse start order, and joins their errors.
func (g *group) stopAll(order ...string) error {
	var errs []error
	for _, name := range order {
		errs = append(errs, g.stop(name))
	}
	for i := len(g.parts) - 1; i >= 0; i-- {
		errs = append(errs, g.stop(g.parts[i].name))
	}
	return errors.Join(errs...)
}
