package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"citybot/internal/pgtest"
)

// One store contract, two engines: a test written with forEachEngine runs
// as the subtest sqlite/… on a SQLite file in t.TempDir(), and, when
// CITYBOT_TEST_POSTGRES_URL names a PostgreSQL server (a user allowed to
// create databases; see .ci/postgres), as postgres/… on a database of its
// own, created with a random name and dropped after the test.

// testPostgresURL is the environment variable naming the test server.
const testPostgresURL = pgtest.Env

// testEngine opens the databases of one engine for a test.
type testEngine struct {
	eng Engine
}

// forEachEngine runs f as a subtest on each engine available: "sqlite",
// and "postgres" when CITYBOT_TEST_POSTGRES_URL is set.
func forEachEngine(t *testing.T, f func(t *testing.T, e testEngine)) {
	t.Helper()
	t.Run(string(SQLite), func(t *testing.T) { f(t, testEngine{SQLite}) })
	if os.Getenv(testPostgresURL) == "" {
		return
	}
	t.Run(string(Postgres), func(t *testing.T) { f(t, testEngine{Postgres}) })
}

// forEachEngineB is forEachEngine for a benchmark: sub-benchmarks
// "sqlite" and "postgres", run side by side in one run.
func forEachEngineB(b *testing.B, f func(b *testing.B, e testEngine)) {
	b.Helper()
	b.Run(string(SQLite), func(b *testing.B) { f(b, testEngine{SQLite}) })
	if os.Getenv(testPostgresURL) == "" {
		return
	}
	b.Run(string(Postgres), func(b *testing.B) { f(b, testEngine{Postgres}) })
}

// newSource makes a new database and returns where it is: a file path on
// SQLite, a connection string on PostgreSQL (the database is migrated
// already, copied from a template; empty with newEmptySource).
func (e testEngine) newSource(t testing.TB) string {
	t.Helper()
	if e.eng == SQLite {
		return filepath.Join(t.TempDir(), "citybot.db")
	}
	return pgTestDB(t, pgTemplate(t))
}

// newEmptySource is newSource for a database that no migration has
// touched.
func (e testEngine) newEmptySource(t testing.TB) string {
	t.Helper()
	if e.eng == SQLite {
		return filepath.Join(t.TempDir(), "citybot.db")
	}
	return pgTestDB(t, "")
}

// open opens the database at src (from newSource).
func (e testEngine) open(ctx context.Context, src string, opts Options) (*DB, error) {
	if e.eng == SQLite {
		return Open(ctx, src, opts)
	}
	return OpenPostgres(ctx, src, opts)
}

// openTest opens a new database, closed when the test ends.
func (e testEngine) openTest(t testing.TB, now func() time.Time) *DB {
	t.Helper()
	return e.openTestOpts(t, Options{Now: now})
}

// openTestOpts is openTest with options.
func (e testEngine) openTestOpts(t testing.TB, opts Options) *DB {
	t.Helper()
	db, err := e.open(context.Background(), e.newSource(t), opts)
	if err != nil {
		t.Fatalf("open %s: %v", e.eng, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// pgTemplate returns the name of a database migrated once per test
// process, which each test's database copies (CREATE DATABASE …
// TEMPLATE): cheaper than migrating every one.
func pgTemplate(t testing.TB) string {
	t.Helper()
	return pgtest.Template(t, func(ctx context.Context, src string) error {
		db, err := OpenPostgres(ctx, src, Options{})
		if err != nil {
			return fmt.Errorf("migrate the template: %w", err)
		}
		return db.Close()
	})
}

// pgTestDB creates a database with a random name (a copy of template
// when it is not ""), dropped when the test ends, and returns its
// connection string.
func pgTestDB(t testing.TB, template string) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "citybot_test", template)
}

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Close()
	os.Exit(code)
}
