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
		if w := d.window(it); w > 0 && now.Sub(it.UpdatedAt) < w/2 {
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
		if it.Combined > 0 {
			// The acknowledgements it carried share its fate (the
			// store audits each against its case).
			log = log.With("reporters", it.Combined)
		}
		log.Warn("delivery unknown: a crash interrupted the send; not sent again to avoid a duplicate", "case_ref", string(ref))
	}
	return nil
}

// window is how long the platform of it recognises a repeated send of
// it; zero when it does not, and for a chart row: a photo, which no
// platform deduplicates.
func (d *Dispatcher) window(it citybot.OutboxItem) time.Duration {
	is, ok := d.bots[it.Out.Platform].(bots.IdempotentSender)
	if !ok || it.Kind == citybot.OutboxChart {
		return 0
	}
	return is.IdempotencyWindow(it.Out)
}
