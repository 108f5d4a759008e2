package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/store"
)

func TestRunUserAdd(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "citybot.db")
	var out bytes.Buffer
	// Generated password, printed once.
	if err := runUser(ctx, []string{"add", "--role", "admin", "--db", path, "root"}, os.Getenv, strings.NewReader(""), &out, &out); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Password \(shown only now; store it safely\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no generated password in %q", out.String())
	}
	// Password from stdin.
	out.Reset()
	if err := runUser(ctx, []string{"add", "--db", path, "olivia"}, os.Getenv, strings.NewReader("a long passphrase here\n"), &out, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Password") {
		t.Errorf("a piped password was printed: %q", out.String())
	}
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, pw := range map[string]string{"root": m[1], "olivia": "a long passphrase here"} {
		a, err := db.AccountByName(ctx, name)
		if err != nil || bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(pw)) != nil {
			t.Errorf("%s: password does not match the stored hash (%v)", name, err)
		}
	}
	if a, _ := db.AccountByName(ctx, "olivia"); a.Role != citybot.RoleOfficer {
		t.Errorf("default role = %s", a.Role)
	}
	bad := []struct {
		args  []string
		stdin string
		want  error
	}{
		{[]string{"add", "--db", path, "root"}, "", citybot.ErrDuplicate},
		{[]string{"add", "--role", "god", "--db", path, "x"}, "", citybot.ErrInvalid},
		{[]string{"add", "--db", path, "x"}, "short\n", citybot.ErrInvalid},
		{[]string{"add", "--db", path}, "", citybot.ErrInvalid},
		{[]string{"remove", "x"}, "", citybot.ErrInvalid},
	}
	for _, b := range bad {
		if err := runUser(ctx, b.args, os.Getenv, strings.NewReader(b.stdin), &out, &out); !errors.Is(err, b.want) {
			t.Errorf("%v: err = %v, want %v", b.args, err, b.want)
		}
	}
}

// Names citybot writes itself, and names that hide what they are, are
// refused before any account is made.
func TestRunUserAddReservedNames(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "citybot.db")
	for _, name := range []string{"citybot", "CityBot", "system", "cli", "-", "", "   ", "-x", "ro ot",
		"root\u202e", "ro\u200bot", "tab\tname", "new\nline"} {
		var out bytes.Buffer
		err := runUser(ctx, []string{"add", "--db", path, name}, os.Getenv, strings.NewReader("a long passphrase here\n"), &out, &out)
		if !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("user add %q: err = %v, want ErrInvalid", name, err)
		}
	}
	var out bytes.Buffer
	if err := runUser(ctx, []string{"add", "--db", path, "jean-luc.picard"}, os.Getenv, strings.NewReader("a long passphrase here\n"), &out, &out); err != nil {
		t.Errorf("user add jean-luc.picard: %v", err)
	}
}
