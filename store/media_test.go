package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"citybot"
)

// TestMediaLifecycle: a photo and a voice note of a case are pending; a
// kept one is served with its case, a refused one says why and is not
// pending any more, a retried one comes back once due; a document is not
// a kind asked for; erasing the citizen deletes the copies.
func TestMediaLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		m := msg("c1", "1", "u1", "look at this pothole")
		m.Attachments = []citybot.Attachment{
			{Kind: citybot.AttachPhoto, FileID: "photo-1", MIMEType: "image/jpeg", Size: 1000},
			{Kind: citybot.AttachVoice, FileID: "voice-1", MIMEType: "audio/ogg", Size: 2000},
			{Kind: citybot.AttachDocument, FileID: "doc-1", Name: "report.pdf"},
		}
		res, err := db.Ingest(ctx, report(m, "roads", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		kinds := []citybot.AttachmentKind{citybot.AttachPhoto, citybot.AttachVoice}
		since := clk.Now().Add(-time.Hour)
		jobs, err := db.PendingMedia(ctx, since, kinds, 10)
		if err != nil || len(jobs) != 2 || jobs[0].Attachment.FileID != "photo-1" || jobs[1].Attachment.FileID != "voice-1" || jobs[0].Platform != citybot.Telegram {
			t.Fatalf("pending: %+v, %v", jobs, err)
		}
		photo, voice := jobs[0].Attachment.ID, jobs[1].Attachment.ID
		if err := db.KeepMedia(ctx, photo, "image/jpeg", []byte("jpeg bytes")); err != nil {
			t.Fatal(err)
		}
		if err := db.RetryMedia(ctx, voice, "timeout", clk.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if jobs, _ := db.PendingMedia(ctx, since, kinds, 10); len(jobs) != 0 {
			t.Errorf("pending before the retry is due: %+v", jobs)
		}
		clk.Add(2 * time.Minute)
		jobs, _ = db.PendingMedia(ctx, since, kinds, 10)
		if len(jobs) != 1 || jobs[0].Attachment.ID != voice || jobs[0].Tries != 1 {
			t.Fatalf("pending once the retry is due: %+v", jobs)
		}
		if err := db.RefuseMedia(ctx, voice, "too large"); err != nil {
			t.Fatal(err)
		}
		if jobs, _ := db.PendingMedia(ctx, since, kinds, 10); len(jobs) != 0 {
			t.Errorf("a refused file is pending: %+v", jobs)
		}
		md, err := db.Media(ctx, photo)
		if err != nil || md.Case != res.Case.ID || md.MIMEType != "image/jpeg" || !bytes.Equal(md.Data, []byte("jpeg bytes")) || md.Kind != citybot.AttachPhoto {
			t.Fatalf("media: %+v, %v", md, err)
		}
		if _, err := db.Media(ctx, voice); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("a refused file is served: %v", err)
		}
		conv, err := db.Conversation(ctx, res.Case.ID)
		if err != nil || len(conv) == 0 {
			t.Fatal(err)
		}
		atts := conv[0].Attachments
		if len(atts) != 3 || atts[0].Kept != citybot.MediaKept || atts[0].ID != photo || atts[1].Kept != citybot.MediaRefused || atts[1].KeptReason != "too large" || atts[2].Kept != "" {
			t.Errorf("conversation attachments: %+v", atts)
		}
		// The citizen's erasure takes the copies with the attachments.
		if _, err := db.ForgetCitizen(ctx, res.Citizen.ID, "admin", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Media(ctx, photo); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("the photo survived the citizen's erasure: %v", err)
		}
		if err := db.KeepMedia(ctx, photo, "image/jpeg", []byte("late")); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("a file fetched after the erasure was kept: %v", err)
		}
	})
}
