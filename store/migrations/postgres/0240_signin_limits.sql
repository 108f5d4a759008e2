-- 0240_signin_limits (PostgreSQL twin): the console's sign-in limits,
-- kept in the database so that every citybot process counts the same
-- attempts (see the SQLite file). Times in Unix milliseconds.
CREATE TABLE rate_tokens (
	key TEXT PRIMARY KEY,
	tat BIGINT NOT NULL
);
CREATE INDEX rate_tokens_tat ON rate_tokens (tat);

CREATE TABLE signin_strikes (
	key        TEXT PRIMARY KEY,
	failures   BIGINT NOT NULL,
	last_at    BIGINT NOT NULL,
	keep_until BIGINT NOT NULL
);
CREATE INDEX signin_strikes_keep ON signin_strikes (keep_until);

CREATE TABLE web_secrets (
	name       TEXT PRIMARY KEY,
	secret     TEXT NOT NULL,
	created_at TEXT NOT NULL
);

ALTER TABLE accounts ADD COLUMN failed_since TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN failed_last TEXT NOT NULL DEFAULT '';
UPDATE accounts SET failed_logins = 0, locked_until = '';
