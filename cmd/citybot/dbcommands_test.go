package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"citybot/store"
)

// dbConfig writes a config whose store is path, and returns the config's
// path.
func dbConfig(t *testing.T, dbPath string) string {
	t.Helper()
	return writeConfig(t, "[store]\npath = \""+filepath.ToSlash(dbPath)+"\"\n")
}

func TestMigrate(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "city.db")
	cfg := dbConfig(t, dbPath)
	for i := range 2 { // migrating twice is a no-op
		r := runCLI(t, nil, "--config", cfg, "migrate")
		if r.code != exitOK {
			t.Fatalf("migrate #%d: exit %d: %v\n%s", i+1, r.code, r.err, r.stderr)
		}
		if !strings.Contains(r.stdout, "OK: "+dbPath) {
			t.Errorf("migrate #%d stdout %q", i+1, r.stdout)
		}
	}
	// The migrated file is a citybot database: the store opens it and it
	// holds the tables (a cursor round-trips).
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatalf("open migrated db: %v", err)
	}
	defer db.Close()
	if err := db.SetCursor(ctx, "test", "42"); err != nil {
		t.Fatalf("SetCursor on migrated db: %v", err)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "live.db")
	cfg := dbConfig(t, dbPath)

	// A live database with something in it, kept open (as serve would).
	live, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := live.SetCursor(ctx, "telegram:offset", "1234"); err != nil {
		t.Fatal(err)
	}

	copyPath := filepath.Join(dir, "copy.db")
	r := runCLI(t, nil, "--config", cfg, "backup", "--to", copyPath)
	if r.code != exitOK {
		t.Fatalf("backup: exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, copyPath) {
		t.Errorf("backup stdout %q does not name the copy", r.stdout)
	}
	cp, err := store.Open(ctx, copyPath, store.Options{})
	if err != nil {
		t.Fatalf("open the copy: %v", err)
	}
	defer cp.Close()
	if v, err := cp.Cursor(ctx, "telegram:offset"); err != nil || v != "1234" {
		t.Errorf("copy's cursor = %q, %v; want 1234", v, err)
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			code int
			want string
		}{
			{"no --to", []string{"--config", cfg, "backup"}, exitUsage, "backup needs --to FILE"},
			{"extra argument", []string{"--config", cfg, "backup", "--to", copyPath, "now"}, exitUsage, "takes no arguments"},
			{"no database", []string{"--config", dbConfig(t, filepath.Join(dir, "absent.db")), "backup", "--to", filepath.Join(dir, "x.db")}, exitRuntime, "no database at"},
			{"onto itself", []string{"--config", cfg, "backup", "--to", dbPath}, exitRuntime, "live database"},
			{"unwritable destination", []string{"--config", cfg, "backup", "--to", filepath.Join(dir, "missing-dir", "c.db")}, exitRuntime, "backup"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := runCLI(t, nil, tt.args...)
				if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.want)
				}
			})
		}
		if _, err := os.Stat(filepath.Join(dir, "absent.db")); !os.IsNotExist(err) {
			t.Errorf("backup created the missing database it was asked to copy")
		}
	})
}

func TestUnwritableDatabasePath(t *testing.T) {
	dir := t.TempDir()
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"under a file", filepath.Join(file, "city.db"), "not a directory"},
		{"missing directory", filepath.Join(dir, "nope", "city.db"), "nope"},
		{"read-only directory", filepath.Join(ro, "city.db"), "not writable"},
		{"a directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "read-only directory" && os.Geteuid() == 0 {
				t.Skip("root can write a 0555 directory")
			}
			for _, cmd := range []string{"migrate", "serve"} {
				r := runCLI(t, nil, "--config", dbConfig(t, tt.path), cmd)
				if r.code != exitRuntime {
					t.Errorf("%s: exit %d, want %d (err %v)", cmd, r.code, exitRuntime, r.err)
				}
				if !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "store") {
					t.Errorf("%s: stderr %q does not explain (%q)", cmd, r.stderr, tt.want)
				}
			}
		})
	}
}

// TestUserAndDigestCommands: user and digest find the database from
// [store] path, and a bad command line is a usage error.
func TestUserAndDigestCommands(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "city.db")
	cfg := dbConfig(t, dbPath)
	if r := runCLI(t, nil, "--config", cfg, "migrate"); r.code != exitOK {
		t.Fatalf("migrate: %v", r.err)
	}
	var out, errb strings.Builder
	err := run(context.Background(), []string{"--config", cfg, "user", "add", "--role", "admin", "ada"}, envMap(nil),
		strings.NewReader("a long enough passphrase\n"), &out, &errb)
	if err != nil || !strings.Contains(out.String(), `Created admin account "ada"`) {
		t.Fatalf("user add = %v, %q", err, out.String())
	}
	if strings.Contains(out.String(), "passphrase") {
		t.Error("user add printed the given password")
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"same name again", []string{"--config", cfg, "user", "add", "ada"}, exitRuntime, "duplicate"},
		{"no name", []string{"--config", cfg, "user", "add"}, exitUsage, "NAME"},
		{"digest preview", []string{"--config", cfg, "digest", "preview", "--week", "2026-W47"}, exitOK, "16–22 November"},
		{"digest unknown", []string{"--config", cfg, "digest", "publish"}, exitUsage, "unknown subcommand"},
		{"user help", []string{"user", "--help"}, exitOK, "user add"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("exit %d, output %q; want exit %d and %q", r.code, r.stdout+r.stderr, tt.code, tt.want)
			}
		})
	}
}
