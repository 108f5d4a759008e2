package bots

import (
	"time"

	"citybot"
)

// PaceScope says what a rate limiter's wait covers.
type PaceScope int

// Pace scopes.
const (
	// PaceChat: this chat (or group) must wait; others may send.
	PaceChat PaceScope = iota
	// PacePlatform: no chat of the platform may send before the wait
	// is over (the global limit, or a platform's global 429).
	PacePlatform
)

// String names the scope for metrics and logs.
func (s PaceScope) String() string {
	if s == PacePlatform {
		return "platform"
	}
	return "chat"
}

// Pacer is an optional capability of a Bot whose Send keeps to rate
// limits (local ones, and what the platform's 429 answers said): the
// caller takes a send slot before committing to a send, instead of
// sending and being refused. The outbox dispatcher reserves a slot for a
// row before it claims the row, so that a throttled queue waits for its
// slot instead of claiming and releasing rows (each a write) in a loop.
//
// Both methods are safe for concurrent use and never block or call the
// platform.
type Pacer interface {
	// Reserve takes a slot for sending out now and returns 0; the next
	// Send of out (same Key) uses it instead of taking another (within
	// a few seconds: an unused slot expires, still counted, so the
	// limits are never exceeded). When no slot is free it takes nothing
	// and returns how long until one may be, and what the wait covers.
	Reserve(out citybot.Outgoing) (time.Duration, PaceScope)
	// Unreserve gives back the slot Reserve took for out when out will
	// not be sent after all. Without such a slot it does nothing.
	Unreserve(out citybot.Outgoing)
}

// Spacer is an optional capability of a Bot whose limits bound the
// messages to one chat: Spacing returns the steady gap between two
// messages to out's chat that those limits allow for ever (a window's
// allowance spread evenly: Telegram's 20 a minute in a group → 3 s,
// Discord's 5 in 5 s in a channel → 1 s); 0 when no such limit applies.
//
// In a surge the outbox spaces the combined acknowledgements of a group
// this way, instead of spending a window's allowance at once and holding
// every later reporter until the window turns. It never blocks or calls
// the platform.
type Spacer interface {
	Spacing(out citybot.Outgoing) time.Duration
}

// LimitSharer is an optional capability of a Bot whose platform limits
// apply to its token, whoever sends with it: when several citybot
// processes (instances) send with one token, each keeps to its share.
// ShareLimits(n) makes this process allow, for every limit of N messages
// in a window, Share(N, n) in that window: n processes together never
// exceed N as long as N >= n (Telegram's 30 a second and 20 a minute in
// a group, Discord's 45 a second, hold for up to 20 processes; the
// per-chat limits of 3 to 5 messages for up to 3 to 5). n <= 1 restores
// the whole limits. The outbox dispatcher calls it with the number of
// live instances whenever that changes. Safe for concurrent use; never
// blocks or calls the platform.
type LimitSharer interface {
	ShareLimits(n int)
}

// Share is one process's share of a limit of limit messages per window
// among n processes: limit/n, rounded down but at least 1 (a limit <= 0,
// none, stays none; n <= 1 keeps it whole).
func Share(limit, n int) int {
	if limit <= 0 || n <= 1 {
		return limit
	}
	return max(1, limit/n)
}
