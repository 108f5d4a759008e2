//go:build unix

package store

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesArePrivate: a new database, its WAL and shared-memory files and
// a backup are readable by their owner only, whatever the umask; an
// existing database readable by others is narrowed on open.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "citybot.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAccount(ctx, "root", "admin", "hash", "test"); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := db.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", backup} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	db.Close()

	// An existing world-readable database is narrowed.
	if err := os.Chmod(backup, 0o644); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(ctx, backup, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if st, _ := os.Stat(backup); st.Mode().Perm() != 0o600 {
		t.Errorf("existing database: mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := db2.AccountByName(ctx, "root"); err != nil {
		t.Errorf("backup unreadable: %v", err)
	}
}
