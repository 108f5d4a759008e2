package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"citybot"
)

// Several citybot processes (instances) may share one database. Each
// names itself (a name unique to the process: host, process id and a
// random part) and keeps a heartbeat: the lease "instance:NAME" in
// job_leases, renewed while it lives (InstanceHeartbeat) and released on
// a clean stop (ReleaseInstance). An outbox row records who claimed it
// (ClaimOutboxIDs); a row in sending whose claimer has no live heartbeat
// was interrupted mid-send by that process's death (AbandonedOutbox), and
// any other instance settles it (MarkDeliveryUnknown, RequeueAbandoned).

// instancePrefix starts the name of every instance's heartbeat lease.
const instancePrefix = "instance:"

// isHeartbeat is the condition that a job_leases row is an instance's
// heartbeat. It compares the name's first characters for equality, not a
// range on the prefix ("name >= 'instance:' AND name < 'instance;'"):
// a range holds only in byte order, and a PostgreSQL database made with
// a language's collation (en_US.UTF-8, ICU's en-US) sorts punctuation
// otherwise, so the range held no heartbeat at all there and every
// instance counted itself alone. job_leases holds a few rows per job and
// per instance of the last day: a scan costs nothing.
var isHeartbeat = fmt.Sprintf(`substr(name, 1, %d) = '%s'`, len(instancePrefix), instancePrefix)

// claimerGone is the condition, on an outbox row o, that its claimer has
// no live heartbeat: none was ever taken (a row claimed before claimers
// were recorded has an empty claimed_by), it was released, or it expired
// before the time given as its one argument.
const claimerGone = `NOT EXISTS (SELECT 1 FROM job_leases l
	WHERE l.name = 'instance:' || o.claimed_by AND l.expires_at > ?)`

// InstanceHeartbeat takes or renews instance's heartbeat until ttl from
// now (the DB's clock). While it lasts, the rows instance claimed are
// its own: no other instance settles them. Now and then (every
// instancePruneEvery) it also deletes the heartbeats that ended more than
// instanceKeep ago (processes killed without a clean stop): a missing
// heartbeat and an ended one mean the same. The name must be unique to
// the process: two processes of one name would each take the other's
// rows for its own. Errors wrap citybot.ErrInvalid for an empty name or a
// ttl <= 0.
func (db *DB) InstanceHeartbeat(ctx context.Context, instance string, ttl time.Duration) error {
	if strings.TrimSpace(instance) == "" {
		return fmt.Errorf("store: instance heartbeat: %w: empty instance name", citybot.ErrInvalid)
	}
	took, err := db.TakeLease(ctx, instancePrefix+instance, instance, ttl)
	if err != nil {
		return fmt.Errorf("store: instance heartbeat: %w", err)
	}
	if !took { // the lease of this name is held under another holder
		return fmt.Errorf("store: instance heartbeat: the heartbeat of %q is held by another process", instance)
	}
	now := db.now()
	if last := db.instancesPruned.Load(); last != 0 && now.Sub(time.Unix(0, last)) < instancePruneEvery {
		return nil
	}
	db.instancesPruned.Store(now.UnixNano())
	err = db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM job_leases WHERE `+isHeartbeat+` AND expires_at < ?`,
			ts(now.Add(-instanceKeep)))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: instance heartbeat: prune ended heartbeats: %w", mapErr(err))
	}
	return nil
}

// How often InstanceHeartbeat deletes the heartbeats that ended, and how
// long after their end.
const (
	instancePruneEvery = 10 * time.Minute
	instanceKeep       = 24 * time.Hour
)

// ReleaseInstance ends instance's heartbeat at once (a clean stop, once
// its sends in flight are recorded): the rows it may have left in
// sending are then settled by the other instances without waiting for
// the heartbeat to expire.
func (db *DB) ReleaseInstance(ctx context.Context, instance string) error {
	if err := db.ReleaseLease(ctx, instancePrefix+instance, instance); err != nil {
		return fmt.Errorf("store: release instance: %w", err)
	}
	return nil
}

// LiveInstances counts the instances whose heartbeat has not expired
// (this one included, once it took its own).
func (db *DB) LiveInstances(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_leases WHERE `+isHeartbeat+` AND expires_at > ?`,
		ts(db.now())).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: live instances: %w", mapErr(err))
	}
	return n, nil
}

// RenewingInstances counts the instances other than self whose
// heartbeat (of length ttl) was renewed within the last within: those
// alive now, where LiveInstances also counts a process that died less
// than ttl ago.
func (db *DB) RenewingInstances(ctx context.Context, self string, ttl, within time.Duration) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_leases WHERE `+isHeartbeat+` AND name <> ? AND expires_at > ?`,
		instancePrefix+self, ts(db.now().Add(ttl-within))).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: renewing instances: %w", mapErr(err))
	}
	return n, nil
}

// AbandonedOutbox returns the rows of the given platforms left in
// sending by a process that is gone: claimed by an instance other than
// self whose heartbeat has expired or was released (or by a citybot from
// before claimers were recorded), in queue order. The platform may or
// may not have accepted them. A row a live instance is sending is never
// returned; nor are self's own rows (self is alive while it asks).
// UpdatedAt is when the row was claimed, ClaimedBy by whom.
func (db *DB) AbandonedOutbox(ctx context.Context, platforms []citybot.Platform, self string) ([]citybot.OutboxItem, error) {
	out, err := db.sendingOutbox(ctx, platforms, `o.claimed_by <> ? AND `+claimerGone, self, ts(db.now()))
	if err != nil {
		return nil, fmt.Errorf("store: abandoned outbox: %w", err)
	}
	return out, nil
}

// RequeueAbandoned puts a row a dead process left in sending (see
// AbandonedOutbox) back to pending, due now, without counting an
// attempt, recording lastErr (safe to show staff): for a send that is
// safe to make again (an edit, or a platform that recognises a repeat).
// Only a row whose claimer is gone is requeued, once, however many
// instances try. Errors wrap citybot.ErrNotFound when no row with this id
// is in sending by a dead claimer.
func (db *DB) RequeueAbandoned(ctx context.Context, id citybot.OutboxID, lastErr string) error {
	now := ts(db.now())
	return db.updateOutbox(ctx, "requeue abandoned outbox row", `UPDATE outbox SET state = 'pending', next_attempt_at = ?,
		last_error = ?, updated_at = ?, claimed_by = '' WHERE id = ? AND state = 'sending' AND `+
		strings.ReplaceAll(claimerGone, "o.claimed_by", "outbox.claimed_by"), now, clip(lastErr), now, int64(id), now)
}
