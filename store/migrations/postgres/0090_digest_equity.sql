-- 0090_digest_equity (PostgreSQL twin): publish a digest's equity figures.
ALTER TABLE digests ADD COLUMN publish_equity BIGINT NOT NULL DEFAULT 0;
