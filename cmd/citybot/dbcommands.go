package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"citybot/store"
)

func migrateCommand() *command {
	var from string
	return &command{
		name:    "migrate",
		summary: "create or upgrade the database schema, then exit (--from sqlite:FILE copies a SQLite database into PostgreSQL)",
		usage: `Usage:
  citybot [--config PATH] migrate [--from sqlite:FILE]

Opens the database of [store] (the SQLite file at [store] path, created
when missing, or with [store] driver = "postgres" the PostgreSQL database
of CITYBOT_DATABASE_URL, which must exist) and applies the migrations it
lacks; serve does the same on start. Safe to run twice.

With --from sqlite:FILE ([store] driver = "postgres" only), it then
copies every row of the SQLite database FILE (a city moving to
PostgreSQL; stop serve first) into the PostgreSQL database, which must be
new and empty, in one transaction, and checks each table's row count on
both sides. FILE is migrated to the latest schema first.
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "", "copy the SQLite database `sqlite:FILE` into PostgreSQL")
		},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if err := noArgs("migrate", args); err != nil {
				return err
			}
			cfg, err := LoadConfig(e.configPath, e.getenv)
			if err != nil {
				return err
			}
			if from != "" {
				return copyIntoPostgres(ctx, e, cfg, from)
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

// copyIntoPostgres runs "migrate --from sqlite:FILE": the SQLite database
// FILE copied into cfg's PostgreSQL database, every table's count
// checked.
func copyIntoPostgres(ctx context.Context, e *env, cfg Config, from string) error {
	path, ok := strings.CutPrefix(from, "sqlite:")
	if !ok || path == "" {
		return &UsageError{Command: "citybot migrate", Msg: fmt.Sprintf("--from %q: want sqlite:FILE", from)}
	}
	if cfg.Store.Driver != driverPostgres {
		return &UsageError{Command: "citybot migrate", Msg: `--from copies into PostgreSQL: set [store] driver = "postgres" and ` + envDatabaseURL}
	}
	// Never create an empty SQLite file just to copy nothing.
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("migrate --from: %w", err)
	}
	logger := newLogger(cfg.Log, e.stderr)
	src, err := store.Open(ctx, path, store.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate --from: %w", err)
	}
	defer src.Close()
	dst, err := openStore(ctx, cfg, store.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer dst.Close()
	start := time.Now()
	counts, err := dst.CopyFrom(ctx, src, func(c store.TableCount) {
		fmt.Fprintf(e.stdout, "copied %9d rows of %s\n", c.Rows, c.Table)
	})
	if err != nil {
		return fmt.Errorf("migrate --from: %w", err)
	}
	var rows int64
	for _, c := range counts {
		rows += c.Rows
	}
	fmt.Fprintf(e.stdout, "OK: copied %d rows in %d tables from %s into %s in %s; every table's count matches\n",
		rows, len(counts), path, cfg.Store.Describe(), time.Since(start).Round(time.Millisecond))
	return nil
}
