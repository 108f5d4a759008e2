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
