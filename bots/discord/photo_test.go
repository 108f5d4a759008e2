package discord_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

func TestSendPhotoThroughTheEmulator(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bot, err := discord.New(ctx, w.options(newFakeCursors()))
	if err != nil {
		t.Fatal(err)
	}
	var ps bots.PhotoSender = bot
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 5, 5))); err != nil {
		t.Fatal(err)
	}
	out := citybot.Outgoing{Key: "digest:2026-W47:discord:x:en:chart", Platform: citybot.Discord, Chat: citybot.ChatID(w.general),
		Text: "Reports by topic, week 2026-W47 @everyone"}
	sent, err := ps.SendPhoto(ctx, out, "digest-2026-W47.png", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var got *dcemu.Message
	for _, m := range w.emu.Sent(w.general) {
		if m.ID == string(sent.ID) {
			got = &m
		}
	}
	if got == nil || got.Content != out.Text || len(got.Attachments) != 1 || got.Attachments[0].Filename != "digest-2026-W47.png" ||
		got.Attachments[0].Size != buf.Len() {
		t.Fatalf("emulator got %+v", got)
	}
	if _, err := ps.SendPhoto(ctx, out, "x.png", []byte("not an image")); !errors.Is(err, citybot.ErrPermanent) {
		t.Fatalf("bad image: %v", err)
	}
	if _, err := ps.SendPhoto(ctx, out, "x.png", nil); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("no image: %v", err)
	}
}
