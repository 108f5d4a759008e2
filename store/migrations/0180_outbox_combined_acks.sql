-- 0180_outbox_combined_acks: in a busy group chat the acknowledgements
-- waiting there go out as one message that names each reporter. The row
-- at the head of the chat's queue carries that message: batch_text is its
-- text and mentions (JSON: user id and byte span of each reporter, cleared
-- once the row is settled) who it names; its own text stays as queued.
-- Every other acknowledgement it carries waits in 'sending' with batch_of
-- set to the carrier's id, and is settled with it (sent, failed, delivery
-- unknown) in the same transaction.
ALTER TABLE outbox ADD COLUMN batch_of INTEGER REFERENCES outbox(id);
ALTER TABLE outbox ADD COLUMN batch_text TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_batch ON outbox (batch_of) WHERE batch_of IS NOT NULL;
-- Acknowledgements waiting in a chat, for the carrier to gather.
CREATE INDEX outbox_chat_acks ON outbox (platform, chat, priority DESC, id) WHERE state = 'pending' AND kind = 'ack';
