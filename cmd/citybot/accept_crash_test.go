package main

import (
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
)

// acceptProc is one run of the real citybot binary.
type acceptProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{} // closed once the process is gone; then err is set
	err    error
	ready  readyInfo
}

// acceptStartBinary is startBinaryEnv with the Telegram token.
func acceptStartBinary(t *testing.T, cfg, token string) *acceptProc {
	t.Helper()
	return startBinaryEnv(t, cfg, envTelegramToken+"="+token)
}

// startBinaryEnv is startCitybot with a ready file of its own.
func startBinaryEnv(t *testing.T, cfg string, env ...string) *acceptProc {
	t.Helper()
	return startCitybot(t, cfg, filepath.Join(t.TempDir(), "ready.json"), env...)
}

// startCitybot starts `citybot serve` with cfg in a process of its own
// (the test binary running citybot's real main, see citybotCmd) with the
// extra environment env ("NAME=value"; the last value of a name wins),
// and waits for its ready file at readyPath (removed first, so that a
// restart on the same path waits for its own). The process is killed at
// the end of the test if it still runs.
func startCitybot(t *testing.T, cfg, readyPath string, env ...string) *acceptProc {
	t.Helper()
	os.Remove(readyPath)
	p := &acceptProc{stderr: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = citybotCmd(t, "--config", cfg, "serve", "--ready-file", readyPath)
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill() // an error when it is gone already
		<-p.exited
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		// A file half written does not parse yet: wait for the whole.
		if data, err := os.ReadFile(readyPath); err == nil && json.Unmarshal(data, &p.ready) == nil {
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("citybot exited before ready: %v\n%s", p.err, dcTail(p.stderr.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("citybot not ready in 60s:\n%s", dcTail(p.stderr.String()))
		}
	}
}

// wait waits for the process to exit and returns Wait's result.
func (p *acceptProc) wait() error {
	<-p.exited
	return p.err
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *acceptProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// acceptCrashRounds is how many SIGKILLs TestAcceptCrash delivers:
// CITYBOT_ACCEPT_CRASH_ROUNDS, default 4 (raise it to measure how often a
// kill duplicates an acknowledgement).
func acceptCrashRounds(t *testing.T) int {
	if v := os.Getenv("CITYBOT_ACCEPT_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CITYBOT_ACCEPT_CRASH_ROUNDS=%q", v)
		}
		return n
	}
	return 4
}

// TestAcceptCrash runs citybot's real main in its own process against an emulator held by the
// test, posts bursts of citizen messages and stops the process at
// different points, restarting it on the same database each time:
//   - SIGKILL while acknowledgements are being sent;
//   - SIGKILL just after a restart, while it resends what was left;
//   - SIGKILL while a burst of updates is being stored;
//   - SIGTERM while acknowledgements are being sent (a graceful stop).
//
// Then it checks that no message was lost (every posted message stored
// exactly once, one case per citizen) and that no acknowledgement was ever
// sent twice. A send that a SIGKILL interrupts mid-flight is ambiguous
// (Telegram may or may not have taken it, and the Bot API has no
// idempotency key): the restart marks it "delivery unknown" and does not
// send it again, so every acknowledgement row ends either sent (the case
// acknowledged, exactly one message in the emulator) or delivery unknown
// (the case still new for an officer, at most one message in the
// emulator). Each such row is matched by the restart's warning, and a
// graceful stop leaves none at all. It logs how many rows a kill left
// ambiguous (CITYBOT_ACCEPT_CRASH_ROUNDS raises the number of stops).
//
// Rates are Telegram's defaults in citybot and in the emulator, so the
// 30/s global limit spreads each burst's acknowledgements over about two
// seconds: a kill lands among them.
func TestAcceptCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts citybot's process a few times; skipped with -short")
	}
	rounds := acceptCrashRounds(t)
	emu := acceptStartEmulator(t, tgemu.Options{})
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
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
poll_interval = "200ms"
`, dbPath, emu.Endpoint()))

	type posted struct {
		chat int64
		id   int
	}
	var all []posted
	next := 0
	burst := func(n int) {
		for range n {
			u := tgemu.User{ID: int64(50001 + next), FirstName: "Crash", LanguageCode: []string{"en", "fr"}[next%2]}
			p, err := emu.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("%s (crash report %d)", e2eTexts[next%len(e2eTexts)], next)})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, posted{p.Chat, p.MessageID})
			next++
		}
	}
	sent := func() int { return len(emu.AllSent()) }
	waitSent := func(n int, p *acceptProc) {
		t.Helper()
		acceptEventually(t, 30*time.Second, func() (bool, string) {
			return sent() >= n, fmt.Sprintf("%d messages sent, waiting for %d; logs:\n%s", sent(), n, p.stderr)
		})
	}
	unknownLogged := 0 // rows a restart found mid-send and gave up as delivery unknown
	kills := 0
	graceful := false // the previous run stopped on SIGTERM
	prevPID := 0      // the previous run's process id
	start := func() *acceptProc {
		t.Helper()
		return acceptStartBinary(t, cfg, emu.Token())
	}
	// A process settles the rows a killed one left mid-send once that
	// one's heartbeat has ended, so maybe one run later; each warning
	// names the process that claimed the row (claimed_by: host, process
	// id, random part). None may name a process that stopped gracefully.
	account := func(p *acceptProc, prevGraceful bool, prevPID int) {
		t.Helper()
		n := 0
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			if !strings.Contains(line, "delivery unknown:") {
				continue
			}
			n++
			if prevGraceful && strings.Contains(line, fmt.Sprintf(":%d:", prevPID)) {
				t.Errorf("after a graceful stop, a row it claimed was left mid-send: %s", line)
			}
		}
		unknownLogged += n
	}

	for round := range rounds {
		before := sent()
		var p *acceptProc
		switch round % 4 {
		case 0: // SIGKILL while acknowledgements flow
			p = start()
			burst(60)
			waitSent(before+10+round%7*3, p)
			p.kill(t)
		case 1: // the burst waits for a dead bot; SIGKILL once the restart sends
			burst(60)
			p = start()
			waitSent(before+1, p)
			p.kill(t)
		case 2: // SIGKILL while the burst is being stored
			p = start()
			pending := emu.Pending()
			burst(60)
			acceptEventually(t, 30*time.Second, func() (bool, string) {
				return emu.Pending() < pending+60, "no update taken"
			})
			time.Sleep(time.Duration(round%5) * 20 * time.Millisecond)
			p.kill(t)
		case 3: // SIGTERM while acknowledgements flow
			p = start()
			burst(60)
			waitSent(before+10, p)
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			<-p.exited
			if p.err != nil {
				t.Errorf("exit after SIGTERM: %v", p.err)
			}
		}
		account(p, graceful, prevPID)
		graceful, prevPID = round%4 == 3, p.cmd.Process.Pid
		if !graceful {
			kills++
		}
		t.Logf("round %d: stopped after %d messages sent in the round, %d updates unconfirmed", round, sent()-before, emu.Pending())
	}

	// The last run drains everything and stops cleanly.
	p := start()
	live := acceptOpenDB(t, dbPath)
	acceptEventually(t, 60*time.Second, func() (bool, string) {
		in := acceptCount(t, live, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`)
		out := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
		return emu.Pending() == 0 && in == len(all) && out == 0,
			fmt.Sprintf("%d unconfirmed, %d/%d stored, %d to send; logs:\n%s", emu.Pending(), in, len(all), out, p.stderr)
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit 30s after SIGTERM")
	}
	account(p, graceful, prevPID)

	db := acceptOpenDB(t, dbPath)
	for _, m := range all {
		if n := acceptStoredIn(t, db, m.chat, m.id); n != 1 {
			t.Errorf("message %d of chat %d stored %d times, want 1", m.id, m.chat, n)
		}
	}
	cases := acceptCases(t, db)
	if len(cases) != len(all) {
		t.Errorf("%d cases, want %d (one per citizen)", len(cases), len(all))
	}
	// Every acknowledgement row is sent (and delivered exactly once) or
	// delivery unknown (delivered at most once, case still new); none is
	// ever delivered twice.
	acks := acceptAcks(emu)
	unknown, unknownDelivered, delivered := 0, 0, 0
	for _, c := range cases {
		chat, _ := strconv.ParseInt(c.chat, 10, 64)
		n := acks[chat][c.ref]
		delivered += n
		var state, status string
		var flag int
		if err := db.QueryRow(`SELECT o.state, o.delivery_unknown, k.status FROM outbox o JOIN cases k ON k.id = o.case_id
			WHERE k.ref = ? AND o.kind = 'ack'`, c.ref).Scan(&state, &flag, &status); err != nil {
			t.Errorf("case %s: acknowledgement row: %v", c.ref, err)
			continue
		}
		switch {
		case n > 1:
			t.Errorf("case %s was acknowledged %d times", c.ref, n)
		case state == "sent":
			if n != 1 {
				t.Errorf("case %s: acknowledgement recorded sent but delivered %d times", c.ref, n)
			}
		case state == "failed" && flag == 1:
			unknown++
			unknownDelivered += n
			if status != string(citybot.StatusNew) {
				t.Errorf("case %s: delivery unknown but status %s, want new", c.ref, status)
			}
		default:
			t.Errorf("case %s: acknowledgement in state %s (delivery_unknown=%d), want sent or delivery unknown", c.ref, state, flag)
		}
	}
	if got := len(emu.AllSent()); got != delivered {
		t.Errorf("the emulator received %d messages, %d of them acknowledgements of these cases: something else was sent", got, delivered)
	}
	if unknown != unknownLogged {
		t.Errorf("%d acknowledgements delivery unknown, but %d warnings logged", unknown, unknownLogged)
	}
	if unknown > 8*kills {
		t.Errorf("%d rows delivery unknown after %d kills: more than the dispatcher's 8 workers can have in flight", unknown, kills)
	}
	t.Logf("%d SIGKILLs, %d messages, %d cases: 0 duplicates allowed; %d acknowledgements delivery unknown (%d of them had in fact reached the citizen)",
		kills, len(all), len(cases), unknown, unknownDelivered)
}
