package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSendPhotoThroughTheEmulator(t *testing.T) {
	e := newEnv(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	b := e.bot(t, func(o *telegram.Options) { o.PerChat = telegram.Rate{N: -1} })
	var ps bots.PhotoSender = b
	e.emu.Post(tgemu.Incoming{From: alice(), Text: "hi"})
	o := out(alice().ID, "Reports by topic, week 2026-W47 <b>not bold</b>")
	o.Buttons = [][]citybot.Button{{{Label: "Open", Data: "x:1"}}}
	sent, err := ps.SendPhoto(context.Background(), o, "digest.png", tinyPNG(t))
	if err != nil {
		t.Fatal(err)
	}
	var photo *tgemu.Entry
	for _, en := range e.emu.Transcript(alice().ID) {
		if en.FromBot && en.Media == tgemu.MediaPhoto {
			photo = &en
		}
	}
	if photo == nil || photo.Text != o.Text || itoa(photo.MessageID) != string(sent.ID) || len(photo.Buttons) != 1 {
		t.Fatalf("emulator transcript has no photo with the caption: %+v", photo)
	}
	// Not an image: the emulator refuses it as Telegram does, for good.
	if _, err := ps.SendPhoto(context.Background(), out(alice().ID, "x"), "x.png", []byte("not a png")); !errors.Is(err, citybot.ErrPermanent) {
		t.Fatalf("bad image: %v", err)
	}
	// Refused locally: no image, a caption too long.
	if _, err := ps.SendPhoto(context.Background(), out(alice().ID, "x"), "x.png", nil); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("no image: %v", err)
	}
	long := make([]byte, telegram.MaxCaption+1)
	for i := range long {
		long[i] = 'a'
	}
	if _, err := ps.SendPhoto(context.Background(), out(alice().ID, string(long)), "x.png", tinyPNG(t)); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("long caption: %v", err)
	}
	// 513 emoji are 513 runes but 1026 UTF-16 code units: too long.
	if _, err := ps.SendPhoto(context.Background(), out(alice().ID, strings.Repeat("🚧", 513)), "x.png", tinyPNG(t)); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("caption of 1026 UTF-16 units: %v", err)
	}
	if st := e.emu.Stats(); st.Calls["sendPhoto"] != 2 {
		t.Fatalf("sendPhoto calls %d, want 2", st.Calls["sendPhoto"])
	}
}
