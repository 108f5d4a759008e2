-- 0030_sensitive (PostgreSQL twin): sensitive is a flag on the case, not
-- a topic; feedback is not a report (see the SQLite file). No backfill:
-- no PostgreSQL database held cases before this migration.
ALTER TABLE cases ADD COLUMN sensitive BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN sensitive_cues TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN sensitive BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN intent TEXT NOT NULL DEFAULT '';

DROP INDEX cases_facets;
CREATE INDEX cases_facets ON cases (status, urgency_rank, topic, platform, language, sensitive);
DROP INDEX cases_opened_at;
CREATE INDEX cases_opened_at ON cases (opened_at, status, topic, platform, first_answer_at, places, sensitive);

CREATE INDEX messages_feedback ON messages (intent, received_at, citizen_id) WHERE intent <> '';
