-- 0090_digest_equity: the official's choice, at approval, to publish the
-- equity figures (by district and language) of a digest on the public page.
ALTER TABLE digests ADD COLUMN publish_equity INTEGER NOT NULL DEFAULT 0;
