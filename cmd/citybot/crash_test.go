package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
// citizen messages, several times, restarting it each time on the same
// database. Then: every message is stored exactly once (nothing lost),
// every case has exactly one acknowledgement row, no citizen ever gets two
// acknowledgements, and each acknowledgement is either delivered exactly
// once (its case acknowledged) or, when a kill interrupted its send on
// Telegram (which cannot recognise a repeat), marked delivery unknown and
// not sent again (its case left new for an officer).
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
[grouping]
enabled = false
[outbox]
base_backoff = "100ms"
max_backoff = "1s"
poll_interval = "200ms"
`, dbPath, emu.Endpoint()))
	ready := filepath.Join(dir, "ready.json")
	env := envTelegramToken + "=" + emu.Token()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	const (
		kills    = 3
		burst    = 100 // citizens per burst, one message each
		citizens = kills * burst
	)
	userID := func(round, i int) int64 { return int64(5000 + round*1000 + i) }
	// acks counts the messages each chat received.
	acks := func() map[int64]int {
		n := map[int64]int{}
		for _, m := range emu.AllSent() {
			n[m.Chat]++
		}
		return n
	}
	p := startCitybot(t, cfg, ready, env)
	procs := []*proc{p}
	for round := range kills {
		for i := range burst {
			u := tgemu.User{ID: userID(round, i), FirstName: fmt.Sprintf("Citizen%d", i), LanguageCode: []string{"en", "fr"}[i%2]}
			if _, err := emu.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("Streetlight number %d on Main Street is broken", i)}); err != nil {
				t.Fatal(err)
			}
		}
		// Kill it once some, but not all, of this burst's
		// acknowledgements went out.
		roundAcked := func() int {
			n := 0
			for chat := range acks() {
				if chat >= userID(round, 0) && chat < userID(round, burst) {
					n++
				}
			}
			return n
		}
		if err := emu.WaitFor(ctx, func() bool { return roundAcked() >= 10 }); err != nil {
			t.Fatalf("round %d: no acknowledgements before the kill: %v\n%s", round, err, p.logs)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.wait()
		sentAtKill := roundAcked()
		t.Logf("round %d: killed after %d of %d acknowledgements", round, sentAtKill, burst)
		if sentAtKill >= burst {
			t.Fatalf("round %d: every acknowledgement went out before the kill; the test proved nothing", round)
		}
		p = startCitybot(t, cfg, ready, env)
		procs = append(procs, p)
	}

	// Wait until the last process has taken in every message and settled
	// every acknowledgement (sent, or delivery unknown), then stop it.
	db, err := store.Open(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for {
		cases, err := db.Inbox(ctx, citybot.CaseFilter{Limit: 10 * citizens})
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) >= citizens && st.Pending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d cases, %d acknowledgements still to send\n%s", len(cases), citizens, st.Pending, p.logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
	}

	bg := context.Background()
	cases, err := db.Inbox(bg, citybot.CaseFilter{Limit: 10 * citizens})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != citizens {
		t.Errorf("%d cases, want %d (one per citizen)", len(cases), citizens)
	}
	items, err := db.OutboxItems(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	ackRows := map[citybot.CaseID][]citybot.OutboxItem{}
	for _, it := range items {
		if it.Kind == citybot.OutboxAck {
			ackRows[it.Case] = append(ackRows[it.Case], it)
		}
	}
	got := acks()
	unknown, unknownDelivered := 0, 0
	for _, c := range cases {
		// Every message stored exactly once.
		conv, err := db.Conversation(bg, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		in := 0
		for _, e := range conv {
			if e.Direction == "in" {
				in++
			}
		}
		if in != 1 {
			t.Errorf("case %s holds %d citizen messages, want 1", c.Ref, in)
		}
		rows := ackRows[c.ID]
		if len(rows) != 1 {
			t.Errorf("case %s has %d acknowledgement rows, want 1", c.Ref, len(rows))
			continue
		}
		chat, err := strconv.ParseInt(string(rows[0].Out.Chat), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		switch rows[0].State {
		case citybot.OutboxSent:
			if got[chat] != 1 || c.Status != citybot.StatusAcknowledged {
				t.Errorf("case %s: acknowledgement sent, delivered %d times, case %s; want once, acknowledged", c.Ref, got[chat], c.Status)
			}
		case citybot.OutboxUnknown:
			unknown++
			if got[chat] > 1 || c.Status != citybot.StatusNew {
				t.Errorf("case %s: delivery unknown, delivered %d times, case %s; want at most once, new", c.Ref, got[chat], c.Status)
			}
			unknownDelivered += got[chat]
		default:
			t.Errorf("case %s: acknowledgement %s (%s), want sent or delivery unknown", c.Ref, rows[0].State, rows[0].LastError)
		}
	}
	dups := 0
	for chat, n := range got {
		if n > 1 {
			dups++
			t.Errorf("chat %d received %d messages: a duplicate", chat, n)
		}
	}
	unknownLogged := 0
	for _, q := range procs {
		unknownLogged += strings.Count(q.logs.String(), "delivery unknown:")
	}
	if unknown != unknownLogged {
		t.Errorf("%d rows delivery unknown, %d warnings logged", unknown, unknownLogged)
	}
	t.Logf("%d kills: duplicates %d; delivery unknown %d (of which the platform had in fact delivered %d)", kills, dups, unknown, unknownDelivered)
}
