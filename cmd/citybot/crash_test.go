package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram/tgemu"
	"citybot/store"
)

// proc is citybot's main running in its own process.
type proc struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

// wait waits for the process to exit and returns Wait's result.
func (p *proc) wait() error {
	<-p.done
	return p.err
}

// startCitybot starts citybot's main in its own process with the given
// config and environment and waits for its ready file. The process is
// killed at the end of the test if still running.
func startCitybot(t *testing.T, cfg, ready string, env ...string) *proc {
	t.Helper()
	os.Remove(ready)
	cmd := citybotCmd(t, "--config", cfg, "serve", "--ready-file", ready)
	cmd.Env = append(cmd.Env, env...)
	p := &proc{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		p.wait()
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		if data, err := os.ReadFile(ready); err == nil && json.Valid(data) {
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("citybot exited before ready: %v\n%s", p.err, p.logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("citybot not ready in 60s:\n%s", p.logs)
		}
	}
}

// TestCrashRestart kills citybot with SIGKILL in the middle of a burst of
// citizen messages and starts it again on the same database: every
// message is stored once, every case is acknowledged, and a citizen gets
// two acknowledgements only when the send was in flight at the kill (the
// platform accepted it, the outbox had not recorded it), which the
// restart logs as "possible duplicate".
func TestCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test; skipped with -short")
	}
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "crash.db")
	cfg := writeConfig(t, fmt.Sprintf(`[store]
path = %q
[http]
addr = "127.0.0.1:0"
[telegram]
api_endpoint = %q
poll_timeout = "1s"
[discord]
enabled = false
[outbox]
base_backoff = "100ms"
max_backoff = "1s"
poll_interval = "200ms"
`, dbPath, emu.Endpoint()))
	ready := filepath.Join(dir, "ready.json")
	env := envTelegramToken + "=" + emu.Token()

	first := startCitybot(t, cfg, ready, env)
	const citizens = 120
	for i := range citizens {
		u := tgemu.User{ID: int64(5000 + i), FirstName: fmt.Sprintf("Citizen%d", i), LanguageCode: []string{"en", "fr"}[i%2]}
		if _, err := emu.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("Streetlight number %d on Main Street is broken", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Kill it once some, but not all, acknowledgements went out.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := emu.WaitFor(ctx, func() bool { return len(emu.AllSent()) >= 10 }); err != nil {
		t.Fatalf("no acknowledgements before the kill: %v\n%s", err, first.logs)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait()
	sentAtKill := len(emu.AllSent())
	t.Logf("killed after %d of %d acknowledgements", sentAtKill, citizens)
	if sentAtKill >= citizens {
		t.Fatalf("every acknowledgement went out before the kill; the test proved nothing")
	}

	second := startCitybot(t, cfg, ready, env)
	acked := func() map[int64]int {
		n := map[int64]int{}
		for _, m := range emu.AllSent() {
			n[m.Chat]++
		}
		return n
	}
	if err := emu.WaitFor(ctx, func() bool { return len(acked()) >= citizens }); err != nil {
		t.Fatalf("only %d of %d citizens acknowledged after the restart: %v\n%s", len(acked()), citizens, err, second.logs)
	}
	// Wait until the restarted process has recorded every acknowledgement
	// (a case moves to acknowledged when its acknowledgement is marked
	// sent), then stop it.
	db, err := store.Open(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for {
		waiting, err := db.Inbox(ctx, citybot.CaseFilter{Statuses: []citybot.CaseStatus{citybot.StatusNew}})
		if err != nil {
			t.Fatal(err)
		}
		if len(waiting) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d cases still not acknowledged\n%s", len(waiting), second.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, second.logs)
	}

	// Every message stored once: one case per citizen, all acknowledged.
	cases, err := db.Inbox(context.Background(), citybot.CaseFilter{Limit: 10 * citizens})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != citizens {
		t.Errorf("%d cases, want %d (one per citizen)", len(cases), citizens)
	}
	for _, c := range cases {
		if c.Status != citybot.StatusAcknowledged {
			t.Errorf("case %s is %s, want acknowledged", c.Ref, c.Status)
		}
	}
	dups := 0
	for chat, n := range acked() {
		if n > 1 {
			dups++
			t.Logf("chat %d got %d messages", chat, n)
		}
	}
	// Known limit of the outbox (at-least-once): a row the platform had
	// accepted when the process died, but not yet recorded as sent, is
	// sent again at restart, with a warning. Such rows are at most the
	// dispatcher's workers.
	possible := strings.Count(second.logs.String(), "possible duplicate")
	if dups > 0 && possible == 0 {
		t.Errorf("%d citizens got two acknowledgements and the restart did not warn of possible duplicates", dups)
	}
	if workers := DefaultConfig().Outbox.Workers; dups > workers {
		t.Errorf("%d citizens got two acknowledgements; at most the %d sends in flight at the kill may be repeated", dups, workers)
	}
	t.Logf("duplicates: %d (restart warned of possible duplicates: %v)", dups, possible > 0)
}
