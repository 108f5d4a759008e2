package responder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"citybot"
	"citybot/bots"
)

// deliveryUnknown is the last error recorded on a row a crash interrupted
// mid-send on a platform that cannot recognise a repeat.
const deliveryUnknown = "delivery unknown: interrupted by a crash; not re-sent to avoid a duplicate"

// settleAbandoned settles the rows dead processes left in sending (see
// Dispatcher): each is either put back to pending, due now, when its
// platform recognises a repeat, or marked delivery unknown. A row another
// process settles first is skipped. It returns the first store error;
// rows already settled stay settled.
func (d *Dispatcher) settleAbandoned(ctx context.Context) error {
	items, err := d.store.AbandonedOutbox(ctx, d.platforms, d.instance)
	if err != nil {
		return err
	}
	requeued := false
	for _, it := range items {
		platform := string(it.Out.Platform)
		// claimed_by names the dead process (host, process id, random
		// part), for the operator who looks for what happened to it.
		log := d.log.With("outbox_id", int64(it.ID), "platform", platform, "kind", string(it.Kind), "claimed_by", it.ClaimedBy)
		now := d.now()
		var why string
		switch w := d.window(it); {
		case it.Out.Edit != "":
			// An edit is idempotent: making it again changes nothing.
			why = "interrupted by a crash; an edit is made again"
		case w > 0 && now.Sub(it.UpdatedAt) < w/2:
			why = "interrupted by a crash; sent again: the platform recognises a repeat"
		}
		if why != "" {
			err := d.store.RequeueAbandoned(ctx, it.ID, why)
			if errors.Is(err, citybot.ErrNotFound) {
				continue // another instance settled it
			}
			if err != nil {
				return fmt.Errorf("requeue interrupted row %d: %w", it.ID, err)
			}
			requeued = true
			d.deadRows.WithLabelValues(platform, "requeued").Inc()
			if it.Out.Edit == "" {
				log.Info("send interrupted by a crash: sent again, the platform recognises a repeat",
					"claimed_ago", now.Sub(it.UpdatedAt).Round(time.Millisecond))
			}
			continue
		}
		ref, err := d.store.MarkDeliveryUnknown(ctx, it.ID, deliveryUnknown)
		if errors.Is(err, citybot.ErrNotFound) {
			continue // another instance settled it
		}
		if err != nil {
			return fmt.Errorf("mark interrupted row %d: %w", it.ID, err)
		}
		d.unknown.WithLabelValues(platform).Inc()
		d.deadRows.WithLabelValues(platform, "delivery_unknown").Inc()
		if it.Combined > 0 {
			// The acknowledgements it carried share its fate (the
			// store audits each against its case).
			log = log.With("reporters", it.Combined)
		}
		log.Warn("delivery unknown: a crash interrupted the send; not sent again to avoid a duplicate", "case_ref", string(ref))
	}
	if requeued {
		d.Notify()
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

// beat renews this process's heartbeat.
func (d *Dispatcher) beat(ctx context.Context) error {
	at := d.now()
	if err := d.store.InstanceHeartbeat(ctx, d.instance, d.ttl); err != nil {
		return err
	}
	d.lastBeat.Store(at.UnixNano())
	if d.beatLapsed.Swap(false) {
		d.log.Info("heartbeat renewed")
	}
	return nil
}

// alive says whether this process's heartbeat is fresh enough to claim
// rows: renewed within four fifths of its length (at least one renewal
// before it expires). A stale one is renewed here once; when that fails
// too it says so once until it is renewed.
func (d *Dispatcher) alive(ctx context.Context) bool {
	if d.now().Sub(time.Unix(0, d.lastBeat.Load())) < d.ttl-d.ttl/5 {
		return true
	}
	err := d.beat(ctx)
	switch {
	case err == nil:
		if d.claimsPaused.Swap(false) {
			d.log.Info("heartbeat renewed: claiming again")
		}
	case ctx.Err() == nil && !d.claimsPaused.Swap(true):
		d.log.Error("heartbeat not renewed: claiming nothing until it is, since the other instances will take this one for dead", "err", err)
	}
	return err == nil
}

// drainBudget is the longest a stopping Run waits for its sends in flight
// and their records: SendTimeout, then up to five record attempts.
func (d *Dispatcher) drainBudget() time.Duration {
	return d.sendTimeout + 6*d.recordTO
}

// keepAlive renews the heartbeat every fifth of its length and settles
// dead processes' rows every SweepInterval while run lives; once run is
// cancelled, it stops sweeping and renews the heartbeat until the sends
// in flight are recorded (ctx is cancelled) or drainBudget has passed,
// whichever comes first: a process that dies while stopping is then
// taken for dead like any other. It refreshes the count of live
// instances at each renewal.
func (d *Dispatcher) keepAlive(ctx, run context.Context) {
	renew := time.NewTicker(max(d.ttl/5, time.Millisecond))
	defer renew.Stop()
	sweep := time.NewTicker(d.sweep)
	defer sweep.Stop()
	runDone := run.Done()
	var drainUntil time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-runDone:
			runDone = nil
			drainUntil = d.now().Add(d.drainBudget())
			continue
		case <-sweep.C:
			if run.Err() != nil {
				continue
			}
			if err := d.settleAbandoned(run); err != nil && run.Err() == nil {
				d.log.Error("settle the rows of dead instances", "err", err)
			}
			continue
		case <-renew.C:
		}
		if !drainUntil.IsZero() && d.now().After(drainUntil) {
			return
		}
		if err := d.beat(ctx); err != nil {
			if ctx.Err() == nil && !d.beatLapsed.Swap(true) {
				d.log.Warn("heartbeat not renewed; trying again", "err", err)
			}
			continue
		}
		n, err := d.store.LiveInstances(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("count live instances", "err", err)
			}
			continue
		}
		d.setLive(n)
	}
}

// renewingCounter is the store's count of the instances alive now
// (store.DB.RenewingInstances); a store without it counts every live
// heartbeat as renewing.
type renewingCounter interface {
	RenewingInstances(ctx context.Context, self string, ttl, within time.Duration) (int, error)
}

// peersRenewing reports whether another instance renewed its heartbeat
// within the last within (true when the store cannot tell).
func (d *Dispatcher) peersRenewing(ctx context.Context, within time.Duration) bool {
	rc, ok := d.store.(renewingCounter)
	if !ok {
		return true
	}
	n, err := rc.RenewingInstances(ctx, d.instance, d.ttl, within)
	if err != nil {
		d.log.Warn("count the instances renewing their heartbeat", "err", err)
		return true
	}
	return n > 0
}

// LiveInstances returns how many citybot instances share the database,
// this one included, as its heartbeat last counted them (every fifth of
// HeartbeatTTL); 0 before Run first counted.
func (d *Dispatcher) LiveInstances() int { return int(d.live.Load()) }

// setLive records how many instances live (at least this one), for the
// gauge and the bots that share their platform's limits among them.
func (d *Dispatcher) setLive(n int) {
	n = max(n, 1)
	if d.live.Swap(int64(n)) == int64(n) {
		return
	}
	d.liveGauge.Set(float64(n))
	d.log.Info("live instances: each keeps to its share of the platforms' limits", "instances", n)
	for _, b := range d.bots {
		if ls, ok := b.(bots.LimitSharer); ok {
			ls.ShareLimits(n)
		}
	}
}
