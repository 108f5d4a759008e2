package store

import (
	"context"
	"database/sql"
	"fmt"

	"citybot"
)

// StartTOTP keeps secret as the account's one-time password secret being
// enrolled (replacing one being enrolled before); the active secret, if
// any, stays active until ActivateTOTP. Errors wrap citybot.ErrNotFound
// for an unknown account and citybot.ErrInvalid for an empty secret.
func (db *DB) StartTOTP(ctx context.Context, id citybot.AccountID, secret string) error {
	if secret == "" {
		return fmt.Errorf("store: start totp: %w: empty secret", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		r, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_pending = ? WHERE id = ?`, secret, int64(id))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: start totp: %w", mapErr(err))
	}
	return nil
}

// ActivateTOTP makes the account's pending secret its active one, once
// its owner typed a correct code of the 30-second step step (pending must
// be the secret the code was checked against, so that a secret replaced
// meanwhile is not activated), and replaces its recovery codes by
// recoveryHashes. Audited as "account.totp_enable" by the account itself.
// Errors wrap citybot.ErrNotFound for an unknown account and
// citybot.ErrInvalid when pending is no longer the pending secret.
func (db *DB) ActivateTOTP(ctx context.Context, id citybot.AccountID, pending string, step int64, recoveryHashes []string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var name, cur string
		if err := tx.QueryRowContext(ctx, `SELECT name, totp_pending FROM accounts WHERE id = ?`, int64(id)).Scan(&name, &cur); err != nil {
			return err
		}
		if cur == "" || cur != pending {
			return fmt.Errorf("%w: the set-up was started again elsewhere; start over", citybot.ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret = totp_pending, totp_pending = '', totp_last_step = ? WHERE id = ?`,
			step, int64(id)); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, tx, id, recoveryHashes); err != nil {
			return err
		}
		return audit(ctx, tx, db.now().UTC(), name, "account.totp_enable", accountSubject(id), nil,
			map[string]any{"recovery_codes": len(recoveryHashes)})
	})
	if err != nil {
		return fmt.Errorf("store: activate totp: %w", mapErr(err))
	}
	return nil
}

func replaceRecoveryCodes(ctx context.Context, tx querier, id citybot.AccountID, hashes []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE account_id = ?`, int64(id)); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (account_id, code_hash) VALUES (?, ?)`, int64(id), h); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep records that a code of the 30-second step step was accepted
// for the account. Errors wrap citybot.ErrDuplicate when a code of this
// step or a later one was accepted already (a code is good once), and
// citybot.ErrNotFound for an unknown account.
func (db *DB) UseTOTPStep(ctx context.Context, id citybot.AccountID, step int64) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT totp_last_step FROM accounts WHERE id = ?`, int64(id)).Scan(&last); err != nil {
			return err
		}
		if step <= last {
			return fmt.Errorf("%w: this code was used already", citybot.ErrDuplicate)
		}
		_, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_last_step = ? WHERE id = ?`, step, int64(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: use totp step: %w", mapErr(err))
	}
	return nil
}

// UseRecoveryCode spends the account's unused recovery code whose hash is
// codeHash, audited as "account.recovery_code" with the codes left.
// Errors wrap citybot.ErrNotFound when the account has no such unused
// code.
func (db *DB) UseRecoveryCode(ctx context.Context, id citybot.AccountID, codeHash string) (left int, err error) {
	err = db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		r, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at = ''`,
			ts(now), int64(id), codeHash)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return sql.ErrNoRows
		}
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name, (SELECT count(*) FROM recovery_codes WHERE account_id = ? AND used_at = '')
			FROM accounts WHERE id = ?`, int64(id), int64(id)).Scan(&name, &left); err != nil {
			return err
		}
		return audit(ctx, tx, now, name, "account.recovery_code", accountSubject(id), nil, map[string]any{"left": left})
	})
	if err != nil {
		return 0, fmt.Errorf("store: use recovery code: %w", mapErr(err))
	}
	return left, nil
}

// SetRecoveryCodes replaces the account's recovery codes by hashes (the
// old ones stop working), audited as "account.recovery_codes" by the
// account itself. Errors wrap citybot.ErrNotFound for an unknown account
// and citybot.ErrInvalid for one without an active one-time password.
func (db *DB) SetRecoveryCodes(ctx context.Context, id citybot.AccountID, hashes []string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var name, secret string
		if err := tx.QueryRowContext(ctx, `SELECT name, totp_secret FROM accounts WHERE id = ?`, int64(id)).Scan(&name, &secret); err != nil {
			return err
		}
		if secret == "" {
			return fmt.Errorf("%w: set up the one-time codes first", citybot.ErrInvalid)
		}
		if err := replaceRecoveryCodes(ctx, tx, id, hashes); err != nil {
			return err
		}
		return audit(ctx, tx, db.now().UTC(), name, "account.recovery_codes", accountSubject(id), nil, map[string]any{"count": len(hashes)})
	})
	if err != nil {
		return fmt.Errorf("store: set recovery codes: %w", mapErr(err))
	}
	return nil
}

// ResetTOTP removes the named account's one-time password (active and
// pending) and recovery codes, audited as "account.totp_reset" by actor.
// An admin resetting another account (a lost phone) also ends that
// account's sessions; the account's owner turning it off (actor = its
// name) keeps signed in. An admin or official must enrol again at their
// next request. Errors wrap citybot.ErrNotFound for an unknown name.
func (db *DB) ResetTOTP(ctx context.Context, name, actor string) (citybot.Account, error) {
	var a citybot.Account
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var err error
		if a, err = accountForUpdate(ctx, tx, name); err != nil {
			return err
		}
		had := a.TOTPEnabled()
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret = '', totp_pending = '', totp_last_step = 0 WHERE id = ?`, int64(a.ID)); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, tx, a.ID, nil); err != nil {
			return err
		}
		ended := 0
		if actor != a.Name {
			if ended, err = endSessions(ctx, tx, a.ID); err != nil {
				return err
			}
		}
		a.TOTPSecret, a.TOTPPending, a.TOTPLastStep, a.RecoveryCodesLeft = "", "", 0, 0
		return audit(ctx, tx, db.now().UTC(), actorOr(actor), "account.totp_reset", accountSubject(a.ID),
			map[string]any{"totp": had}, map[string]any{"totp": false, "sessions_ended": ended})
	})
	if err != nil {
		return citybot.Account{}, fmt.Errorf("store: reset totp: %w", mapErr(err))
	}
	return a, nil
}
