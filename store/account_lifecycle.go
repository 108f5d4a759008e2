package store

import (
	"context"
	"fmt"
	"strings"

	"citybot"
)

// errLastAdmin refuses to leave the console without an active admin.
var errLastAdmin = fmt.Errorf("%w: the last active admin cannot be disabled or given another role", citybot.ErrInvalid)

// accountForUpdate reads an account by name inside a write transaction.
func accountForUpdate(ctx context.Context, tx querier, name string) (citybot.Account, error) {
	return scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE name = ?`, strings.TrimSpace(name)))
}

// otherActiveAdmins counts the enabled admins other than id.
func otherActiveAdmins(ctx context.Context, tx querier, id citybot.AccountID) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE role = 'admin' AND disabled = 0 AND id <> ?`, int64(id)).Scan(&n)
	return n, err
}

// endSessions deletes every session of an account and returns how many
// there were.
func endSessions(ctx context.Context, tx querier, id citybot.AccountID) (int, error) {
	r, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ?`, int64(id))
	if err != nil {
		return 0, err
	}
	n, _ := r.RowsAffected()
	return int(n), nil
}

// SetAccountDisabled disables (or enables again) the named account,
// audited as done by actor ("account.disable", "account.enable").
// Disabling ends every session of the account at once. The last enabled
// admin cannot be disabled. Errors wrap citybot.ErrNotFound for an
// unknown name and citybot.ErrInvalid for the last admin.
func (db *DB) SetAccountDisabled(ctx context.Context, name string, disabled bool, actor string) (citybot.Account, error) {
	var a citybot.Account
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		if a, err = accountForUpdate(ctx, tx, name); err != nil {
			return err
		}
		if disabled && a.Role == citybot.RoleAdmin && !a.Disabled {
			n, err := otherActiveAdmins(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return errLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET disabled = ? WHERE id = ?`, disabled, int64(a.ID)); err != nil {
			return err
		}
		ended := 0
		if disabled {
			if ended, err = endSessions(ctx, tx, a.ID); err != nil {
				return err
			}
		}
		action := "account.enable"
		if disabled {
			action = "account.disable"
		}
		before := a.Disabled
		a.Disabled = disabled
		return audit(ctx, tx, db.now().UTC(), actorOr(actor), action, accountSubject(a.ID),
			map[string]any{"disabled": before}, map[string]any{"disabled": disabled, "sessions_ended": ended})
	})
	if err != nil {
		return citybot.Account{}, fmt.Errorf("store: set account disabled: %w", mapErr(err))
	}
	return a, nil
}

// SetAccountPassword replaces the named account's password hash (computed
// by the caller), clears its failed sign-ins and ends every session of
// the account, audited as "account.password" (never with the hash).
// Errors wrap citybot.ErrNotFound for an unknown name and
// citybot.ErrInvalid for an empty hash.
func (db *DB) SetAccountPassword(ctx context.Context, name, passwordHash, actor string) error {
	if passwordHash == "" {
		return fmt.Errorf("store: set account password: %w: empty password hash", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		a, err := accountForUpdate(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = ?, failed_logins = 0, failed_since = '', failed_last = '' WHERE id = ?`,
			passwordHash, int64(a.ID)); err != nil {
			return err
		}
		ended, err := endSessions(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, db.now().UTC(), actorOr(actor), "account.password", accountSubject(a.ID), nil,
			map[string]any{"sessions_ended": ended})
	})
	if err != nil {
		return fmt.Errorf("store: set account password: %w", mapErr(err))
	}
	return nil
}

// UnlockAccount clears the named account's count of wrong passwords and
// the sign-in delay its name has from unknown browsers (the console's
// back-off key "account:" + the name in lower case), audited as
// "account.unlock". Errors wrap citybot.ErrNotFound for an unknown name.
func (db *DB) UnlockAccount(ctx context.Context, name, actor string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		a, err := accountForUpdate(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET failed_logins = 0, failed_since = '', failed_last = '' WHERE id = ?`, int64(a.ID)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signin_strikes WHERE key = ?`, "account:"+strings.ToLower(a.Name)); err != nil {
			return err
		}
		return audit(ctx, tx, db.now().UTC(), actorOr(actor), "account.unlock", accountSubject(a.ID),
			map[string]any{"failed_logins": a.FailedLogins}, nil)
	})
	if err != nil {
		return fmt.Errorf("store: unlock account: %w", mapErr(err))
	}
	return nil
}

// SetAccountRole gives the named account another role, audited as
// "account.role". The session keeps going: every request reads the role
// afresh. The last enabled admin cannot be given another role. Errors
// wrap citybot.ErrNotFound for an unknown name and citybot.ErrInvalid for
// an unknown role or the last admin.
func (db *DB) SetAccountRole(ctx context.Context, name string, role citybot.Role, actor string) (citybot.Account, error) {
	if !role.Valid() {
		return citybot.Account{}, fmt.Errorf("store: set account role: %w: unknown role %q (admin, officer or official)", citybot.ErrInvalid, role)
	}
	var a citybot.Account
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		if a, err = accountForUpdate(ctx, tx, name); err != nil {
			return err
		}
		if a.Role == role {
			return nil
		}
		if a.Role == citybot.RoleAdmin && !a.Disabled {
			n, err := otherActiveAdmins(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return errLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET role = ? WHERE id = ?`, string(role), int64(a.ID)); err != nil {
			return err
		}
		before := a.Role
		a.Role = role
		return audit(ctx, tx, db.now().UTC(), actorOr(actor), "account.role", accountSubject(a.ID),
			map[string]any{"role": before}, map[string]any{"role": role})
	})
	if err != nil {
		return citybot.Account{}, fmt.Errorf("store: set account role: %w", mapErr(err))
	}
	return a, nil
}

// RevokeSessions ends every session of the named account (each signed-in
// browser is signed out on its next request) and returns how many there
// were, audited as "account.revoke". Errors wrap citybot.ErrNotFound for
// an unknown name.
func (db *DB) RevokeSessions(ctx context.Context, name, actor string) (int, error) {
	var ended int
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		a, err := accountForUpdate(ctx, tx, name)
		if err != nil {
			return err
		}
		if ended, err = endSessions(ctx, tx, a.ID); err != nil {
			return err
		}
		return audit(ctx, tx, db.now().UTC(), actorOr(actor), "account.revoke", accountSubject(a.ID), nil,
			map[string]any{"sessions_ended": ended})
	})
	if err != nil {
		return 0, fmt.Errorf("store: revoke sessions: %w", mapErr(err))
	}
	return ended, nil
}
