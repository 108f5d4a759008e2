package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram/tgemu"
	"citybot/store"
)

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
	procs := []*acceptProc{p}
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
			t.Fatalf("round %d: no acknowledgements before the kill: %v\n%s", round, err, p.stderr)
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
			t.Fatalf("%d of %d cases, %d acknowledgements still to send\n%s", len(cases), citizens, st.Pending, p.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr)
	}

	r := checkStoredAndAckedOnce(t, db, emu, nil, citizens)
	unknownLogged := 0
	for _, q := range procs {
		unknownLogged += strings.Count(q.stderr.String(), "delivery unknown:")
	}
	if r.unknown != unknownLogged {
		t.Errorf("%d rows delivery unknown, %d warnings logged", r.unknown, unknownLogged)
	}
	t.Logf("%d kills: duplicates %d; delivery unknown %d (of which the platform had in fact delivered %d)", kills, r.duplicates, r.unknown, r.unknownDelivered)
}
