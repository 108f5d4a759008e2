-- 0160_account_language (PostgreSQL twin): the console language an account chose.
ALTER TABLE accounts ADD COLUMN console_lang TEXT NOT NULL DEFAULT '';
