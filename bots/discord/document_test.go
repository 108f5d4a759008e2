package discord_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

// A document is uploaded as an attachment with its name, bytes and the
// content type of its extension, the text as the message's content; an
// empty file is refused before any call, and a document row has no
// nonce window (a crash leaves it "delivery unknown", never sent twice).
func TestSendDocumentThroughTheEmulator(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bot, err := discord.New(ctx, w.options(newFakeCursors()))
	if err != nil {
		t.Fatal(err)
	}
	var ds bots.DocumentSender = bot
	body := []byte(`{"messages":[{"text":"<b>é</b>"}]}`)
	f := citybot.File{Name: "my-data.json", Data: body}
	out := citybot.Outgoing{Key: "in:9:mydata", Platform: citybot.Discord, Chat: citybot.ChatID(w.general), Text: "Your data", File: &f}
	sent, err := ds.SendDocument(ctx, out, f)
	if err != nil {
		t.Fatal(err)
	}
	var got *dcemu.Message
	for _, m := range w.emu.Sent(w.general) {
		if m.ID == string(sent.ID) {
			got = &m
		}
	}
	if got == nil || got.Content != "Your data" || len(got.Attachments) != 1 || got.Attachments[0].Filename != "my-data.json" ||
		got.Attachments[0].ContentType != "application/json" || string(got.Attachments[0].Data) != string(body) {
		t.Fatalf("emulator got %+v", got)
	}
	if _, err := ds.SendDocument(ctx, out, citybot.File{Name: "x.json"}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("empty file: %v", err)
	}
	if wnd := bot.IdempotencyWindow(out); wnd != 0 {
		t.Errorf("a document row has a nonce window of %s", wnd)
	}
}
