-- 0070_account_lifecycle: when each staff account last signed in, shown
-- on the admins' accounts page.
ALTER TABLE accounts ADD COLUMN last_login_at TEXT NOT NULL DEFAULT '';
