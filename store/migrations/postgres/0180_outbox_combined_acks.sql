-- 0180_outbox_combined_acks (PostgreSQL twin): acknowledgements waiting
-- in a busy group chat go out as one message (see the SQLite file).
ALTER TABLE outbox ADD COLUMN batch_of BIGINT REFERENCES outbox(id);
ALTER TABLE outbox ADD COLUMN batch_text TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_batch ON outbox (batch_of) WHERE batch_of IS NOT NULL;
CREATE INDEX outbox_chat_acks ON outbox (platform, chat, priority DESC, id) WHERE state = 'pending' AND kind = 'ack';
