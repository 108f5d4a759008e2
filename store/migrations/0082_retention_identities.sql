-- 0082_retention_identities: retention finds citizens silent since a
-- date (their latest message) without scanning every message.
CREATE INDEX messages_citizen ON messages (citizen_id, received_at);
