package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envRunMain makes the test binary run citybot's main instead of the
// tests: the process tests exec themselves, which tests the real main
// (signals, exit statuses) without a slow separate build.
const envRunMain = "CITYBOT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// citybotCmd returns a command running citybot's main with args.
func citybotCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1", envTelegramToken+"=", envDiscordToken+"=")
	return cmd
}

// TestBinarySIGTERM runs citybot's main in its own process in sandbox
// mode, sends it SIGTERM and checks it stops in order and exits 0; then
// checks the exit statuses of usage, config and runtime errors.
func TestBinarySIGTERM(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n[http]\naddr = \"127.0.0.1:0\"\n[telegram]\npoll_timeout = \"1s\"\n", filepath.Join(dir, "c.db")))
	ready := filepath.Join(dir, "ready.json")
	cmd := citybotCmd(t, "--config", cfg, "serve", "--ready-file", ready)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	var info readyInfo
	for {
		if data, err := os.ReadFile(ready); err == nil && json.Unmarshal(data, &info) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 30s:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if info.PID != cmd.Process.Pid {
		t.Errorf("ready file pid %d, want %d", info.PID, cmd.Process.Pid)
	}
	if code, _ := httpGet(t, "http://"+info.HTTPAddr+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30s after SIGTERM:\n%s", stderr.String())
	}
	logs := stderr.String()
	last := -1
	for _, part := range []string{"part=telegram ", "part=discord ", "part=http ", "part=retrain ", "part=media ", "part=alerts ", "part=surge ", "part=scheduler ", "part=dispatcher ", "part=telegram_emulator ", "part=discord_emulator ", "part=database"} {
		i := strings.Index(logs, "msg=stopped component=serve "+part)
		if i < 0 || i < last {
			t.Errorf("%q not logged after the previous step:\n%s", part, logs)
		}
		last = i
	}

	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"no-such-command"}, exitUsage},
		{[]string{"--config", writeConfig(t, "[http]\nport = 1\n"), "config", "check"}, exitUsage},
		{[]string{"--config", cfg, "config", "check"}, exitOK},
		{[]string{"--config", writeConfig(t, "[store]\npath = \"/nonexistent/dir/c.db\"\n"), "migrate"}, exitRuntime},
	} {
		c := citybotCmd(t, tt.args...)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		c.Run()
		if got := c.ProcessState.ExitCode(); got != tt.code {
			t.Errorf("citybot %v: exit %d, want %d\n%s", tt.args, got, tt.code, out.String())
		}
	}
}
