package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"citybot/classifier"
)

// clsWriteCSV writes rows (header first) to a temporary CSV file.
func clsWriteCSV(t *testing.T, rows [][]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// clsCityRows makes a small labelled data set: three topics, one of them
// new to citybot ("snow_removal"), plus urgency labels with one invalid.
func clsCityRows() [][]string {
	rows := [][]string{{"id", "text", "topic", "urgency"}}
	for i := range 40 {
		rows = append(rows,
			[]string{strconv.Itoa(3 * i), fmt.Sprintf("the snow on my street was not plowed again, day %d", i), "snow_removal", "normal"},
			[]string{strconv.Itoa(3*i + 1), fmt.Sprintf("garbage bins not collected on our block, week %d", i), "waste", "low"},
			[]string{strconv.Itoa(3*i + 2), fmt.Sprintf("gas leak and fire near the school, house %d", i), "public_safety", "critical"},
		)
	}
	rows = append(rows, []string{"999", "an urgent-ish message", "", "urgentish"})
	return rows
}

func TestTrainTopicThenEval(t *testing.T) {
	ctx := context.Background()
	data := clsWriteCSV(t, clsCityRows())
	model := filepath.Join(t.TempDir(), "city.model")
	var out, errb bytes.Buffer
	if err := runTrain(ctx, []string{"--data", data, "--label", "topic", "--out", model}, &out, &errb); err != nil {
		t.Fatalf("train: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "trained topic on 120 examples") {
		t.Errorf("train output: %q", out.String())
	}
	if !strings.Contains(errb.String(), `"snow_removal" (40)`) {
		t.Errorf("new topic not reported: %q", errb.String())
	}
	// "snow" and "plowed" are roads keywords, found in the 40 snow_removal messages
	if !strings.Contains(errb.String(), `weigh less in this model: "roads" (40)`) {
		t.Errorf("the faded keywords are not reported: %q", errb.String())
	}
	// waste and public_safety are corpus topics, snow_removal is not
	if !strings.Contains(errb.String(), "also learning from") || !strings.Contains(errb.String(), "city corpus") {
		t.Errorf("the city corpus is not reported: %q", errb.String())
	}
	m, err := classifier.ReadModelFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Has(classifier.KindUrgency) || m.Name() != "city" {
		t.Errorf("model %q lacks the default urgency head or its name", m.Name())
	}
	// --corpus=false: the data alone, so fewer words known
	own := filepath.Join(t.TempDir(), "own.model")
	var ob, oe bytes.Buffer
	if err := runTrain(ctx, []string{"--data", data, "--label", "topic", "--out", own, "--corpus=false"}, &ob, &oe); err != nil {
		t.Fatalf("train --corpus=false: %v\n%s", err, oe.String())
	}
	if strings.Contains(oe.String(), "city corpus") {
		t.Errorf("--corpus=false still reports the corpus: %q", oe.String())
	}
	if om, err := classifier.ReadModelFile(own); err != nil {
		t.Fatal(err)
	} else if om.Features(classifier.KindTopic) >= m.Features(classifier.KindTopic) {
		t.Errorf("features: %d without the corpus, %d with it", om.Features(classifier.KindTopic), m.Features(classifier.KindTopic))
	}

	out.Reset()
	errb.Reset()
	preds := filepath.Join(t.TempDir(), "preds.csv")
	if err := runEval(ctx, []string{"--data", data, "--model", model, "--json", "--predictions", preds}, &out, &errb); err != nil {
		t.Fatalf("eval: %v\n%s", err, errb.String())
	}
	var res struct {
		N     int `json:"n"`
		Topic struct {
			N        int     `json:"n"`
			Accuracy float64 `json:"accuracy"`
			MacroF1  float64 `json:"macro_f1"`
			PerClass map[string]struct {
				Precision, Recall, F1 float64
				Support               int
			} `json:"per_class"`
			Confusion map[string]map[string]int `json:"confusion"`
		} `json:"topic"`
		Urgency *struct {
			Accuracy      float64        `json:"accuracy"`
			UnknownLabels map[string]int `json:"unknown_labels"`
		} `json:"urgency"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("eval --json output is not JSON: %v\n%s", err, out.String())
	}
	if res.N != 121 || res.Topic.N != 120 {
		t.Errorf("n = %d, topic n = %d", res.N, res.Topic.N)
	}
	if res.Topic.Accuracy < 0.9 || res.Topic.MacroF1 < 0.9 {
		t.Errorf("trained on the same data: accuracy %.3f macro-F1 %.3f", res.Topic.Accuracy, res.Topic.MacroF1)
	}
	if s := res.Topic.PerClass["snow_removal"]; s.Support != 40 || s.F1 < 0.9 {
		t.Errorf("snow_removal: %+v", s)
	}
	if res.Urgency == nil || res.Urgency.UnknownLabels["urgentish"] != 1 {
		t.Errorf("urgency report %+v: the unknown label must be reported", res.Urgency)
	}
	if !strings.Contains(errb.String(), "urgentish") {
		t.Errorf("unknown urgency label not reported on stderr: %q", errb.String())
	}

	// One prediction row per message, scores in [0,1].
	f, err := os.Open(preds)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 122 || recs[0][2] != "topic" || recs[0][6] != "urgency_score" {
		t.Fatalf("%d prediction rows, header %v", len(recs), recs[0])
	}
	for _, r := range recs[1:] {
		for _, col := range []int{3, 5, 6} {
			v, err := strconv.ParseFloat(r[col], 64)
			if err != nil || v < 0 || v > 1 {
				t.Errorf("row %s column %s = %q", r[0], recs[0][col], r[col])
			}
		}
	}
	if recs[3][4] != "critical" || recs[3][2] != "public_safety" {
		t.Errorf("gas leak row predicted %v", recs[3])
	}
}

func TestTrainUrgency(t *testing.T) {
	data := clsWriteCSV(t, clsCityRows())
	model := filepath.Join(t.TempDir(), "urg.model")
	var out, errb bytes.Buffer
	if err := runTrain(context.Background(), []string{"--data", data, "--label", "urgency", "--out", model, "--name", "u1"}, &out, &errb); err != nil {
		t.Fatalf("train: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "unknown urgency levels") || !strings.Contains(errb.String(), "urgentish") {
		t.Errorf("invalid urgency label not reported: %q", errb.String())
	}
	m, err := classifier.ReadModelFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Labels(classifier.KindUrgency), ","); got != "critical,normal,low" {
		t.Errorf("urgency labels %s", got)
	}
	if !m.Has(classifier.KindTopic) {
		t.Error("topic head not kept from the shipped model")
	}
}

func TestTrainErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := clsWriteCSV(t, clsCityRows())
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("text,topic\n\"unterminated,roads\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noText := filepath.Join(dir, "notext.csv")
	if err := os.WriteFile(noText, []byte("message,topic\nhello,roads\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.model")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no flags", nil, "missing --data, --label, --out"},
		{"bad label", []string{"--data", data, "--label", "colour", "--out", out}, "topic or urgency"},
		{"missing file", []string{"--data", filepath.Join(dir, "nope.csv"), "--label", "topic", "--out", out}, "no such file"},
		{"malformed csv", []string{"--data", bad, "--label", "topic", "--out", out}, "line"},
		{"no text column", []string{"--data", noText, "--label", "topic", "--out", out}, `no "text" column`},
		{"no label column", []string{"--data", noText, "--label", "urgency", "--out", out}, "text"},
		{"unknown flag", []string{"--colour"}, "not defined"},
		{"bad trust", []string{"--data", data, "--label", "topic", "--out", out, "--trust", "2"}, "--trust"},
		{"corpus for urgency", []string{"--data", data, "--label", "urgency", "--out", out, "--corpus"}, "--label topic only"},
		{"corpus from store", []string{"--from-store", "--corpus=false"}, "--corpus cannot be used with --from-store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o, e bytes.Buffer
			err := runTrain(ctx, tt.args, &o, &e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	var o, e bytes.Buffer
	if err := runTrain(ctx, []string{"--help"}, &o, &e); err != nil || !strings.Contains(e.String(), "usage: citybot train") {
		t.Errorf("--help: %v %q", err, e.String())
	}
}

func TestClsProgressQuietThenLines(t *testing.T) {
	var b bytes.Buffer
	p := newClsProgress(&b, "training")
	for i := 0; i <= 100; i++ {
		p.update(i, 100)
	}
	p.done()
	if b.Len() != 0 {
		t.Fatalf("short run printed %q", b.String())
	}
	p = newClsProgress(&b, "training")
	p.start = p.start.Add(-2 * clsQuietFor) // a long run
	for i := 0; i <= 1000; i++ {
		p.update(i, 1000)
	}
	p.done()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) < 10 || len(lines) > 12 || !strings.HasPrefix(lines[len(lines)-1], "training: 100%") {
		t.Errorf("long run printed %d lines:\n%s", len(lines), b.String())
	}
}

// clsCityConfig writes dir/city.toml: head, then the three topics of
// clsCityRows as [[classifier.topics]] (snow_removal with the keywords
// "plowed" and "snow"), then extra; it returns the file's path.
func clsCityConfig(t *testing.T, dir, head, extra string) string {
	t.Helper()
	conf := filepath.Join(dir, "city.toml")
	text := head + `
[[classifier.topics]]
name = "snow_removal"
keywords = { en = ["plowed", "snow"] }

[[classifier.topics]]
name = "waste"
keywords = { en = ["garbage"] }

[[classifier.topics]]
name = "public_safety"
keywords = { en = ["fire"] }
` + extra
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return conf
}

// TestTrainCityTopics: topic training reads the city's topics and
// lexicon directory from --config: a label the city lists is not new, and
// the keywords of a topic without data (the config's and the lexicon
// directory's) are counted in the messages they are found in.
func TestTrainCityTopics(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	lex := filepath.Join(dir, "lexicons")
	if err := os.MkdirAll(lex, 0o755); err != nil {
		t.Fatal(err)
	}
	// "street" is in the 40 snow_removal messages, "block" in the 40 waste ones.
	if err := os.WriteFile(filepath.Join(lex, "en.toml"), []byte("[topics]\nnoise = [\"street\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := clsCityConfig(t, dir, "[classifier]\nlexicon_dir = \""+lex+"\"\n", `
[[classifier.topics]]
name = "noise"
keywords = { en = ["block"] }
`)
	data := clsWriteCSV(t, clsCityRows())
	model := filepath.Join(dir, "city.model")
	var out, errb bytes.Buffer
	if err := runTrain(ctx, []string{"--config", conf, "--data", data, "--label", "topic", "--out", model, "--corpus=false"}, &out, &errb); err != nil {
		t.Fatalf("train: %v\n%s", err, errb.String())
	}
	if strings.Contains(errb.String(), "new topics") {
		t.Errorf("a topic the city lists is reported as new: %q", errb.String())
	}
	if !strings.Contains(errb.String(), "topics and keywords from "+conf+" and "+lex) {
		t.Errorf("the city's topics are not said to be read: %q", errb.String())
	}
	if !strings.Contains(errb.String(), `weigh less in this model: "noise" (80)`) {
		t.Errorf("the city's keywords are not counted: %q", errb.String())
	}
	if strings.Contains(errb.String(), `"roads"`) {
		t.Errorf("a default topic the city does not list is counted: %q", errb.String())
	}
	m, err := classifier.ReadModelFile(model)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.KeywordSeen()["noise"]; got != 80 {
		t.Errorf("the model's keyword count for noise: %d, want 80", got)
	}

	// A configuration that cannot be used stops topic training.
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[classifier]\ncolour = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = runTrain(ctx, []string{"--config", bad, "--data", data, "--label", "topic", "--out", model}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("a bad configuration: err = %v, want it to name the unknown key", err)
	}
	// Urgency training does not read it.
	if err := runTrain(ctx, []string{"--config", bad, "--data", data, "--label", "urgency", "--out", model}, &out, &errb); err != nil {
		t.Errorf("urgency training with a bad configuration: %v", err)
	}
}
