package discord

import (
	"time"

	"citybot"
	"citybot/bots"
)

var _ bots.IdempotentSender = (*Bot)(nil)

// nonceWindow is how long Discord is trusted to remember a message nonce
// sent with enforce_nonce. Discord documents the check as covering "the
// past few minutes"; two minutes stays on the safe side.
const nonceWindow = 2 * time.Minute

// IdempotencyWindow implements bots.IdempotentSender: Send derives a
// nonce from out.Key and sets enforce_nonce, so that Discord answers a
// repeat within a few minutes with the message first posted. A message
// without a Key carries no nonce and gets zero. SendPhoto sends no nonce:
// the window is about Send only.
func (b *Bot) IdempotencyWindow(out citybot.Outgoing) time.Duration {
	if out.Key == "" || out.File != nil {
		return 0 // a document is uploaded without a nonce
	}
	return nonceWindow
}
