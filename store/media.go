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

// PendingMedia returns up to limit attachments of the given kinds, sent
// with messages received since since that belong to a case, whose file
// was never tried or is due for another try, oldest first.
func (db *DB) PendingMedia(ctx context.Context, since time.Time, kinds []citybot.AttachmentKind, limit int) ([]citybot.MediaJob, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	if limit <= 0 {
		limit = 20
	}
	args := []any{ts(since)}
	marks := make([]string, len(kinds))
	for i, k := range kinds {
		marks[i] = "?"
		args = append(args, string(k))
	}
	args = append(args, ts(db.now().UTC()), limit)
	rows, err := db.r.QueryContext(ctx, `SELECT a.id, a.kind, a.file_id, a.mime_type, a.name, a.size, ch.platform, COALESCE(md.tries, 0)
		FROM attachments a JOIN messages m ON m.id = a.message_id JOIN chats ch ON ch.id = m.chat_id LEFT JOIN media md ON md.attachment_id = a.id
		WHERE m.received_at >= ? AND m.case_id IS NOT NULL AND a.file_id <> '' AND a.kind IN (`+strings.Join(marks, ", ")+`)
		  AND (md.attachment_id IS NULL OR md.state = 'retry' AND md.next_at <= ?)
		ORDER BY a.id LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: pending media: %w", mapErr(err))
	}
	defer rows.Close()
	var out []citybot.MediaJob
	for rows.Next() {
		var j citybot.MediaJob
		var kind, platform string
		if err := rows.Scan(&j.Attachment.ID, &kind, &j.Attachment.FileID, &j.Attachment.MIMEType, &j.Attachment.Name, &j.Attachment.Size,
			&platform, &j.Tries); err != nil {
			return nil, fmt.Errorf("store: pending media: %w", err)
		}
		j.Attachment.Kind, j.Platform = citybot.AttachmentKind(kind), citybot.Platform(platform)
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending media: %w", mapErr(err))
	}
	return out, nil
}

// KeepMedia keeps the fetched file of attachment id (its metadata
// already removed by the caller). Errors wrap citybot.ErrNotFound when the
// attachment is gone (erased meanwhile): nothing is kept then.
func (db *DB) KeepMedia(ctx context.Context, id int64, mime string, data []byte) error {
	return db.setMedia(ctx, id, citybot.MediaKept, mime, data, "", time.Time{})
}

// RefuseMedia records that the file of attachment id is not kept, for
// good, and why (in words officers read).
func (db *DB) RefuseMedia(ctx context.Context, id int64, reason string) error {
	return db.setMedia(ctx, id, citybot.MediaRefused, "", nil, reason, time.Time{})
}

// RetryMedia records a passing failure to fetch the file of attachment
// id, to be tried again from next.
func (db *DB) RetryMedia(ctx context.Context, id int64, reason string, next time.Time) error {
	return db.setMedia(ctx, id, citybot.MediaRetry, "", nil, reason, next)
}

func (db *DB) setMedia(ctx context.Context, id int64, state citybot.MediaState, mime string, data []byte, reason string, next time.Time) error {
	err := db.write(ctx, func(ctx context.Context, tx querier) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM attachments WHERE id = ?`, id).Scan(&one); err != nil {
			return err
		}
		var nextAt sql.NullString
		if !next.IsZero() {
			nextAt = sql.NullString{String: ts(next.UTC()), Valid: true}
		}
		reason, _ = citybot.CleanText(reason, 500)
		tries := 0
		if state == citybot.MediaRetry {
			tries = 1
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO media (attachment_id, state, mime_type, data, reason, tries, next_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (attachment_id) DO UPDATE SET state = excluded.state, mime_type = excluded.mime_type, data = excluded.data,
				reason = excluded.reason, tries = media.tries + excluded.tries, next_at = excluded.next_at, updated_at = excluded.updated_at`,
			id, string(state), mime, data, reason, tries, nextAt, ts(db.now().UTC()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: media %d: %w", id, mapErr(err))
	}
	return nil
}

// Media returns the kept file of attachment id with the case it belongs
// to. Errors wrap citybot.ErrNotFound when there is no such attachment or
// its file is not kept.
func (db *DB) Media(ctx context.Context, id int64) (citybot.Media, error) {
	var md citybot.Media
	var kind string
	var caseID sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT a.id, a.kind, m.case_id, md.mime_type, md.data
		FROM media md JOIN attachments a ON a.id = md.attachment_id JOIN messages m ON m.id = a.message_id
		WHERE md.attachment_id = ? AND md.state = 'kept'`, id).Scan(&md.AttachmentID, &kind, &caseID, &md.MIMEType, &md.Data)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !caseID.Valid {
		return citybot.Media{}, fmt.Errorf("store: media %d: %w", id, citybot.ErrNotFound)
	}
	if err != nil {
		return citybot.Media{}, fmt.Errorf("store: media %d: %w", id, mapErr(err))
	}
	md.Kind, md.Case = citybot.AttachmentKind(kind), citybot.CaseID(caseID.Int64)
	return md, nil
}
