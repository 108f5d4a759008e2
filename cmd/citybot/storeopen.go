package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"citybot"
	"citybot/store"
)

// envDatabaseURL names the PostgreSQL connection string, a secret read
// from the environment only (never config.toml), never logged or shown.
const envDatabaseURL = "CITYBOT_DATABASE_URL"

// The database engines of [store] driver.
const (
	driverSQLite   = "sqlite"
	driverPostgres = "postgres"
)

// postgresDB is the --db value of the user and open311 commands that
// means the PostgreSQL database of CITYBOT_DATABASE_URL ([store] driver =
// "postgres"); any other value is a SQLite file.
const postgresDB = "postgres:"

// openStore opens (creating and migrating it when needed) the database of
// cfg's [store]: the SQLite file at path, or the PostgreSQL database of
// CITYBOT_DATABASE_URL.
func openStore(ctx context.Context, cfg Config, opts store.Options) (*store.DB, error) {
	if cfg.Store.Driver == driverPostgres {
		return store.OpenPostgres(ctx, cfg.DatabaseURL.Reveal(), opts)
	}
	return store.Open(ctx, cfg.Store.Path, opts)
}

// openStoreAt opens the database a --db flag names: postgresDB for
// PostgreSQL (its URL from getenv), else a SQLite file.
func openStoreAt(ctx context.Context, db string, getenv func(string) string, opts store.Options) (*store.DB, error) {
	if db == postgresDB {
		return store.OpenPostgres(ctx, strings.TrimSpace(getenv(envDatabaseURL)), opts)
	}
	return store.Open(ctx, db, opts)
}

// dbFlag is the --db value for cfg's database (see postgresDB).
func (c StoreConfig) dbFlag() string {
	if c.Driver == driverPostgres {
		return postgresDB
	}
	return c.Path
}

// Describe names the database for people: the file, or PostgreSQL
// without any part of its connection string.
func (c StoreConfig) Describe() string {
	if c.Driver == driverPostgres {
		return "the PostgreSQL database of " + envDatabaseURL
	}
	return c.Path
}

// mustExist fails when cfg's database is a SQLite file that does not
// exist yet, so that a command that only reads it never creates an empty
// one; a PostgreSQL database always exists (OpenPostgres fails when not).
func (c StoreConfig) mustExist(command string) error {
	if c.Driver == driverPostgres {
		return nil
	}
	if _, err := os.Stat(c.Path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no database at %s ([store] path)", command, c.Path)
	} else if err != nil {
		return fmt.Errorf("%s: database %s ([store] path): %w", command, c.Path, err)
	}
	return nil
}

// errPostgresBackup is backup's answer on PostgreSQL.
var errPostgresBackup = fmt.Errorf("backup: %w on PostgreSQL: back the database up with pg_dump (or your host's backups)", citybot.ErrNotSupported)
