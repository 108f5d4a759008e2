-- 0210_job_leases (PostgreSQL twin): who runs a scheduled job when
-- several citybot processes share one database (see the SQLite file).
CREATE TABLE job_leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	taken_at   TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
