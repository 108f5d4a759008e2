-- 0160_account_language: the language a staff account chose for the
-- console (a code such as "ar"); '' when it did not choose, and the
-- console follows the browser's languages.
ALTER TABLE accounts ADD COLUMN console_lang TEXT NOT NULL DEFAULT '';
