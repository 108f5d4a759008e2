-- 0040_outbox_priority: rows about a critical case (its acknowledgement,
-- an emergency notice on a follow-up) are claimed before the others, so
-- that they jump a queue a surge has filled. 1 for such rows, 0 otherwise;
-- set when the row is queued. Order within a chat is unchanged: a row is
-- still sent only after every earlier row of its chat.
ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_claim ON outbox (priority DESC, next_attempt_at, id) WHERE state = 'pending';
