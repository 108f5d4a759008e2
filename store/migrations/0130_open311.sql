-- 0130_open311: Open311 GeoReport v2 POST requests.
-- open311_keys: the API keys a city gives to other apps (one per client,
-- by name). Only the SHA-256 of a key is kept; the key is shown once. A
-- revoked key stays listed (revoked_at, revoked_by); a name is unique
-- among the keys that work, so a client can get a new key after a
-- revocation.
CREATE TABLE open311_keys (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	key_hash   TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL,
	revoked_at TEXT,
	revoked_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX open311_keys_active_name ON open311_keys (name) WHERE revoked_at IS NULL;

-- Private, like citizen_identities and erased with it (retention,
-- forget): what an Open311 client said about the person behind a
-- report. Only intake writes it; no public output reads it.
CREATE TABLE open311_contacts (
	citizen_id INTEGER PRIMARY KEY REFERENCES citizen_identities(citizen_id) ON DELETE CASCADE,
	email      TEXT NOT NULL DEFAULT '',
	first_name TEXT NOT NULL DEFAULT '',
	last_name  TEXT NOT NULL DEFAULT '',
	phone      TEXT NOT NULL DEFAULT '',
	device_id  TEXT NOT NULL DEFAULT '',
	account_id TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
);
