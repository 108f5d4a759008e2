package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
