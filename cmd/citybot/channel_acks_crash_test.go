package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/locale"
)

// batchHeader is the first line of a combined acknowledgement in English.
func batchHeader(t *testing.T) string {
	t.Helper()
	set, err := locale.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return set.Catalog("en").Text("chat.ack_batch")
}

// crashReporters is how many citizens report in the crash test.
const crashReporters = 12

// crashOutcome checks, once the restart has settled the outbox, that each
// reporter was named exactly once in the channel (the combined message a
// kill interrupted included), and returns the states of the
// acknowledgement rows by case status.
func crashOutcome(t *testing.T, db *sql.DB, reports []chanReport, sent []chanSent) (acknowledged, unknownNew int) {
	t.Helper()
	o := analyseChannel(reports, sent)
	for i, r := range reports {
		if n := o.named[r.user]; n != 1 {
			t.Errorf("reporter %d is named %d times in the channel, want exactly once", i, n)
		}
	}
	acknowledged = acceptCount(t, db, `SELECT COUNT(*) FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.kind = 'ack' AND o.state = 'sent' AND c.status = 'acknowledged'`)
	unknownNew = acceptCount(t, db, `SELECT COUNT(*) FROM outbox o JOIN cases c ON c.id = o.case_id
		WHERE o.kind = 'ack' AND o.state = 'failed' AND o.delivery_unknown = 1 AND c.status = 'new'`)
	if n := acceptCount(t, db, `SELECT COUNT(*) FROM outbox WHERE kind = 'ack'`); n != crashReporters || acknowledged+unknownNew != n {
		t.Errorf("%d acknowledgement rows: %d sent (case acknowledged), %d delivery unknown (case new); want %d, each one or the other",
			n, acknowledged, unknownNew, crashReporters)
	}
	return acknowledged, unknownNew
}

// TestChannelAcksCrash kills citybot (SIGKILL, its own process) after the
// platform took a combined acknowledgement and before citybot recorded it
// (the emulator withholds its answer until the process is gone), then
// restarts it on the same database. Every reporter is named exactly once
// in the channel:
//   - Telegram cannot recognise a repeat: the combined message and every
//     acknowledgement it carried become "delivery unknown", their cases
//     left new for an officer, none sent again; one warning says so.
//   - Discord recognises the repeat (the same nonce, the same recorded
//     text): the restart sends it again, Discord answers with the first
//     message, and every acknowledgement it carried is recorded sent.
func TestChannelAcksCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts citybot's process; skipped with -short")
	}
	t.Run("telegram", func(t *testing.T) {
		const group int64 = -1001600160016
		emu := acceptStartEmulator(t, tgemu.Options{})
		dbPath := filepath.Join(t.TempDir(), "citybot.db")
		cfg := writeConfig(t, withoutGrouping(fmt.Sprintf(`[store]
path = %q
[http]
addr = "127.0.0.1:0"
[telegram]
api_endpoint = %q
poll_timeout = "1s"
listen_groups = [%d]
[discord]
enabled = false
[outbox]
poll_interval = "100ms"
[surge]
enabled = false
`, dbPath, emu.Endpoint(), group)))
		held, release := emu.HoldAnswers(batchHeader(t))
		defer release()
		// The reports wait for a bot that is down: at its start they
		// are stored in a burst, and their acknowledgements combined.
		var reports []chanReport
		for i := range crashReporters {
			u := tgemu.User{ID: int64(810000 + i), FirstName: "Crash", LanguageCode: "en"}
			p, err := emu.Post(tgemu.Incoming{Chat: group, From: u, Text: channelText(i)})
			if err != nil {
				t.Fatal(err)
			}
			reports = append(reports, chanReport{user: strconv.FormatInt(u.ID, 10), id: strconv.Itoa(p.MessageID), at: p.At})
		}
		p := acceptStartBinary(t, cfg, emu.Token())
		select {
		case <-held:
		case <-time.After(60 * time.Second):
			t.Fatalf("no combined acknowledgement sent; logs:\n%s", p.stderr)
		}
		p.kill(t) // Telegram took it; citybot never heard back
		release()
		live := acceptOpenDB(t, dbPath)
		carried := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state = 'sending' AND batch_of IS NOT NULL`)
		if carried == 0 {
			t.Fatalf("the kill left no combined acknowledgement mid-send")
		}
		p2 := acceptStartBinary(t, cfg, emu.Token())
		acceptEventually(t, 60*time.Second, func() (bool, string) {
			n := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
			return n == 0, strconv.Itoa(n) + " outbox rows still to send"
		})
		var sent []chanSent
		for _, m := range emu.Sent(group) {
			c := chanSent{at: m.At}
			if m.ReplyTo != 0 {
				c.replyTo = strconv.Itoa(m.ReplyTo)
			}
			for _, mn := range m.Mentions {
				c.named = append(c.named, strconv.FormatInt(mn.User, 10))
			}
			sent = append(sent, c)
		}
		_, unknown := crashOutcome(t, live, reports, sent)
		if unknown != carried+1 {
			t.Errorf("%d acknowledgements delivery unknown, want the %d the interrupted message carried and its own", unknown, carried+1)
		}
		// The warning is logged just after the row is settled, and the
		// child's stderr is copied asynchronously: give it a moment.
		const warned = "delivery unknown: a crash interrupted"
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p2.stderr.String(), warned) && time.Now().Before(deadline); {
			time.Sleep(25 * time.Millisecond)
		}
		if n := strings.Count(p2.stderr.String(), warned); n != 1 {
			t.Errorf("%d delivery-unknown warnings at restart, want 1 (the combined message); logs:\n%s", n, p2.stderr)
		}
		if n := acceptCount(t, live, `SELECT COUNT(*) FROM audit_log WHERE action = 'outbox.delivery_unknown'`); n != carried+1 {
			t.Errorf("%d delivery-unknown audit entries, want one per case (%d)", n, carried+1)
		}
	})

	t.Run("discord", func(t *testing.T) {
		w := newDCWorld(t, dcemu.Options{}, 1, 0)
		w.combineAcks = true
		ch := w.channels[0]
		dbPath := filepath.Join(t.TempDir(), "citybot.db")
		cfg := writeConfig(t, w.config(dbPath, ""))
		held, release := w.emu.HoldAnswers(batchHeader(t))
		defer release()
		p := startBinaryEnv(t, cfg, envDiscordToken+"="+dcToken)
		ctx := ctxTimeout(t, 30*time.Second)
		if err := w.emu.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		var reports []chanReport
		for i := range crashReporters {
			u := w.emu.AddUser(fmt.Sprintf("crash%02d", i), false)
			m, err := w.emu.Post(ch, u.ID, channelText(i))
			if err != nil {
				t.Fatal(err)
			}
			reports = append(reports, chanReport{user: u.ID, id: m.ID, at: m.Timestamp})
		}
		select {
		case <-held:
		case <-time.After(60 * time.Second):
			t.Fatalf("no combined acknowledgement sent; logs:\n%s", p.stderr)
		}
		p.kill(t)
		release()
		live := acceptOpenDB(t, dbPath)
		carried := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state = 'sending' AND batch_of IS NOT NULL`)
		if carried == 0 {
			t.Fatalf("the kill left no combined acknowledgement mid-send")
		}
		hits := w.emu.Stats().NonceHits
		p2 := startBinaryEnv(t, cfg, envDiscordToken+"="+dcToken)
		acceptEventually(t, 60*time.Second, func() (bool, string) {
			n := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
			return n == 0, strconv.Itoa(n) + " outbox rows still to send"
		})
		var sent []chanSent
		for _, m := range w.emu.Sent(ch) {
			if m.FromBot {
				sent = append(sent, chanSent{at: m.Timestamp, named: m.Pinged, replyTo: m.ReplyTo})
			}
		}
		acked, unknown := crashOutcome(t, live, reports, sent)
		if acked != crashReporters || unknown != 0 {
			t.Errorf("%d acknowledged, %d unknown; want all %d acknowledged (Discord recognises the repeat)", acked, unknown, crashReporters)
		}
		if got := w.emu.Stats().NonceHits - hits; got != 1 {
			t.Errorf("%d repeats answered by Discord's nonce, want 1 (the combined message sent again); logs:\n%s", got, p2.stderr)
		}
	})
}
