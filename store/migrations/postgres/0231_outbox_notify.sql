-- 0231_outbox_notify (PostgreSQL twin): every statement that inserts
-- outbox rows notifies the channel citybot_outbox, delivered when its
-- transaction commits (NOTIFY is transactional: a rolled-back queueing
-- wakes no one; several inserts in one transaction make one wake-up).
-- Each instance's dispatcher LISTENs on it (store.WatchOutbox), so an
-- answer queued by one instance's console is sent at once by whichever
-- dispatcher claims it, without waiting for the poll.
CREATE FUNCTION citybot_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('citybot_outbox', '');
	RETURN NULL;
END
$$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
	FOR EACH STATEMENT EXECUTE FUNCTION citybot_outbox_notify();
