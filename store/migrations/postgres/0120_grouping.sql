-- 0120_grouping (PostgreSQL twin): the candidate cases a new report is
-- compared with, on partial covering indexes.
CREATE INDEX cases_grouping_topic ON cases (topic, last_message_at, opened_at, ref, places, latitude, longitude, status, sensitive)
	WHERE status IN ('new', 'acknowledged', 'in_progress', 'answered') AND sensitive = 0;
CREATE INDEX cases_grouping_recent ON cases (last_message_at, topic, opened_at, ref, places, latitude, longitude, status, sensitive)
	WHERE status IN ('new', 'acknowledged', 'in_progress', 'answered') AND sensitive = 0;
