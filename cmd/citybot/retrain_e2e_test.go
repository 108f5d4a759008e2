package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram/tgemu"
	"citybot/classifier"
	"citybot/store"
)

// TestServeLoadsSwitchedModel: a model switched to with `citybot train
// --from-store --switch` is what serve, started afterwards on the same
// configuration, tags a citizen's message with (the Telegram emulator,
// the real client); a damaged model file is logged and serve starts on
// the shipped model instead of failing. It trains with [retrain] search =
// false (see TestTrainFromStore): what it checks is what serve loads.
func TestServeLoadsSwitchedModel(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "citybot.db")
	wiringCorrections(t, dbPath, 40, wiringGraffiti, "waste", "")
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n[http]\naddr = \"127.0.0.1:0\"\n[log]\nlevel = \"debug\"\nformat = \"json\"\n[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n[discord]\nenabled = false\n[retrain]\nsearch = false\n",
		dbPath, emu.Endpoint()))
	r := runCLI(t, nil, "--config", cfg, "train", "--from-store", "--shipped", "none", "--switch")
	if r.code != exitOK {
		t.Fatalf("train --from-store --switch: exit %d (%v)\n%s%s", r.code, r.err, r.stdout, r.stderr)
	}
	m, err := classifier.ReadModelFile(filepath.Join(dir, "citybot-model", "current.model"))
	if err != nil {
		t.Fatal(err)
	}

	s := serveAt(t, map[string]string{envTelegramToken: emu.Token()}, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	citizen := tgemu.User{ID: 6161, FirstName: "Rosa", LanguageCode: "en"}
	probe := wiringGraffiti(999)
	if _, err := emu.Post(tgemu.Incoming{From: citizen, Text: probe}); err != nil {
		t.Fatal(err)
	}
	if _, err := emu.WaitSent(ctx, func(m tgemu.SentMessage) bool { return m.Chat == citizen.ID }); err != nil {
		t.Fatalf("no acknowledgement: %v; logs:\n%s", err, s.logs)
	}
	db := wiringOpenDB(t, dbPath)
	var topic, model string
	err = db.QueryRow(`SELECT t.value, json_extract(m.classification, '$.Model') FROM messages m JOIN tags t ON t.case_id = m.case_id AND t.kind = 'topic'
		WHERE m.direction = 'in' AND m.text = ? ORDER BY t.id DESC LIMIT 1`, probe).Scan(&topic, &model)
	if err != nil {
		t.Fatalf("the probe's tags: %v", err)
	}
	if topic != "waste" || model != m.Name() {
		t.Errorf("serve tagged %q as %s by model %q, want waste by %s", probe, topic, model, m.Name())
	}
	if !strings.Contains(s.logs.String(), "serving the model switched to by retraining") {
		t.Errorf("serve did not log the switched model")
	}
	if err := s.shutdown(t); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// A damaged model file: an error log, and serve runs on the shipped model.
	if err := os.WriteFile(filepath.Join(dir, "citybot-model", "current.model"), []byte("citybot-classifier-model\ngarbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = serveAt(t, map[string]string{envTelegramToken: emu.Token()}, cfg)
	var found bool
	for _, l := range logLines(t, s.logs.String()) {
		if l["level"] == "ERROR" && strings.Contains(fmt.Sprint(l["msg"]), "cannot be read") && l["err"] != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("no error log for the damaged model; logs:\n%s", s.logs)
	}
	if err := s.shutdown(t); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// BenchmarkRetrainShipped measures one console retraining as serve wires
// it: 40 topic and 40 urgency corrections plus the embedded shipped data,
// 5-fold cross-validation, the final heads and the urgency check, with
// the topic head's inner search ([retrain] search = true, the default)
// and without, side by side. Run it with -benchtime=1x: one iteration
// takes seconds to minutes.
func BenchmarkRetrainShipped(b *testing.B) {
	for _, search := range []bool{true, false} {
		b.Run(fmt.Sprintf("search=%v", search), func(b *testing.B) { benchRetrainShipped(b, search) })
	}
}

func benchRetrainShipped(b *testing.B, search bool) {
	dbPath := filepath.Join(b.TempDir(), "citybot.db")
	wiringCorrections(b, dbPath, 40, wiringGraffiti, "waste", "")
	wiringCorrections(b, dbPath, 30, func(i int) string { return fmt.Sprintf("Water everywhere in the cellar of number %d, rising fast", i) }, "", citybot.UrgencyHigh)
	wiringCorrections(b, dbPath, 10, func(i int) string { return fmt.Sprintf("Thanks for the new bench number %d", i) }, "", citybot.UrgencyLow)
	cfg := DefaultConfig()
	cfg.Store.Path = dbPath
	cfg.Retrain.Search = search
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	base, live, err := servingClassifier(cfg, newLogger(LogConfig{Level: "error", Format: "text"}, io.Discard))
	if err != nil {
		b.Fatal(err)
	}
	rt, err := newRetrainer(cfg, db, nil, "", base, live, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := rt.Retrain(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Topic.Trained || !rep.Urgency.Trained || rep.Topic.Examples < 3000 {
			b.Fatalf("report = %+v", rep)
		}
	}
}

// TestShippedTrainingTable holds the embedded training table to what
// retraining needs and the licence allows: the columns training reads,
// the rows of disaster_en.csv (CC BY 4.0) when the shared data is at
// hand, and not one text of newport_en.csv (non-commercial).
func TestShippedTrainingTable(t *testing.T) {
	tab, err := shippedTraining()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"text", "topic", "source_categories", "request", "offer"} {
		if tab.Col(c) < 0 {
			t.Errorf("no %q column in %v", c, tab.Header)
		}
	}
	if len(tab.Rows) < 1000 || len(tab.Examples("topic")) < 1000 || len(classifier.UrgencyExamples(tab)) != len(tab.Rows) {
		t.Fatalf("%d rows, %d topic examples", len(tab.Rows), len(tab.Examples("topic")))
	}
	if len(shippedTrainingGz) > 300<<10 {
		t.Errorf("the embedded table is %d bytes: keep it under 300 kB", len(shippedTrainingGz))
	}
	dir, err := classifier.FindSharedData(".")
	if err != nil {
		t.Skip("shared data not found: the table's source is not checked")
	}
	src, err := classifier.ReadTableFile(filepath.Join(dir, "disaster_en.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Rows) != len(tab.Rows) {
		t.Errorf("%d rows embedded, disaster_en.csv has %d: run go generate ./cmd/citybot", len(tab.Rows), len(src.Rows))
	}
	np, err := classifier.ReadTableFile(filepath.Join(dir, "newport_en.csv"))
	if err != nil {
		t.Skip("newport_en.csv not found")
	}
	embedded := map[string]bool{}
	for _, r := range tab.Rows {
		embedded[r[tab.Col("text")]] = true
	}
	for _, r := range np.Rows {
		if txt := r[np.Col("text")]; txt != "" && embedded[txt] {
			t.Errorf("a newport_en.csv text is embedded: %.40q", txt)
		}
	}
}
