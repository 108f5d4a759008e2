package discord_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/discord/dcemu"
)

// TestFetchFileThroughTheEmulator: a citizen's attachment, as the
// gateway delivers it, is downloaded byte for byte from the CDN (the
// emulator); a file over the limit and a URL outside Discord's CDN are
// refused for good; no error names the token.
func TestFetchFileThroughTheEmulator(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	h := newFakeHandler()
	r := w.start(t, h, w.options(newFakeCursors()))
	defer r.stop(t)
	voice := bytes.Repeat([]byte("OggS voice "), 100)
	m := w.post(t, w.general, w.alice.ID, "listen to this", dcemu.PostOptions{Attachments: []dcemu.Attachment{
		{Filename: "voice-message.ogg", ContentType: "audio/ogg", Data: voice}}})
	got := h.waitMessage(t, w.general, m.ID)
	if len(got.Attachments) != 1 {
		t.Fatalf("attachments: %+v", got.Attachments)
	}
	a := got.Attachments[0]
	var ff bots.FileFetcher = r.bot
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data, err := ff.FetchFile(ctx, a, 1<<20)
	if err != nil || !bytes.Equal(data, voice) {
		t.Fatalf("fetch: %d bytes, %v", len(data), err)
	}
	for name, tc := range map[string]struct {
		a   citybot.Attachment
		max int64
	}{
		"over the limit (as sent)":    {a, int64(len(voice)) - 1},
		"over the limit (as arrived)": {citybot.Attachment{Kind: a.Kind, FileID: a.FileID}, int64(len(voice)) - 1},
		"another host":                {citybot.Attachment{Kind: a.Kind, FileID: "http://169.254.169.254/latest/meta-data"}, 1 << 20},
		"plain http to the CDN":       {citybot.Attachment{Kind: a.Kind, FileID: "http://cdn.discordapp.com/attachments/1/2/x.ogg"}, 1 << 20},
		"unknown attachment":          {citybot.Attachment{Kind: a.Kind, FileID: w.emu.URL() + "/attachments/1/2/none.ogg"}, 1 << 20},
	} {
		_, err := ff.FetchFile(ctx, tc.a, tc.max)
		if !errors.Is(err, citybot.ErrPermanent) {
			t.Errorf("%s: %v, want a permanent refusal", name, err)
		}
		if tooLarge := strings.HasPrefix(name, "over the limit"); errors.Is(err, citybot.ErrTooLarge) != tooLarge {
			t.Errorf("%s: %v, too large: %v", name, err, tooLarge)
		}
		if err != nil {
			noToken(t, name, err.Error())
		}
	}
}
