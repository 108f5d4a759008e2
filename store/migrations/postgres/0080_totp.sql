-- 0080_totp (PostgreSQL twin): one-time passwords and recovery codes.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
	account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	code_hash  TEXT NOT NULL,
	used_at    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, code_hash)
);
