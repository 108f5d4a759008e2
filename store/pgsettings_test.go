package store

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"strings"
	"testing"

	"citybot/internal/pgtest"
)

// TestPostgresSettingsWarned: opening a PostgreSQL database whose role or
// database sets a lock, statement or idle-transaction timeout, or whose
// LC_CTYPE is C, logs a warning naming each setting and what to do; the
// test server's own databases get none.
func TestPostgresSettingsWarned(t *testing.T) {
	if os.Getenv(testPostgresURL) == "" {
		t.Skip(testPostgresURL + " not set")
	}
	ctx := context.Background()
	te := testEngine{Postgres}
	open := func(src string) (*DB, string) {
		t.Helper()
		var buf bytes.Buffer
		db, err := te.open(ctx, src, Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, buf.String()
	}

	src := te.newSource(t)
	db, logs := open(src)
	if ws, err := db.serverWarnings(ctx); err != nil || len(ws) != 0 {
		t.Errorf("the test server's database: warnings %q, %v; want none", ws, err)
	}
	if strings.Contains(logs, "PostgreSQL setting") {
		t.Errorf("warned on the test server's database:\n%s", logs)
	}

	raw, err := sql.Open("pgx", src)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var name string
	if err := raw.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	for _, set := range []string{`lock_timeout TO '5s'`, `statement_timeout TO '1min'`, `idle_in_transaction_session_timeout TO '10min'`} {
		if _, err := raw.ExecContext(ctx, `ALTER DATABASE `+name+` SET `+set); err != nil {
			t.Fatal(err)
		}
	}
	_, logs = open(src)
	for _, want := range []string{"lock_timeout is 5s", "statement_timeout is 1min", "idle_in_transaction_session_timeout is 10min", "set it to 0"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "LC_CTYPE") {
		t.Errorf("LC_CTYPE warned on a UTF-8 database:\n%s", logs)
	}

	// A database made with the C locale: search lowercases only ASCII.
	admin := pgtest.Admin(t)
	cname := "citybot_ctype_" + strings.ReplaceAll(t.Name(), "/", "_")
	cname = strings.ToLower(cname)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+cname+` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(`DROP DATABASE IF EXISTS ` + cname + ` WITH (FORCE)`) })
	_, logs = open(pgtest.URL(cname))
	if !strings.Contains(logs, "LC_CTYPE is C") {
		t.Errorf("no LC_CTYPE warning on a C database:\n%s", logs)
	}
}
