package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// runResult is what one call of run produced.
type runResult struct {
	err            error
	code           int
	stdout, stderr string
}

// runCLI calls run as main would, with env as the environment.
func runCLI(t *testing.T, env map[string]string, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, envMap(env), strings.NewReader(""), &out, &errb)
	if err != nil {
		reportError(&errb, err)
	}
	return runResult{err: err, code: exitCode(err), stdout: out.String(), stderr: errb.String()}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"--help", []string{"--help"}, []string{"Usage:", "citybot [--config PATH] [COMMAND]", "config", "version", "CITYBOT_TELEGRAM_TOKEN", "Exit status"}},
		{"-h", []string{"-h"}, []string{"Commands:"}},
		{"help", []string{"help"}, []string{"Commands:"}},
		{"help config", []string{"help", "config"}, []string{"citybot [--config PATH] config check", "-config"}},
		{"config --help", []string{"config", "--help"}, []string{"config check", "config show"}},
		{"version -h", []string{"version", "-h"}, []string{"citybot version"}},
		{"global flag then help", []string{"--config", "x.toml", "version", "--help"}, []string{"citybot version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			if r.code != exitOK {
				t.Fatalf("exit %d, err %v, stderr %q", r.code, r.err, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown global flag", []string{"--verbose"}, "flag provided but not defined: -verbose"},
		{"unknown command flag", []string{"version", "--json"}, "flag provided but not defined: -json"},
		{"missing flag value", []string{"--config"}, "flag needs an argument"},
		{"version with args", []string{"version", "now"}, "version takes no arguments"},
		{"config without subcommand", []string{"config"}, "config needs one subcommand"},
		{"config bad subcommand", []string{"config", "fix"}, "config needs one subcommand"},
		{"help for unknown", []string{"help", "nope"}, `unknown command "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			var ue *UsageError
			if !errors.As(r.err, &ue) {
				t.Fatalf("err = %v (%T), want *UsageError", r.err, r.err)
			}
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d", r.code, exitUsage)
			}
			if !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("stderr %q does not contain %q and a pointer to --help", r.stderr, tt.want)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	good := writeConfig(t, "[city]\nname = \"Lyon\"\n")
	bad := writeConfig(t, "[city]\nname = \"\"\nlanguages = [\"xx\"]\n[http]\nport = 80\n")
	invalid := writeConfig(t, "[http]\naddr = \"nowhere\"\n[log]\nlevel = \"loud\"\n")
	telegramOnly := writeConfig(t, "[discord]\nenabled = false\n")
	unknownAndInvalid := writeConfig(t, "telegram.mod = \"x\"\n[outbox]\nworkers = -3\n")
	forced := writeConfig(t, "[sandbox]\nenabled = true\n")
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"valid file", nil, []string{"--config", good, "config", "check"}, exitOK, []string{"OK: " + good, "telegram sandbox"}, nil},
		{"flag after command", nil, []string{"config", "--config", good, "check"}, exitOK, []string{"OK: " + good}, nil},
		{"from CITYBOT_CONFIG", map[string]string{envConfig: good}, []string{"config", "check"}, exitOK, []string{"OK: " + good}, nil},
		{"live token", map[string]string{envTelegramToken: "1:" + strings.Repeat("a", 30), envDiscordToken: "discord-token"}, []string{"--config", good, "config", "check"}, exitOK, []string{"telegram live", "discord live"}, nil},
		{"live without discord", map[string]string{envTelegramToken: "1:" + strings.Repeat("a", 30)}, []string{"--config", telegramOnly, "config", "check"}, exitOK, []string{"telegram live", "discord disabled"}, nil},
		{"one token missing", map[string]string{envTelegramToken: "1:" + strings.Repeat("a", 30)}, []string{"--config", good, "config", "check"}, exitUsage, nil, []string{envDiscordToken + ": is not set", "[discord] enabled = false"}},
		{"misspelt token", map[string]string{"CITYBOT_TELEGRAM_TOKNE": "1:" + strings.Repeat("a", 30), envDiscordToken: "discord-token"}, []string{"--config", good, "config", "check"}, exitUsage, nil, []string{envTelegramToken + ": is not set", "[telegram] enabled = false"}},
		{"sandbox forced", map[string]string{envTelegramToken: "1:" + strings.Repeat("a", 30)}, []string{"--config", forced, "config", "check"}, exitOK, []string{"telegram sandbox", "discord sandbox"}, nil},
		{"unknown key", nil, []string{"--config", bad, "config", "check"}, exitUsage, nil, []string{`line 5: unknown key "http.port"`}},
		{"every problem", nil, []string{"--config", invalid, "config", "check"}, exitUsage, nil, []string{"2 problems", "http.addr", "log.level"}},
		{"unknown key and invalid value", nil, []string{"--config", unknownAndInvalid, "config", "check"}, exitUsage, nil, []string{"2 problems", `line 1: unknown key "telegram.mod"`, "outbox.workers: -3"}},
		{"missing file", nil, []string{"--config", "/nonexistent/citybot.toml", "config", "check"}, exitUsage, nil, []string{"/nonexistent/citybot.toml", "no such file"}},
		{"show", nil, []string{"--config", good, "config", "show"}, exitOK, []string{"[city]", `name = "Lyon"`, `window = "30m0s"`, "[outbox]", "[[classifier.topics]]"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d (err %v)", r.code, tt.code, r.err)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout %q does not contain %q", r.stdout, w)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not contain %q", r.stderr, w)
				}
			}
			if tt.code == exitOK && r.stderr != "" {
				t.Errorf("unexpected stderr %q", r.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, "version")
	if r.code != exitOK {
		t.Fatalf("exit %d: %v", r.code, r.err)
	}
	if !strings.HasPrefix(r.stdout, "citybot ") {
		t.Errorf("version output %q does not start with \"citybot \"", r.stdout)
	}
	if want := runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH; !strings.Contains(r.stdout, want) {
		t.Errorf("version output %q does not name the toolchain %q", r.stdout, want)
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("boom"), exitRuntime},
		{&UsageError{Command: "citybot", Msg: "x"}, exitUsage},
		{&ConfigError{Problems: []error{errors.New("x")}}, exitUsage},
		{errors.Join(errors.New("ctx"), &ConfigError{Problems: []error{errors.New("x")}}), exitUsage},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestTrainEvalDispatch checks that train and eval get their arguments
// untouched (their own flags, their own --help).
func TestTrainEvalDispatch(t *testing.T) {
	for _, name := range []string{"train", "eval"} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, nil, name, "--help")
			if r.code != exitOK {
				t.Errorf("%s --help: exit %d (%v)", name, r.code, r.err)
			}
			if !strings.Contains(r.stdout+r.stderr, "usage: citybot "+name) {
				t.Errorf("%s --help printed %q", name, r.stdout+r.stderr)
			}
			r = runCLI(t, nil, name, "--data", filepath.Join(t.TempDir(), "missing.csv"))
			if r.code == exitOK {
				t.Errorf("%s on a missing file: exit 0", name)
			}
		})
	}
}
