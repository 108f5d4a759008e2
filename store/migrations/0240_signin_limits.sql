-- 0240_signin_limits: the console's sign-in limits, kept in the database
-- so that every citybot process sharing it counts the same attempts.
--
-- rate_tokens is a token bucket per key (a client address): tat is the
-- bucket's "theoretical arrival time" in Unix milliseconds (the generic
-- cell rate algorithm): an attempt is allowed while tat, moved on by one
-- interval, stays within the burst of now. A row whose tat has passed is
-- a full bucket, the same as no row, and is pruned.
CREATE TABLE rate_tokens (
	key TEXT PRIMARY KEY,
	tat INTEGER NOT NULL
);
CREATE INDEX rate_tokens_tat ON rate_tokens (tat);

-- signin_strikes counts the failed sign-ins of a back-off key (a client
-- address, an account name tried from unknown browsers, one browser's own
-- key); last_at is the last failure and keep_until when the count is
-- forgotten (Unix milliseconds). Pruned after keep_until.
CREATE TABLE signin_strikes (
	key        TEXT PRIMARY KEY,
	failures   INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	keep_until INTEGER NOT NULL
);
CREATE INDEX signin_strikes_keep ON signin_strikes (keep_until);

-- web_secrets are keys the console's processes share: the key that signs
-- the browser and code-step cookies, so that a cookie set by one process
-- is good on every other (and after a restart).
CREATE TABLE web_secrets (
	name       TEXT PRIMARY KEY,
	secret     TEXT NOT NULL,
	created_at TEXT NOT NULL
);

-- Wrong passwords and codes typed for an account are counted for its
-- owner and the admins to see (failed_logins, since failed_since, the
-- last at failed_last) until the owner dismisses the notice. Nothing is
-- locked any more: locked_until is no longer read or written.
ALTER TABLE accounts ADD COLUMN failed_since TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN failed_last TEXT NOT NULL DEFAULT '';
UPDATE accounts SET failed_logins = 0, locked_until = '';
