-- 0121_case_suggestions (PostgreSQL twin): grouping's weaker matches.
CREATE TABLE case_suggestions (
	case_id      BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	like_id      BIGINT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
	score        DOUBLE PRECISION NOT NULL DEFAULT 0,
	signals      BIGINT NOT NULL DEFAULT 0,
	created_at   TEXT NOT NULL,
	dismissed_at TEXT,
	dismissed_by TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (case_id, like_id),
	CHECK (case_id <> like_id)
);
CREATE INDEX case_suggestions_like ON case_suggestions (like_id, case_id);
