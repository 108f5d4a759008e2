package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"citybot/bots/telegram/tgemu"
)

// TestAcceptAlertsCrash runs citybot's real main in its own process with
// an officers' Telegram alert group, posts critical reports and SIGKILLs
// the process at different points (just after the posts, once the first
// alerts went out, once they all did), restarting it on the same
// database. At the end every critical case has its alert row sent
// (exactly one alert in the group) or delivery unknown (at most one), and
// no alert ever reached the group twice.
func TestAcceptAlertsCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts citybot's process; skipped with -short")
	}
	const group = int64(-100900)
	emu := acceptStartEmulator(t, tgemu.Options{})
	officer := tgemu.User{ID: 7001, FirstName: "Olivia"}
	if _, err := emu.Post(tgemu.Incoming{Chat: group, ChatTitle: "officers", From: officer, Text: "hello team"}); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	cfg := writeConfig(t, withoutGrouping(fmt.Sprintf(`[store]
path = %q
[http]
addr = "127.0.0.1:0"
[telegram]
api_endpoint = %q
poll_timeout = "1s"
[discord]
enabled = false
[outbox]
poll_interval = "200ms"
[alerts]
telegram_chats = [%d]
[surge]
enabled = false
`, dbPath, emu.Endpoint(), group)))

	posted := 0
	post := func(n int) {
		for range n {
			u := tgemu.User{ID: int64(61001 + posted), FirstName: "Resident", LanguageCode: "en"}
			if _, err := emu.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("there is a gas leak in our building number %d", posted)}); err != nil {
				t.Fatal(err)
			}
			posted++
		}
	}
	alerts := func() int { return len(emu.Sent(group)) }
	kills := 0
	for round := range 3 {
		before := alerts()
		p := acceptStartBinary(t, cfg, emu.Token())
		post(6)
		switch round {
		case 0: // the alerts are being queued or sent
		case 1: // once the first ones went out
			acceptEventually(t, 30*time.Second, func() (bool, string) { return alerts() > before, "no alert; logs:\n" + p.stderr.String() })
		case 2: // once all did
			acceptEventually(t, 30*time.Second, func() (bool, string) {
				return alerts() >= posted-kills*8, fmt.Sprintf("%d alerts for %d posts; logs:\n%s", alerts(), posted, p.stderr)
			})
		}
		p.kill(t)
		kills++
		t.Logf("round %d: %d alerts in the group after the kill", round, alerts())
	}

	// The last run drains everything and stops cleanly.
	p := acceptStartBinary(t, cfg, emu.Token())
	live := acceptOpenDB(t, dbPath)
	acceptEventually(t, 60*time.Second, func() (bool, string) {
		crit := acceptCount(t, live, `SELECT COUNT(*) FROM cases WHERE urgency = 'critical'`)
		due := acceptCount(t, live, `SELECT COUNT(*) FROM alerts WHERE state = 'due'`)
		out := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
		return emu.Pending() == 0 && crit == posted && due == 0 && out == 0,
			fmt.Sprintf("%d unconfirmed, %d/%d critical cases, %d alerts due, %d rows to send; logs:\n%s", emu.Pending(), crit, posted, due, out, p.stderr)
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.exited

	db := acceptOpenDB(t, dbPath)
	rows, err := db.Query(`SELECT k.ref, o.state, o.delivery_unknown FROM outbox o JOIN cases k ON k.id = o.case_id WHERE o.kind = 'alert' ORDER BY k.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen, sent, unknown := 0, 0, 0
	for rows.Next() {
		var ref, state string
		var flag int
		if err := rows.Scan(&ref, &state, &flag); err != nil {
			t.Fatal(err)
		}
		seen++
		n := 0
		for _, m := range emu.Sent(group) {
			if strings.Contains(m.Text, ref) {
				n++
			}
		}
		switch {
		case n > 1:
			t.Errorf("case %s: alerted %d times", ref, n)
		case state == "sent" && n != 1:
			t.Errorf("case %s: alert recorded sent, delivered %d times", ref, n)
		case state == "failed" && flag == 1:
			unknown++
		case state != "sent":
			t.Errorf("case %s: alert row %s (delivery_unknown=%d)", ref, state, flag)
		default:
			sent++
		}
	}
	if seen != posted {
		t.Errorf("%d alert rows for %d critical reports", seen, posted)
	}
	if got := alerts(); got > seen {
		t.Errorf("%d messages in the officers' group for %d alert rows", got, seen)
	}
	t.Logf("%d SIGKILLs, %d critical reports: %d alerts sent once, %d delivery unknown, 0 duplicates", kills, posted, sent, unknown)
}
