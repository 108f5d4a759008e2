-- 0101_media: photos and voice notes citizens sent, fetched through the
-- platform's adapter and kept with the case (location metadata removed),
-- so that an officer looks before reading. One row per attachment once
-- tried: kept (with the data), refused for good (reason in words), or
-- retry (a passing failure, tried again from next_at). Deleting the
-- attachment (retention, a citizen's erasure) deletes the copy.
CREATE TABLE media (
	attachment_id INTEGER PRIMARY KEY REFERENCES attachments(id) ON DELETE CASCADE,
	state         TEXT NOT NULL CHECK (state IN ('kept', 'refused', 'retry')),
	mime_type     TEXT NOT NULL DEFAULT '',
	data          BLOB,
	reason        TEXT NOT NULL DEFAULT '',
	tries         INTEGER NOT NULL DEFAULT 0,
	next_at       TEXT,
	updated_at    TEXT NOT NULL
);
CREATE INDEX media_retry ON media (next_at) WHERE state = 'retry';
