package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"citybot"
)

const accountColumns = `id, name, role, password_hash, failed_logins, failed_since, failed_last, disabled, created_at, last_login_at,
	totp_secret, totp_pending, totp_last_step,
	(SELECT count(*) FROM recovery_codes rc WHERE rc.account_id = accounts.id AND rc.used_at = '')`

func scanAccount(s scanner) (citybot.Account, error) {
	var (
		a                    citybot.Account
		id                   int64
		role, created, last  string
		failedFrom, failedTo string
	)
	if err := s.Scan(&id, &a.Name, &role, &a.PasswordHash, &a.FailedLogins, &failedFrom, &failedTo, &a.Disabled, &created, &last,
		&a.TOTPSecret, &a.TOTPPending, &a.TOTPLastStep, &a.RecoveryCodesLeft); err != nil {
		return a, err
	}
	if last != "" {
		a.LastLoginAt = parseTS(last)
	}
	a.ID, a.Role, a.CreatedAt = citybot.AccountID(id), citybot.Role(role), parseTS(created)
	if failedFrom != "" {
		a.FailedSince = parseTS(failedFrom)
	}
	if failedTo != "" {
		a.FailedLast = parseTS(failedTo)
	}
	return a, nil
}

// CreateAccount adds a staff account with a password hash computed by the
// caller and records it in the audit log as done by actor. Errors wrap
// citybot.ErrInvalid for an empty name or hash or an unknown role, and
// citybot.ErrDuplicate when the name (case-insensitive) is taken.
func (db *DB) CreateAccount(ctx context.Context, name string, role citybot.Role, passwordHash, actor string) (citybot.Account, error) {
	name = strings.TrimSpace(name)
	if passwordHash == "" || !role.Valid() {
		return citybot.Account{}, fmt.Errorf("store: create account: %w: an account needs a password and a known role", citybot.ErrInvalid)
	}
	if err := citybot.CheckAccountName(name); err != nil {
		return citybot.Account{}, fmt.Errorf("store: create account: %w", err)
	}
	var a citybot.Account
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		id, err := insertID(ctx, tx, `INSERT INTO accounts (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)`,
			name, string(role), passwordHash, ts(now))
		if err != nil {
			return err
		}
		a = citybot.Account{ID: citybot.AccountID(id), Name: name, Role: role, PasswordHash: passwordHash, CreatedAt: now}
		return audit(ctx, tx, now, actorOr(actor), "account.create", accountSubject(a.ID), nil,
			map[string]any{"name": name, "role": role})
	})
	if err != nil {
		return citybot.Account{}, fmt.Errorf("store: create account: %w", mapErr(err))
	}
	return a, nil
}

func accountSubject(id citybot.AccountID) string { return fmt.Sprintf("account:%d", id) }

func actorOr(actor string) string {
	if actor == "" {
		return "citybot"
	}
	return actor
}

// AccountByName returns the account with this name (case-insensitive), or
// an error wrapping citybot.ErrNotFound.
func (db *DB) AccountByName(ctx context.Context, name string) (citybot.Account, error) {
	a, err := scanAccount(db.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE name = ?`, strings.TrimSpace(name)))
	if err != nil {
		return a, fmt.Errorf("store: account by name: %w", mapErr(err))
	}
	return a, nil
}

// Accounts returns every staff account, by name.
func (db *DB) Accounts(ctx context.Context) ([]citybot.Account, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: accounts: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store: accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: accounts: %w", err)
	}
	return out, nil
}

// CreateSession records a signed-in session for an account: tokenHash is
// the hash of the cookie's token (the token itself is never stored), csrf
// the session's form token. It also removes expired sessions; the
// account's count of wrong passwords stays for its owner to see
// (DismissSigninNotice clears it). Errors wrap citybot.ErrNotFound for an
// unknown account and citybot.ErrDuplicate for a reused token hash.
func (db *DB) CreateSession(ctx context.Context, id citybot.AccountID, tokenHash, csrf string, expires time.Time) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		r, err := tx.ExecContext(ctx, `UPDATE accounts SET last_login_at = ? WHERE id = ?`, ts(now), int64(id))
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n != 1 {
			return sql.ErrNoRows
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, ts(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			tokenHash, int64(id), csrf, ts(now), ts(expires)); err != nil {
			return err
		}
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM accounts WHERE id = ?`, int64(id)).Scan(&name); err != nil {
			return err
		}
		return audit(ctx, tx, now, name, "account.login", accountSubject(id), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("store: create session: %w", mapErr(err))
	}
	return nil
}

// Session returns the account and form token of an unexpired session, by
// its token hash. Errors wrap citybot.ErrNotFound for an unknown or
// expired session, or a disabled account.
func (db *DB) Session(ctx context.Context, tokenHash string) (citybot.Account, string, error) {
	var csrf string
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT s.csrf, s.account_id FROM sessions s JOIN accounts a ON a.id = s.account_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND a.disabled = 0`, tokenHash, ts(db.now())).Scan(&csrf, &id)
	if err != nil {
		return citybot.Account{}, "", fmt.Errorf("store: session: %w", mapErr(err))
	}
	a, err := scanAccount(db.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return a, "", fmt.Errorf("store: session: %w", mapErr(err))
	}
	return a, csrf, nil
}

// DeleteSession ends a session (logout) and records it in the audit log.
// Ending an unknown session is not an error.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var id int64
		var name string
		err := tx.QueryRowContext(ctx, `SELECT a.id, a.name FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ?`,
			tokenHash).Scan(&id, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
			return err
		}
		return audit(ctx, tx, db.now().UTC(), name, "account.logout", accountSubject(citybot.AccountID(id)), nil, nil)
	})
	if err != nil {
		return fmt.Errorf("store: delete session: %w", mapErr(err))
	}
	return nil
}
