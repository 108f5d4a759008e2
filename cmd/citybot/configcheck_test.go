package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"citybot/classifier"
)

// TestConfigCheckListsEverything: values of the wrong type no longer stop
// the check; they are listed in file order with the unknown keys, the
// invalid values and the model file's problem, and exit status is 2.
func TestConfigCheckListsEverything(t *testing.T) {
	dir := t.TempDir()
	body := strings.Join([]string{
		`[outbox]`,
		`workers = "eight"`, // line 2: wrong type
		`max_attempts = -1`, // line 3: invalid value
		`[log]`,
		`level = 3`,       // line 5: wrong type
		`colour = "blue"`, // line 6: unknown key
		`[cases]`,
		`window = "soon"`, // line 8: not a duration
		`[classifier]`,
		`model = "` + filepath.Join(dir, "missing.model") + `"`,
	}, "\n") + "\n"
	cfg := writeConfig(t, body)
	r := runCLI(t, nil, "--config", cfg, "config", "check")
	if r.code != exitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
	}
	want := []string{
		"6 problems",
		`line 2: outbox.workers`,
		`line 5: log.level`,
		`line 6: unknown key "log.colour"`,
		`line 8: cases.window`,
		`classifier.model: the model file`,
	}
	at := -1
	for _, w := range want {
		i := strings.Index(r.stderr, w)
		if i < 0 {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
			continue
		}
		if i < at {
			t.Errorf("%q is out of order:\n%s", w, r.stderr)
		}
		at = i
	}
	// Validate's problems come after the decoding ones, and still come.
	if !strings.Contains(r.stderr, "outbox.max_attempts: -1") {
		t.Errorf("stderr lacks the invalid max_attempts:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "the value is text, but a whole number is wanted") {
		t.Errorf("the type problem is not in plain words:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "does not exist") || !strings.Contains(r.stderr, "citybot train") {
		t.Errorf("the missing model's problem does not say what to do:\n%s", r.stderr)
	}
}

// TestConfigCheckModelFiles: a missing, damaged or unreadable model file
// is a problem of config check (exit 2); a good one is OK, and a switched
// model that does not exist yet is no problem.
func TestConfigCheckModelFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.model")
	m, err := classifier.DefaultModel()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteFile(good); err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(dir, "damaged.model")
	if err := os.WriteFile(damaged, []byte("this is not a model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	retrainBad := filepath.Join(dir, "retrain-bad")
	if err := os.MkdirAll(retrainBad, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(retrainBad, "current.model"), []byte{0x1f, 0x8b, 0, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		code int
		want []string
	}{
		{"good model", "[classifier]\nmodel = " + quote(good) + "\n", exitOK, []string{"OK: "}},
		{"no switched model yet", "[retrain]\ndir = " + quote(filepath.Join(dir, "none")) + "\n", exitOK, []string{"OK: "}},
		{"missing model", "[classifier]\nmodel = " + quote(filepath.Join(dir, "nope.model")) + "\n", exitUsage,
			[]string{"classifier.model", "nope.model", "does not exist"}},
		{"damaged model", "[classifier]\nmodel = " + quote(damaged) + "\n", exitUsage,
			[]string{"classifier.model", "is not a model citybot can read"}},
		{"damaged switched model", "[retrain]\ndir = " + quote(retrainBad) + "\n", exitUsage,
			[]string{"retrain.dir", "current.model", "shipped model instead"}},
		{"model and another problem", "[classifier]\nmodel = " + quote(damaged) + "\n[log]\nlevel = \"loud\"\n", exitUsage,
			[]string{"2 problems", "log.level", "classifier.model"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, "--config", writeConfig(t, tt.body), "config", "check")
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout+r.stderr, w) {
					t.Errorf("output lacks %q:\n%s%s", w, r.stdout, r.stderr)
				}
			}
		})
	}
	t.Run("unreadable model", func(t *testing.T) {
		locked := filepath.Join(dir, "locked.model")
		if err := m.WriteFile(locked); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(locked, 0); err != nil {
			t.Fatal(err)
		}
		if f, err := os.Open(locked); err == nil {
			f.Close()
			t.Skip("this user reads any file (root): permissions cannot be tested")
		}
		r := runCLI(t, nil, "--config", writeConfig(t, "[classifier]\nmodel = "+quote(locked)+"\n"), "config", "check")
		if r.code != exitUsage || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("exit %d, stderr %s", r.code, r.stderr)
		}
	})
	t.Run("syntax error still stops", func(t *testing.T) {
		r := runCLI(t, nil, "--config", writeConfig(t, "[log]\nlevel = \n"), "config", "check")
		if r.code != exitUsage || !strings.Contains(r.stderr, "line 2") {
			t.Errorf("exit %d, stderr %s", r.code, r.stderr)
		}
	})
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `\`, `\\`) + `"` }
