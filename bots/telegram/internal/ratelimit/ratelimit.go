// Package ratelimit counts events in sliding windows. A Rule allows at most
// N events in any window of length Window; a Limiter keeps, per key, the
// times of the last N events and admits a new one only when every rule it
// is checked against allows it.
//
// The Telegram adapter uses it to stay under Telegram's limits, and the
// emulator uses the same rules to decide when to answer 429, so that both
// sides agree on what "too fast" means. Time is always passed in by the
// caller, so tests need no sleeping.
package ratelimit

import (
	"sync"
	"time"
)

// Rule allows at most N events in any window of length Window. A Rule with
// N <= 0 or Window <= 0 allows everything.
type Rule struct {
	N      int
	Window time.Duration
}

// Check names a key and the rule that applies to it.
type Check struct {
	Key  string
	Rule Rule
}

type entry struct {
	times   []time.Time // oldest first, at most Rule.N
	window  time.Duration
	blocked time.Time // refuse everything before this instant
}

// Limiter holds the event logs of many keys. Its memory is bounded by the
// number of keys active within their window: idle keys are swept. A
// Limiter is safe for concurrent use. The zero value is not usable; call
// New.
type Limiter struct {
	mu        sync.Mutex
	entries   map[string]*entry
	lastSweep time.Time
}

// New returns an empty Limiter.
func New() *Limiter { return &Limiter{entries: make(map[string]*entry)} }

// Reserve admits one event at now if every check allows it, recording it
// under every key, and returns (0, true). Otherwise it records nothing and
// returns how long to wait until all checks would allow it.
func (l *Limiter) Reserve(now time.Time, checks ...Check) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	var wait time.Duration
	for _, c := range checks {
		if w := l.waitLocked(now, c); w > wait {
			wait = w
		}
	}
	if wait > 0 {
		return wait, false
	}
	for _, c := range checks {
		if c.Rule.N <= 0 || c.Rule.Window <= 0 {
			continue
		}
		e := l.entries[c.Key]
		if e == nil {
			e = &entry{times: make([]time.Time, 0, min(c.Rule.N, 64))}
			l.entries[c.Key] = e
		}
		e.window = max(e.window, c.Rule.Window)
		if len(e.times) >= c.Rule.N {
			n := copy(e.times, e.times[len(e.times)-c.Rule.N+1:])
			e.times = e.times[:n]
		}
		e.times = append(e.times, now)
	}
	return 0, true
}

// Wait returns how long from now until every check would admit one
// event (0: now), recording nothing.
func (l *Limiter) Wait(now time.Time, checks ...Check) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, c := range checks {
		wait = max(wait, l.waitLocked(now, c))
	}
	return wait
}

// Cancel takes back one event that Reserve admitted at now under these
// checks (the platform refused it: nothing was sent), so that it no longer
// counts against the limits. Keys without such an event are left alone.
func (l *Limiter) Cancel(now time.Time, checks ...Check) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range checks {
		e := l.entries[c.Key]
		if e == nil {
			continue
		}
		for i := len(e.times) - 1; i >= 0; i-- {
			if e.times[i].Equal(now) {
				e.times = append(e.times[:i], e.times[i+1:]...)
				break
			}
		}
	}
}

// Block refuses every event under key until now+d (a platform's 429 with
// retry_after).
func (l *Limiter) Block(now time.Time, key string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entries[key]
	if e == nil {
		e = &entry{}
		l.entries[key] = e
	}
	if until := now.Add(d); until.After(e.blocked) {
		e.blocked = until
	}
	e.window = max(e.window, d)
}

// Len returns the number of keys currently tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func (l *Limiter) waitLocked(now time.Time, c Check) time.Duration {
	e := l.entries[c.Key]
	if e == nil {
		return 0
	}
	var wait time.Duration
	if e.blocked.After(now) {
		wait = e.blocked.Sub(now)
	}
	if c.Rule.N <= 0 || c.Rule.Window <= 0 || len(e.times) < c.Rule.N {
		return wait
	}
	// The N-th most recent event must have left the window.
	oldest := e.times[len(e.times)-c.Rule.N]
	if w := oldest.Add(c.Rule.Window).Sub(now); w > wait {
		wait = w
	}
	return wait
}

// sweep drops keys whose events and block have all left their window. It
// runs at most once per second of the callers' clock.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < time.Second && now.After(l.lastSweep) {
		return
	}
	l.lastSweep = now
	for k, e := range l.entries {
		if now.Before(e.blocked) {
			continue
		}
		if len(e.times) == 0 || now.Sub(e.times[len(e.times)-1]) >= e.window {
			delete(l.entries, k)
		}
	}
}

// Telegram's documented sending limits, shared by the adapter (which stays
// under them) and the emulator (which answers 429 above them): about one
// message per second in a chat with a small burst, 20 per minute in a
// group, 30 per second overall.
const (
	TelegramChatN        = 3
	TelegramChatWindow   = 3 * time.Second
	TelegramGroupN       = 20
	TelegramGroupWindow  = time.Minute
	TelegramGlobalN      = 30
	TelegramGlobalWindow = time.Second
)
