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

// buildBinary builds citybot into a temp dir once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "citybot")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestBinarySIGTERM runs the real binary in sandbox mode, sends it
// SIGTERM and checks it stops in order and exits 0; then checks the exit
// statuses of a usage error and a config error.
func TestBinarySIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n[http]\naddr = \"127.0.0.1:0\"\n[telegram]\npoll_timeout = \"1s\"\n", filepath.Join(dir, "c.db")))
	ready := filepath.Join(dir, "ready.json")
	cmd := exec.Command(bin, "--config", cfg, "serve", "--ready-file", ready)
	cmd.Env = append(os.Environ(), envTelegramToken+"=", envDiscordToken+"=")
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
	for _, part := range []string{"part=telegram ", "part=http ", "part=dispatcher ", "part=telegram_emulator ", "part=database"} {
		i := strings.Index(logs, "msg=stopped component=serve "+part)
		if i < last {
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
		c := exec.Command(bin, tt.args...)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		c.Run()
		if got := c.ProcessState.ExitCode(); got != tt.code {
			t.Errorf("citybot %v: exit %d, want %d\n%s", tt.args, got, tt.code, out.String())
		}
	}
}
