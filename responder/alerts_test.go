package responder_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
)

// TestAlerterRules: with no sensitive chat a sensitive critical case
// alerts nobody, ever; with escalation off nothing is escalated; a case
// no longer critical before its alert went out is not alerted; messages
// in an alert chat open no case; Take it from a chat that is not an
// alert chat is refused.
func TestAlerterRules(t *testing.T) {
	rg := newDgRig(t, nil)
	officers := accountability.AlertChat{Platform: citybot.Telegram, Chat: "-100900"}
	al, err := accountability.NewAlerter(accountability.AlertOptions{
		Store: rg.db, Now: rg.clock.Now, Chats: []accountability.AlertChat{officers}, Policy: testPolicy(t),
		EscalateChats: []accountability.AlertChat{{Platform: citybot.Telegram, Chat: "-100902"}}, EscalateAfter: -1,
		Officers: map[citybot.UserID]string{"7001": "olivia"},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := rg.clock.Now()
	sens := rg.report(start, "a", "gas leak, and the inspector asked for cash")
	lowered := rg.report(start, "b", "gas smell near the school")
	crit := rg.report(start, "c", "fire in the bin store")
	if !sens.Sensitive || sens.Urgency != citybot.UrgencyCritical || crit.Urgency != citybot.UrgencyCritical {
		t.Fatalf("cases %+v %+v", sens, crit)
	}
	if _, err := rg.db.CorrectCase(rg.ctx, lowered.ID, "", citybot.UrgencyHigh, "olivia"); err != nil {
		t.Fatal(err)
	}
	rows := func() []citybot.OutboxItem {
		items, err := rg.db.OutboxItems(rg.ctx, "alert:")
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	for _, after := range []time.Duration{0, time.Hour, 24 * time.Hour} {
		rg.clock.Set(start.Add(after))
		if _, err := al.Sweep(rg.ctx); err != nil {
			t.Fatal(err)
		}
	}
	items := rows()
	if len(items) != 1 || items[0].Case != crit.ID || items[0].Out.Chat != officers.Chat {
		t.Fatalf("alert rows %+v: want the one alert of %s to the officers", items, crit.Ref)
	}
	for _, ref := range []citybot.CaseRef{sens.Ref, lowered.Ref} {
		if strings.Contains(items[0].Out.Text, string(ref)) {
			t.Fatalf("alert mentions %s", ref)
		}
	}

	h := al.Wrap(rg.resp)
	m := citybot.Message{Platform: citybot.Telegram, Chat: officers.Chat, ChatKind: citybot.ChatGroup, ID: "901",
		Sender: citybot.Sender{ID: "7001", Name: "Olivia"}, Text: "gas leak drill at 3pm, ignore"}
	if err := h.HandleMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if cs, _ := rg.db.Inbox(rg.ctx, citybot.CaseFilter{Limit: 10}); len(cs) != 3 {
		t.Fatalf("%d cases: a message in the alert chat opened one", len(cs))
	}
	text, err := h.HandleAction(rg.ctx, citybot.Action{Platform: citybot.Telegram, Chat: "-100555", Sender: citybot.Sender{ID: "7001"},
		Data: items[0].Out.Buttons[0][0].Data})
	if err != nil || !strings.Contains(text, "not on the list") {
		t.Fatalf("take from another chat: %q, %v", text, err)
	}
	if v, _ := rg.db.CaseView(rg.ctx, crit.ID); v.Assignee != "" {
		t.Fatalf("assigned to %q from another chat", v.Assignee)
	}
}
