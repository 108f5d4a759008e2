package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"github.com/pquerna/otp/totp"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/store"
)

// A city that configures its own sensitive topics ([web]
// sensitive_topics = ["noise"]) gets the same cases hidden everywhere:
// `citybot digest export`, serve's public CSV and the console of an
// officer who may not read sensitive cases leave out exactly the cases on
// noise (stored before the city listed it, so not flagged yet) and the
// case the classifier flagged; an admin's console shows them.
func TestSensitiveHiddenAlikeByExportAndServe(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.db")
	db, err := store.Open(ctx, seed, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{} // name → reference
	for i, c := range []struct {
		name, topic string
		flagged     bool
	}{
		{"roads", "roads", false},
		{"noise", "noise", false},           // the city's own sensitive topic
		{"noise2", "noise", false},          // another one
		{"bribe", "roads", true},            // flagged by the classifier
		{"waste", "waste", false},           // plain
		{"corruption", "corruption", false}, // not sensitive for this city
	} {
		res, err := db.Ingest(ctx, citybot.Intake{
			Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("chat", i)), ChatKind: citybot.ChatPrivate,
				ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint("user", i)), Name: "Jane Roe"}, Text: "report " + c.name,
				SentAt: time.Now()},
			Classification: &citybot.Classification{Topic: citybot.Scored{Label: c.topic, Confidence: 0.9}, Urgency: citybot.UrgencyNormal, Language: "en"},
			Mode:           citybot.CaseJoinOrOpen, Window: time.Minute, Sensitive: c.flagged,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		refs[c.name] = string(res.Case.Ref)
	}
	for _, a := range []struct {
		name string
		role citybot.Role
	}{{"olivia", citybot.RoleOfficer}, {"ada", citybot.RoleAdmin}} {
		h, err := bcrypt.GenerateFromPassword([]byte("a long test passphrase"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		acct, err := db.CreateAccount(ctx, a.name, a.role, string(h), "test")
		if err != nil {
			t.Fatal(err)
		}
		if a.role.RequiresTOTP() { // admins type a one-time code after the password
			if err := db.StartTOTP(ctx, acct.ID, testTOTPSecret); err != nil {
				t.Fatal(err)
			}
			if err := db.ActivateTOTP(ctx, acct.ID, testTOTPSecret, 0, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	exportDB, serveDB := filepath.Join(dir, "export.db"), filepath.Join(dir, "serve.db")
	copyFile(t, seed, exportDB)
	copyFile(t, seed, serveDB)
	city := "[web]\nsensitive_topics = [\"noise\"]\ninsecure_cookies = true\n"
	hidden := []string{refs["noise"], refs["noise2"], refs["bribe"]}
	shown := []string{refs["roads"], refs["waste"], refs["corruption"]}
	slices.Sort(hidden)
	slices.Sort(shown)

	// The export, on its own copy of the database, before any serve.
	from := time.Now().AddDate(0, 0, -30).Format("2006-01-02")
	r := runCLI(t, nil, "--config", writeConfig(t, fmt.Sprintf("[store]\npath = %q\n%s", exportDB, city)), "digest", "export", "--from", from)
	if r.code != exitOK {
		t.Fatalf("digest export: exit %d: %s", r.code, r.stderr)
	}
	if got := csvRefs(t, r.stdout); !slices.Equal(got, shown) {
		t.Errorf("digest export shows %v, want %v (hidden: %v)", got, shown, hidden)
	}

	// serve, on the other copy.
	s := startServeDB(t, nil, serveDB, city)
	base := "http://" + s.ready.HTTPAddr
	code, body := httpGet(t, base+"/public/cases.csv?from="+from)
	if code != http.StatusOK {
		t.Fatalf("GET /public/cases.csv: %d %s", code, body)
	}
	if got := csvRefs(t, body); !slices.Equal(got, shown) {
		t.Errorf("serve's public CSV shows %v, want %v, as the export", got, shown)
	}
	inbox := func(name string) string {
		t.Helper()
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Jar: jar}
		resp, err := c.PostForm(base+"/login", url.Values{"name": {name}, "password": {"a long test passphrase"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path == "/login/code" {
			code, err := totp.GenerateCode(testTOTPSecret, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if resp, err = c.PostForm(base+"/login/code", url.Values{"code": {code}}); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		resp, err = c.Get(base + "/inbox")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/inbox" {
			t.Fatalf("%s's inbox: %d at %s", name, resp.StatusCode, resp.Request.URL)
		}
		return string(b)
	}
	officer, admin := inbox("olivia"), inbox("ada")
	for _, ref := range shown {
		if !strings.Contains(officer, ref) || !strings.Contains(admin, ref) {
			t.Errorf("case %s, shown by the export, is not in both inboxes", ref)
		}
	}
	for _, ref := range hidden {
		if strings.Contains(officer, ref) {
			t.Errorf("case %s, hidden by the export, is in the officer's inbox", ref)
		}
		if !strings.Contains(admin, ref) {
			t.Errorf("sensitive case %s is not in the admin's inbox", ref)
		}
	}
}

// csvRefs returns the sorted references of a cases CSV.
func csvRefs(t *testing.T, body string) []string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) == 0 || rows[0][0] != "reference" {
		t.Fatalf("not a cases CSV (%v):\n%s", err, body)
	}
	var refs []string
	for _, row := range rows[1:] {
		refs = append(refs, row[0])
	}
	slices.Sort(refs)
	return refs
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// testTOTPSecret is the one-time code secret of the tests' admins.
const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
