-- 0231_outbox_notify: on PostgreSQL, every statement that queues outbox
-- rows notifies the channel citybot_outbox when its transaction commits,
-- so that the dispatcher of every instance wakes (see the twin). SQLite
-- serves one process, whose dispatcher is woken in memory: nothing here.
SELECT 1;
