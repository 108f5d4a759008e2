-- 0020_digest: weekly digests and their approval, "Is it fixed?"
-- follow-ups, reminders, and the columns and indexes the public figures
-- need (first answer and resolution times kept by triggers).

CREATE TABLE digests (
	id         INTEGER PRIMARY KEY,
	week       TEXT NOT NULL,
	revision   INTEGER NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'changes_requested')),
	figures    TEXT NOT NULL,
	previous   TEXT NOT NULL,
	examples   TEXT NOT NULL DEFAULT '[]',
	note       TEXT NOT NULL DEFAULT '',
	texts      TEXT NOT NULL,
	chart      BLOB,
	drafted_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	decided_by TEXT NOT NULL DEFAULT '',
	decided_at TEXT NOT NULL DEFAULT '',
	comment    TEXT NOT NULL DEFAULT '',
	UNIQUE (week, revision)
);
-- A week has at most one approved digest and one pending draft.
CREATE UNIQUE INDEX digests_one_approved ON digests (week) WHERE state = 'approved';
CREATE UNIQUE INDEX digests_one_draft ON digests (week) WHERE state = 'draft';

-- "Is it fixed?": one question per case, and the citizen's answer.
CREATE TABLE followups (
	case_id     INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
	asked_at    TEXT NOT NULL,
	outbox_key  TEXT NOT NULL,
	answer      TEXT NOT NULL DEFAULT '' CHECK (answer IN ('', 'fixed', 'not_fixed')),
	answered_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX followups_answered ON followups (answered_at) WHERE answer <> '';

-- Officers reminded about a case still without a first answer.
CREATE TABLE reminders (
	case_id     INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,
	reminded_at TEXT NOT NULL
);

ALTER TABLE cases ADD COLUMN first_answer_at TEXT;
ALTER TABLE cases ADD COLUMN resolved_at TEXT;

UPDATE cases SET first_answer_at = (SELECT MIN(om.at) FROM officer_messages om WHERE om.case_id = cases.id);
UPDATE cases SET resolved_at = updated_at WHERE status = 'resolved';

-- The first answer: an officer's message, or a staff status change that
-- tells the citizen something happened.
CREATE TRIGGER cases_first_answer_message AFTER INSERT ON officer_messages BEGIN
	UPDATE cases SET first_answer_at = new.at WHERE id = new.case_id AND first_answer_at IS NULL;
END;
CREATE TRIGGER cases_first_answer_status AFTER UPDATE OF status ON cases
WHEN new.first_answer_at IS NULL AND new.status <> old.status AND new.status IN ('in_progress', 'answered', 'resolved', 'closed') BEGIN
	UPDATE cases SET first_answer_at = new.updated_at WHERE id = new.id;
END;
CREATE TRIGGER cases_resolved_at AFTER UPDATE OF status ON cases
WHEN new.status <> old.status BEGIN
	UPDATE cases SET resolved_at = CASE WHEN new.status = 'resolved' THEN new.updated_at ELSE NULL END WHERE id = new.id;
END;

-- The digest's week ranges, covering: a week's figures read the indexes
-- only, never the case rows.
CREATE INDEX cases_opened_at ON cases (opened_at, status, topic, platform, first_answer_at, places);
CREATE INDEX cases_first_answer_at ON cases (first_answer_at, status, topic, opened_at) WHERE first_answer_at IS NOT NULL;
CREATE INDEX cases_resolved_at ON cases (resolved_at, topic, opened_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX cases_closed_at ON cases (updated_at, opened_at) WHERE status = 'closed';
CREATE INDEX cases_expected_by ON cases (expected_by, status, resolved_at, updated_at) WHERE expected_by IS NOT NULL;
