package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"citybot"
	"citybot/store"
)

// TestOpen311KeyCommand gives an app a key, lists and revokes it through
// the whole CLI, on the database [store] path names.
func TestOpen311KeyCommand(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	cfg := writeConfig(t, "[store]\npath = \""+filepath.ToSlash(dbPath)+"\"\n")
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"--config", cfg, "open311"}, args...), envMap(nil), strings.NewReader(""), &out, &errb)
		return out.String() + errb.String(), err
	}
	out, err := cli("key", "add", "Quartier app")
	if err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	key := regexp.MustCompile(`c311_[a-z0-9]+`).FindString(out)
	if key == "" {
		t.Fatalf("no key printed: %q", out)
	}
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if k, err := db.Open311KeyByHash(ctx, citybot.HashAPIKey(key)); err != nil || k.Name != "Quartier app" || k.CreatedBy != "cli" {
		t.Fatalf("the printed key does not work: %+v %v", k, err)
	}
	if out, err := cli("key", "list"); err != nil || !strings.Contains(out, "Quartier app") || !strings.Contains(out, "works") || strings.Contains(out, key) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err := cli("key", "add", "Quartier app"); !errors.Is(err, citybot.ErrDuplicate) {
		t.Fatalf("a second working key: %v", err)
	}
	if out, err := cli("key", "revoke", "Quartier app"); err != nil {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	if _, err := db.Open311KeyByHash(ctx, citybot.HashAPIKey(key)); !errors.Is(err, citybot.ErrNotFound) {
		t.Fatalf("a revoked key works: %v", err)
	}
	if out, _ := cli("key", "list"); !strings.Contains(out, "revoked") {
		t.Fatalf("list after revoke: %s", out)
	}
	if _, err := cli("key", "revoke", "Quartier app"); !errors.Is(err, citybot.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	for _, args := range [][]string{{"key"}, {"key", "add"}, {"key", "add", "a", "b"}, {"key", "list", "x"}, {"key", "delete", "a"},
		{"keys"}, {"key", "add", "semi;colon"}} {
		var ue *UsageError
		if _, err := cli(args...); !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

// TestOpen311Config checks [open311]'s validation.
func TestOpen311Config(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string
	}{
		{"[open311]\njurisdiction_id = \"city of x\"\n", "open311.jurisdiction_id"},
		{"[open311]\nper_minute = 0\n", "open311.per_minute"},
		{"[open311]\nburst = 0\n", "open311.burst"},
		{"[open311]\nrate = 3\n", "rate"},
	} {
		_, err := LoadConfig(writeConfig(t, tc.body), envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %s", tc.body, err, tc.want)
		}
	}
	cfg, err := LoadConfig(writeConfig(t, "[open311]\njurisdiction_id = \"testville.example\"\nper_minute = 2.5\nburst = 5\n"), envMap(nil))
	if err != nil || cfg.Open311 != (Open311Config{JurisdictionID: "testville.example", PerMinute: 2.5, Burst: 5}) {
		t.Fatalf("%+v %v", cfg.Open311, err)
	}
}
