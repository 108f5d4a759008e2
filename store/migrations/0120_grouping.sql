-- 0120_grouping: the candidate cases a new report is compared with, to
-- group reports of one problem (DB.CandidateCases): open cases that are
-- not sensitive, whose latest citizen message is recent, on some topics
-- or on any, or naming a place, or near a shared location. Both indexes are partial (open, not sensitive) and hold what
-- grouping reads first (topic, places, location, opened_at, ref, with status and
-- sensitive so that SQLite needs no table look-up), so that finding
-- the candidates among 100,000 open cases reads only the recent entries
-- of the index, never the table.
CREATE INDEX cases_grouping_topic ON cases (topic, last_message_at, opened_at, ref, places, latitude, longitude, status, sensitive)
	WHERE status IN ('new', 'acknowledged', 'in_progress', 'answered') AND sensitive = 0;
CREATE INDEX cases_grouping_recent ON cases (last_message_at, topic, opened_at, ref, places, latitude, longitude, status, sensitive)
	WHERE status IN ('new', 'acknowledged', 'in_progress', 'answered') AND sensitive = 0;
