-- 0001_init: citizens, chats, messages, cases, tags, outbox, cursors, audit.
-- Times are UTC text in the fixed-width form 2006-01-02T15:04:05.000000Z,
-- so that text order is time order.

CREATE TABLE citizens (
	id         INTEGER PRIMARY KEY,
	platform   TEXT NOT NULL,
	language   TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL
);

-- Private: who a citizen is on their platform. Only intake reads it.
CREATE TABLE citizen_identities (
	citizen_id       INTEGER PRIMARY KEY REFERENCES citizens(id) ON DELETE CASCADE,
	platform         TEXT NOT NULL,
	platform_user_id TEXT NOT NULL,
	name             TEXT NOT NULL DEFAULT '',
	handle           TEXT NOT NULL DEFAULT '',
	language_code    TEXT NOT NULL DEFAULT '',
	updated_at       TEXT NOT NULL,
	UNIQUE (platform, platform_user_id)
);

CREATE TABLE chats (
	id               INTEGER PRIMARY KEY,
	platform         TEXT NOT NULL,
	platform_chat_id TEXT NOT NULL,
	kind             TEXT NOT NULL,
	title            TEXT NOT NULL DEFAULT '',
	created_at       TEXT NOT NULL,
	UNIQUE (platform, platform_chat_id)
);

CREATE TABLE cases (
	id              INTEGER PRIMARY KEY,
	ref             TEXT NOT NULL UNIQUE,
	status          TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'in_progress', 'answered', 'resolved', 'closed', 'duplicate')),
	topic           TEXT NOT NULL DEFAULT 'other',
	urgency         TEXT NOT NULL DEFAULT 'normal',
	urgency_rank    INTEGER NOT NULL DEFAULT 2,
	urgency_score   REAL NOT NULL DEFAULT 0,
	language        TEXT NOT NULL DEFAULT '',
	platform        TEXT NOT NULL,
	chat_id         INTEGER NOT NULL REFERENCES chats(id),
	citizen_id      INTEGER NOT NULL REFERENCES citizens(id),
	latitude        REAL,
	longitude       REAL,
	places          TEXT NOT NULL DEFAULT '[]',
	expected_by     TEXT,
	close_reason    TEXT NOT NULL DEFAULT '',
	duplicate_of    INTEGER REFERENCES cases(id),
	opened_at       TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	last_message_at TEXT NOT NULL,
	CHECK (status <> 'closed' OR close_reason <> ''),
	CHECK (status <> 'duplicate' OR (duplicate_of IS NOT NULL AND duplicate_of <> id))
);
-- Intake: the citizen's latest case in a chat.
CREATE INDEX cases_citizen_chat ON cases (citizen_id, chat_id, last_message_at);
-- Officer inbox: open cases, critical first, then oldest.
CREATE INDEX cases_inbox_open ON cases (urgency_rank, opened_at)
	WHERE status IN ('new', 'acknowledged', 'in_progress', 'answered');
-- Other statuses (resolved, closed…) by status; a topic filter scans the
-- open cases, which stay few.
CREATE INDEX cases_inbox_status ON cases (status, urgency_rank, opened_at);

CREATE TABLE messages (
	id                  INTEGER PRIMARY KEY,
	direction           TEXT NOT NULL CHECK (direction IN ('in', 'out')),
	chat_id             INTEGER NOT NULL REFERENCES chats(id),
	platform_message_id TEXT NOT NULL,
	citizen_id          INTEGER REFERENCES citizens(id),
	case_id             INTEGER REFERENCES cases(id),
	outbox_id           INTEGER REFERENCES outbox(id),
	reply_to            TEXT NOT NULL DEFAULT '',
	command             TEXT NOT NULL DEFAULT '',
	text                TEXT NOT NULL,
	text_truncated      INTEGER NOT NULL DEFAULT 0,
	original_size       INTEGER NOT NULL DEFAULT 0,
	classification      TEXT,
	latitude            REAL,
	longitude           REAL,
	sent_at             TEXT NOT NULL,
	received_at         TEXT NOT NULL,
	edited_at           TEXT,
	UNIQUE (chat_id, platform_message_id, direction)
);
CREATE INDEX messages_case ON messages (case_id, id);

-- Earlier texts of edited messages.
CREATE TABLE message_edits (
	id         INTEGER PRIMARY KEY,
	message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	old_text   TEXT NOT NULL,
	edited_at  TEXT NOT NULL
);
CREATE INDEX message_edits_message ON message_edits (message_id);

CREATE TABLE attachments (
	id         INTEGER PRIMARY KEY,
	message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	file_id    TEXT NOT NULL DEFAULT '',
	mime_type  TEXT NOT NULL DEFAULT '',
	name       TEXT NOT NULL DEFAULT '',
	size       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX attachments_message ON attachments (message_id);

CREATE TABLE tags (
	id         INTEGER PRIMARY KEY,
	case_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
	kind       TEXT NOT NULL,
	value      TEXT NOT NULL,
	confidence REAL NOT NULL DEFAULT 1,
	source     TEXT NOT NULL CHECK (source IN ('classifier', 'officer')),
	set_by     TEXT NOT NULL DEFAULT '',
	at         TEXT NOT NULL
);
CREATE INDEX tags_case ON tags (case_id, message_id);

CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	key             TEXT NOT NULL UNIQUE,
	kind            TEXT NOT NULL,
	platform        TEXT NOT NULL,
	chat            TEXT NOT NULL,
	chat_kind       TEXT NOT NULL DEFAULT '',
	reply_to        TEXT NOT NULL DEFAULT '',
	text            TEXT NOT NULL,
	buttons         TEXT NOT NULL DEFAULT '',
	case_id         INTEGER REFERENCES cases(id),
	state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	sent_message_id TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	updated_at      TEXT NOT NULL
);
-- Dispatcher: due rows, and the head of each chat's queue.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_chat_queue ON outbox (platform, chat, id) WHERE state IN ('pending', 'sending');

CREATE TABLE cursors (
	key        TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TEXT NOT NULL
);

CREATE TABLE audit_log (
	id      INTEGER PRIMARY KEY,
	at      TEXT NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	subject TEXT NOT NULL,
	before  TEXT NOT NULL DEFAULT '',
	after   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_subject ON audit_log (subject, id);
