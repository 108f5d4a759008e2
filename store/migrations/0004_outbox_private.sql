-- 0004_outbox_private: a row to be delivered privately to a person
-- (an officer's notice about a sensitive case opened in a group). to_user
-- is the person's platform user id, copied from citizen_identities when
-- the row is queued; the dispatcher asks the platform for the private chat
-- with them and never sends such a row to chat, which then only orders it
-- in that chat's queue. '' for every other row.
ALTER TABLE outbox ADD COLUMN to_user TEXT NOT NULL DEFAULT '';
