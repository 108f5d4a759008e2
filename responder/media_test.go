package responder_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/internal/storetest"
	"citybot/internal/testclock"
	"citybot/responder"
	"citybot/store"
)

// fileBot is a platform whose files are served from a map (a unit-test
// fake of bots.FileFetcher).
type fileBot struct {
	fakeBot
	files map[string][]byte
	fails map[string]int // passing failures left per file
}

func (b *fileBot) FetchFile(ctx context.Context, a citybot.Attachment, max int64) ([]byte, error) {
	if b.fails[a.FileID] > 0 {
		b.fails[a.FileID]--
		return nil, errors.New("timeout")
	}
	data, ok := b.files[a.FileID]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: gone", citybot.ErrPermanent)
	case int64(len(data)) > max:
		return nil, fmt.Errorf("%w: %w", citybot.ErrPermanent, citybot.ErrTooLarge)
	}
	return data, nil
}

// jpegWithGPS is a small JPEG with an Exif segment holding a GPS
// position and a comment, as phones write them.
func jpegWithGPS(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 9))
	img.Set(3, 3, color.RGBA{200, 10, 10, 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	exif := append([]byte("Exif\x00\x00"), []byte("GPSLatitude 48.8566 GPSLongitude 2.3522")...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(exif)+2))
	com := []byte{0xFF, 0xFE, 0, 0}
	binary.BigEndian.PutUint16(com[2:], uint16(len("taken at home")+2))
	out := append([]byte{}, b[:2]...)
	out = append(out, seg...)
	out = append(out, exif...)
	out = append(out, com...)
	out = append(out, "taken at home"...)
	return append(out, b[2:]...)
}

// pngWithExif is a small PNG with eXIf and tEXt chunks.
func pngWithExif(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	chunk := func(typ, data string) []byte {
		c := make([]byte, 8, 12+len(data))
		binary.BigEndian.PutUint32(c, uint32(len(data)))
		copy(c[4:], typ)
		c = append(c, data...)
		return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	}
	// After the IHDR chunk (8 + 25 bytes).
	out := append([]byte{}, b[:33]...)
	out = append(out, chunk("eXIf", "MM\x00*GPSLatitude 48.8566")...)
	out = append(out, chunk("tEXt", "Comment\x00at 12 Rose Street")...)
	return append(out, b[33:]...)
}

// TestMediaKeeper: photos and voice notes are fetched through their
// platform's adapter and kept with the case, photos without their
// location; a file too large, not what it claims, gone, or from a
// platform that cannot fetch is refused with a reason; a passing failure
// is tried again later, then given up.
func TestMediaKeeper(t *testing.T) {
	ctx := context.Background()
	clock := testclock.New(weekStart.Add(8 * time.Hour))
	db := storetest.SQLite(t, store.Options{Now: clock.Now})
	photo, pngPhoto := jpegWithGPS(t), pngWithExif(t)
	voice := append([]byte("OggS\x00\x02"), bytes.Repeat([]byte{1}, 200)...)
	tg := &fileBot{fakeBot: fakeBot{t: t, platform: citybot.Telegram, maxText: 4096}, files: map[string][]byte{
		"photo": photo, "png": pngPhoto, "voice": voice, "big": bytes.Repeat([]byte{0xFF}, 3000), "fake": []byte("<html>not a photo</html>"),
		"flaky": photo,
	}, fails: map[string]int{"flaky": 1, "down": 100}}
	tg.files["down"] = photo
	atts := []citybot.Attachment{
		{Kind: citybot.AttachPhoto, FileID: "photo"}, {Kind: citybot.AttachPhoto, FileID: "png"}, {Kind: citybot.AttachVoice, FileID: "voice"},
		{Kind: citybot.AttachPhoto, FileID: "big"}, {Kind: citybot.AttachPhoto, FileID: "fake"}, {Kind: citybot.AttachPhoto, FileID: "gone"},
		{Kind: citybot.AttachPhoto, FileID: "flaky"}, {Kind: citybot.AttachPhoto, FileID: "down"}, {Kind: citybot.AttachDocument, FileID: "doc"},
	}
	in := citybot.Intake{Message: citybot.Message{Platform: citybot.Telegram, Chat: "c1", ChatKind: citybot.ChatPrivate, ID: "1",
		Sender: citybot.Sender{ID: "u1"}, Text: "look", Attachments: atts, SentAt: clock.Now()}, Mode: citybot.CaseJoinOrOpen, Window: time.Minute}
	res, err := db.Ingest(ctx, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A Discord photo, with no Discord adapter to fetch it.
	dm := in
	dm.Message.Platform, dm.Message.Chat, dm.Message.ID = citybot.Discord, "d1", "2"
	dm.Message.Attachments = []citybot.Attachment{{Kind: citybot.AttachPhoto, FileID: "https://cdn.discordapp.com/x.jpg"}}
	if _, err := db.Ingest(ctx, dm, nil); err != nil {
		t.Fatal(err)
	}
	k, err := responder.NewMediaKeeper(responder.MediaOptions{Store: db, Bots: []bots.Bot{tg}, Now: clock.Now, MaxPhoto: 2000, Tries: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := k.RunOnce(ctx); err != nil || n != 3 {
		t.Fatalf("first round: kept %d, %v", n, err)
	}
	clock.Set(clock.Now().Add(90 * time.Second)) // the retries are due
	if n, err := k.RunOnce(ctx); err != nil || n != 1 {
		t.Fatalf("second round: kept %d, %v", n, err)
	}
	clock.Set(clock.Now().Add(time.Hour))
	for i := 0; i < 3; i++ {
		if _, err := k.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		clock.Set(clock.Now().Add(time.Hour))
	}
	conv, err := db.Conversation(ctx, res.Case.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []citybot.Attachment
	for _, e := range conv {
		got = append(got, e.Attachments...)
	}
	want := map[string]struct {
		state  citybot.MediaState
		reason string
	}{
		"photo": {citybot.MediaKept, ""}, "png": {citybot.MediaKept, ""}, "voice": {citybot.MediaKept, ""},
		"big": {citybot.MediaRefused, "too_large:2000"}, "fake": {citybot.MediaRefused, "not_photo:text/html; charset=utf-8"},
		"gone": {citybot.MediaRefused, "gone:telegram"}, "flaky": {citybot.MediaKept, ""},
		"down": {citybot.MediaRefused, "gave_up:3"}, "doc": {"", ""},
		"https://cdn.discordapp.com/x.jpg": {citybot.MediaRefused, "no_fetcher:discord"},
	}
	for _, a := range got {
		w := want[a.FileID]
		if a.Kept != w.state || a.KeptReason != w.reason {
			t.Errorf("%s: %q %q, want %q %q", a.FileID, a.Kept, a.KeptReason, w.state, w.reason)
		}
		if a.Kept != citybot.MediaKept {
			continue
		}
		md, err := db.Media(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch a.FileID {
		case "photo", "flaky":
			if md.MIMEType != "image/jpeg" || bytes.Contains(md.Data, []byte("GPS")) || bytes.Contains(md.Data, []byte("Exif")) || bytes.Contains(md.Data, []byte("taken at home")) {
				t.Errorf("%s kept as %s with its metadata", a.FileID, md.MIMEType)
			}
			if img, err := jpeg.Decode(bytes.NewReader(md.Data)); err != nil || img.Bounds().Dx() != 16 {
				t.Errorf("%s: the kept photo does not decode: %v", a.FileID, err)
			}
		case "png":
			if md.MIMEType != "image/png" || bytes.Contains(md.Data, []byte("GPS")) || bytes.Contains(md.Data, []byte("Rose Street")) {
				t.Errorf("png kept as %s with its metadata", md.MIMEType)
			}
			if _, err := png.Decode(bytes.NewReader(md.Data)); err != nil {
				t.Errorf("png: the kept photo does not decode: %v", err)
			}
		case "voice":
			if md.MIMEType != "audio/ogg" || !bytes.Equal(md.Data, voice) {
				t.Errorf("voice kept as %s, %d bytes", md.MIMEType, len(md.Data))
			}
		}
	}
	if len(got) != len(atts) {
		t.Errorf("%d attachments in the conversation", len(got))
	}
}
