package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/store"
)

// TestUserLifecycleCLI drives "citybot user" through run() with a real
// configuration and database: disable ends the sessions, passwd takes
// the piped password or prints a generated one, role and revoke work,
// the last admin is kept, and every change is audited as cli.
func TestUserLifecycleCLI(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "city.db")
	cfg := dbConfig(t, dbPath)
	cli := func(stdin string, args ...string) runResult {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(ctx, append([]string{"--config", cfg, "user"}, args...), envMap(nil), strings.NewReader(stdin), &out, &errb)
		if err != nil {
			reportError(&errb, err)
		}
		return runResult{err: err, code: exitCode(err), stdout: out.String(), stderr: errb.String()}
	}
	for _, a := range [][]string{{"add", "--role", "admin", "root"}, {"add", "olivia"}} {
		if r := cli("a long enough passphrase\n", a...); r.code != exitOK {
			t.Fatalf("%v: exit %d %s", a, r.code, r.stderr)
		}
	}
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	olivia, err := db.AccountByName(ctx, "olivia")
	if err != nil {
		t.Fatal(err)
	}
	newSession := func(tok string) {
		if err := db.CreateSession(ctx, olivia.ID, tok, "csrf", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	alive := func(tok string) bool { _, _, err := db.Session(ctx, tok); return err == nil }

	newSession("s1")
	if r := cli("", "disable", "olivia"); r.code != exitOK || !strings.Contains(r.stdout, "disabled") {
		t.Fatalf("disable: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if alive("s1") {
		t.Error("disable left a session alive")
	}
	if a, _ := db.AccountByName(ctx, "olivia"); !a.Disabled {
		t.Error("not disabled")
	}
	if r := cli("", "enable", "olivia"); r.code != exitOK {
		t.Fatalf("enable: %d %s", r.code, r.stderr)
	}
	newSession("s2")
	if r := cli("another long passphrase\n", "passwd", "olivia"); r.code != exitOK || strings.Contains(r.stdout, "passphrase") {
		t.Fatalf("passwd: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	a, _ := db.AccountByName(ctx, "olivia")
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte("another long passphrase")) != nil || alive("s2") {
		t.Errorf("passwd: hash matches %v, session alive %v", bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte("another long passphrase")) == nil, alive("s2"))
	}
	r := cli("", "passwd", "olivia")
	m := regexp.MustCompile(`shown only now; store it safely\): (\S+)`).FindStringSubmatch(r.stdout)
	if r.code != exitOK || m == nil {
		t.Fatalf("passwd generated: exit %d %q", r.code, r.stdout)
	}
	if a, _ := db.AccountByName(ctx, "olivia"); bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(m[1])) != nil {
		t.Error("the printed password is not the stored one")
	}
	newSession("s3")
	newSession("s4")
	if r := cli("", "revoke", "olivia"); r.code != exitOK || !strings.Contains(r.stdout, "Ended 2 session") || alive("s3") || alive("s4") {
		t.Errorf("revoke: exit %d %q", r.code, r.stdout)
	}
	if r := cli("", "unlock", "olivia"); r.code != exitOK {
		t.Errorf("unlock: %d %s", r.code, r.stderr)
	}
	if r := cli("", "role", "olivia", "official"); r.code != exitOK {
		t.Errorf("role: %d %s", r.code, r.stderr)
	}
	if a, _ := db.AccountByName(ctx, "olivia"); a.Role != citybot.RoleOfficial {
		t.Errorf("role = %s", a.Role)
	}
	// totp-reset: a lost phone. The codes, the recovery codes and the
	// sessions go.
	if err := db.StartTOTP(ctx, olivia.ID, "JBSWY3DPEHPK3PXP"); err != nil {
		t.Fatal(err)
	}
	if err := db.ActivateTOTP(ctx, olivia.ID, "JBSWY3DPEHPK3PXP", 1, []string{"h1", "h2"}); err != nil {
		t.Fatal(err)
	}
	newSession("s5")
	if r := cli("", "totp-reset", "olivia"); r.code != exitOK || !strings.Contains(r.stdout, "next sign-in") {
		t.Errorf("totp-reset: exit %d %q %s", r.code, r.stdout, r.stderr)
	}
	if a, _ := db.AccountByName(ctx, "olivia"); a.TOTPEnabled() || a.RecoveryCodesLeft != 0 || alive("s5") {
		t.Errorf("after totp-reset: codes on %v, %d recovery codes, session alive %v", a.TOTPEnabled(), a.RecoveryCodesLeft, alive("s5"))
	}

	refusals := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"last admin disabled", []string{"disable", "root"}, exitRuntime, "last active admin"},
		{"last admin demoted", []string{"role", "root", "officer"}, exitRuntime, "last active admin"},
		{"unknown account", []string{"revoke", "ghost"}, exitRuntime, "not found"},
		{"unknown account's codes", []string{"totp-reset", "ghost"}, exitRuntime, "not found"},
		{"unknown role", []string{"role", "olivia", "king"}, exitUsage, "unknown role"},
		{"role without role", []string{"role", "olivia"}, exitUsage, "ROLE"},
		{"unknown subcommand", []string{"delete", "olivia"}, exitUsage, "unknown subcommand"},
		{"short password", []string{"passwd", "olivia"}, exitUsage, "12 to 72"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			stdin := ""
			if tt.name == "short password" {
				stdin = "short\n"
			}
			r := cli(stdin, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("exit %d, %q; want %d and %q", r.code, r.stdout+r.stderr, tt.code, tt.want)
			}
		})
	}
	if a, _ := db.AccountByName(ctx, "root"); a.Disabled || a.Role != citybot.RoleAdmin {
		t.Errorf("root changed: %+v", a)
	}
	es, err := db.Audit(ctx, fmt.Sprintf("account:%d", olivia.ID))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range es {
		if e.Actor == "cli" {
			got[e.Action] = true
		}
	}
	for _, want := range []string{"account.disable", "account.enable", "account.password", "account.revoke", "account.unlock", "account.role", "account.totp_reset"} {
		if !got[want] {
			t.Errorf("no %s by cli in the audit log (%v)", want, got)
		}
	}
}
