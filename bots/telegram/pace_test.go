package telegram_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// TestReserveBeforeSend: Reserve takes the slot the next Send of the
// same key uses (it is counted once), answers a full global limit with a
// platform-wide wait and a full chat with a chat wait, and Unreserve
// gives a slot back.
func TestReserveBeforeSend(t *testing.T) {
	e := newEnv(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := e.bot(t, func(o *telegram.Options) {
		o.Now = clock.Now
		o.Global = telegram.Rate{N: 2, Per: time.Second}
	})
	ctx := context.Background()
	users := []int64{6001, 6002, 6003}
	for _, u := range users {
		_, _ = e.emu.Post(tgemu.Incoming{From: tgemu.User{ID: u, FirstName: "P"}, Text: "hi"})
	}
	row := func(chat int64, key string) citybot.Outgoing {
		o := out(chat, "ack "+key)
		o.Key = key
		return o
	}
	for i, k := range []string{"a", "b"} {
		if w, _ := b.Reserve(row(users[i], k)); w != 0 {
			t.Fatalf("Reserve %s = %s, want a slot", k, w)
		}
	}
	w, scope := b.Reserve(row(users[2], "c"))
	if w <= 0 || w > time.Second || scope != bots.PacePlatform {
		t.Fatalf("third Reserve = %s %s, want a platform-wide wait of at most 1s", w, scope)
	}
	for i, k := range []string{"a", "b"} {
		if _, err := b.Send(ctx, row(users[i], k)); err != nil {
			t.Fatalf("Send %s with its slot: %v", k, err)
		}
	}
	var ra *citybot.RetryAfterError
	if _, err := b.Send(ctx, row(users[2], "c")); !errors.As(err, &ra) {
		t.Fatalf("Send without a slot over the global limit: %v, want throttled", err)
	}
	if n := len(e.emu.AllSent()); n != 2 {
		t.Fatalf("emulator received %d messages, want 2", n)
	}

	// A slot given back is free again.
	clock.Add(time.Second)
	if w, _ := b.Reserve(row(users[2], "c")); w != 0 {
		t.Fatalf("Reserve after the window = %s", w)
	}
	b.Unreserve(row(users[2], "c"))
	if w, _ := b.Reserve(row(users[0], "d")); w != 0 {
		t.Fatalf("Reserve after Unreserve = %s", w)
	}
	if w, _ := b.Reserve(row(users[1], "e")); w != 0 {
		t.Fatalf("second Reserve after Unreserve = %s: the slot was not given back", w)
	}

	// A full chat waits alone.
	clock.Add(time.Second)
	b.Unreserve(row(users[0], "d"))
	b.Unreserve(row(users[1], "e"))
	for i := range 3 {
		if _, err := b.Send(ctx, row(users[0], "burst"+itoa(i))); err != nil {
			t.Fatalf("burst %d: %v", i, err)
		}
		clock.Add(time.Second / 2)
	}
	if w, scope := b.Reserve(row(users[0], "f")); w <= 0 || scope != bots.PaceChat {
		t.Fatalf("Reserve in a full chat = %s %s, want a chat wait", w, scope)
	}
}

// TestRetryAfterPausesAllChats: a 429 pauses its chat for retry_after and
// every chat for a second, so the sends in flight elsewhere are not all
// refused in turn.
func TestRetryAfterPausesAllChats(t *testing.T) {
	e := newEnv(t, tgemu.Options{Faults: tgemu.Faults{RateLimitShare: 1, RetryAfter: 5, Methods: []string{"sendMessage"}}})
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := e.bot(t, func(o *telegram.Options) { o.Now = clock.Now })
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
	_, _ = e.emu.Post(tgemu.Incoming{From: bob(), Text: "hi"})
	var ra *citybot.RetryAfterError
	if _, err := b.Send(context.Background(), out(alice().ID, "x")); !errors.As(err, &ra) || ra.After != 5*time.Second {
		t.Fatalf("Send = %v, want a 429 with retry_after 5s", err)
	}
	if w, scope := b.Reserve(out(bob().ID, "y")); w != time.Second || scope != bots.PacePlatform {
		t.Errorf("another chat: Reserve = %s %s, want 1s platform", w, scope)
	}
	clock.Add(time.Second)
	if w, _ := b.Reserve(out(bob().ID, "y")); w != 0 {
		t.Errorf("another chat after 1s: Reserve = %s, want a slot", w)
	}
	if w, scope := b.Reserve(out(alice().ID, "z")); w != 4*time.Second || scope != bots.PaceChat {
		t.Errorf("the refused chat after 1s: Reserve = %s %s, want 4s chat", w, scope)
	}
}
