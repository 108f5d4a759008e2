package responder

import (
	"context"
	"fmt"
	"time"

	"citybot"
	"citybot/bots"
)

// deliveryUnknown is the last error recorded on a row a crash interrupted
// mid-send on a platform that cannot recognise a repeat.
const deliveryUnknown = "delivery unknown: interrupted by a crash; not re-sent to avoid a duplicate"

// resolveInterrupted settles the rows an earlier process left in sending
// (see Dispatcher): each is either put back to pending, due now, when its
// platform recognises a repeat, or marked delivery unknown. It returns
// the first store error; rows already settled stay settled.
func (d *Dispatcher) resolveInterrupted(ctx context.Context) error {
	items, err := d.store.SendingOutbox(ctx, d.platforms)
	if err != nil {
		return err
	}
	for _, it := range items {
		platform := string(it.Out.Platform)
		log := d.log.With("outbox_id", int64(it.ID), "platform", platform, "kind", string(it.Kind))
		now := d.now()
		if it.Out.Edit != "" {
			// An edit is idempotent: making it again changes nothing.
			if err := d.store.RetryOutbox(ctx, it.ID, now, false, "interrupted by a crash; an edit is made again"); err != nil {
				return fmt.Errorf("requeue interrupted row %d: %w", it.ID, err)
			}
			continue
		}
		if w := d.window(it.Out); w > 0 && now.Sub(it.UpdatedAt) < w/2 {
			if err := d.store.RetryOutbox(ctx, it.ID, now, false, "interrupted by a crash; sent again: the platform recognises a repeat"); err != nil {
				return fmt.Errorf("requeue interrupted row %d: %w", it.ID, err)
			}
			log.Info("send interrupted by a crash: sent again, the platform recognises a repeat",
				"claimed_ago", now.Sub(it.UpdatedAt).Round(time.Millisecond))
			continue
		}
		ref, err := d.store.MarkDeliveryUnknown(ctx, it.ID, deliveryUnknown)
		if err != nil {
			return fmt.Errorf("mark interrupted row %d: %w", it.ID, err)
		}
		d.unknown.WithLabelValues(platform).Inc()
		log.Warn("delivery unknown: a crash interrupted the send; not sent again to avoid a duplicate", "case_ref", string(ref))
	}
	return nil
}

// window is how long the platform of out recognises a repeated send of
// it; zero when it does not.
func (d *Dispatcher) window(out citybot.Outgoing) time.Duration {
	is, ok := d.bots[out.Platform].(bots.IdempotentSender)
	if !ok {
		return 0
	}
	return is.IdempotencyWindow(out)
}

// PrivateChat implements bots.PrivateChatter for the wrapped bot. It
// returns an error wrapping citybot.ErrNotSupported when the wrapped bot
// cannot open private chats, and the wrapped bot's errors otherwise.
func (c chartBot) PrivateChat(ctx context.Context, user citybot.UserID) (citybot.ChatID, error) {
	pc, ok := c.Bot.(bots.PrivateChatter)
	if !ok {
		return "", fmt.Errorf("responder: private chat: %w", citybot.ErrNotSupported)
	}
	return pc.PrivateChat(ctx, user)
}

// IdempotencyWindow implements bots.IdempotentSender for the wrapped bot:
// rows posting a digest's chart go as a photo, which no platform
// deduplicates, and get zero; others get the wrapped bot's window.
func (c chartBot) IdempotencyWindow(out citybot.Outgoing) time.Duration {
	if _, chart := chartWeek(out.Key); chart {
		return 0
	}
	if is, ok := c.Bot.(bots.IdempotentSender); ok {
		return is.IdempotencyWindow(out)
	}
	return 0
}

// Reserve implements bots.Pacer for the wrapped bot (a chart row's photo
// is sent through the same limiter); a bot without the capability is not
// paced: every row may go at once.
func (c chartBot) Reserve(out citybot.Outgoing) (time.Duration, bots.PaceScope) {
	if p, ok := c.Bot.(bots.Pacer); ok {
		return p.Reserve(out)
	}
	return 0, bots.PaceChat
}

// Unreserve implements bots.Pacer for the wrapped bot.
func (c chartBot) Unreserve(out citybot.Outgoing) {
	if p, ok := c.Bot.(bots.Pacer); ok {
		p.Unreserve(out)
	}
}

// Edit implements bots.Editor for the wrapped bot. It returns an error
// wrapping citybot.ErrNotSupported when the wrapped bot cannot edit.
func (c chartBot) Edit(ctx context.Context, chat citybot.ChatID, id citybot.PlatformMessageID, out citybot.Outgoing) error {
	ed, ok := c.Bot.(bots.Editor)
	if !ok {
		return fmt.Errorf("responder: edit: %w", citybot.ErrNotSupported)
	}
	return ed.Edit(ctx, chat, id, out)
}
