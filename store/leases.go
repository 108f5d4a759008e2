package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"citybot"
)

// TakeLease takes the lease on the job name for holder (a name unique to
// one process, e.g. host and process id), or renews it when holder has
// it already, until ttl from now. It returns true when holder holds the
// lease after the call: it was free, expired (its holder died or hung
// past its end), or holder's own. Two processes asking at once never both
// get it. Times are the DB's clock: processes sharing a database need
// clocks closer than ttl. Errors wrap citybot.ErrInvalid for an empty
// name or holder, or a ttl <= 0.
func (db *DB) TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if strings.TrimSpace(name) == "" || strings.TrimSpace(holder) == "" || ttl <= 0 {
		return false, fmt.Errorf("store: take lease: %w: need a name, a holder and a positive duration", citybot.ErrInvalid)
	}
	var took bool
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		r, err := tx.ExecContext(ctx, `INSERT INTO job_leases (name, holder, taken_at, expires_at) VALUES (?1, ?2, ?3, ?4)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
				taken_at = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.taken_at ELSE excluded.taken_at END
			WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= ?3`,
			name, holder, ts(now), ts(now.Add(ttl)))
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		took = n > 0
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: take lease %s: %w", name, mapErr(err))
	}
	return took, nil
}

// ReleaseLease gives up holder's lease on name, so that another process
// takes it at once instead of waiting for it to expire (a clean stop). A
// lease holder no longer has is left alone.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM job_leases WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: release lease %s: %w", name, mapErr(err))
	}
	return nil
}

// LeaseOf returns the lease on name, expired or not. Errors wrap
// citybot.ErrNotFound when nobody took it (or it was released).
func (db *DB) LeaseOf(ctx context.Context, name string) (citybot.Lease, error) {
	l := citybot.Lease{Name: name}
	var taken, expires string
	err := db.r.QueryRowContext(ctx, `SELECT holder, taken_at, expires_at FROM job_leases WHERE name = ?`, name).Scan(&l.Holder, &taken, &expires)
	if err != nil {
		return citybot.Lease{}, fmt.Errorf("store: lease %s: %w", name, mapErr(err))
	}
	l.TakenAt, l.Expires = parseTS(taken), parseTS(expires)
	return l, nil
}
