-- 0101_media (PostgreSQL twin): photos and voice notes kept with the case.
CREATE TABLE media (
	attachment_id BIGINT PRIMARY KEY REFERENCES attachments(id) ON DELETE CASCADE,
	state         TEXT NOT NULL CHECK (state IN ('kept', 'refused', 'retry')),
	mime_type     TEXT NOT NULL DEFAULT '',
	data          BYTEA,
	reason        TEXT NOT NULL DEFAULT '',
	tries         BIGINT NOT NULL DEFAULT 0,
	next_at       TEXT,
	updated_at    TEXT NOT NULL
);
CREATE INDEX media_retry ON media (next_at) WHERE state = 'retry';
