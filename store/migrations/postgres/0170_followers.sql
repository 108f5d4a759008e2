-- 0170_followers (PostgreSQL twin): how many cases were merged into a
-- case, kept by triggers on duplicate_of (see the SQLite file). No
-- backfill: no PostgreSQL database held merged cases before this
-- migration.
ALTER TABLE cases ADD COLUMN followers BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION cases_followers_in() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE cases SET followers = followers + 1 WHERE id = NEW.duplicate_of;
	RETURN NULL;
END
$$;
CREATE FUNCTION cases_followers_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE cases SET followers = followers - 1 WHERE id = OLD.duplicate_of;
	RETURN NULL;
END
$$;
CREATE TRIGGER cases_followers_in AFTER UPDATE OF duplicate_of ON cases
	FOR EACH ROW WHEN (NEW.duplicate_of IS NOT NULL) EXECUTE FUNCTION cases_followers_in();
CREATE TRIGGER cases_followers_out AFTER UPDATE OF duplicate_of ON cases
	FOR EACH ROW WHEN (OLD.duplicate_of IS NOT NULL) EXECUTE FUNCTION cases_followers_out();
CREATE TRIGGER cases_followers_new AFTER INSERT ON cases
	FOR EACH ROW WHEN (NEW.duplicate_of IS NOT NULL) EXECUTE FUNCTION cases_followers_in();

DROP INDEX cases_inbox_open;
CREATE INDEX cases_inbox_open ON cases (urgency_rank, followers DESC, opened_at)
	WHERE status IN ('new', 'acknowledged', 'in_progress', 'answered');
