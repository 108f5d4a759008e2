// Package storetest opens real stores for the tests of the packages
// above the store (responder, web, accountability, grouping, cmd/citybot):
// a migrated SQLite file in the test's temp dir, closed when the test
// ends. Only tests import this package; the store's own tests open their
// databases themselves (forEachEngine).
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"citybot/internal/pgtest"
	"citybot/store"
)

// SQLite opens a migrated store on a new SQLite file in tb's temp dir
// with opts, failing tb when it cannot; the store is closed when tb ends
// (after the cleanups tb registers later).
func SQLite(tb testing.TB, opts store.Options) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "citybot.db"), opts)
	if err != nil {
		tb.Fatalf("open a SQLite store: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Database is one fresh database of one engine, shared by several store
// handles as by several citybot processes.
type Database struct {
	// Open opens another handle on the database, closed when the test
	// ends; it fails the test when it cannot.
	Open func() *store.DB
	// Driver and Source open a raw database/sql handle on it, behind
	// the store's back (the store registers both drivers).
	Driver, Source string
}

// ForEachEngine runs f as the subtest "sqlite" on a new SQLite file and,
// when pgtest.Available, as "postgres" on a new PostgreSQL database
// (named prefix plus a random suffix, dropped when the subtest ends);
// every handle Open makes is opened with opts.
func ForEachEngine(t *testing.T, prefix string, opts store.Options, f func(t *testing.T, db Database)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "citybot.db")
		// The raw handle waits for the store's writes, as the store does.
		f(t, database(t, "sqlite3", "file:"+path+"?_busy_timeout=5000", func(ctx context.Context) (*store.DB, error) {
			return store.Open(ctx, path, opts)
		}))
	})
	if !pgtest.Available() {
		return
	}
	t.Run("postgres", func(t *testing.T) {
		src := pgtest.NewDB(t, prefix)
		f(t, database(t, "pgx", src, func(ctx context.Context) (*store.DB, error) {
			return store.OpenPostgres(ctx, src, opts)
		}))
	})
}

func database(t *testing.T, driver, src string, open func(context.Context) (*store.DB, error)) Database {
	return Database{Driver: driver, Source: src, Open: func() *store.DB {
		t.Helper()
		db, err := open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}}
}
