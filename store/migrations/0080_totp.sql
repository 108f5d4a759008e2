-- 0080_totp: time-based one-time passwords (RFC 6238) for staff
-- accounts. totp_secret is the active secret (base32), totp_pending the
-- one being enrolled (active only after a correct code), totp_last_step
-- the 30-second step of the last accepted code (a code is accepted once).
-- Recovery codes are kept as SHA-256 hashes; a used one keeps its row
-- with used_at set.
ALTER TABLE accounts ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

CREATE TABLE recovery_codes (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	code_hash  TEXT NOT NULL,
	used_at    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (account_id, code_hash)
);
