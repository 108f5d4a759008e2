package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram/tgemu"
	"citybot/internal/pgtest"
	"citybot/store"
)

func TestStoreDriverConfig(t *testing.T) {
	const dbURL = "postgres://citybot:s3cretPassw0rd@db.example.org/cityhall"
	tests := []struct {
		name string
		body string
		env  map[string]string
		want string // a problem expected; "" means valid
	}{
		{"default is sqlite", "", nil, ""},
		{"postgres without url", "[store]\ndriver = \"postgres\"\n", nil, "store.driver: \"postgres\" needs the connection string in " + envDatabaseURL},
		{"postgres", "[store]\ndriver = \"postgres\"\n", map[string]string{envDatabaseURL: dbURL}, ""},
		{"unknown driver", "[store]\ndriver = \"mysql\"\n", nil, `store.driver: "mysql": must be "sqlite"`},
		{"sqlite needs a path", "[store]\ndriver = \"sqlite\"\npath = \"\"\n", nil, "store.path: must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tt.body), envMap(tt.env))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("LoadConfig = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("LoadConfig = %v, want a problem %q", err, tt.want)
			}
		})
	}
	// The connection string is a secret: config show never prints it.
	cfg := writeConfig(t, "[store]\ndriver = \"postgres\"\n")
	r := runCLI(t, map[string]string{envDatabaseURL: dbURL}, "--config", cfg, "config", "show")
	if r.code != exitOK {
		t.Fatalf("config show: exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, `driver = "postgres"`) {
		t.Errorf("config show lacks the driver:\n%s", r.stdout)
	}
	for _, s := range []string{"s3cretPassw0rd", "cityhall", "db.example.org"} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("config show prints %q of %s", s, envDatabaseURL)
		}
	}
}

// testPostgresDB creates a database on the server of
// CITYBOT_TEST_POSTGRES_URL (skipping the test without it), dropped when
// the test ends, and returns its connection string.
func testPostgresDB(t *testing.T) string {
	t.Helper()
	return pgtest.NewDB(t, "citybot_cmd")
}

// TestMigratePostgres: migrate, user and backup on [store] driver =
// "postgres", the connection string from the environment only.
func TestMigratePostgres(t *testing.T) {
	dbURL := testPostgresDB(t)
	env := map[string]string{envDatabaseURL: dbURL}
	cfg := writeConfig(t, "[store]\ndriver = \"postgres\"\n")
	for i := range 2 { // migrating twice is a no-op
		r := runCLI(t, env, "--config", cfg, "migrate")
		if r.code != exitOK {
			t.Fatalf("migrate #%d: exit %d: %v\n%s", i+1, r.code, r.err, r.stderr)
		}
		if !strings.Contains(r.stdout, "OK: the PostgreSQL database of "+envDatabaseURL+" is migrated") {
			t.Errorf("migrate #%d stdout %q", i+1, r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, dbURL) {
			t.Errorf("migrate #%d shows the connection string", i+1)
		}
	}
	// user add goes to PostgreSQL, not to a SQLite file.
	r := runCLI(t, env, "--config", cfg, "user", "add", "--role", "admin", "alice")
	if r.code != exitOK {
		t.Fatalf("user add: exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	ctx := context.Background()
	db, err := store.OpenPostgres(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.AccountByName(ctx, "ALICE") // names ignore case, as on SQLite
	if err != nil || a.Role != citybot.RoleAdmin {
		t.Fatalf("account alice on PostgreSQL: %+v, %v", a, err)
	}
	if _, err := os.Stat("citybot.db"); err == nil {
		t.Errorf("a SQLite file citybot.db was created in the working directory")
	}
	r = runCLI(t, env, "--config", cfg, "backup", "--to", t.TempDir()+"/copy.db")
	if !errors.Is(r.err, citybot.ErrNotSupported) || !strings.Contains(r.stderr, "pg_dump") {
		t.Errorf("backup on PostgreSQL: %v\n%s", r.err, r.stderr)
	}
	// A wrong password is reported without the connection string.
	u, _ := url.Parse(dbURL)
	u.User = url.UserPassword("nobody_"+u.User.Username(), "n0tThePassw0rd")
	r = runCLI(t, map[string]string{envDatabaseURL: u.String()}, "--config", cfg, "migrate")
	if r.code == exitOK {
		t.Fatalf("migrate with a wrong user succeeded")
	}
	for _, s := range []string{"n0tThePassw0rd", "nobody_", u.Path[1:]} {
		if strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("migrate's error shows %q of the connection string:\n%s", s, r.stderr)
		}
	}
}

// TestServeEndToEndPostgres: serve on [store] driver = "postgres" hears a
// citizen on Telegram, acknowledges the case with its reference, answers
// /healthz, finds the case by the console's search, and shows the
// connection string nowhere.
func TestServeEndToEndPostgres(t *testing.T) {
	dbURL := testPostgresDB(t)
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	env := map[string]string{envTelegramToken: emu.Token(), envDatabaseURL: dbURL}
	cfg := writeConfig(t, fmt.Sprintf("[store]\ndriver = \"postgres\"\n[http]\naddr = \"127.0.0.1:0\"\n[log]\nlevel = \"debug\"\nformat = \"json\"\n"+
		"[discord]\nenabled = false\n[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n", emu.Endpoint()))
	readyPath := filepath.Join(t.TempDir(), "ready.json")
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", cfg, "serve", "--ready-file", readyPath}, envMap(env), strings.NewReader(""), io.Discard, logs)
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			t.Fatalf("serve did not stop within 60s; logs:\n%s", logs)
			return nil
		}
	}
	defer stop()
	var ready readyInfo
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	for {
		if data, err := os.ReadFile(readyPath); err == nil {
			if err := json.Unmarshal(data, &ready); err != nil {
				t.Fatalf("ready file: %v", err)
			}
			break
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("serve exited before ready: %v\nlogs:\n%s", err, logs)
		case <-wctx.Done():
			t.Fatalf("serve not ready; logs:\n%s", logs)
		case <-time.After(20 * time.Millisecond):
		}
	}

	citizen := tgemu.User{ID: 4242, FirstName: "Amélie", LanguageCode: "fr"}
	if _, err := emu.Post(tgemu.Incoming{From: citizen, Text: "Odeur d'égout très forte devant l'école de la rue Haute"}); err != nil {
		t.Fatal(err)
	}
	ack, err := emu.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == citizen.ID })
	if err != nil {
		t.Fatalf("no Telegram acknowledgement: %v; logs:\n%s", err, logs)
	}
	code, body := httpGet(t, "http://"+ready.HTTPAddr+"/healthz")
	if code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("run returned %v after a clean shutdown; logs:\n%s", err, logs)
	}

	db, err := store.OpenPostgres(context.Background(), dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	items, _, err := db.InboxPage(context.Background(), citybot.InboxQuery{Search: "egout ecole"})
	if err != nil || len(items) != 1 {
		t.Fatalf("search on PostgreSQL: %d cases, %v; want one", len(items), err)
	}
	c := items[0].Case
	if !strings.Contains(ack.Text, string(c.Ref)) || c.Status != citybot.StatusAcknowledged {
		t.Errorf("acknowledgement %q, case %s %s: want the reference and acknowledged", ack.Text, c.Ref, c.Status)
	}
	u, _ := url.Parse(dbURL)
	for _, s := range []string{dbURL, u.Path[1:], u.Host} {
		if strings.Contains(logs.String()+body, s) {
			t.Errorf("logs or /healthz show %q of %s", s, envDatabaseURL)
		}
	}
}

// TestMigrateFromSQLite: migrate --from sqlite:FILE moves a city's SQLite
// database into a new PostgreSQL one, counts checked, and refuses what
// it cannot do.
func TestMigrateFromSQLite(t *testing.T) {
	dbURL := testPostgresDB(t)
	ctx := context.Background()
	litePath := filepath.Join(t.TempDir(), "city.db")
	lite, err := store.Open(ctx, litePath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lite.CreateAccount(ctx, "alice", citybot.RoleAdmin, "hash", "test"); err != nil {
		t.Fatal(err)
	}
	if err := lite.SetCursor(ctx, "telegram:offset", "1234"); err != nil {
		t.Fatal(err)
	}
	lite.Close()

	env := map[string]string{envDatabaseURL: dbURL}
	pgCfg := writeConfig(t, "[store]\ndriver = \"postgres\"\n")
	r := runCLI(t, env, "--config", pgCfg, "migrate", "--from", "sqlite:"+litePath)
	if r.code != exitOK {
		t.Fatalf("migrate --from: exit %d: %v\n%s", r.code, r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "rows of accounts") || !strings.Contains(r.stdout, "every table's count matches") {
		t.Errorf("migrate --from stdout:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, dbURL) {
		t.Errorf("migrate --from shows the connection string")
	}
	db, err := store.OpenPostgres(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, aerr := db.AccountByName(ctx, "alice")
	v, cerr := db.Cursor(ctx, "telegram:offset")
	db.Close()
	if aerr != nil || a.Role != citybot.RoleAdmin || cerr != nil || v != "1234" {
		t.Errorf("after the copy: account %+v (%v), cursor %q (%v)", a, aerr, v, cerr)
	}
	// Copying twice would mix two histories: refused.
	if r := runCLI(t, env, "--config", pgCfg, "migrate", "--from", "sqlite:"+litePath); r.code == exitOK || !strings.Contains(r.stderr, "new, empty database") {
		t.Errorf("second copy: exit %d\n%s", r.code, r.stderr)
	}
	missing := filepath.Join(t.TempDir(), "missing.db")
	for _, tt := range []struct {
		name, cfg, from, want string
	}{
		{"not sqlite:", pgCfg, litePath, "want sqlite:FILE"},
		{"into SQLite", writeConfig(t, "[store]\npath = \""+filepath.ToSlash(filepath.Join(t.TempDir(), "x.db"))+"\"\n"), "sqlite:" + litePath, `set [store] driver = "postgres"`},
		{"no such file", pgCfg, "sqlite:" + missing, "no such file"},
	} {
		r := runCLI(t, env, "--config", tt.cfg, "migrate", "--from", tt.from)
		if r.code == exitOK || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: exit %d, want an error saying %q\n%s", tt.name, r.code, tt.want, r.stderr)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a missing SQLite file was created")
	}
}
