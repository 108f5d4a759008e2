package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram/tgemu"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

// TestSensitiveAndFollowUpConfig checks how [web] sensitive_topics and
// [cases] follow_up_note_every decode: an absent key keeps the default,
// an explicit empty list stays empty (and non-nil, which the responder
// reads as "none"), "off" disables the notes, and mistakes are reported.
func TestSensitiveAndFollowUpConfig(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "[city]\nname = \"X\"\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Web.SensitiveTopics; len(got) != 1 || got[0] != "corruption" {
		t.Errorf("absent sensitive_topics = %#v, want [corruption]", got)
	}
	if got := followUpInterval(cfg.Cases.FollowUpNoteEvery); got != 10*time.Minute {
		t.Errorf("absent follow_up_note_every = %s, want 10m", got)
	}

	cfg, err = LoadConfig(writeConfig(t, "[web]\nsensitive_topics = []\n[cases]\nfollow_up_note_every = \"off\"\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Web.SensitiveTopics; got == nil || len(got) != 0 {
		t.Errorf("sensitive_topics = [] decoded as %#v, want an empty non-nil list", got)
	}
	if got := followUpInterval(cfg.Cases.FollowUpNoteEvery); got >= 0 {
		t.Errorf("follow_up_note_every = \"off\" gives FollowUpInterval %s, want negative", got)
	}
	var b bytes.Buffer
	if err := run(context.Background(), []string{"--config", cfg.Source, "config", "show"}, envMap(nil), strings.NewReader(""), &b, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `follow_up_note_every = "off"`) || !strings.Contains(b.String(), "sensitive_topics = []") {
		t.Errorf("config show does not round-trip the keys:\n%s", b.String())
	}

	cfg, err = LoadConfig(writeConfig(t, "[web]\nsensitive_topics = [\"corruption\", \"roads\"]\n[cases]\nfollow_up_note_every = \"90s\"\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := followUpInterval(cfg.Cases.FollowUpNoteEvery); got != 90*time.Second {
		t.Errorf("follow_up_note_every = \"90s\" gives %s", got)
	}

	for _, tt := range []struct{ body, want string }{
		{"[cases]\nfollow_up_note_every = \"0s\"\n", "cases.follow_up_note_every"},
		{"[cases]\nfollow_up_note_every = \"-1m\"\n", `write "off"`},
		{"[cases]\nfollow_up_note_every = \"soon\"\n", `"off"`},
		{"[web]\nsensitive_topics = [\"coruption\"]\n", "web.sensitive_topics"},
	} {
		_, err := LoadConfig(writeConfig(t, tt.body), envMap(nil))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %q: err = %v, want a ConfigError mentioning %q", tt.body, err, tt.want)
		}
	}
}

// wiringOpenDB opens serve's database read-only beside it, through the
// driver the store registers.
func wiringOpenDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func wiringCount(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestServeSensitiveAckAndFollowUpNotes runs serve through run() against
// the Telegram emulator twice: with the default configuration, a bribe
// report's acknowledgement tells the citizen how their identity is
// protected; with sensitive_topics = [] it does not. A second message to
// the same case gets the "added to your case" note when
// follow_up_note_every is short, and none when it is "off".
func TestServeSensitiveAckAndFollowUpNotes(t *testing.T) {
	for _, tt := range []struct {
		name, extra string
		protected   bool
		note        bool
	}{
		{name: "default sensitive, short notes", extra: "[cases]\nfollow_up_note_every = \"1ms\"\n", protected: true, note: true},
		{name: "no sensitive topic, notes off", extra: "[web]\nsensitive_topics = []\n[cases]\nfollow_up_note_every = \"off\"\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emu := tgemu.New(tgemu.Options{})
			if err := emu.Start("127.0.0.1:0"); err != nil {
				t.Fatal(err)
			}
			defer emu.Close()
			s := startServe(t, map[string]string{envTelegramToken: emu.Token()},
				fmt.Sprintf("[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n[discord]\nenabled = false\n%s", emu.Endpoint(), tt.extra))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			citizen := tgemu.User{ID: 5151, FirstName: "Rosa", LanguageCode: "en"}
			if _, err := emu.Post(tgemu.Incoming{From: citizen, Text: "The inspector wanted a bribe"}); err != nil {
				t.Fatal(err)
			}
			ack, err := emu.WaitSent(ctx, func(m tgemu.SentMessage) bool { return m.Chat == citizen.ID })
			if err != nil {
				t.Fatalf("no acknowledgement: %v; logs:\n%s", err, s.logs)
			}
			db := wiringOpenDB(t, s.dbPath)
			if n := wiringCount(t, db, `SELECT count(*) FROM tags WHERE kind = 'topic' AND value = 'corruption'`); n != 1 {
				t.Fatalf("the report was not tagged corruption (%d tags); ack %q", n, ack.Text)
			}
			if got := strings.Contains(ack.Text, responder.SensitiveNotice("en")); got != tt.protected {
				t.Errorf("acknowledgement carries the identity-protection text: %v, want %v\n%s", got, tt.protected, ack.Text)
			}

			// A second line joins the case; the note, if any, is queued in
			// the same transaction as the message is stored.
			if _, err := emu.Post(tgemu.Incoming{From: citizen, Text: "He said it would speed up my file"}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for wiringCount(t, db, `SELECT count(*) FROM messages WHERE direction = 'in'`) < 2 {
				if time.Now().After(deadline) {
					t.Fatalf("second message not stored; logs:\n%s", s.logs)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := wiringCount(t, db, `SELECT count(DISTINCT case_id) FROM messages WHERE direction = 'in'`); n != 1 {
				t.Fatalf("the second message opened another case (%d cases)", n)
			}
			want := 1
			if tt.note {
				want = 2
			}
			if n := wiringCount(t, db, `SELECT count(*) FROM outbox`); n != want {
				t.Errorf("outbox rows = %d, want %d (acknowledgement%s)", n, want, map[bool]string{true: " and note"}[tt.note])
			}
			if tt.note {
				note, err := emu.WaitSent(ctx, func(m tgemu.SentMessage) bool {
					return m.Chat == citizen.ID && strings.HasPrefix(m.Text, "Added to your case")
				})
				if err != nil {
					t.Fatalf("no follow-up note: %v", err)
				}
				var ref string
				if err := db.QueryRow(`SELECT ref FROM cases`).Scan(&ref); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(note.Text, ref) {
					t.Errorf("note %q does not name the case %s", note.Text, ref)
				}
			}
			if err := s.shutdown(t); err != nil {
				t.Fatalf("shutdown: %v", err)
			}
		})
	}
}

// wiringCorrections builds a real SQLite database with cases officers
// corrected: a pattern the shipped model cannot know labelled housing /
// high, and thanks for benches labelled parks / low.
func wiringCorrections(t *testing.T, path string, housing, parks int) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cl, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	label := func(i int, text, topic string, u citybot.Urgency) {
		m := citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint(1000 + i)), ChatKind: citybot.ChatPrivate,
			ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint(1000 + i))}, Text: text}
		cls := cl.Classify(text, "")
		res, err := db.Ingest(ctx, citybot.Intake{Message: m, Classification: &cls, Mode: citybot.CaseJoinOrOpen, Window: time.Minute}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CorrectCase(ctx, res.Case.ID, topic, u, "olivia"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range housing {
		label(i, fmt.Sprintf("the zorblax in flat %d is making the quimbly worse", i), "housing", citybot.UrgencyHigh)
	}
	for i := range parks {
		label(100+i, fmt.Sprintf("many thanks for the lovely new benches number %d", i), "parks", citybot.UrgencyLow)
	}
}

// TestTrainFromStore runs `citybot train --from-store` through run() on a
// real SQLite file holding officers' corrections: it reports live and new
// accuracies, writes nothing without --switch or --out, writes beside the
// database with --switch, to [classifier] model once that is set, and to
// an explicit --out; the written model learnt the corrections.
func TestTrainFromStore(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "citybot.db")
	wiringCorrections(t, dbPath, 25, 10)
	shipped := filepath.Join(dir, "shipped.csv")
	if err := os.WriteFile(shipped, []byte("text,topic\nthe road is full of potholes,roads\nbins not collected,waste\nstreet light broken,lighting\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n", dbPath))
	pattern := "the zorblax in flat 77 is making the quimbly worse"

	// Without --switch or --out: a report, no file.
	r := runCLI(t, nil, "--config", cfg, "train", "--from-store", "--shipped", shipped)
	if r.code != exitOK {
		t.Fatalf("train --from-store: exit %d (%v)\n%s%s", r.code, r.err, r.stdout, r.stderr)
	}
	for _, want := range []string{"70 officer corrections", "live model " + classifier.DefaultModelName, "topic:", "urgency:", "on 7 held-back corrections", "not written", "shipped.csv (3 rows)"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("output lacks %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "new 100.0%") {
		t.Errorf("the new model should score every held-back housing and parks correction:\n%s", r.stdout)
	}
	beside := filepath.Join(dir, defaultRetrainModel)
	if _, err := os.Stat(beside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a model was written without --switch or --out: %v", err)
	}

	// --switch with no [classifier] model: citybot-model.bin beside the DB.
	r = runCLI(t, nil, "--config", cfg, "train", "--from-store", "--shipped", shipped, "--switch")
	if r.code != exitOK {
		t.Fatalf("train --from-store --switch: exit %d (%v)\n%s", r.code, r.err, r.stderr)
	}
	m, err := classifier.ReadModelFile(beside)
	if err != nil {
		t.Fatalf("--switch did not write %s: %v\n%s", beside, err, r.stdout)
	}
	c, err := classifier.NewWithModel(classifier.DefaultOptions(), m)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Classify(pattern, ""); got.Topic.Label != "housing" || got.Urgency != citybot.UrgencyHigh {
		t.Errorf("the written model classifies %q as %s/%s, want housing/high", pattern, got.Topic.Label, got.Urgency)
	}

	// With [classifier] model pointing at it, --switch rewrites that
	// file, and the live model reported is the city's.
	cfg2 := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n[classifier]\nmodel = %q\n", dbPath, beside))
	before, _ := os.Stat(beside)
	time.Sleep(10 * time.Millisecond)
	r = runCLI(t, nil, "--config", cfg2, "train", "--from-store", "--shipped", "none", "--switch")
	if r.code != exitOK {
		t.Fatalf("second --switch: exit %d (%v)\n%s", r.code, r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "live model "+m.Name()) || !strings.Contains(r.stdout, "([classifier] model)") ||
		!strings.Contains(r.stderr, "corrections and the topics' keywords only") {
		t.Errorf("second run output:\n%s%s", r.stdout, r.stderr)
	}
	if after, err := os.Stat(beside); err != nil || !after.ModTime().After(before.ModTime()) {
		t.Errorf("[classifier] model was not rewritten: %v", err)
	}

	// An explicit --out writes there, nothing else.
	out := filepath.Join(dir, "city.model")
	r = runCLI(t, nil, "--config", cfg, "train", "--from-store", "--shipped", shipped, "--out", out)
	if r.code != exitOK {
		t.Fatalf("--out: exit %d (%v)", r.code, r.err)
	}
	if m2, err := classifier.ReadModelFile(out); err != nil || !strings.HasPrefix(m2.Name(), "citybot-city-") {
		t.Errorf("--out model: %v", err)
	}

	// The audit log names the command line.
	db := wiringOpenDB(t, dbPath)
	if n := wiringCount(t, db, `SELECT count(*) FROM audit_log WHERE actor = ? AND action = 'model.train'`, trainActor); n != 4 {
		t.Errorf("model.train audit entries = %d, want 4", n)
	}
}

// TestTrainFromStoreErrors: no correction exits 1 with a clear message,
// no database exits 1 without creating one, a missing --shipped file
// exits 1, and bad combinations of flags exit 2.
func TestTrainFromStoreErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	db, err := store.Open(context.Background(), empty, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfgEmpty := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n", empty))
	missingDB := filepath.Join(dir, "none.db")
	cfgMissing := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n", missingDB))
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no corrections", []string{"--config", cfgEmpty, "train", "--from-store", "--shipped", "none", "--switch"}, exitRuntime, "no officer corrections"},
		{"no database", []string{"--config", cfgMissing, "train", "--from-store"}, exitRuntime, "no database at"},
		{"missing shipped", []string{"--config", cfgEmpty, "train", "--from-store", "--shipped", filepath.Join(dir, "nope.csv")}, exitRuntime, "no such file"},
		{"with --data", []string{"--config", cfgEmpty, "train", "--from-store", "--data", "x.csv"}, exitUsage, "--data cannot be used with --from-store"},
		{"switch alone", []string{"train", "--switch"}, exitUsage, "--switch needs --from-store"},
		{"train bad flag", []string{"train", "--colour"}, exitUsage, "not defined"},
		{"train stray argument", []string{"train", "--data", "x.csv", "--label", "topic", "--out", "m", "extra"}, exitUsage, "unexpected arguments"},
		{"train missing flags", []string{"train", "--label", "topic"}, exitUsage, "missing --data, --out"},
		{"train bad label", []string{"train", "--data", "x.csv", "--label", "colour", "--out", "m"}, exitUsage, "topic or urgency"},
		{"eval bad flag", []string{"eval", "--colour"}, exitUsage, "not defined"},
		{"eval missing data", []string{"eval"}, exitUsage, "missing --data"},
		{"eval stray argument", []string{"eval", "--data", "x.csv", "extra"}, exitUsage, "unexpected arguments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != tt.code || r.err == nil || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("exit %d, err %v; want exit %d mentioning %q", r.code, r.err, tt.code, tt.want)
			}
		})
	}
	if _, err := os.Stat(missingDB); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("train --from-store created a database: %v", err)
	}
	r := runCLI(t, nil, "train", "--help")
	if r.code != exitOK || !strings.Contains(r.stderr, "--from-store") || !strings.Contains(r.stderr, "-switch") {
		t.Errorf("train --help (exit %d) does not document --from-store:\n%s", r.code, r.stderr)
	}
}
