package main

import (
	"fmt"
	"testing"
	"time"

	"citybot/bots/telegram/tgemu"
)

// TestAcceptFaults runs serve against an emulator that answers a share of
// every API call (getUpdates and sendMessage alike) with 429 and a
// retry_after, a JSON 500, or an HTML 502 the client cannot decode, and
// that enforces Telegram's default sending limits. citybot runs with its
// default rates too. Every acknowledgement and every command answer must
// arrive exactly once, and no chat may receive more than its rate: at
// most 3 messages in 3 s per chat, 20 a minute per group, 30 a second
// overall (emulator CheckRates with the default limits, which counts what
// was accepted, so a limit broken only on the emulator's side would show
// too).
//
// Each private chat gets four messages in a burst (an acknowledgement and
// three command answers), so the per-chat limit must hold one back; 40
// chats at four each make 160 messages, so the 30/s global limit holds
// the burst back too. The group gets 14 messages: under its 20 a minute
// even with a few slots taken by HTML 502s (the message may have gone
// out, so the adapter keeps counting it), since waiting out the minute
// window would take a minute.
func TestAcceptFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on retry_after and rate limits; skipped with -short")
	}
	const (
		nPrivate = 40
		nGroup   = 14
		group    = int64(-1001000000777)
	)
	emu := acceptStartEmulator(t, tgemu.Options{Faults: tgemu.Faults{
		RateLimitShare: 0.1, ServerErrorShare: 0.1, BadGatewayShare: 0.1, RetryAfter: 1, Seed: 3,
	}})
	s := startServe(t, map[string]string{envTelegramToken: emu.Token()}, fmt.Sprintf(`[telegram]
api_endpoint = %q
poll_timeout = "1s"
listen_groups = [%d]
[discord]
enabled = false
[outbox]
base_backoff = "200ms"
max_backoff = "1s"
poll_interval = "200ms"
# One acknowledgement per case, replying to its report: combined ones in
# a busy group have their own tests (channel_acks_*_test.go).
combine_group_acks = false
`, emu.Endpoint(), group))

	for i := range nPrivate {
		u := tgemu.User{ID: int64(30001 + i), FirstName: "Fault", LanguageCode: []string{"en", "fr"}[i%2]}
		for _, text := range []string{fmt.Sprintf("%s (fault report %d)", e2eTexts[i%len(e2eTexts)], i), "/help", "/start", "/status"} {
			if _, err := emu.Post(tgemu.Incoming{From: u, Text: text}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range nGroup {
		u := tgemu.User{ID: int64(31001 + i), FirstName: "Fault", LanguageCode: "en"}
		if _, err := emu.Post(tgemu.Incoming{Chat: group, From: u, Text: fmt.Sprintf("%s (group fault report %d)", e2eTexts[i%len(e2eTexts)], i)}); err != nil {
			t.Fatal(err)
		}
	}
	const want = 4*nPrivate + nGroup

	live := acceptOpenDB(t, s.dbPath)
	acceptEventually(t, 60*time.Second, func() (bool, string) {
		n := len(emu.AllSent())
		out := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
		return emu.Pending() == 0 && n >= want && out == 0,
			fmt.Sprintf("%d unconfirmed updates, %d of %d messages sent, %d to send (now %s):%s",
				emu.Pending(), n, want, out, time.Now().UTC().Format(time.RFC3339Nano), acceptUnsent(t, live))
	})
	// Stop with faults still on: shutdown must not hang on them.
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	db := acceptOpenDB(t, s.dbPath)
	if got := len(emu.AllSent()); got != want {
		t.Errorf("the emulator received %d messages, want %d", got, want)
	}
	cases := acceptCases(t, db)
	if len(cases) != nPrivate+nGroup {
		t.Errorf("%d cases, want %d", len(cases), nPrivate+nGroup)
	}
	acceptCheckAcks(t, emu, cases)
	for i := range nPrivate {
		if n := len(emu.Sent(int64(30001 + i))); n != 4 {
			t.Errorf("private chat %d received %d messages, want 4", i, n)
		}
	}
	if n := acceptCount(t, db, `SELECT COUNT(*) FROM outbox WHERE state <> 'sent'`); n != 0 {
		t.Errorf("%d outbox rows not sent", n)
	}
	if n := acceptCount(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`); n != want {
		t.Errorf("%d messages stored, want %d", n, want)
	}

	if err := emu.CheckRates(tgemu.DefaultLimits()); err != nil {
		t.Error(err)
	}
	// The per-chat limit really held messages back: four sends to one
	// chat within 3 s would break it.
	for i := range nPrivate {
		if n := emu.MaxInWindow(int64(30001+i), 3*time.Second-100*time.Millisecond); n > 3 {
			t.Errorf("chat %d received %d messages within 3s", i, n)
		}
	}
	st := emu.Stats()
	if st.InjectedFaults == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
	if st.Calls["sendMessage"] <= want {
		t.Errorf("%d sendMessage calls for %d messages: no send was refused and retried", st.Calls["sendMessage"], want)
	}
	retried := acceptCount(t, db, `SELECT COUNT(*) FROM outbox WHERE attempts > 0 OR last_error <> ''`)
	t.Logf("faults injected %d, sendMessage calls %d, getUpdates calls %d, rate-limited by the emulator %d, rows that failed an attempt %d",
		st.InjectedFaults, st.Calls["sendMessage"], st.Calls["getUpdates"], st.RateLimited, retried)
}
