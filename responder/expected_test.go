package responder_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/responder"
)

// TestAcknowledgementSaysExpectedTime: with a seeded history (twelve
// pothole reports answered after 1 to 12 hours over the last weeks), a
// new pothole report's acknowledgement says "we usually answer … within
// 10 hours" (80% of them were answered within 10 h); a kind of report
// with a thin history (two water reports) falls back to the service
// level, said as a target in working days; /status says the same and
// whether the case is past it, in the citizen's language.
func TestAcknowledgementSaysExpectedTime(t *testing.T) {
	rg := newDgRig(t, nil)
	start := weekStart.Add(-21 * 24 * time.Hour)
	for i := 1; i <= 12; i++ {
		at := start.Add(time.Duration(i) * 24 * time.Hour)
		c := rg.report(at, fmt.Sprint("h", i), "pothole on the bridge")
		rg.answer(at.Add(time.Duration(i)*time.Hour), c, "A team is on its way.")
	}
	for i := 1; i <= 2; i++ {
		at := start.Add(time.Duration(i) * 24 * time.Hour)
		c := rg.report(at, fmt.Sprint("w", i), "no water in the street")
		rg.answer(at.Add(time.Hour), c, "We are looking into it.")
	}
	exp, err := responder.NewExpectations(responder.ExpectOptions{Store: rg.db, Now: rg.clock.Now,
		Levels: citybot.ServiceLevels{Targets: map[citybot.Urgency]time.Duration{citybot.UrgencyNormal: 16 * time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := responder.New(responder.Options{Policy: testPolicy(t), Store: rg.db, Classifier: fakeClassifier{}, Now: rg.clock.Now, Expect: exp})
	if err != nil {
		t.Fatal(err)
	}
	rg.resp = resp
	seen := 0
	lastReply := func() string {
		t.Helper()
		items, err := rg.db.OutboxItems(rg.ctx, "in:")
		if err != nil || len(items) <= seen {
			for _, it := range items[max(0, len(items)-3):] {
				t.Logf("%s %s: %s", it.Out.Key, it.Out.Chat, it.Out.Text)
			}
			t.Fatalf("no new reply (%v)", err)
		}
		seen = len(items)
		return items[len(items)-1].Out.Text
	}
	lastReply()
	now := weekStart.Add(10 * time.Hour) // Monday 10:00
	pothole := rg.report(now, "p", "another pothole near the school")
	if ack := lastReply(); !strings.Contains(ack, "We usually answer this kind of report within 10 hours.") {
		t.Errorf("pothole acknowledgement:\n%s", ack)
	}
	water := rg.report(now, "q", "no water since this morning")
	if ack := lastReply(); !strings.Contains(ack, "We aim to answer this kind of report within 2 working days.") {
		t.Errorf("water acknowledgement (thin history: the service level):\n%s", ack)
	}
	status := func(at time.Time, user string, c citybot.Case, lang string) string {
		t.Helper()
		rg.clock.Set(at)
		rg.msgID++
		m := citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(user), ChatKind: citybot.ChatPrivate,
			ID: citybot.PlatformMessageID(fmt.Sprint(rg.msgID)), Sender: citybot.Sender{ID: citybot.UserID(user), LanguageCode: lang},
			Text: "/status " + string(c.Ref), Command: "status", Args: string(c.Ref), SentAt: at}
		if err := rg.resp.HandleMessage(rg.ctx, m); err != nil {
			t.Fatal(err)
		}
		return lastReply()
	}
	if got := status(now.Add(2*time.Hour), "p", pothole, "en"); !strings.Contains(got, "within 10 hours. Your case is still within that time.") {
		t.Errorf("/status within the usual time:\n%s", got)
	}
	// The case itself, still waiting, now counts in the history: 80% of
	// thirteen pothole cases are answered within 11 hours.
	if got := status(now.Add(13*time.Hour), "p", pothole, "en"); !strings.Contains(got, "within 11 hours. Your case has waited longer than that.") {
		t.Errorf("/status past the usual time:\n%s", got)
	}
	// The service level counts working hours: Tuesday 17:00 is 15 working
	// hours after Monday 10:00, Wednesday 10:30 past 16.
	if got := status(weekStart.Add(24*time.Hour+17*time.Hour), "q", water, "en"); !strings.Contains(got, "Your case is still within that time.") {
		t.Errorf("/status within the target:\n%s", got)
	}
	if got := status(weekStart.Add(48*time.Hour+10*time.Hour+30*time.Minute), "q", water, "en"); !strings.Contains(got, "Your case has waited longer than that.") {
		t.Errorf("/status past the target:\n%s", got)
	}
	// Answered: nothing more is promised.
	rg.answer(weekStart.Add(49*time.Hour), pothole, "Fixed.")
	if got := status(weekStart.Add(50*time.Hour), "p", pothole, "en"); strings.Contains(got, "usually") {
		t.Errorf("/status of an answered case still says the expected time:\n%s", got)
	}
	// In French, from the same history (thirteen answered now: 80%
	// within 11 hours).
	if _, err := rg.db.SetCitizenLanguage(rg.ctx, citybot.Telegram, citybot.Sender{ID: "f"}, "fr"); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(weekStart.Add(51 * time.Hour))
	rg.report(weekStart.Add(51*time.Hour), "f", "il y a un nid-de-poule devant la mairie")
	if ack := lastReply(); !strings.Contains(ack, "D'habitude, nous répondons à ce genre de signalement en moins de 11 heures.") {
		t.Errorf("French acknowledgement:\n%s", ack)
	}
}

// TestAcknowledgementWithoutHistoryOrTarget: with no history and no
// service level, nothing is promised.
func TestAcknowledgementWithoutHistoryOrTarget(t *testing.T) {
	rg := newDgRig(t, nil)
	exp, err := responder.NewExpectations(responder.ExpectOptions{Store: rg.db, Now: rg.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if rg.resp, err = responder.New(responder.Options{Policy: testPolicy(t), Store: rg.db, Classifier: fakeClassifier{}, Now: rg.clock.Now, Expect: exp}); err != nil {
		t.Fatal(err)
	}
	rg.report(weekStart.Add(10*time.Hour), "p", "pothole on the bridge")
	items, err := rg.db.OutboxItems(rg.ctx, "in:")
	if err != nil || len(items) != 1 {
		t.Fatalf("%d replies, %v", len(items), err)
	}
	if ack := items[0].Out.Text; strings.Contains(ack, "answer this kind of report") || !strings.Contains(ack, "registered as case") {
		t.Errorf("acknowledgement:\n%s", ack)
	}
}
