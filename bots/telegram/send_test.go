package telegram_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

func out(chat int64, text string) citybot.Outgoing {
	kind := citybot.ChatPrivate
	if chat < 0 {
		kind = citybot.ChatGroup
	}
	return citybot.Outgoing{Key: "k", Platform: citybot.Telegram, Chat: citybot.ChatID(i64toa(chat)), ChatKind: kind, Text: text}
}

// fakeClock is a settable clock for the rate limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSendPlainTextWithReplyAndButtons(t *testing.T) {
	e := newEnv(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	b := e.bot(t, func(o *telegram.Options) { o.PerChat = telegram.Rate{N: -1} })
	p, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "<b>hello</b> & *bye*"})
	o := out(alice().ID, "Reçu <b>not bold</b> *not italic* _x_ — ref AB-12")
	o.ReplyTo = citybot.PlatformMessageID(itoa(p.MessageID))
	o.Buttons = [][]citybot.Button{{{Label: "Yes", Data: "confirm:1"}}, {{Label: "No", Data: "confirm:0"}}}
	sent, err := b.Send(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := e.emu.Sent(alice().ID)
	if len(got) != 1 {
		t.Fatalf("sent %d messages", len(got))
	}
	m := got[0]
	if m.Text != o.Text || m.ParseMode != "" || m.ReplyTo != p.MessageID || itoa(m.MessageID) != string(sent.ID) {
		t.Errorf("emulator got %+v; Send returned %+v", m, sent)
	}
	if len(m.Buttons) != 2 || m.Buttons[0][0] != (tgemu.Button{Text: "Yes", Data: "confirm:1"}) || m.Buttons[1][0].Data != "confirm:0" {
		t.Errorf("buttons = %+v", m.Buttons)
	}
	if sent.SentAt.IsZero() {
		t.Error("SentAt is zero")
	}
	if l := b.Limits(); l.MaxText != 4096 {
		t.Errorf("Limits = %+v", l)
	}

	// A reply to a message Telegram no longer has is still sent.
	o2 := out(alice().ID, "still delivered")
	o2.ReplyTo = "999999"
	if _, err := b.Send(context.Background(), o2); err != nil {
		t.Errorf("reply to a missing message: %v", err)
	}

	// Editor: change the text and drop the buttons.
	var ed bots.Editor = b
	if err := ed.Edit(context.Background(), o.Chat, sent.ID, out(alice().ID, "Edited text")); err != nil {
		t.Fatal(err)
	}
	after := e.emu.Sent(alice().ID)[0]
	if after.Text != "Edited text" || after.Edits != 1 || len(after.Buttons) != 0 {
		t.Errorf("after edit: %+v", after)
	}
	// An edit that changes nothing is not an error.
	if err := ed.Edit(context.Background(), o.Chat, sent.ID, out(alice().ID, "Edited text")); err != nil {
		t.Errorf("no-op edit: %v", err)
	}
}

func TestSendRejectsBadInputWithoutCallingTelegram(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	b := e.bot(t, nil)
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
	long := strings.Repeat("é", 4097)
	huge := strings.Repeat("x", 10<<20)
	cases := []struct {
		name string
		o    citybot.Outgoing
	}{
		{"empty", out(alice().ID, "")},
		{"blank", out(alice().ID, " \n\t ")},
		{"4097 runes", out(alice().ID, long)},
		{"2049 emoji are 4098 UTF-16 units", out(alice().ID, strings.Repeat("🚧", 2049))},
		{"10 MB", out(alice().ID, huge)},
		{"chat not a number", citybot.Outgoing{Chat: "@alice", Text: "x"}},
		{"no chat", citybot.Outgoing{Text: "x"}},
		{"bad reply id", func() citybot.Outgoing { o := out(alice().ID, "x"); o.ReplyTo = "abc"; return o }()},
		{"button data too long", func() citybot.Outgoing {
			o := out(alice().ID, "x")
			o.Buttons = [][]citybot.Button{{{Label: "L", Data: strings.Repeat("d", 65)}}}
			return o
		}()},
		{"button without label", func() citybot.Outgoing {
			o := out(alice().ID, "x")
			o.Buttons = [][]citybot.Button{{{Label: " ", Data: "d"}}}
			return o
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.Send(context.Background(), c.o)
			if !errors.Is(err, citybot.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error text is %d bytes long; it should not echo the input", len(err.Error()))
			}
		})
	}
	if n := e.emu.Stats().Calls["sendMessage"]; n != 0 {
		t.Errorf("Telegram was called %d times", n)
	}
	// Exactly 4096 UTF-16 units, invalid UTF-8 and control characters go through.
	for _, text := range []string{strings.Repeat("é", 4096), strings.Repeat("🚧", 2048), "bad \xff\xfe utf8", "ctl \x00\x01\x1b[31m red \u202e"} {
		if _, err := b.Send(context.Background(), out(alice().ID, text)); err != nil {
			var ra *citybot.RetryAfterError
			if errors.As(err, &ra) {
				continue // the per-chat limit; what matters is no crash and no ErrInvalid
			}
			t.Errorf("send %q: %v", text[:10], err)
		}
	}
	for _, m := range e.emu.Sent(alice().ID) {
		if strings.Contains(m.Text, "\xff") {
			t.Errorf("invalid UTF-8 reached Telegram: %q", m.Text)
		}
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := e.bot(t, func(o *telegram.Options) { o.PerChat, o.Now = telegram.Rate{N: -1}, clock.Now })
	ctx := context.Background()
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
	_, _ = e.emu.Post(tgemu.Incoming{From: bob(), Text: "hi"})

	t.Run("429 gives RetryAfterError with retry_after", func(t *testing.T) {
		e.emu.SetFaults(tgemu.Faults{RateLimitShare: 1, RetryAfter: 7, Methods: []string{"sendMessage"}})
		defer e.emu.SetFaults(tgemu.Faults{})
		_, err := b.Send(ctx, out(alice().ID, "hello"))
		var ra *citybot.RetryAfterError
		if !errors.As(err, &ra) || ra.After != 7*time.Second || !ra.Throttled {
			t.Fatalf("err = %#v, want RetryAfterError{7s, throttled}", err)
		}
		if errors.Is(err, citybot.ErrPermanent) {
			t.Error("a 429 is not permanent")
		}
		// The chat is now blocked locally: no call reaches Telegram.
		calls := e.emu.Stats().Calls["sendMessage"]
		_, err = b.Send(ctx, out(alice().ID, "again"))
		if !errors.As(err, &ra) || ra.After <= 0 || ra.After > 7*time.Second {
			t.Fatalf("second send: %v", err)
		}
		if e.emu.Stats().Calls["sendMessage"] != calls {
			t.Error("a send during retry_after reached Telegram")
		}
		// Every other chat pauses for a second too.
		if _, err = b.Send(ctx, out(bob().ID, "meanwhile")); !errors.As(err, &ra) || ra.After != time.Second {
			t.Fatalf("another chat during the pause: %v, want throttled for 1s", err)
		}
		if e.emu.Stats().Calls["sendMessage"] != calls {
			t.Error("a send to another chat during the pause reached Telegram")
		}
		clock.Add(time.Second)
	})
	t.Run("500 is transient", func(t *testing.T) {
		e.emu.SetFaults(tgemu.Faults{ServerErrorShare: 1, Methods: []string{"sendMessage"}})
		defer e.emu.SetFaults(tgemu.Faults{})
		_, err := b.Send(ctx, out(bob().ID, "hello"))
		var ra *citybot.RetryAfterError
		if err == nil || errors.Is(err, citybot.ErrPermanent) || errors.As(err, &ra) {
			t.Fatalf("err = %v, want a plain transient error", err)
		}
	})
	t.Run("HTML 502 is transient", func(t *testing.T) {
		e.emu.SetFaults(tgemu.Faults{BadGatewayShare: 1, Methods: []string{"sendMessage"}})
		defer e.emu.SetFaults(tgemu.Faults{})
		_, err := b.Send(ctx, out(bob().ID, "hello"))
		if err == nil || errors.Is(err, citybot.ErrPermanent) {
			t.Fatalf("err = %v, want a transient error", err)
		}
	})
	t.Run("unknown chat is permanent", func(t *testing.T) {
		_, err := b.Send(ctx, out(424242, "hello"))
		if !errors.Is(err, citybot.ErrPermanent) {
			t.Fatalf("err = %v, want ErrPermanent", err)
		}
	})
	t.Run("blocked by the user is permanent", func(t *testing.T) {
		e.emu.BlockChat(bob().ID, true)
		defer e.emu.BlockChat(bob().ID, false)
		_, err := b.Send(ctx, out(bob().ID, "hello"))
		if !errors.Is(err, citybot.ErrPermanent) || !strings.Contains(err.Error(), "blocked") {
			t.Fatalf("err = %v, want ErrPermanent (blocked)", err)
		}
	})
	t.Run("network down is transient and hides the token", func(t *testing.T) {
		e2 := newEnv(t, tgemu.Options{})
		b2 := e2.bot(t, nil)
		_, _ = e2.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
		_ = e2.emu.Close()
		_, err := b2.Send(ctx, out(alice().ID, "hello"))
		if err == nil || errors.Is(err, citybot.ErrPermanent) {
			t.Fatalf("err = %v", err)
		}
		assertNoToken(t, err.Error(), e2.emu.Token())
	})
}

// TestLocalRateLimits drives the limiter with a fake clock: bursts per chat,
// per group and overall are refused with a throttled RetryAfterError and no
// API call, then let through once the window moves on.
func TestLocalRateLimits(t *testing.T) {
	e := newEnv(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := e.bot(t, func(o *telegram.Options) { o.Now = clock.Now })
	ctx := context.Background()
	const group int64 = -777
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
	_, _ = e.emu.Post(tgemu.Incoming{Chat: group, From: alice(), Text: "/start"})
	throttled := func(err error) time.Duration {
		t.Helper()
		var ra *citybot.RetryAfterError
		if !errors.As(err, &ra) || !ra.Throttled {
			t.Fatalf("err = %v, want a throttled RetryAfterError", err)
		}
		return ra.After
	}

	// Per chat: a burst of 3, then about one a second.
	for i := range 3 {
		if _, err := b.Send(ctx, out(alice().ID, "burst")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	calls := e.emu.Stats().Calls["sendMessage"]
	if after := throttled(sendErr(b.Send(ctx, out(alice().ID, "too fast")))); after != 3*time.Second {
		t.Errorf("After = %s, want 3s", after)
	}
	if e.emu.Stats().Calls["sendMessage"] != calls {
		t.Error("a refused send reached Telegram")
	}
	clock.Add(3 * time.Second)
	if _, err := b.Send(ctx, out(alice().ID, "later")); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	// Per group: 20 a minute, even when the per-chat pace is respected.
	for i := range 20 {
		if _, err := b.Send(ctx, out(group, "group msg")); err != nil {
			t.Fatalf("group send %d: %v", i, err)
		}
		clock.Add(1100 * time.Millisecond)
	}
	after := throttled(sendErr(b.Send(ctx, out(group, "21st"))))
	if after <= 30*time.Second || after > time.Minute {
		t.Errorf("group After = %s, want the rest of the minute", after)
	}
	clock.Add(after)
	if _, err := b.Send(ctx, out(group, "next minute")); err != nil {
		t.Fatalf("after the group window: %v", err)
	}

	// Overall: 30 a second across chats.
	clock.Add(time.Minute)
	for i := range 30 {
		id := int64(9000 + i)
		_, _ = e.emu.Post(tgemu.Incoming{From: tgemu.User{ID: id, FirstName: "C"}, Text: "hi"})
		if _, err := b.Send(ctx, out(id, "x")); err != nil {
			t.Fatalf("global send %d: %v", i, err)
		}
	}
	_, _ = e.emu.Post(tgemu.Incoming{From: tgemu.User{ID: 9999, FirstName: "C"}, Text: "hi"})
	if after := throttled(sendErr(b.Send(ctx, out(9999, "31st")))); after != time.Second {
		t.Errorf("global After = %s, want 1s", after)
	}
}

// TestEmulatorEnforcesTelegramLimits turns the adapter's limiter off: the
// emulator then answers 429 like Telegram, and Send reports it.
func TestEmulatorEnforcesTelegramLimits(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	b := e.bot(t, func(o *telegram.Options) {
		o.PerChat, o.PerGroup, o.Global = telegram.Rate{N: -1}, telegram.Rate{N: -1}, telegram.Rate{N: -1}
	})
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
	var limited int
	for range 6 {
		_, err := b.Send(context.Background(), out(alice().ID, "flood"))
		var ra *citybot.RetryAfterError
		if errors.As(err, &ra) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// The first 429 blocks the chat locally for retry_after, so the
	// emulator refuses only one send and the adapter the others.
	if limited != 3 || e.emu.Stats().RateLimited != 1 {
		t.Errorf("limited = %d, emulator refused %d; want 3 and 1", limited, e.emu.Stats().RateLimited)
	}
	if n := len(e.emu.Sent(alice().ID)); n != 3 {
		t.Errorf("chat received %d messages in a burst, want 3", n)
	}
}

func sendErr(_ citybot.Sent, err error) error { return err }

func assertNoToken(t *testing.T, s, token string) {
	t.Helper()
	_, half, _ := strings.Cut(token, ":")
	if strings.Contains(s, token) || strings.Contains(s, half) {
		t.Errorf("token leaked in %q", s)
	}
}

// TestPrivateChat finds the private chat of a person who wrote in a group
// and sends there through the emulator; a person who never started the
// bot cannot be written to, and a malformed id is refused.
func TestPrivateChat(t *testing.T) {
	e := newEnv(t, tgemu.Options{BotUsername: "CityHallBot"})
	b := e.bot(t, func(o *telegram.Options) { o.ListenGroups = []int64{listenGroup}; o.PerChat = telegram.Rate{N: -1} })
	var pc bots.PrivateChatter = b // the capability, found as the pipeline finds it
	h := newHandler()
	run(t, b, h)
	ctx := context.Background()
	carol := tgemu.User{ID: 5003, FirstName: "Carol"}
	post := func(in tgemu.Incoming) {
		t.Helper()
		if _, err := e.emu.Post(in); err != nil {
			t.Fatal(err)
		}
	}
	post(tgemu.Incoming{From: bob(), Text: "/start"}) // bob opens his private chat
	post(tgemu.Incoming{Chat: listenGroup, ChatTitle: "Quartier", From: bob(), Text: "Someone asked me for a bribe"})
	post(tgemu.Incoming{Chat: listenGroup, ChatTitle: "Quartier", From: carol, Text: "Me too"})
	waitFor(t, "three messages", func() bool { return h.count() == 3 })
	var fromBob, fromCarol citybot.Message
	for _, m := range h.messages() {
		switch {
		case m.Chat == citybot.ChatID(i64toa(listenGroup)) && m.Sender.Name == "Bob":
			fromBob = m
		case m.Chat == citybot.ChatID(i64toa(listenGroup)):
			fromCarol = m
		}
	}
	chat, err := pc.PrivateChat(ctx, fromBob.Sender.ID)
	if err != nil || chat == fromBob.Chat {
		t.Fatalf("PrivateChat(bob) = %q, %v; want his private chat", chat, err)
	}
	if _, err := b.Send(ctx, citybot.Outgoing{Key: "p1", Platform: citybot.Telegram, Chat: chat, ChatKind: citybot.ChatPrivate,
		Text: "Let us go on here"}); err != nil {
		t.Fatalf("send to the private chat: %v", err)
	}
	if got := e.emu.Sent(bob().ID); len(got) != 1 || got[0].Text != "Let us go on here" {
		t.Errorf("bob's private chat holds %+v", got)
	}
	if got := e.emu.Sent(listenGroup); len(got) != 0 {
		t.Errorf("the group got %+v", got)
	}
	// Carol never started the bot: Telegram refuses for good.
	chat, err = pc.PrivateChat(ctx, fromCarol.Sender.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Send(ctx, citybot.Outgoing{Key: "p2", Platform: citybot.Telegram, Chat: chat, ChatKind: citybot.ChatPrivate, Text: "Hello"})
	if !errors.Is(err, citybot.ErrPermanent) {
		t.Errorf("send to a person who never started the bot: %v, want ErrPermanent", err)
	}
	for _, bad := range []citybot.UserID{"", "abc", "-1001000000777", "0", "99999999999999999999"} {
		_, err := pc.PrivateChat(ctx, bad)
		if !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("PrivateChat(%q) = %v, want ErrInvalid", bad, err)
		}
		if bad != "" && strings.Contains(err.Error(), string(bad)) {
			t.Errorf("error %q echoes the id", err)
		}
	}
}
