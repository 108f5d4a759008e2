-- Followers: how many cases were merged into a case (other citizens'
-- reports of the same problem, joined by grouping or merged by an
-- officer). Kept by triggers on duplicate_of, so that the inbox ranks a
-- case with many followers higher within its urgency from its index.
ALTER TABLE cases ADD COLUMN followers INTEGER NOT NULL DEFAULT 0;

UPDATE cases SET followers = (SELECT COUNT(*) FROM cases d WHERE d.duplicate_of = cases.id)
WHERE id IN (SELECT duplicate_of FROM cases WHERE duplicate_of IS NOT NULL);

CREATE TRIGGER cases_followers_in AFTER UPDATE OF duplicate_of ON cases
WHEN new.duplicate_of IS NOT NULL BEGIN
	UPDATE cases SET followers = followers + 1 WHERE id = new.duplicate_of;
END;
CREATE TRIGGER cases_followers_out AFTER UPDATE OF duplicate_of ON cases
WHEN old.duplicate_of IS NOT NULL BEGIN
	UPDATE cases SET followers = followers - 1 WHERE id = old.duplicate_of;
END;
CREATE TRIGGER cases_followers_new AFTER INSERT ON cases
WHEN new.duplicate_of IS NOT NULL BEGIN
	UPDATE cases SET followers = followers + 1 WHERE id = new.duplicate_of;
END;

-- Officer inbox: open cases, critical first, then those with more
-- followers, then oldest.
DROP INDEX cases_inbox_open;
CREATE INDEX cases_inbox_open ON cases (urgency_rank, followers DESC, opened_at)
	WHERE status IN ('new', 'acknowledged', 'in_progress', 'answered');
