package store

import (
	"context"
	"fmt"

	"citybot"
)

// AccountLanguage returns the console language the account chose ("" when
// it did not choose). Errors wrap citybot.ErrNotFound for an unknown
// account.
func (db *DB) AccountLanguage(ctx context.Context, id citybot.AccountID) (string, error) {
	var lang string
	if err := db.r.QueryRowContext(ctx, `SELECT console_lang FROM accounts WHERE id = ?`, int64(id)).Scan(&lang); err != nil {
		return "", fmt.Errorf("store: account language: %w", mapErr(err))
	}
	return lang, nil
}

// SetAccountLanguage keeps the console language the account chose; ""
// forgets the choice. The caller checks that the city speaks lang.
// Errors wrap citybot.ErrNotFound for an unknown account and
// citybot.ErrInvalid for a value that is not a short language code.
func (db *DB) SetAccountLanguage(ctx context.Context, id citybot.AccountID, lang string) error {
	if len(lang) > 16 {
		return fmt.Errorf("store: set account language: %w: code too long", citybot.ErrInvalid)
	}
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET console_lang = ? WHERE id = ?`, lang, int64(id))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return citybot.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set account language: %w", mapErr(err))
	}
	return nil
}
