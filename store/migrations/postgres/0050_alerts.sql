-- 0050_alerts (PostgreSQL twin): officers are alerted when a case is or
-- becomes critical; triggers record the moment (see the SQLite file).
CREATE TABLE alerts (
	case_id     BIGINT PRIMARY KEY REFERENCES cases(id),
	state       TEXT NOT NULL DEFAULT 'due' CHECK (state IN ('due', 'open', 'closed')),
	raised_at   TEXT NOT NULL,
	queued_at   TEXT,
	escalations BIGINT NOT NULL DEFAULT 0,
	taken_by    TEXT NOT NULL DEFAULT '',
	taken_at    TEXT,
	closed_why  TEXT NOT NULL DEFAULT '',
	redacted    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX alerts_active ON alerts (state, raised_at) WHERE state <> 'closed';

CREATE FUNCTION cases_alert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO alerts (case_id, raised_at) VALUES (NEW.id, NEW.updated_at) ON CONFLICT (case_id) DO NOTHING;
	RETURN NULL;
END
$$;
CREATE TRIGGER cases_alert_new AFTER INSERT ON cases
	FOR EACH ROW WHEN (NEW.urgency = 'critical') EXECUTE FUNCTION cases_alert();
CREATE TRIGGER cases_alert_raised AFTER UPDATE OF urgency ON cases
	FOR EACH ROW WHEN (NEW.urgency = 'critical' AND OLD.urgency <> 'critical') EXECUTE FUNCTION cases_alert();

ALTER TABLE outbox ADD COLUMN edit_of TEXT NOT NULL DEFAULT '';
