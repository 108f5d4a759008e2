package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"citybot"
)

// The console's sign-in limits live in the database, so that every
// citybot process sharing it counts the same attempts: a client that
// spreads its guesses over the instances behind a load balancer meets
// one limit, not one per instance. Times in these tables are Unix
// milliseconds of the DB's clock; processes sharing a database need
// clocks closer than the limits' intervals.

// TakeRateToken spends one attempt of key's token bucket: burst attempts
// at once, then one every every. It returns whether the attempt may go
// ahead and, when not, how long until the next one may. Every process
// sharing the database draws from the same bucket; two attempts at once
// never both take its last token. Errors wrap citybot.ErrInvalid for an
// empty key, a burst < 1 or an interval <= 0.
func (db *DB) TakeRateToken(ctx context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error) {
	if key == "" || burst < 1 || every <= 0 {
		return false, 0, fmt.Errorf("store: take rate token: %w: need a key, a burst of at least 1 and a positive interval", citybot.ErrInvalid)
	}
	interval := max(every.Milliseconds(), 1)
	var ok bool
	var wait time.Duration
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UnixMilli()
		// The generic cell rate algorithm: tat moves on by one interval
		// per attempt (from now when it lies in the past); an attempt is
		// allowed while the new tat is within burst intervals of now.
		r, err := tx.ExecContext(ctx, `INSERT INTO rate_tokens (key, tat) VALUES (?1, CAST(?2 AS BIGINT) + CAST(?3 AS BIGINT))
			ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN rate_tokens.tat > ?2 THEN rate_tokens.tat ELSE ?2 END) + ?3
			WHERE (CASE WHEN rate_tokens.tat > ?2 THEN rate_tokens.tat ELSE ?2 END) + ?3 <= ?4`,
			key, now, interval, now+int64(burst)*interval)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		if ok = n > 0; ok {
			return nil
		}
		var tat int64
		if err := tx.QueryRowContext(ctx, `SELECT tat FROM rate_tokens WHERE key = ?`, key).Scan(&tat); err != nil {
			return err
		}
		// The next attempt is allowed once tat + interval <= now + burst
		// intervals.
		wait = time.Duration(tat+interval-int64(burst)*interval-now) * time.Millisecond
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("store: take rate token: %w", mapErr(err))
	}
	return ok, max(wait, time.Millisecond), nil
}

// SigninStrikes returns the failed sign-ins counted under each of keys
// and not yet forgotten; a key without any is absent from the map.
func (db *DB) SigninStrikes(ctx context.Context, keys []string) (map[string]citybot.SigninStrike, error) {
	out := map[string]citybot.SigninStrike{}
	if len(keys) == 0 {
		return out, nil
	}
	args := []any{db.now().UnixMilli()}
	for _, k := range keys {
		args = append(args, k)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT key, failures, last_at FROM signin_strikes
		WHERE keep_until > ? AND key IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: sign-in strikes: %w", mapErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n, last int64
		if err := rows.Scan(&k, &n, &last); err != nil {
			return nil, fmt.Errorf("store: sign-in strikes: %w", err)
		}
		out[k] = citybot.SigninStrike{Failures: int(n), Last: time.UnixMilli(last).UTC()}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sign-in strikes: %w", err)
	}
	return out, nil
}

// guessedAudits are the counts of wrong passwords and codes, typed for
// one account since its owner last dismissed them, at which the audit
// log records "account.guessed" (the admins' notice of someone guessing).
var guessedAudits = []int{10, 100, 1000, 10000}

// RecordSigninFailure counts a failed sign-in under every key (a count
// whose keep time has passed starts again from one) and, when account
// names an existing account, for that account's notice
// (citybot.Account.FailedLogins); reaching 10, 100, 1000 or 10000 such
// failures is audited as "account.guessed". An account name that does
// not exist is not an error.
func (db *DB) RecordSigninFailure(ctx context.Context, account string, keys []citybot.SigninKey) error {
	// Keys in one order, so that two processes counting the same keys
	// at once lock them in the same order.
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b citybot.SigninKey) int { return strings.Compare(a.Key, b.Key) })
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		ms := now.UnixMilli()
		for _, k := range keys {
			if k.Key == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO signin_strikes (key, failures, last_at, keep_until) VALUES (?1, 1, ?2, ?3)
				ON CONFLICT (key) DO UPDATE SET
					failures = CASE WHEN signin_strikes.keep_until <= ?2 THEN 1 ELSE signin_strikes.failures + 1 END,
					last_at = ?2, keep_until = ?3`,
				k.Key, ms, ms+max(k.Keep.Milliseconds(), 1)); err != nil {
				return err
			}
		}
		account = strings.TrimSpace(account)
		if account == "" {
			return nil
		}
		var id int64
		var n int
		err := tx.QueryRowContext(ctx, `UPDATE accounts SET failed_logins = failed_logins + 1,
				failed_since = CASE WHEN failed_since = '' THEN ?1 ELSE failed_since END, failed_last = ?1
			WHERE name = ?2 RETURNING id, failed_logins`, ts(now), account).Scan(&id, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if !slices.Contains(guessedAudits, n) {
			return nil
		}
		return audit(ctx, tx, now, "citybot", "account.guessed", accountSubject(citybot.AccountID(id)), nil,
			map[string]any{"failed_logins": n})
	})
	if err != nil {
		return fmt.Errorf("store: record sign-in failure: %w", mapErr(err))
	}
	return nil
}

// ClearSigninStrikes forgets the failed sign-ins counted under keys
// (after a successful sign-in).
func (db *DB) ClearSigninStrikes(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM signin_strikes WHERE key IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ")+`)`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: clear sign-in strikes: %w", mapErr(err))
	}
	return nil
}

// pruneBatch bounds the rows one PruneSigninLimits statement deletes.
const pruneBatch = 1000

// PruneSigninLimits deletes the sign-in limits' rows that say nothing any
// more: full token buckets and forgotten strikes, at most a thousand of
// each per call (rows another process is updating are left for the next
// call). It returns how many rows it deleted.
func (db *DB) PruneSigninLimits(ctx context.Context) (int, error) {
	var deleted int
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UnixMilli()
		deleted = 0
		for _, q := range []string{
			`DELETE FROM rate_tokens WHERE key IN (SELECT key FROM rate_tokens WHERE tat <= ? LIMIT ?` + skipLocked(tx) + `)`,
			`DELETE FROM signin_strikes WHERE key IN (SELECT key FROM signin_strikes WHERE keep_until <= ? LIMIT ?` + skipLocked(tx) + `)`,
		} {
			r, err := tx.ExecContext(ctx, q, now, pruneBatch)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			deleted += int(n)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune sign-in limits: %w", mapErr(err))
	}
	return deleted, nil
}

// DismissSigninNotice clears the count of wrong passwords and codes typed
// for an account (its owner has seen it). Errors wrap
// citybot.ErrNotFound for an unknown account.
func (db *DB) DismissSigninNotice(ctx context.Context, id citybot.AccountID) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		r, err := tx.ExecContext(ctx, `UPDATE accounts SET failed_logins = 0, failed_since = '', failed_last = '' WHERE id = ?`, int64(id))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: dismiss sign-in notice: %w", mapErr(err))
	}
	return nil
}

// WebSecret returns the shared secret called name (32 random bytes),
// made on first use: every process sharing the database gets the same
// one, and it survives restarts. Whoever reads the database can read it.
func (db *DB) WebSecret(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, fmt.Errorf("store: web secret: %w: empty name", citybot.ErrInvalid)
	}
	read := func() ([]byte, error) {
		var s string
		if err := db.r.QueryRowContext(ctx, `SELECT secret FROM web_secrets WHERE name = ?`, name).Scan(&s); err != nil {
			return nil, err
		}
		return hex.DecodeString(s)
	}
	if b, err := read(); err == nil {
		return b, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: web secret: %w", mapErr(err))
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO web_secrets (name, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(fresh), ts(db.now()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: web secret: %w", mapErr(err))
	}
	// Another process may have made it first: its secret is the one.
	b, err := read()
	if err != nil {
		return nil, fmt.Errorf("store: web secret: %w", mapErr(err))
	}
	return b, nil
}
