-- 0210_job_leases: who runs a scheduled job when several citybot
-- processes share one database. A lease names its holder (one process)
-- and lasts until expires_at; the holder renews it while it lives, and
-- another process takes it over once it has expired (its holder died or
-- hung). taken_at is when the current holder took it.
CREATE TABLE job_leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	taken_at   TEXT NOT NULL,
	expires_at TEXT NOT NULL
);
