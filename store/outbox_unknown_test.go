package store

import (
	"context"
	"errors"
	"testing"

	"citybot"
)

// TestDeliveryUnknown: a row a crash left in sending is found by
// SendingOutbox and, given up with MarkDeliveryUnknown, reads back as
// delivery unknown everywhere (row, conversation), counts as failed, frees
// its chat's queue and leaves its case new.
func TestDeliveryUnknown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		res, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "pothole"), "roads", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: "next", Platform: citybot.Telegram, Chat: "c1", Text: "next"}}); err != nil {
			t.Fatal(err)
		}
		tg := []citybot.Platform{citybot.Telegram}
		if got, _ := db.SendingOutbox(ctx, tg); len(got) != 0 {
			t.Fatalf("sending before any claim: %+v", got)
		}
		claimed, err := claimOutbox(ctx, db, tg, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim = %+v, %v", claimed, err)
		}
		// The crash happens here. Other platforms' rows are not returned.
		if got, _ := db.SendingOutbox(ctx, []citybot.Platform{citybot.Discord}); len(got) != 0 {
			t.Errorf("discord sending rows: %+v", got)
		}
		sending, err := db.SendingOutbox(ctx, tg)
		if err != nil || len(sending) != 1 || sending[0].ID != claimed[0].ID || !sending[0].UpdatedAt.Equal(clk.Now()) {
			t.Fatalf("SendingOutbox = %+v, %v", sending, err)
		}
		ref, err := db.MarkDeliveryUnknown(ctx, sending[0].ID, "delivery unknown: test")
		if err != nil || ref != res.Case.Ref {
			t.Fatalf("MarkDeliveryUnknown = %q, %v; want ref %q", ref, err, res.Case.Ref)
		}
		if _, err := db.MarkDeliveryUnknown(ctx, sending[0].ID, "again"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("second MarkDeliveryUnknown = %v, want ErrNotFound (no longer sending)", err)
		}
		it, err := db.OutboxItem(ctx, claimed[0].Out.Key)
		if err != nil || it.State != citybot.OutboxUnknown || it.LastError != "delivery unknown: test" || it.Attempts != 1 {
			t.Errorf("row = %+v, %v", it, err)
		}
		c, err := db.Case(ctx, res.Case.ID)
		if err != nil || c.Status != citybot.StatusNew {
			t.Errorf("case = %s, %v; want new", c.Status, err)
		}
		st, err := db.OutboxStats(ctx)
		if err != nil || st.Pending != 1 || st.Failed != 1 {
			t.Errorf("stats = %+v, %v", st, err)
		}
		// The chat's queue moves on.
		if got, _ := claimOutbox(ctx, db, tg, 10); len(got) != 1 || got[0].Out.Key != "next" {
			t.Errorf("after the unknown row, claimed %+v", got)
		}
		conv, err := db.Conversation(ctx, res.Case.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range conv {
			if e.Direction == "out" {
				found = true
				if e.State != citybot.OutboxUnknown {
					t.Errorf("conversation shows the acknowledgement as %q, want %q", e.State, citybot.OutboxUnknown)
				}
			}
		}
		if !found {
			t.Errorf("no outbound entry in the conversation: %+v", conv)
		}
		if _, err := db.MarkDeliveryUnknown(ctx, 9999, "x"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown row: %v", err)
		}
	})
}
