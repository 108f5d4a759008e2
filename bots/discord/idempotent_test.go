package discord_test

import (
	"context"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

// TestIdempotentSend: a Send repeated after a crash (same outbox key)
// posts nothing new: the emulator, like Discord, answers the nonce with
// the first message. This is what lets the dispatcher send an ambiguous
// row again.
func TestIdempotentSend(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bot, err := discord.New(ctx, w.options(newFakeCursors()))
	if err != nil {
		t.Fatal(err)
	}
	var is bots.IdempotentSender = bot
	out := citybot.Outgoing{Key: "in:42:ack#1", Platform: citybot.Discord, Chat: citybot.ChatID(w.general), Text: "Case K7M4QX opened"}
	if got := is.IdempotencyWindow(out); got <= 0 || got > 5*time.Minute {
		t.Errorf("window = %v, want within Discord's few minutes", got)
	}
	if got := is.IdempotencyWindow(citybot.Outgoing{Chat: out.Chat, Text: "x"}); got != 0 {
		t.Errorf("window without a key = %v, want 0 (no nonce sent)", got)
	}
	first, err := bot.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	again, err := bot.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || len(w.emu.Sent(w.general)) != 1 || w.emu.Stats().NonceHits != 1 {
		t.Errorf("repeat: ids %s, %s; %d messages posted; stats %+v", first.ID, again.ID, len(w.emu.Sent(w.general)), w.emu.Stats())
	}
	// Another key posts.
	out.Key = "in:43:ack#1"
	if _, err := bot.Send(ctx, out); err != nil || len(w.emu.Sent(w.general)) != 2 {
		t.Errorf("other key: %v; %d messages", err, len(w.emu.Sent(w.general)))
	}
}
