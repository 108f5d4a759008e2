-- 0070_account_lifecycle (PostgreSQL twin): when each account last signed in.
ALTER TABLE accounts ADD COLUMN last_login_at TEXT NOT NULL DEFAULT '';
