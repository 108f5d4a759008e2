package store

import (
	"context"
	"fmt"
)

// RecentMessageTexts returns the texts of the latest limit citizen
// messages (inbound, not emptied by retention), newest first: what a
// retrained model is checked on before it may serve. limit <= 0 returns
// none.
func (db *DB) RecentMessageTexts(ctx context.Context, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT text FROM messages
		WHERE direction = 'in' AND text != '' ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: recent messages: %w", mapErr(err))
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: recent messages: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: recent messages: %w", err)
	}
	return out, nil
}
