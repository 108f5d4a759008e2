package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"citybot/bots/telegram/tgemu"
)

// TestServeFaults runs serve against a Telegram emulator that answers a
// share of sends with 429 (retry_after), JSON 500 and HTML 502: every
// citizen still gets exactly one acknowledgement, and no chat, group or
// the bot as a whole ever exceeds Telegram's limits.
func TestServeFaults(t *testing.T) {
	limits := tgemu.DefaultLimits()
	limits.Disabled = true // the emulator records; CheckRates judges afterwards
	emu := tgemu.New(tgemu.Options{Limits: limits})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	emu.SetFaults(tgemu.Faults{
		RateLimitShare:   0.15,
		ServerErrorShare: 0.10,
		BadGatewayShare:  0.05,
		RetryAfter:       1,
		Methods:          []string{"sendMessage"},
		Seed:             7,
	})
	s := startServe(t, map[string]string{envTelegramToken: emu.Token()}, fmt.Sprintf(`[telegram]
api_endpoint = %q
poll_timeout = "1s"
[discord]
enabled = false
[outbox]
base_backoff = "50ms"
max_backoff = "500ms"
poll_interval = "100ms"
max_attempts = 20
`, emu.Endpoint()))

	const citizens = 40
	const group = int64(-1001234567)
	for i := range citizens {
		u := tgemu.User{ID: int64(9000 + i), FirstName: fmt.Sprintf("C%d", i), LanguageCode: "en"}
		in := tgemu.Incoming{From: u, Text: fmt.Sprintf("Overflowing bin number %d on Harbour Street", i)}
		if i%8 == 0 { // some in a group, mentioning the bot
			in.Chat, in.ChatTitle, in.Text = group, "City Square", "@"+emu.Bot().Username+" "+in.Text
		}
		if _, err := emu.Post(in); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := emu.WaitFor(ctx, func() bool { return len(emu.AllSent()) >= citizens }); err != nil {
		t.Fatalf("%d of %d acknowledgements: %v\n%s", len(emu.AllSent()), citizens, err, s.logs)
	}
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	sent := emu.AllSent()
	if len(sent) != citizens {
		t.Errorf("%d messages sent for %d citizens, want exactly one each", len(sent), citizens)
	}
	perChat := map[int64]int{}
	for _, m := range sent {
		perChat[m.Chat]++
	}
	if perChat[group] != citizens/8 {
		t.Errorf("group got %d acknowledgements, want %d", perChat[group], citizens/8)
	}
	st := emu.Stats()
	if st.InjectedFaults == 0 {
		t.Error("no fault was injected; the test proved nothing")
	}
	if err := emu.CheckRates(tgemu.DefaultLimits()); err != nil {
		t.Errorf("over Telegram's limits: %v", err)
	}
	t.Logf("%d acknowledgements through %d injected faults", len(sent), st.InjectedFaults)
}
