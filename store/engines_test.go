package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection's driver name "pgx"
)

// One store contract, two engines: a test written with forEachEngine runs
// as the subtest sqlite/… on a SQLite file in t.TempDir(), and, when
// CITYBOT_TEST_POSTGRES_URL names a PostgreSQL server (a user allowed to
// create databases; see .ci/postgres), as postgres/… on a database of its
// own, created with a random name and dropped after the test.

// testPostgresURL is the environment variable naming the test server.
const testPostgresURL = "CITYBOT_TEST_POSTGRES_URL"

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

// pgAdmin is the connection to the test server's maintenance database,
// shared by the tests of this process.
var pgAdmin struct {
	once sync.Once
	db   *sql.DB
	cfg  *pgx.ConnConfig
	err  error

	tmplOnce sync.Once
	tmpl     string
	tmplErr  error
}

func pgAdminDB(t testing.TB) *sql.DB {
	t.Helper()
	pgAdmin.once.Do(func() {
		pgAdmin.cfg, pgAdmin.err = pgx.ParseConfig(os.Getenv(testPostgresURL))
		if pgAdmin.err != nil {
			return
		}
		pgAdmin.db, pgAdmin.err = sql.Open("pgx", os.Getenv(testPostgresURL))
		if pgAdmin.err == nil {
			pgAdmin.db.SetMaxOpenConns(4)
			pgAdmin.err = pgAdmin.db.Ping()
		}
	})
	if pgAdmin.err != nil {
		t.Fatalf("%s: %v", testPostgresURL, pgAdmin.err)
	}
	return pgAdmin.db
}

// pgTemplate returns the name of a database migrated once per test
// process, which each test's database copies (CREATE DATABASE …
// TEMPLATE): cheaper than migrating every one.
func pgTemplate(t testing.TB) string {
	t.Helper()
	admin := pgAdminDB(t)
	pgAdmin.tmplOnce.Do(func() {
		name := "citybot_tmpl_" + randomHex()
		if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
			pgAdmin.tmplErr = err
			return
		}
		pgAdmin.tmpl = name
		db, err := OpenPostgres(context.Background(), pgURL(name), Options{})
		if err != nil {
			pgAdmin.tmplErr = fmt.Errorf("migrate the template: %w", err)
			return
		}
		pgAdmin.tmplErr = db.Close()
	})
	if pgAdmin.tmplErr != nil {
		t.Fatalf("postgres template database: %v", pgAdmin.tmplErr)
	}
	return pgAdmin.tmpl
}

// pgTestDB creates a database with a random name (a copy of template
// when it is not ""), dropped when the test ends, and returns its
// connection string.
func pgTestDB(t testing.TB, template string) string {
	t.Helper()
	admin := pgAdminDB(t)
	name := "citybot_test_" + randomHex()
	q := `CREATE DATABASE ` + name
	if template != "" {
		q += ` TEMPLATE ` + template
	}
	if _, err := admin.Exec(q); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return pgURL(name)
}

// pgURL is the test server's connection string for database name.
func pgURL(name string) string {
	s := os.Getenv(testPostgresURL)
	if u, err := url.Parse(s); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return s + " dbname=" + name // keyword form: the last one counts
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pgAdmin.db != nil {
		if pgAdmin.tmpl != "" {
			pgAdmin.db.Exec(`DROP DATABASE IF EXISTS ` + pgAdmin.tmpl + ` WITH (FORCE)`)
		}
		pgAdmin.db.Close()
	}
	os.Exit(code)
}
