package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode"

	"citybot"
)

// validKeyName says whether name may name an Open311 client: 1 to 64
// letters, digits, spaces, dots, dashes or underscores.
func validKeyName(name string) bool {
	if name == "" || len([]rune(name)) > 64 || strings.TrimSpace(name) != name {
		return false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" ._-", r) {
			return false
		}
	}
	return true
}

// CreateOpen311Key makes a new API key for the client name and returns
// it with the key itself, which is stored only as a hash
// (citybot.HashAPIKey) and cannot be read again. It is audited as
// "open311.key.add" by actor (without the key). Errors wrap
// citybot.ErrInvalid for a bad name and citybot.ErrDuplicate when the
// name already has a working key.
func (db *DB) CreateOpen311Key(ctx context.Context, name, actor string) (citybot.Open311Key, string, error) {
	if !validKeyName(name) {
		return citybot.Open311Key{}, "", fmt.Errorf("store: open311 key: %w: a name is 1 to 64 letters, digits, spaces, dots, dashes or underscores", citybot.ErrInvalid)
	}
	secret, err := citybot.NewAPIKey()
	if err != nil {
		return citybot.Open311Key{}, "", fmt.Errorf("store: open311 key: %w", err)
	}
	k := citybot.Open311Key{Name: name, CreatedBy: actorOr(actor)}
	err = db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		k.CreatedAt = parseTS(ts(now))
		id, err := insertID(ctx, tx, `INSERT INTO open311_keys (name, key_hash, created_at, created_by) VALUES (?, ?, ?, ?)`,
			name, citybot.HashAPIKey(secret), ts(now), k.CreatedBy)
		if err != nil {
			return err
		}
		k.ID = id
		return audit(ctx, tx, now, k.CreatedBy, "open311.key.add", fmt.Sprintf("open311_key:%d", id), nil, map[string]any{"name": name})
	})
	if err != nil {
		return citybot.Open311Key{}, "", fmt.Errorf("store: open311 key: %w", mapErr(err))
	}
	return k, secret, nil
}

// Open311Keys lists every API key, working ones first, then newest
// first. No key itself is ever returned.
func (db *DB) Open311Keys(ctx context.Context) ([]citybot.Open311Key, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, created_at, created_by, revoked_at, revoked_by FROM open311_keys
		ORDER BY revoked_at IS NOT NULL, created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: open311 keys: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.Open311Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: open311 keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: open311 keys: %w", err)
	}
	return out, nil
}

// Open311KeyByHash returns the working key whose hash is hash
// (citybot.HashAPIKey of what a client sent). Errors wrap
// citybot.ErrNotFound for an unknown or revoked key.
func (db *DB) Open311KeyByHash(ctx context.Context, hash string) (citybot.Open311Key, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, `SELECT id, name, created_at, created_by, revoked_at, revoked_by FROM open311_keys
		WHERE key_hash = ? AND revoked_at IS NULL`, hash))
	if err != nil {
		return citybot.Open311Key{}, fmt.Errorf("store: open311 key: %w", mapErr(err))
	}
	return k, nil
}

// RevokeOpen311Key stops the working key of the client name at once. It
// is audited as "open311.key.revoke" by actor. Errors wrap
// citybot.ErrNotFound when name has no working key.
func (db *DB) RevokeOpen311Key(ctx context.Context, name, actor string) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		now := db.now().UTC()
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM open311_keys WHERE name = ? AND revoked_at IS NULL`, name).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE open311_keys SET revoked_at = ?, revoked_by = ? WHERE id = ?`, ts(now), actorOr(actor), id); err != nil {
			return err
		}
		return audit(ctx, tx, now, actorOr(actor), "open311.key.revoke", fmt.Sprintf("open311_key:%d", id), nil, map[string]any{"name": name})
	})
	if err != nil {
		return fmt.Errorf("store: revoke open311 key: %w", mapErr(err))
	}
	return nil
}

func scanKey(row interface{ Scan(...any) error }) (citybot.Open311Key, error) {
	var (
		k       citybot.Open311Key
		created string
		revoked sql.NullString
	)
	if err := row.Scan(&k.ID, &k.Name, &created, &k.CreatedBy, &revoked, &k.RevokedBy); err != nil {
		return k, err
	}
	k.CreatedAt = parseTS(created)
	k.RevokedAt = parseNullTS(revoked)
	return k, nil
}

// CaseOfMessage returns the case an inbound message belongs to (the
// message the platform identifies by chat and id). Errors wrap
// citybot.ErrNotFound when there is no such message or it belongs to no
// case.
func (db *DB) CaseOfMessage(ctx context.Context, p citybot.Platform, chat citybot.ChatID, id citybot.PlatformMessageID) (citybot.Case, error) {
	var caseID int64
	err := db.r.QueryRowContext(ctx, `SELECT m.case_id FROM messages m JOIN chats ch ON ch.id = m.chat_id
		WHERE ch.platform = ? AND ch.platform_chat_id = ? AND m.platform_message_id = ? AND m.direction = 'in' AND m.case_id IS NOT NULL`,
		string(p), string(chat), string(id)).Scan(&caseID)
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: case of message: %w", mapErr(err))
	}
	c, err := caseByID(ctx, db.r, citybot.CaseID(caseID))
	if err != nil {
		return citybot.Case{}, fmt.Errorf("store: case of message: %w", mapErr(err))
	}
	return c, nil
}
