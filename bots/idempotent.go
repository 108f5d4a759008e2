package bots

import (
	"time"

	"citybot"
)

// IdempotentSender is an optional capability of a Bot: the platform
// recognises a repeated Send of the same Outgoing (same Key) for a while
// after the first attempt, and answers it with the message first posted
// instead of posting a second one.
//
// The outbox dispatcher relies on it after a crash. A row found mid-send
// at start is ambiguous: the platform may or may not have accepted it.
// The dispatcher sends it again only when its bot implements
// IdempotentSender and the interrupted attempt is well within
// IdempotencyWindow; otherwise it marks the row "delivery unknown" and
// does not send it again, so that no citizen ever gets a message twice.
type IdempotentSender interface {
	// IdempotencyWindow returns how long after a Send of out the
	// platform still recognises a repeated Send of the same out (same
	// Key) and posts nothing new; zero when a repeat would post a second
	// message. It does not block.
	IdempotencyWindow(out citybot.Outgoing) time.Duration
}
