-- 0230_outbox_claimer: which citybot process (instance) claimed a row in
-- sending, so that several processes on one database each settle only
-- the rows of a dead one: a row whose claimer's heartbeat lease
-- ("instance:" || claimed_by in job_leases) has expired or was released
-- was interrupted mid-send. '' for rows claimed before this column
-- existed (by a process that is gone).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_sending ON outbox (claimed_by) WHERE state = 'sending' AND batch_of IS NULL;
