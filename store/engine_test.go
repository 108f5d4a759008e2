package store

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"citybot"
	"citybot/internal/pgtest"
)

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`SELECT ?2, ?1, ?1`, `SELECT $2, $1, $1`},
		// A bare ? after ?2 is the third, as SQLite numbers it.
		{`SELECT ?2, ?`, `SELECT $2, $3`},
		{`SELECT '?', "a?b", ? -- why?` + "\n" + `/* ? */ FROM t`, `SELECT '?', "a?b", $1 -- why?` + "\n" + `/* ? */ FROM t`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`DO $$ BEGIN PERFORM '?'; END $$; SELECT ?`, `DO $$ BEGIN PERFORM '?'; END $$; SELECT $1`},
		{`SELECT $tag$ ? $tag$, ?`, `SELECT $tag$ ? $tag$, $1`},
		{`SELECT $1, ?`, `SELECT $1, $1`},
		{`key LIKE ? ESCAPE '\'`, `key ILIKE $1 ESCAPE '\'`},
		{`SELECT id FROM outbox o INDEXED BY outbox_claim WHERE a = ?`, `SELECT id FROM outbox o  WHERE a = $1`},
		{`SELECT 'INDEXED BY x', "REINDEXED BY"`, `SELECT 'INDEXED BY x', "REINDEXED BY"`},
		{`WHERE a LIKE ? AND b NOT LIKE 'x%' AND c = 'LIKE' AND LIKED = 1`, `WHERE a ILIKE $1 AND b NOT ILIKE 'x%' AND c = 'LIKE' AND LIKED = 1`},
		{`WHERE a like 'x' AND likes = 1 AND unlike = 2`, `WHERE a ILIKE 'x' AND likes = 1 AND unlike = 2`},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestMigrationTwins holds every SQLite migration to its PostgreSQL twin:
// same number, same name, in migrations/postgres/.
func TestMigrationTwins(t *testing.T) {
	if err := checkTwins(migrationFiles); err != nil {
		t.Fatal(err)
	}
	// The check itself fails on a missing twin and names the file.
	fake := fstest.MapFS{
		"migrations/0001_init.sql":          {Data: []byte("SELECT 1;")},
		"migrations/0170_new_thing.sql":     {Data: []byte("SELECT 1;")},
		"migrations/postgres/0001_init.sql": {Data: []byte("SELECT 1;")},
	}
	err := checkTwins(fake)
	if err == nil || !strings.Contains(err.Error(), "migrations/postgres/0170_new_thing.sql") {
		t.Errorf("missing twin: %v, want an error naming migrations/postgres/0170_new_thing.sql", err)
	}
	fake["migrations/postgres/0170_new_thing.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;")}
	fake["migrations/postgres/0180_stray.sql"] = &fstest.MapFile{Data: []byte("SELECT 1;")}
	if err := checkTwins(fake); err == nil || !strings.Contains(err.Error(), "0180_stray.sql") {
		t.Errorf("twin without SQLite migration: %v", err)
	}
}

// checkTwins says which migration lacks its twin on the other engine.
func checkTwins(fsys fs.FS) error {
	lite, err := readMigrations(fsys, migrationDirs[SQLite])
	if err != nil {
		return err
	}
	pg, err := readMigrations(fsys, migrationDirs[Postgres])
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, m := range pg {
		have[m.name] = true
	}
	var errs []error
	for _, m := range lite {
		if !have[m.name] {
			errs = append(errs, errors.New("SQLite migration store/migrations/"+m.name+".sql has no PostgreSQL twin: write store/migrations/postgres/"+m.name+
				".sql (see the header of store/migrations/postgres/0001_init.sql for how to translate it)"))
		}
		delete(have, m.name)
	}
	for name := range have {
		errs = append(errs, errors.New("PostgreSQL migration store/migrations/postgres/"+name+".sql has no SQLite migration of the same name"))
	}
	return errors.Join(errs...)
}

func TestPostgresURLNeverInErrors(t *testing.T) {
	ctx := t.Context()
	for _, url := range []string{
		"postgres://citybot:s3cretPassw0rd@127.0.0.1:1/cityhall?sslmode=disable&connect_timeout=2",
		"mysql://citybot:s3cretPassw0rd@db.example/cityhall",
		"host=127.0.0.1 port=1 user=citybot password=s3cretPassw0rd dbname=cityhall connect_timeout=2 sslmode=disable",
		"postgres://citybot:s3cretPassw0rd@127.0.0.1:1/cityhall?sslmode=bogus",
	} {
		db, err := OpenPostgres(ctx, url, Options{})
		if err == nil {
			db.Close()
			t.Fatalf("OpenPostgres succeeded on a closed port")
		}
		for _, secret := range []string{"s3cretPassw0rd", "cityhall", "citybot:"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows %q of the connection string", err, secret)
			}
		}
		if !strings.HasPrefix(err.Error(), "store: open") {
			t.Errorf("error %q lacks the store prefix", err)
		}
	}
	if _, err := OpenPostgres(ctx, "", Options{}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("empty URL: %v, want ErrInvalid", err)
	}
}

// TestPostgresLostConnectionRedacted: a query that must open a new
// connection to a server that is gone fails without naming any part of
// the connection string.
func TestPostgresLostConnectionRedacted(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		if te.eng != Postgres {
			t.Skip("PostgreSQL's connections")
		}
		ctx := t.Context()
		src := te.newSource(t)
		db, err := te.open(ctx, src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// The database goes away under the open DB.
		name := src[strings.LastIndex(src, "/")+1:]
		if i := strings.IndexByte(name, '?'); i >= 0 {
			name = name[:i]
		}
		if _, err := pgtest.Admin(t).Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Fatal(err)
		}
		err = db.Ping(ctx)
		if err == nil {
			_, err = db.Cursor(ctx, "x")
		}
		if err == nil {
			t.Fatal("queries on a dropped database succeeded")
		}
		if strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "user=") {
			t.Errorf("error %q names the connection string's parts", err)
		}
	})
}
