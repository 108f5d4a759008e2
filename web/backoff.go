package web

import (
	"sync"
	"time"
)

// backoff slows sign-in guessing without locking anyone out: each key
// (a client address, an account name tried from unknown browsers, one
// browser's own key) counts its failed sign-ins, and after free
// failures every further attempt must wait a delay that doubles with
// each failure, from base up to a ceiling. A success resets the keys
// it used; a key untouched for twice its ceiling is forgotten.
//
// It replaces the account lock, which let any stranger shut an admin out
// with five requests: the account key only slows browsers that never
// signed in to the account, and its ceiling is short.
type backoff struct {
	mu      sync.Mutex
	free    int
	base    time.Duration
	ceiling func(key string) time.Duration
	entries map[string]*strikes
}

type strikes struct {
	n    int
	last time.Time
}

// maxStrikeKeys bounds the memory; past it, forgotten keys are swept
// and, if still full, the oldest half is dropped.
const maxStrikeKeys = 20000

func (b *backoff) delay(key string, e *strikes) time.Duration {
	if e == nil || e.n < b.free {
		return 0
	}
	d, ceil := b.base, b.ceiling(key)
	for i := b.free; i < e.n && d < ceil; i++ {
		d *= 2
	}
	return min(d, ceil)
}

// wait returns how long the attempt must still wait for the slowest of
// keys; 0 means it may go ahead.
func (b *backoff) wait(now time.Time, keys ...string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		e := b.entries[k]
		if e == nil {
			continue
		}
		if w := e.last.Add(b.delay(k, e)).Sub(now); w > longest {
			longest = w
		}
	}
	return longest
}

// fail records a failed attempt under every key.
func (b *backoff) fail(now time.Time, keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.entries) >= maxStrikeKeys {
		b.sweep(now)
	}
	for _, k := range keys {
		e := b.entries[k]
		if e == nil {
			e = &strikes{}
			b.entries[k] = e
		}
		e.n++
		e.last = now
	}
}

// reset forgets keys after a successful sign-in.
func (b *backoff) reset(keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.entries, k)
	}
}

func (b *backoff) sweep(now time.Time) {
	for k, e := range b.entries {
		if now.Sub(e.last) > 2*b.ceiling(k) {
			delete(b.entries, k)
		}
	}
	if len(b.entries) < maxStrikeKeys {
		return
	}
	var oldest time.Time
	for _, e := range b.entries {
		if oldest.IsZero() || e.last.Before(oldest) {
			oldest = e.last
		}
	}
	mid := oldest.Add(now.Sub(oldest) / 2)
	for k, e := range b.entries {
		if e.last.Before(mid) || e.last.Equal(mid) {
			delete(b.entries, k)
		}
	}
}
