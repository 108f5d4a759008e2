package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestCitizenDataAndForget stores two citizens' reports on a real
// database, exports one's data, erases it, and checks that the other's
// stays untouched and that the anonymous counts remain.
func TestCitizenDataAndForget(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		named := func(chat, id, user, text string) citybot.Message {
			m := msg(chat, id, user, text)
			m.Sender.Name, m.Sender.Handle = "Name of "+user, "@handle_"+user
			return m
		}
		ingest := func(chat, id, user, text string) citybot.IntakeResult {
			t.Helper()
			clk.Add(time.Minute)
			m := named(chat, id, user, text)
			res, err := db.Ingest(ctx, report(m, "roads", citybot.UrgencyNormal), ackFor)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		a1 := ingest("chat-ana", "1", "user-ana", "Pothole outside number 12 Rue Zephyrine")
		ingest("chat-ana", "2", "user-ana", "It got bigger, call me on 0612345678")
		b1 := ingest("chat-bob", "3", "user-bob", "Streetlight broken near the Bobbington school")
		// Ana's acknowledgement went out; a later message to her waits.
		claimed, err := claimOutbox(ctx, db, []citybot.Platform{citybot.Telegram}, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range claimed {
			if err := db.MarkSent(ctx, it.ID, citybot.Sent{ID: "out-1", SentAt: clk.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.AddNote(ctx, a1.Case.ID, "olivia", "Name of user-ana phoned twice"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Ingest(ctx, citybot.Intake{Message: named("chat-ana", "4", "user-ana", "/status"), Mode: citybot.CaseNone},
			func(res citybot.IntakeResult) ([]citybot.OutboxItem, error) {
				return []citybot.OutboxItem{{Out: citybot.Outgoing{Key: "pending-for-ana", Platform: citybot.Telegram, Chat: "chat-ana", Text: "your case " + string(a1.Case.Ref)},
					Kind: citybot.OutboxReply}, {Out: citybot.Outgoing{Key: "keep-me", Platform: citybot.Telegram, Chat: "chat-ana", Text: "erased"}, Kind: citybot.OutboxReply}}, nil
			}); err != nil {
			t.Fatal(err)
		}

		ana, err := db.CitizenByIdentity(ctx, citybot.Telegram, "user-ana")
		if err != nil || ana != a1.Citizen.ID {
			t.Fatalf("citizen by identity: %v %v", ana, err)
		}
		d, err := db.CitizenData(ctx, ana)
		if err != nil {
			t.Fatal(err)
		}
		if d.Name != "Name of user-ana" || len(d.Messages) != 3 || len(d.Cases) != 1 || d.Cases[0].Ref != a1.Case.Ref ||
			len(d.Answers) != 1 || !strings.Contains(d.Answers[0].Text, "ack") || !strings.Contains(d.Messages[1].Text, "0612345678") {
			t.Fatalf("citizen data: %+v", d)
		}
		for _, m := range d.Messages {
			if strings.Contains(m.Text, "Bobbington") {
				t.Error("another citizen's message in the export")
			}
		}

		before, err := db.Case(ctx, a1.Case.ID)
		if err != nil {
			t.Fatal(err)
		}
		f, err := db.ForgetCitizen(ctx, ana, "citizen", "keep-me")
		if err != nil {
			t.Fatal(err)
		}
		if f.Messages < 3 || f.Cases != 1 || f.Cancelled != 1 {
			t.Errorf("forgotten: %+v", f)
		}
		if _, err := db.CitizenByIdentity(ctx, citybot.Telegram, "user-ana"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("identity still there: %v", err)
		}
		d, err = db.CitizenData(ctx, ana)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range d.Messages {
			if m.Text != "" {
				t.Errorf("message text kept: %q", m.Text)
			}
		}
		if d.Name != "" || d.Handle != "" || len(d.Answers) != 0 || len(d.Cases[0].Places) != 0 {
			t.Errorf("after forget: %+v", d)
		}
		c, err := db.Case(ctx, a1.Case.ID)
		if err != nil || c.Topic != "roads" || c.Status != before.Status || c.Urgency != before.Urgency {
			t.Errorf("case lost its topic or status: %+v %v", c, err)
		}
		items, _, _ := db.InboxPage(ctx, citybot.InboxQuery{Search: "Zephyrine"})
		if len(items) != 0 {
			t.Errorf("full-text search still finds her text: %d", len(items))
		}
		if items, _, _ := db.InboxPage(ctx, citybot.InboxQuery{Search: "Bobbington"}); len(items) != 1 {
			t.Errorf("bob's case not found any more: %d", len(items))
		}
		for _, key := range []string{"pending-for-ana", "keep-me"} {
			its, err := db.OutboxItems(ctx, key)
			if err != nil || len(its) != 1 {
				t.Fatalf("%s: %v %v", key, its, err)
			}
			if key == "pending-for-ana" && (its[0].State != citybot.OutboxFailed || its[0].Out.Text != "") {
				t.Errorf("pending message to her: %+v", its[0])
			}
			if key == "keep-me" && (its[0].State != citybot.OutboxPending || its[0].Out.Text == "") {
				t.Errorf("the confirmation was touched: %+v", its[0])
			}
		}
		notes, _ := db.CaseNotes(ctx, a1.Case.ID)
		for _, n := range notes {
			if strings.Contains(n.Text, "user-ana") {
				t.Errorf("note kept: %q", n.Text)
			}
		}
		log, err := db.AuditLog(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		forgot := false
		for _, e := range log {
			for _, secret := range []string{"user-ana", "handle_user-ana", "Zephyrine", "0612345678"} {
				if strings.Contains(e.Before+e.After+e.Subject, secret) {
					t.Errorf("audit keeps %q: %+v", secret, e)
				}
			}
			forgot = forgot || (e.Action == "citizen.forget" && e.Subject == fmt.Sprintf("citizen:%d", ana))
		}
		if !forgot {
			t.Error("no citizen.forget in the audit log")
		}
		// Bob is untouched.
		bd, err := db.CitizenData(ctx, b1.Citizen.ID)
		if err != nil || bd.Name != "Name of user-bob" || len(bd.Messages) != 1 || bd.Messages[0].Text == "" {
			t.Errorf("bob: %+v %v", bd, err)
		}
		// Again: a no-op that succeeds.
		if _, err := db.ForgetCitizen(ctx, ana, "citizen", ""); err != nil {
			t.Errorf("forget again: %v", err)
		}
		if _, err := db.ForgetCitizen(ctx, 9999, "citizen", ""); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown citizen: %v", err)
		}
	})
}
