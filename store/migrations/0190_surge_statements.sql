-- 0190_surge_statements: the surge warning and holding statements.
--
-- surges: one row per surge alert. A topic's surging places (their
-- normalised keys, '' for the city as a whole) stay quiet until
-- quiet_until: the surge detector records no other alert for them before,
-- so one surge alerts once. The alert's outbox rows are queued in the
-- transaction that inserts the row.
CREATE TABLE surges (
	id          INTEGER PRIMARY KEY,
	topic       TEXT NOT NULL,
	places      TEXT NOT NULL DEFAULT '[]', -- JSON list, as citizens named them
	place_keys  TEXT NOT NULL DEFAULT '[]', -- JSON list of normalised place keys
	reports     INTEGER NOT NULL,
	usual       REAL NOT NULL,
	case_id     INTEGER REFERENCES cases(id),
	sensitive   INTEGER NOT NULL DEFAULT 0,
	at          TEXT NOT NULL,
	quiet_until TEXT NOT NULL
);
CREATE INDEX surges_quiet ON surges (topic, quiet_until);
CREATE INDEX surges_case ON surges (case_id, quiet_until);

-- statement_templates: holding statements officials approve in advance,
-- per topic; statement_texts: one text per language, approved on its
-- own (approved_version = version), un-approved by any edit.
CREATE TABLE statement_templates (
	id         INTEGER PRIMARY KEY,
	topic      TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (topic, name)
);
CREATE TABLE statement_texts (
	template_id      INTEGER NOT NULL REFERENCES statement_templates(id) ON DELETE CASCADE,
	language         TEXT NOT NULL,
	text             TEXT NOT NULL,
	version          INTEGER NOT NULL DEFAULT 1,
	updated_by       TEXT NOT NULL,
	updated_at       TEXT NOT NULL,
	approved_version INTEGER NOT NULL DEFAULT 0,
	approved_by      TEXT NOT NULL DEFAULT '',
	approved_at      TEXT,
	PRIMARY KEY (template_id, language)
);

-- statements: each holding statement sent on a case, once per form
-- nonce; its outbox rows are queued in the same transaction.
CREATE TABLE statements (
	id          INTEGER PRIMARY KEY,
	case_id     INTEGER NOT NULL REFERENCES cases(id),
	template_id INTEGER NOT NULL REFERENCES statement_templates(id),
	versions    TEXT NOT NULL,
	fields      TEXT NOT NULL,
	public      INTEGER NOT NULL DEFAULT 0,
	actor       TEXT NOT NULL,
	nonce       TEXT NOT NULL UNIQUE,
	followers   INTEGER NOT NULL,
	row_count   INTEGER NOT NULL,
	at          TEXT NOT NULL
);
CREATE INDEX statements_case ON statements (case_id, at);
