-- 0010_console: staff accounts and sessions, case assignment, internal
-- notes, officers' answers, canned answers, and a full-text index of
-- messages (FTS4: mattn/go-sqlite3 builds FTS3/4 by default, FTS5 only
-- with the sqlite_fts5 tag).

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
	role          TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'official')),
	password_hash TEXT NOT NULL,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  TEXT NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    TEXT NOT NULL
);

-- Sessions are found by the SHA-256 of their token: the token itself is
-- only in the browser's cookie.
CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	csrf       TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

ALTER TABLE cases ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_assignee ON cases (assignee, urgency_rank, opened_at);
-- Inbox counts per filter: an index that covers the grouped columns.
CREATE INDEX cases_facets ON cases (status, urgency_rank, topic, platform, language);
CREATE INDEX cases_duplicate_of ON cases (duplicate_of) WHERE duplicate_of IS NOT NULL;

-- A case's outgoing messages, for the case page.
CREATE INDEX outbox_case_console ON outbox (case_id) WHERE case_id IS NOT NULL;

CREATE TABLE case_notes (
	id      INTEGER PRIMARY KEY,
	case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	author  TEXT NOT NULL,
	text    TEXT NOT NULL,
	at      TEXT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, id);

-- Who wrote an outgoing message an officer queued.
CREATE TABLE officer_messages (
	outbox_key TEXT PRIMARY KEY,
	case_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	author     TEXT NOT NULL,
	at         TEXT NOT NULL
);

CREATE TABLE canned_answers (
	topic      TEXT NOT NULL,
	language   TEXT NOT NULL,
	text       TEXT NOT NULL,
	updated_by TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (topic, language)
);

CREATE VIRTUAL TABLE messages_fts USING fts4(content="messages", text, tokenize=unicode61 "remove_diacritics=1");
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
	INSERT INTO messages_fts (docid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_bu BEFORE UPDATE OF text ON messages BEGIN
	DELETE FROM messages_fts WHERE docid = old.id;
END;
CREATE TRIGGER messages_fts_au AFTER UPDATE OF text ON messages BEGIN
	INSERT INTO messages_fts (docid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_bd BEFORE DELETE ON messages BEGIN
	DELETE FROM messages_fts WHERE docid = old.id;
END;
