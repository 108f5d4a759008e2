package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"citybot/store"
)

func migrateCommand() *command {
	return &command{
		name:    "migrate",
		summary: "create or upgrade the database schema, then exit",
		usage: `Usage:
  citybot [--config PATH] migrate

Opens the database of [store] (the SQLite file at [store] path, created
when missing, or with [store] driver = "postgres" the PostgreSQL database
of CITYBOT_DATABASE_URL, which must exist) and applies the migrations it
lacks; serve does the same on start. Safe to run twice.
`,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if err := noArgs("migrate", args); err != nil {
				return err
			}
			cfg, err := LoadConfig(e.configPath, e.getenv)
			if err != nil {
				return err
			}
			logger := newLogger(cfg.Log, e.stderr)
			db, err := openStore(ctx, cfg, store.Options{Logger: logger})
			if err != nil {
				return err
			}
			if err := db.Close(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "OK: %s is migrated to the latest schema\n", cfg.Store.Describe())
			return nil
		},
	}
}

func backupCommand() *command {
	var to string
	return &command{
		name:    "backup",
		summary: "write a consistent copy of the live database (--to FILE)",
		usage: `Usage:
  citybot [--config PATH] backup --to FILE

Copies the database at [store] path to FILE with SQLite's online backup,
while serve keeps running. FILE is written beside itself and renamed into
place, so it is either left as it was or a complete copy. On PostgreSQL
([store] driver = "postgres") use pg_dump instead.
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&to, "to", "", "destination `FILE` of the copy (required)")
		},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if err := noArgs("backup", args); err != nil {
				return err
			}
			if to == "" {
				return &UsageError{Command: "citybot backup", Msg: "backup needs --to FILE"}
			}
			cfg, err := LoadConfig(e.configPath, e.getenv)
			if err != nil {
				return err
			}
			if cfg.Store.Driver == driverPostgres {
				return errPostgresBackup
			}
			// Never create an empty database just to back it up.
			if _, err := os.Stat(cfg.Store.Path); errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("backup: no database at %s ([store] path)", cfg.Store.Path)
			}
			logger := newLogger(cfg.Log, e.stderr)
			db, err := store.Open(ctx, cfg.Store.Path, store.Options{Logger: logger})
			if err != nil {
				return err
			}
			err = db.Backup(ctx, to)
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "OK: backed up %s to %s\n", cfg.Store.Path, to)
			return nil
		},
	}
}
