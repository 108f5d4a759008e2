package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// TestFetchFileThroughTheEmulator: a citizen's photo is downloaded with
// getFile and the file server, byte for byte; a file over the limit and
// an unknown file are refused for good; no error names the token.
func TestFetchFileThroughTheEmulator(t *testing.T) {
	e := newEnv(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	b := e.bot(t, func(o *telegram.Options) { o.PerChat = telegram.Rate{N: -1} })
	var ff bots.FileFetcher = b
	photo := tinyPNG(t)
	p, err := e.emu.Post(tgemu.Incoming{From: alice(), Text: "a pothole", Media: tgemu.MediaPhoto, MediaData: photo})
	if err != nil {
		t.Fatal(err)
	}
	a := citybot.Attachment{Kind: citybot.AttachPhoto, FileID: tgemu.FileID(tgemu.MediaPhoto, p.Chat, p.MessageID), Size: int64(len(photo))}
	got, err := ff.FetchFile(context.Background(), a, 1<<20)
	if err != nil || !bytes.Equal(got, photo) {
		t.Fatalf("fetch: %d bytes, %v", len(got), err)
	}
	for name, tc := range map[string]struct {
		a   citybot.Attachment
		max int64
	}{
		"over the limit (as sent)":     {a, int64(len(photo)) - 1},
		"over the limit (per getFile)": {citybot.Attachment{Kind: a.Kind, FileID: a.FileID}, int64(len(photo)) - 1},
		"unknown file":                 {citybot.Attachment{Kind: a.Kind, FileID: "nope"}, 1 << 20},
	} {
		_, err := ff.FetchFile(context.Background(), tc.a, tc.max)
		if !errors.Is(err, citybot.ErrPermanent) {
			t.Errorf("%s: %v, want a permanent refusal", name, err)
		}
		if tooLarge := strings.HasPrefix(name, "over the limit"); errors.Is(err, citybot.ErrTooLarge) != tooLarge {
			t.Errorf("%s: %v, too large: %v", name, err, tooLarge)
		}
		if err != nil && strings.Contains(err.Error(), e.emu.Token()) {
			t.Errorf("%s: the error names the token: %v", name, err)
		}
	}
}
