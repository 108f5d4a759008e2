package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"citybot"
	"citybot/bots"
)

// TestReserveBeforeSend: Reserve takes the slot that the Send of the same
// key then uses (counted once), answers a full global limit with a
// platform-wide wait and a full channel (or one a 429 holds back) with a
// channel wait; Unreserve gives a slot back.
func TestReserveBeforeSend(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := &Bot{limiter: newLimiter(2, 3, 5*time.Second), credits: map[string]credit{}, redactor: strings.NewReplacer()}
	b.limiter.now = func() time.Time { return clock }
	row := func(ch, key string) citybot.Outgoing {
		return citybot.Outgoing{Key: key, Platform: citybot.Discord, Chat: citybot.ChatID(ch), Text: "ack"}
	}
	const c1, c2, c3 = "100000000000000001", "100000000000000002", "100000000000000003"
	if w, _ := b.Reserve(row(c1, "a")); w != 0 {
		t.Fatalf("Reserve a = %s", w)
	}
	if w, _ := b.Reserve(row(c2, "b")); w != 0 {
		t.Fatalf("Reserve b = %s", w)
	}
	if w, scope := b.Reserve(row(c3, "c")); w != time.Second || scope != bots.PacePlatform {
		t.Fatalf("third Reserve = %s %s, want 1s platform", w, scope)
	}
	if _, w := b.slotFor("a", c1); w != 0 {
		t.Fatalf("the Send of a did not find its slot: wait %s", w)
	}
	if n := len(b.limiter.global); n != 2 {
		t.Fatalf("%d global slots taken, want 2: a reserved slot was counted twice", n)
	}
	b.Unreserve(row(c2, "b"))
	if w, _ := b.Reserve(row(c3, "c")); w != 0 {
		t.Fatalf("Reserve after Unreserve = %s", w)
	}
	if _, w := b.slotFor("zz", c2); w == 0 {
		t.Fatal("a Send without a slot went over the global limit")
	}

	// A channel's own limit, and a 429 on it, hold that channel alone.
	clock = clock.Add(time.Second)
	b.limiter.perSec = 100
	for i := range 2 { // a took the first of c1's three
		if w, _ := b.Reserve(row(c1, string(rune('d'+i)))); w != 0 {
			t.Fatalf("channel slot %d: %s", i, w)
		}
	}
	if w, scope := b.Reserve(row(c1, "g")); w <= 0 || scope != bots.PaceChat {
		t.Fatalf("full channel: Reserve = %s %s, want a channel wait", w, scope)
	}
	rl := &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: 7 * time.Second}}}
	_ = b.sendError("send", rl, c2)
	if w, scope := b.Reserve(row(c2, "h")); w != 7*time.Second || scope != bots.PaceChat {
		t.Fatalf("after a 429 on the channel: Reserve = %s %s, want 7s channel", w, scope)
	}
	if w, _ := b.Reserve(row(c3, "i")); w != 0 {
		t.Fatalf("another channel after a 429: Reserve = %s, want a slot", w)
	}
}
