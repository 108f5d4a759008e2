-- 0050_alerts: officers are alerted when a case is or becomes critical.
-- A trigger records the moment (a new critical case, a follow-up or an
-- officer raising a case to critical) in the same transaction as the
-- change, whatever made it; the alerter turns a 'due' alert into outbox
-- rows (state 'open'), escalates an open one while nobody takes or
-- answers it, and closes it. One alert per case, ever. Cases critical
-- before this migration get none.
CREATE TABLE alerts (
	case_id     INTEGER PRIMARY KEY REFERENCES cases(id),
	state       TEXT NOT NULL DEFAULT 'due' CHECK (state IN ('due', 'open', 'closed')),
	raised_at   TEXT NOT NULL,
	queued_at   TEXT,
	escalations INTEGER NOT NULL DEFAULT 0,
	taken_by    TEXT NOT NULL DEFAULT '',
	taken_at    TEXT,
	closed_why  TEXT NOT NULL DEFAULT '',
	-- 1 once the alerts of a case that became sensitive after they went
	-- out were cut down to its reference
	redacted    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX alerts_active ON alerts (state, raised_at) WHERE state <> 'closed';

CREATE TRIGGER cases_alert_new AFTER INSERT ON cases
WHEN new.urgency = 'critical' BEGIN
	INSERT INTO alerts (case_id, raised_at) VALUES (new.id, new.updated_at) ON CONFLICT (case_id) DO NOTHING;
END;
CREATE TRIGGER cases_alert_raised AFTER UPDATE OF urgency ON cases
WHEN new.urgency = 'critical' AND old.urgency <> 'critical' BEGIN
	INSERT INTO alerts (case_id, raised_at) VALUES (new.id, new.updated_at) ON CONFLICT (case_id) DO NOTHING;
END;

-- edit_of: the platform message id an outbox row replaces (an alert
-- edited to say who took it); '' for a new message.
ALTER TABLE outbox ADD COLUMN edit_of TEXT NOT NULL DEFAULT '';
