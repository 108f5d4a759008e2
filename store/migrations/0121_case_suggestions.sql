-- 0121_case_suggestions: grouping's weaker matches. A case (opened by a
-- report) looks like another recent open case: officers see the pair on
-- both cases' pages and counted in the inbox ("3 reports look like this
-- one"), then merge them (the case becomes a duplicate) or dismiss the
-- suggestion (dismissed_at, dismissed_by; audited). A pair is recorded
-- once; no text is kept here, only case ids and why they look alike
-- (signals: grouping's bits).
CREATE TABLE case_suggestions (
	case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	like_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	score        REAL NOT NULL DEFAULT 0,
	signals      INTEGER NOT NULL DEFAULT 0,
	created_at   TEXT NOT NULL,
	dismissed_at TEXT,
	dismissed_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (case_id, like_id),
	CHECK (case_id <> like_id)
) WITHOUT ROWID;
-- The cases that look like one case (its page, the inbox's counts).
CREATE INDEX case_suggestions_like ON case_suggestions (like_id, case_id);
