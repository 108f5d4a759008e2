package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"citybot/classifier"
)

// TestEvalShippedModelOnNewport runs the acceptance command of issue 2,
// `citybot eval --data ../shared/data/newport_en.csv --json`, with the
// shipped model.
func TestEvalShippedModelOnNewport(t *testing.T) {
	dir, err := classifier.FindSharedData(".")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	var out, errb bytes.Buffer
	if err := runEval(context.Background(), []string{"--data", filepath.Join(dir, "newport_en.csv"), "--json"}, &out, &errb); err != nil {
		t.Fatalf("eval: %v\n%s", err, errb.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	topic, ok := res["topic"].(map[string]any)
	if !ok || res["n"].(float64) != 513 {
		t.Fatalf("result %v", res)
	}
	for _, k := range []string{"accuracy", "macro_f1", "per_class", "confusion"} {
		if _, ok := topic[k]; !ok {
			t.Errorf("topic has no %q", k)
		}
	}
	roads := topic["per_class"].(map[string]any)["roads"].(map[string]any)
	for _, k := range []string{"precision", "recall", "f1", "support"} {
		if _, ok := roads[k]; !ok {
			t.Errorf("per_class.roads has no %q", k)
		}
	}
	if f1 := topic["macro_f1"].(float64); f1 < 0.4 {
		t.Errorf("shipped model macro-F1 on newport = %.3f", f1)
	}
	if _, ok := res["urgency"]; ok {
		t.Error("newport has no urgency column, yet urgency was scored")
	}
	t.Logf("shipped model on newport: accuracy %.3f, macro-F1 %.3f", topic["accuracy"], topic["macro_f1"])
}

func TestEvalText(t *testing.T) {
	data := clsWriteCSV(t, clsCityRows())
	var out, errb bytes.Buffer
	if err := runEval(context.Background(), []string{"--data", data}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"121 messages", "topic: 120 labelled", "macro-F1", "confusion", "urgency: 121 labelled", "public_safety"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// snow_removal is not a topic of the shipped model: reported.
	if !strings.Contains(errb.String(), "snow_removal") {
		t.Errorf("unknown topic not reported: %q", errb.String())
	}
}

func TestEvalErrors(t *testing.T) {
	ctx := context.Background()
	data := clsWriteCSV(t, clsCityRows())
	bad := filepath.Join(t.TempDir(), "bad.model")
	if err := os.WriteFile(bad, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "missing --data"},
		{[]string{"--data", data, "--model", bad}, "not a valid classifier model"},
		{[]string{"--data", data, "--model", filepath.Join(t.TempDir(), "none.model")}, "no such file"},
		{[]string{"--data", data, "extra"}, "unexpected arguments"},
	} {
		var o, e bytes.Buffer
		if err := runEval(ctx, tt.args, &o, &e); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("eval %v: err = %v, want %q", tt.args, err, tt.want)
		}
	}
	var o, e bytes.Buffer
	if err := runEval(ctx, []string{"--help"}, &o, &e); err != nil || !strings.Contains(e.String(), "usage: citybot eval") {
		t.Errorf("--help: %v %q", err, e.String())
	}
}

// TestEvalSensitive runs eval on a small file with a sensitive column:
// --predictions gains a sensitive column (true/false), and --json reports
// the precision and recall of the flag, which must agree with the
// predictions written.
func TestEvalSensitive(t *testing.T) {
	rows := [][]string{{"text", "topic", "sensitive"},
		{"the inspector said my shop would pass only if I gave him 300 cash", "corruption", "true"},
		{"un agent de la mairie m'a demandé 200 euros en liquide pour accélérer mon permis", "administration_permits", "1"},
		{"they hired the mayor's nephew", "corruption", "yes"},
		{"the officer at the checkpoint takes 20 from every driver", "public_safety", "true"},
		{"how much is the permit fee", "administration_permits", "false"},
		{"my property tax went up 200 euros", "taxes_budget", "0"},
		{"the parking fine was 35 euros", "transport", "no"},
		{"le prix du ticket de bus a augmenté", "transport", "false"},
		{"there is a pothole on Elm Street", "roads", ""},
		{"the street light is out", "street_lighting", "maybe"},
	}
	data := clsWriteCSV(t, rows)
	preds := filepath.Join(t.TempDir(), "preds.csv")
	var out, errb bytes.Buffer
	if err := runEval(context.Background(), []string{"--data", data, "--json", "--predictions", preds}, &out, &errb); err != nil {
		t.Fatalf("eval: %v\n%s", err, errb.String())
	}
	var res struct {
		N         int `json:"n"`
		Sensitive *struct {
			N, Support, Flagged int
			TruePositives       int `json:"true_positives"`
			FalsePositives      int `json:"false_positives"`
			FalseNegatives      int `json:"false_negatives"`
			Precision, Recall   float64
			Invalid             int
		} `json:"sensitive"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if res.Sensitive == nil {
		t.Fatalf("no sensitive report in %s", out.String())
	}
	s := res.Sensitive
	if res.N != 10 || s.N != 8 || s.Support != 4 || s.Invalid != 1 {
		t.Errorf("n %d, sensitive %+v: want 10 rows, 8 labelled, 4 true, 1 invalid", res.N, *s)
	}
	if !strings.Contains(errb.String(), "neither true nor false") {
		t.Errorf("invalid cell not reported: %q", errb.String())
	}

	f, err := os.Open(preds)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(recs[0], "sensitive")
	if col < 0 || len(recs) != len(rows) {
		t.Fatalf("predictions header %v, %d rows", recs[0], len(recs))
	}
	// Recompute the scores from the predictions file.
	var tp, fp, fn int
	for i, r := range recs[1:] {
		if r[col] != "true" && r[col] != "false" {
			t.Fatalf("row %d sensitive = %q", i+1, r[col])
		}
		gold, pred := rows[i+1][2], r[col] == "true"
		switch gold {
		case "true", "1", "yes":
			if pred {
				tp++
			} else {
				fn++
			}
		case "false", "0", "no":
			if pred {
				fp++
			}
		}
	}
	if s.TruePositives != tp || s.FalsePositives != fp || s.FalseNegatives != fn {
		t.Errorf("json %+v, predictions give tp %d fp %d fn %d", *s, tp, fp, fn)
	}
	wantP, wantR := 0.0, float64(tp)/4
	if tp+fp > 0 {
		wantP = float64(tp) / float64(tp+fp)
	}
	if math.Abs(s.Precision-wantP) > 1e-9 || math.Abs(s.Recall-wantR) > 1e-9 {
		t.Errorf("precision %.3f recall %.3f, want %.3f %.3f", s.Precision, s.Recall, wantP, wantR)
	}
	t.Logf("sensitive on the small file: precision %.2f, recall %.2f", s.Precision, s.Recall)

	// The text report has a sensitive line.
	out.Reset()
	if err := runEval(context.Background(), []string{"--data", data}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "sensitive: 8 labelled, 4 true") {
		t.Errorf("text report lacks the sensitive line:\n%s", out.String())
	}
}

// TestEvalConfig: eval builds the classifier from the configuration, as
// serve does: the city's topics and keywords tag messages the shipped
// model has no label for, and without --model the model retraining
// switched to is the one evaluated.
func TestEvalConfig(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := clsWriteCSV(t, clsCityRows())
	eval := func(args ...string) (map[string]any, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if err := runEval(ctx, append([]string{"--data", data, "--json"}, args...), &out, &errb); err != nil {
			t.Fatalf("eval %v: %v\n%s", args, err, errb.String())
		}
		var res map[string]any
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		return res, errb.String()
	}
	snowRecall := func(res map[string]any) float64 {
		t.Helper()
		pc := res["topic"].(map[string]any)["per_class"].(map[string]any)
		s, ok := pc["snow_removal"].(map[string]any)
		if !ok {
			t.Fatalf("no snow_removal in per_class: %v", pc)
		}
		return s["recall"].(float64)
	}
	res, stderr := eval()
	if r := snowRecall(res); r != 0 {
		t.Fatalf("without the city's topics, snow_removal recall %.2f: the test shows nothing", r)
	}
	if !strings.Contains(stderr, "the model shipped with citybot") {
		t.Errorf("stderr does not say which model: %q", stderr)
	}

	modelDir := filepath.Join(dir, "models")
	conf := clsCityConfig(t, dir, "[retrain]\ndir = \""+modelDir+"\"\n", "")
	res, stderr = eval("--config", conf)
	if r := snowRecall(res); r < 0.9 {
		t.Errorf("with the city's snow_removal keywords, its recall is %.2f, want at least 0.9", r)
	}
	if !strings.Contains(stderr, "[classifier] section of "+conf) {
		t.Errorf("stderr does not name the configuration: %q", stderr)
	}

	// A model switched to by retraining is the one evaluated.
	if err := os.MkdirAll(modelDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if err := runTrain(ctx, []string{"--data", data, "--label", "topic", "--out", filepath.Join(modelDir, "current.model"), "--corpus=false", "--name", "switched"}, &o, &e); err != nil {
		t.Fatalf("train: %v\n%s", err, e.String())
	}
	res, stderr = eval("--config", conf)
	if res["model"] != "switched" || !strings.Contains(stderr, "switched to by retraining") {
		t.Errorf("model %v, stderr %q: want the switched model", res["model"], stderr)
	}
	if r := snowRecall(res); r < 0.9 {
		t.Errorf("the switched model's snow_removal recall %.2f", r)
	}
	// --model still wins.
	if res, _ := eval("--config", conf, "--model", filepath.Join(modelDir, "current.model")); res["model"] != "switched" {
		t.Errorf("--model: model %v", res["model"])
	}
	if err := os.WriteFile(filepath.Join(modelDir, "current.model"), []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	var eo, ee bytes.Buffer
	if err := runEval(ctx, []string{"--data", data, "--config", conf}, &eo, &ee); err == nil || !strings.Contains(err.Error(), "retraining switched to") {
		t.Errorf("a damaged switched model: err = %v", err)
	}
}
