// Package pgtest gives tests fresh PostgreSQL databases on the throwaway
// server named by CITYBOT_TEST_POSTGRES_URL (a user allowed to create
// databases; see .ci/postgres). Each database has a random name, is made
// for one test and dropped when that test ends; a test run without the
// variable is skipped. Only tests import this package.
//
// The connection to the server's maintenance database is shared by the
// tests of one process and safe for parallel tests; a TestMain that wants
// it closed (and the template of Template dropped) calls Close after
// m.Run.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection's driver name "pgx"
)

// Env is the environment variable naming the test server.
const Env = "CITYBOT_TEST_POSTGRES_URL"

// Available reports whether Env names a test server.
func Available() bool { return os.Getenv(Env) != "" }

// admin is the connection to the test server's maintenance database and
// the template of Template, shared by the tests of this process.
var admin struct {
	once sync.Once
	db   *sql.DB
	err  error

	tmplOnce sync.Once
	tmpl     string
	tmplErr  error
}

// Admin returns the shared connection to the server's maintenance
// database (for statements such as DROP DATABASE), skipping tb when Env
// is not set and failing it when the server does not answer. The caller
// must not close it.
func Admin(tb testing.TB) *sql.DB {
	tb.Helper()
	if !Available() {
		tb.Skip(Env + " not set")
	}
	admin.once.Do(func() {
		admin.db, admin.err = sql.Open("pgx", os.Getenv(Env))
		if admin.err == nil {
			admin.db.SetMaxOpenConns(4)
			admin.err = admin.db.Ping()
		}
	})
	if admin.err != nil {
		tb.Fatalf("%s: %v", Env, admin.err)
	}
	return admin.db
}

// NewDB creates an empty database named prefix plus a random suffix,
// dropped when tb ends, and returns its connection string. It skips tb
// when Env is not set.
func NewDB(tb testing.TB, prefix string) string {
	tb.Helper()
	return NewDBFrom(tb, prefix, "")
}

// NewDBFrom is NewDB for a copy of the database template (CREATE
// DATABASE … TEMPLATE); "" is an empty database.
func NewDBFrom(tb testing.TB, prefix, template string) string {
	tb.Helper()
	db := Admin(tb)
	name := prefix + "_" + randomHex()
	if template != "" {
		if _, err := db.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + template); err != nil {
			tb.Fatalf("create database: %v", err)
		}
	} else if err := create(db, name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return URL(name)
}

// Template returns the name of a database that build (given its
// connection string) fills once per test process, for NewDBFrom to copy:
// cheaper than building every test's database again. Close drops it.
func Template(tb testing.TB, build func(ctx context.Context, src string) error) string {
	tb.Helper()
	db := Admin(tb)
	admin.tmplOnce.Do(func() {
		name := "citybot_tmpl_" + randomHex()
		if err := create(db, name); err != nil {
			admin.tmplErr = err
			return
		}
		admin.tmpl = name
		if err := build(context.Background(), URL(name)); err != nil {
			admin.tmplErr = fmt.Errorf("build the template: %w", err)
		}
	})
	if admin.tmplErr != nil {
		tb.Fatalf("postgres template database: %v", admin.tmplErr)
	}
	return admin.tmpl
}

// Close drops the template database and closes the admin connection, if
// this process opened them; for TestMain, after m.Run.
func Close() {
	if admin.db == nil {
		return
	}
	if admin.tmpl != "" {
		admin.db.Exec(`DROP DATABASE IF EXISTS ` + admin.tmpl + ` WITH (FORCE)`)
	}
	admin.db.Close()
}

// create makes the empty database name with a language's collation
// (ICU's en-US), as a city's server most often has (en_US.UTF-8 and the
// like), not the byte order of the test server's C.UTF-8: a query that
// holds only in byte order (a range on a prefix, an ORDER BY meant to
// be byte-wise) fails the tests as it would fail the city. A server
// built without ICU gets a database of its default collation.
func create(db *sql.DB, name string) error {
	_, err := db.Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
	if err == nil {
		return nil
	}
	if missing, _ := icuMissing(db); !missing {
		return err
	}
	_, err = db.Exec(`CREATE DATABASE ` + name)
	return err
}

// icuMissing reports whether the server lacks ICU collations.
func icuMissing(db *sql.DB) (bool, error) {
	var n int
	err := db.QueryRow(`SELECT count(*) FROM pg_collation WHERE collprovider = 'i'`).Scan(&n)
	return err == nil && n == 0, err
}

// URL is the test server's connection string for the database name: Env
// with its database replaced, in URL or in keyword form.
func URL(name string) string {
	s := os.Getenv(Env)
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
