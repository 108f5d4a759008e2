package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/casework"
	"citybot/classifier"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

// thanksAware is the shipped classifier, with thanks recognised for this
// test's phrases when the classifier leaves Intent empty (until the
// lexicon that fills Intent is merged; once it is, this adds nothing).
type thanksAware struct{ c *classifier.Classifier }

func (t thanksAware) Classify(text, hint string) citybot.Classification {
	cl := t.c.Classify(text, hint)
	if low := strings.ToLower(text); cl.Intent == "" && (strings.HasPrefix(low, "merci") || strings.HasPrefix(low, "thank")) {
		cl.Intent = citybot.IntentThanks
	}
	return cl
}

// TestThanksAfterResolvedCaseE2E: through the real Telegram adapter on its
// emulator, a citizen whose pothole case was resolved writes "Merci
// beaucoup pour la réparation": no case is opened, the thanks is kept with
// the resolved case, one short reply in French comes back, and the digest
// counts a thank-you, not a report.
func TestThanksAfterResolvedCaseE2E(t *testing.T) {
	tg := tgemu.New(tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logger := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	db := storetest.SQLite(t, store.Options{})
	cls, err := classifier.New(classifier.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	tgBot, err := telegram.New(ctx, telegram.Options{Token: tg.Token(), APIEndpoint: tg.Endpoint(), Cursors: db, Logger: logger,
		PollTimeout: time.Second, PerChat: telegram.Rate{N: -1}, PerGroup: telegram.Rate{N: -1}})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Logger: logger, PollInterval: 100 * time.Millisecond,
		BaseBackoff: 10 * time.Millisecond, Bots: []bots.Bot{tgBot}, Charts: db})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := responder.New(responder.Options{Store: db, Logger: logger, Notify: disp.Notify, Classifier: thanksAware{cls}, Policy: testPolicy(t, DefaultConfig())})
	if err != nil {
		t.Fatal(err)
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Store: db, Logger: logger, Notify: disp.Notify, Policy: testPolicy(t, DefaultConfig())})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { tgBot.Run(ctx, resp); done <- struct{}{} }()
	go func() { disp.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	ines := tgemu.User{ID: 7731001, FirstName: "Inès", LanguageCode: "fr"}
	if _, err := tg.Post(tgemu.Incoming{From: ines, Text: "Il y a un nid-de-poule énorme rue Haute"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == ines.ID }); err != nil {
		t.Fatalf("no acknowledgement: %v", err)
	}
	all := []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress, citybot.StatusAnswered,
		citybot.StatusResolved, citybot.StatusClosed, citybot.StatusDuplicate}
	cases, err := db.Inbox(ctx, citybot.CaseFilter{Statuses: all})
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases %v, %v", cases, err)
	}
	c := cases[0]
	if _, err := off.ChangeStatus(ctx, c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool {
		return m.Chat == ines.ID && strings.Contains(m.Text, string(c.Ref)) && strings.Contains(m.Text, "résolu")
	}); err != nil {
		t.Fatalf("no resolution notice: %v", err)
	}
	before := len(tg.Sent(ines.ID))

	if _, err := tg.Post(tgemu.Incoming{From: ines, Text: "Merci beaucoup pour la réparation"}); err != nil {
		t.Fatal(err)
	}
	const reply = "Merci ! Nous l'avons transmis à l'équipe."
	if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == ines.ID && m.Text == reply }); err != nil {
		t.Fatalf("no short reply to the thanks: %v", err)
	}
	// Everything queued has gone out: exactly one reply, nothing else.
	if err := tg.WaitFor(wctx, func() bool {
		st, err := db.OutboxStats(ctx)
		return err == nil && st.Pending == 0
	}); err != nil {
		t.Fatal(err)
	}
	if after := tg.Sent(ines.ID)[before:]; len(after) != 1 {
		var got []string
		for _, m := range after {
			got = append(got, m.Text)
		}
		t.Fatalf("%d messages after the thanks, want 1: %q", len(after), got)
	}
	cases, err = db.Inbox(ctx, citybot.CaseFilter{Statuses: all})
	if err != nil || len(cases) != 1 || cases[0].Status != citybot.StatusResolved {
		t.Fatalf("after the thanks: cases %v (%v), want the one resolved case", cases, err)
	}
	conv, err := db.Conversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	thanks := 0
	for _, e := range conv {
		if e.Direction == "in" && e.Intent == citybot.IntentThanks && strings.Contains(e.Text, "réparation") {
			thanks++
		}
	}
	if thanks != 1 {
		t.Fatalf("%d thanks kept with the case, want 1", thanks)
	}
	f, err := db.DigestFigures(ctx, c.OpenedAt.Add(-time.Hour), time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Received != 1 || f.Thanks != 1 {
		t.Fatalf("digest figures: %d reports (want 1), %d thanks (want 1)", f.Received, f.Thanks)
	}
}
