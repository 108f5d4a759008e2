package discord

import (
	"context"
	"sync"
	"time"

	"citybot/bots"
)

// limiter keeps REST calls within sliding windows: a global one of one
// second and one per channel for posts. A slot counts from when the call is
// reserved until release stamps it with the time the answer came back, so
// that the server, which sees the call somewhere in between, never counts
// more calls in a window than the limiter allowed.
type limiter struct {
	mu       sync.Mutex
	global   []*stamp
	perSec   int
	channels map[string][]*stamp
	perChan  int
	window   time.Duration
	calls    int
	// share is how many processes send with the token: each keeps to
	// its share of perSec and perChan (bots.Share).
	share int
	now   func() time.Time // the clock; tests replace it
	// blocked holds a channel's sends back until a time (Discord's 429
	// on it); "" holds every call back.
	blocked map[string]time.Time
}

type stamp struct{ t time.Time }

// slot is a reservation to release after the call.
type slot struct {
	g, c    *stamp
	channel string
}

func newLimiter(perSec, perChan int, window time.Duration) *limiter {
	return &limiter{perSec: perSec, perChan: perChan, window: window, channels: map[string][]*stamp{}, now: time.Now,
		blocked: map[string]time.Time{}, share: 1}
}

// setShare makes the limiter keep to its share among n processes.
func (l *limiter) setShare(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.share = max(n, 1)
}

// limits are the global and per-channel limits of this process's share.
// Call with mu held.
func (l *limiter) limits() (perSec, perChan int) {
	return bots.Share(l.perSec, l.share), bots.Share(l.perChan, l.share)
}

// channelGap is the steady gap between two posts to one channel that
// this process's share of the channel limit allows.
func (l *limiter) channelGap() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, perChan := l.limits()
	if perChan <= 0 {
		return 0
	}
	return l.window / time.Duration(perChan)
}

// block holds channel's calls back for d ("" for every call).
func (l *limiter) block(channel string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := l.now().Add(d); until.After(l.blocked[channel]) {
		l.blocked[channel] = until
	}
}

// globalWait returns, reserving nothing, how long until a call may go as
// far as the global limit (and a global block) is concerned.
func (l *limiter) globalWait() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	g, gw := live(l.global, now, time.Second)
	l.global = g
	wait := l.blocked[""].Sub(now)
	if perSec, _ := l.limits(); len(g) >= perSec {
		wait = max(wait, gw)
	}
	return max(wait, 0)
}

// cancel takes back a slot whose call was not made.
func (l *limiter) cancel(s slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	drop := func(ss []*stamp, x *stamp) []*stamp {
		for i, y := range ss {
			if y == x {
				return append(ss[:i], ss[i+1:]...)
			}
		}
		return ss
	}
	if s.g != nil {
		l.global = drop(l.global, s.g)
	}
	if s.c != nil {
		l.channels[s.channel] = drop(l.channels[s.channel], s.c)
	}
}

// live drops stamps older than window and returns the rest and how long
// until the oldest expires.
func live(ss []*stamp, now time.Time, window time.Duration) ([]*stamp, time.Duration) {
	out := ss[:0]
	var oldest time.Time
	for _, s := range ss {
		if now.Sub(s.t) < window {
			out = append(out, s)
			if oldest.IsZero() || s.t.Before(oldest) {
				oldest = s.t
			}
		}
	}
	for i := len(out); i < len(ss); i++ {
		ss[i] = nil
	}
	if oldest.IsZero() {
		return out, 0
	}
	return out, oldest.Add(window).Sub(now)
}

// reserve takes a slot for a call to channel (or "" for a call that only
// counts globally). When no slot is free it returns how long to wait.
func (l *limiter) reserve(channel string) (slot, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	wait := max(l.blocked[""].Sub(now), l.blocked[channel].Sub(now), 0)
	g, gw := live(l.global, now, time.Second)
	l.global = g
	perSec, perChan := l.limits()
	if len(g) >= perSec {
		wait = max(wait, gw)
	}
	var c []*stamp
	if channel != "" {
		var cw time.Duration
		c, cw = live(l.channels[channel], now, l.window)
		if len(c) == 0 {
			delete(l.channels, channel)
		} else {
			l.channels[channel] = c
		}
		if len(c) >= perChan && cw > wait {
			wait = cw
		}
	}
	if wait > 0 {
		return slot{}, wait
	}
	if l.calls++; l.calls%1024 == 0 {
		for id, ss := range l.channels {
			if ss, _ = live(ss, now, l.window); len(ss) == 0 {
				delete(l.channels, id)
			}
		}
		for id, until := range l.blocked {
			if !until.After(now) {
				delete(l.blocked, id)
			}
		}
	}
	s := slot{g: &stamp{now}, channel: channel}
	l.global = append(l.global, s.g)
	if channel != "" {
		s.c = &stamp{now}
		l.channels[channel] = append(c, s.c)
	}
	return s, 0
}

// release stamps the slot with the time the call ended.
func (l *limiter) release(s slot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if s.g != nil {
		s.g.t = now
	}
	if s.c != nil {
		s.c.t = now
	}
}

// acquire blocks until a slot is free and reserves it, or returns ctx's
// error. Release the slot after the call.
func (l *limiter) acquire(ctx context.Context, channel string) (slot, error) {
	for {
		s, d := l.reserve(channel)
		if d <= 0 {
			return s, nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return slot{}, ctx.Err()
		case <-t.C:
		}
	}
}
