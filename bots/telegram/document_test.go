package telegram_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// A document goes through sendDocument with its name, bytes and caption;
// an empty file or a caption over the limit is refused before any call.
func TestSendDocumentThroughTheEmulator(t *testing.T) {
	e := newEnv(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	b := e.bot(t, func(o *telegram.Options) { o.PerChat = telegram.Rate{N: -1} })
	var ds bots.DocumentSender = b
	e.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
	body := []byte(`{"messages":[{"text":"<b>é</b> 🎉"}]}`)
	sent, err := ds.SendDocument(context.Background(), out(alice().ID, "Your data"), citybot.File{Name: "my-data.json", Data: body})
	if err != nil {
		t.Fatal(err)
	}
	var got *tgemu.SentMessage
	for _, m := range e.emu.Sent(alice().ID) {
		if m.Document != nil {
			got = &m
		}
	}
	if got == nil || got.Text != "Your data" || got.Document.Name != "my-data.json" || string(got.Document.Data) != string(body) ||
		itoa(got.MessageID) != string(sent.ID) {
		t.Fatalf("emulator got %+v", got)
	}
	if _, err := ds.SendDocument(context.Background(), out(alice().ID, "x"), citybot.File{Name: "x.json"}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("empty file: %v", err)
	}
	long := strings.Repeat("a", telegram.MaxCaption+1)
	if _, err := ds.SendDocument(context.Background(), out(alice().ID, long), citybot.File{Name: "x.json", Data: body}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("long caption: %v", err)
	}
}
