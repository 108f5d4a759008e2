package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/internal/storetest"
	"citybot/store"
)

func digestDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "citybot.db")
	now := time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC) // in 2026-W47
	db, err := store.Open(context.Background(), path, store.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The second and third are sensitive (as the responder marks them):
	// by topic, and by the classifier's flag on a roads case.
	for i, text := range []string{"pothole on Main Street, call 0612345678", "corruption: bribe asked by the clerk",
		"the road crew fixes it only if I pay them cash"} {
		topic := []string{"roads", "corruption", "roads"}[i]
		_, err := db.Ingest(context.Background(), citybot.Intake{
			Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("c", i)), ChatKind: citybot.ChatPrivate,
				ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint("u", i)), Name: "Jane Roe"}, Text: text},
			Classification: &citybot.Classification{Topic: citybot.Scored{Label: topic, Confidence: 0.9}, Urgency: citybot.UrgencyNormal, Language: "en"},
			Mode:           citybot.CaseJoinOrOpen, Window: time.Minute, Sensitive: i > 0,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// digestEnv is the environment of a digest command reading the
// configuration file cfg, writing to out and errb.
func digestEnv(cfg string, out, errb *bytes.Buffer) *env {
	return &env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: out, stderr: errb, configPath: cfg}
}

func TestRunDigestPreviewChartExport(t *testing.T) {
	path := digestDB(t)
	ctx := context.Background()
	var out, errb bytes.Buffer
	// --db names the database; the configuration's [store] path is
	// another, which is never created.
	unused := filepath.Join(t.TempDir(), "unused.db")
	e := digestEnv(writeConfig(t, fmt.Sprintf("[store]\npath = %q\n", unused)), &out, &errb)
	if err := runDigest(ctx, e, []string{"preview", "--db", path, "--week", "2026-W47"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Received: 3 reports") || !strings.Contains(out.String(), "Reçus : 3 signalements") ||
		!strings.Contains(out.String(), "Citybot Town listening report") {
		t.Fatalf("preview:\n%s", out.String())
	}
	out.Reset()
	if err := runDigest(ctx, e, []string{"preview", "--db", path, "--week", "2026-W47", "--lang", "fr"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "Received: 3 reports") || !strings.Contains(out.String(), "Reçus : 3 signalements") {
		t.Fatalf("preview --lang fr:\n%s", out.String())
	}
	png1 := filepath.Join(t.TempDir(), "chart.png")
	if err := runDigest(ctx, e, []string{"chart", "--db", path, "--week", "2026-W47", "--out", png1}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatalf("chart is not a PNG: %v", err)
	}
	out.Reset()
	// Without --db, the configuration's database.
	e = digestEnv(writeConfig(t, fmt.Sprintf("[store]\npath = %q\n", path)), &out, &errb)
	if err := runDigest(ctx, e, []string{"export", "--from", "2026-11-01"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || strings.Contains(out.String(), "0612345678") || strings.Contains(out.String(), "corruption") {
		t.Fatalf("export (one case, no sensitive one, no text):\n%s", out.String())
	}
	if _, err := os.Stat(unused); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created at the configuration's path: %v", err)
	}
}

func TestRunDigestBadArguments(t *testing.T) {
	path := digestDB(t)
	var out, errb bytes.Buffer
	e := digestEnv(writeConfig(t, fmt.Sprintf("[store]\npath = %q\n", path)), &out, &errb)
	for _, args := range [][]string{
		{}, {"publish"}, {"preview", "--week", "2026-W60"}, {"chart"}, {"preview", "--lang", "de"},
		{"preview", "--tz", "Mars/Olympus"}, {"export", "--from", "yesterday"}, {"preview", "extra"},
	} {
		if err := runDigest(context.Background(), e, args); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("runDigest(%q) = %v, want ErrInvalid", args, err)
		}
	}
	out.Reset()
	if err := runDigest(context.Background(), e, []string{"--help"}); err != nil || !strings.Contains(out.String(), "Usage") {
		t.Fatalf("help: %v", err)
	}
}

func TestDigestConfigToOptionsAndJobs(t *testing.T) {
	opts, err := DigestOptions(DigestConfig{
		Timezone:  "Europe/Paris",
		Channels:  []DigestChannel{{Platform: "telegram", Chat: "-100"}, {Platform: "discord", Chat: "900", Language: "fr"}},
		Officials: DigestChannel{Platform: "telegram", Chat: "-200"}, Approvers: map[string]string{"42": "mayor"},
		FollowupDays: 5,
	}, RetentionConfig{MessageDays: 365})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Location.String() != "Europe/Paris" || len(opts.Channels) != 2 || opts.Approvers["42"] != "mayor" ||
		opts.FollowupAfter != 5*24*time.Hour || opts.Retention.MessageDays != 365 {
		t.Fatalf("options %+v", opts)
	}
	_, err = DigestOptions(DigestConfig{Timezone: "Nowhere/Land", Channels: []DigestChannel{{Platform: "irc", Chat: "x"}},
		Officers: DigestChannel{Platform: "telegram"}}, RetentionConfig{OutboxDays: -1})
	for _, key := range []string{"digest.timezone", "digest.channels[0]", "digest.officers", "retention"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
	db := storetest.SQLite(t, store.Options{})
	opts.Store, opts.Policy = db, testPolicy(t, DefaultConfig())
	d, err := accountability.NewDigester(opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewDigestScheduler(d, ScheduleConfig{Reminders: "off", Followups: "@hourly"}, db, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Names(), ","); got != "digest,followups,retention" {
		t.Fatalf("jobs %s", got)
	}
	// The jobs run under the store's leases: while another instance on
	// the database holds the followups job's lease, "run now" is refused.
	ctx := context.Background()
	if ok, err := db.TakeLease(ctx, "followups", "other-host:7:ab", time.Hour); err != nil || !ok {
		t.Fatalf("take lease: %v, %v", ok, err)
	}
	if err := s.RunNow(ctx, "followups"); !errors.Is(err, citybot.ErrDuplicate) {
		t.Fatalf("run now under another's lease: %v", err)
	}
	if l, err := db.LeaseOf(ctx, "followups"); err != nil || l.Holder != "other-host:7:ab" {
		t.Fatalf("lease %+v, %v", l, err)
	}
	if _, err := NewDigestScheduler(d, ScheduleConfig{Digest: "every monday"}, db, "", nil, nil); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("bad spec: %v", err)
	}
	err = ScheduleConfig{Digest: "every monday", Retention: "99 * * * *", Reminders: "off"}.Validate()
	if err == nil || !strings.Contains(err.Error(), "schedule.digest") || !strings.Contains(err.Error(), "schedule.retention") {
		t.Fatalf("validate: %v", err)
	}
	if err := (ScheduleConfig{}).Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	parts, err := NewDigestParts(db, DigestConfig{}, ScheduleConfig{}, RetentionConfig{}, testPolicy(t, DefaultConfig()), nil, nil, func() {}, nil, nil, "", nil)
	if err != nil || parts.Digester == nil || len(parts.Scheduler.Names()) != 4 {
		t.Fatalf("parts: %v", err)
	}
}

// "citybot digest draft" drafts a week on demand with the configuration:
// a first version, a second that replaces it, then nothing once the week
// is approved.
func TestRunDigestDraft(t *testing.T) {
	path := digestDB(t)
	cfg := dbConfig(t, path)
	for rev := 1; rev <= 2; rev++ {
		r := runCLI(t, nil, "--config", cfg, "digest", "draft", "--week", "2026-W47")
		if r.code != exitOK || !strings.Contains(r.stdout, fmt.Sprintf("Drafted 2026-W47, version %d", rev)) {
			t.Fatalf("draft #%d: exit %d %v\n%s\n%s", rev, r.code, r.err, r.stdout, r.stderr)
		}
	}
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := db.Digests(ctx, 10)
	if err != nil || len(ds) != 2 || ds[0].State != citybot.DigestDraft || ds[1].State != citybot.DigestChangesRequested ||
		ds[0].Figures.Received != 3 || ds[0].DraftedBy != "cli" {
		t.Fatalf("digests after two drafts: %d %v", len(ds), err)
	}
	if _, err := db.DecideDigest(ctx, ds[0].ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if r := runCLI(t, nil, "--config", cfg, "digest", "draft", "--week", "2026-W47"); r.code == exitOK || !strings.Contains(r.stderr, "approved already") {
		t.Fatalf("draft of an approved week: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "--config", cfg, "digest", "draft", "--week", "2026-W47", "--so-far"); r.code != exitUsage {
		t.Fatalf("--week with --so-far: exit %d", r.code)
	}
}
