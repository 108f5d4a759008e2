-- 0081_outbox_file: an outgoing message may carry a file, sent as a
-- document with the row's text as its caption (/mydata's JSON). The
-- file's bytes are dropped once it is sent (file_name stays), so the
-- outbox keeps no second copy of a citizen's data.
ALTER TABLE outbox ADD COLUMN file_name TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN file BLOB;
