-- 0030_sensitive: sensitive is a flag on the case, not a topic; feedback
-- is not a report.
--
-- A message is sensitive when its classification says so or its topic is
-- one the city marks sensitive; a case is sensitive as soon as one of its
-- messages is (cases.sensitive, with what raised it in sensitive_cues, a
-- JSON list). Only staff allowed to read sensitive cases clear the flag,
-- audited (action case.sensitive). messages.intent records feedback
-- (thanks, greeting, ack, bot_question); '' is a report.
ALTER TABLE cases ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN sensitive_cues TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN intent TEXT NOT NULL DEFAULT '';

-- Backfill: the default sensitive topic. A city that configured others
-- gets them flagged at start (DB.FlagSensitiveTopics).
UPDATE cases SET sensitive = 1, sensitive_cues = '["topic:corruption"]' WHERE topic = 'corruption';
UPDATE messages SET sensitive = 1
	WHERE direction = 'in' AND classification IS NOT NULL AND json_valid(classification)
	  AND json_extract(classification, '$.Topic.Label') = 'corruption';

-- The inbox counts and the digest's weeks stay on covering indexes with
-- the flag in them.
DROP INDEX cases_facets;
CREATE INDEX cases_facets ON cases (status, urgency_rank, topic, platform, language, sensitive);
DROP INDEX cases_opened_at;
CREATE INDEX cases_opened_at ON cases (opened_at, status, topic, platform, first_answer_at, places, sensitive);

-- Thanks per period, for the digest.
CREATE INDEX messages_feedback ON messages (intent, received_at, citizen_id) WHERE intent <> '';
