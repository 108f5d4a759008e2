-- 0082_retention_identities (PostgreSQL twin): citizens silent since a date.
CREATE INDEX messages_citizen ON messages (citizen_id, received_at);
