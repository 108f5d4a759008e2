package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/casework"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

// TestSensitiveGroupAnswerGoesPrivate wires the store, the real Telegram
// adapter on its emulator and the dispatcher with the bots wrapped as
// serve wraps them: an officer's answer to a bribe reported in a group
// reaches the citizen's private chat; the group hears only that the city
// replied privately; a case on another topic is answered in its group; a
// citizen who blocked the bot gets nothing, and the group no answer.
func TestSensitiveGroupAnswerGoesPrivate(t *testing.T) {
	tg := tgemu.New(tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const group, group2, group3 = int64(-100901), int64(-100902), int64(-100903)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := storetest.SQLite(t, store.Options{})
	tgBot, err := telegram.New(ctx, telegram.Options{Token: tg.Token(), APIEndpoint: tg.Endpoint(), Cursors: db, Logger: logger,
		ListenGroups: []int64{group, group2, group3}, PollTimeout: time.Second, PerChat: telegram.Rate{N: -1}, PerGroup: telegram.Rate{N: -1}})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Logger: logger, PollInterval: 100 * time.Millisecond,
		BaseBackoff: 10 * time.Millisecond, Bots: []bots.Bot{tgBot}, Charts: db})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := responder.New(responder.Options{Store: db, Logger: logger, Notify: disp.Notify, Policy: testPolicy(t, DefaultConfig()),
		Classifier: responder.ClassifierFunc(func(text, hint string) citybot.Classification {
			topic := "roads"
			if strings.Contains(text, "pot-de-vin") {
				topic = "corruption"
			}
			return citybot.Classification{Topic: citybot.Scored{Label: topic, Confidence: 0.9}, Urgency: citybot.UrgencyNormal, Language: "fr"}
		})})
	if err != nil {
		t.Fatal(err)
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Store: db, Logger: logger, Notify: disp.Notify,
		Policy: testPolicy(t, DefaultConfig())})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { tgBot.Run(ctx, resp); done <- struct{}{} }()
	go func() { disp.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	zoe := tgemu.User{ID: 7730012, FirstName: "Zoé", LanguageCode: "fr"}
	max := tgemu.User{ID: 7730034, FirstName: "Max", LanguageCode: "fr"}
	lea := tgemu.User{ID: 7730056, FirstName: "Léa", LanguageCode: "fr"}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	for _, in := range []tgemu.Incoming{
		{Chat: group, ChatTitle: "quartier", From: zoe, Text: "Un agent m'a demandé un pot-de-vin pour mon permis"},
		{Chat: group2, ChatTitle: "rue", From: max, Text: "Un nid-de-poule rue Haute"},
		{Chat: group3, ChatTitle: "place", From: lea, Text: "On m'a réclamé un pot-de-vin au guichet"},
	} {
		if _, err := tg.Post(in); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == in.Chat }); err != nil {
			t.Fatalf("no acknowledgement in %d: %v", in.Chat, err)
		}
	}
	cases, err := db.Inbox(ctx, citybot.CaseFilter{Statuses: []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged}})
	if err != nil || len(cases) != 3 {
		t.Fatalf("cases %v, %v", cases, err)
	}
	byChat := map[citybot.ChatID]citybot.Case{}
	for _, c := range cases {
		byChat[c.Chat] = c
	}
	bribe, pothole, blocked := byChat[citybot.ChatID(fmt.Sprint(group))], byChat[citybot.ChatID(fmt.Sprint(group2))], byChat[citybot.ChatID(fmt.Sprint(group3))]
	// As the acknowledgement asks, Zoé and Léa open a private chat with
	// the bot (Telegram lets a bot write only to people who did); Léa
	// then blocks it.
	for _, u := range []tgemu.User{zoe, lea} {
		if _, err := tg.Post(tgemu.Incoming{From: u, Text: "/start"}); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == u.ID }); err != nil {
			t.Fatalf("no answer to /start: %v", err)
		}
	}
	tg.BlockChat(lea.ID, true)

	const answer, answer2, answer3 = "Une enquête est ouverte sur le guichet des permis.", "Réparé demain.", "Nous enquêtons sur le guichet."
	for _, a := range []struct {
		c    citybot.Case
		text string
	}{{bribe, answer}, {pothole, answer2}, {blocked, answer3}} {
		if _, err := off.Answer(ctx, a.c.ID, "olivia", a.text, "n1"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == zoe.ID && strings.Contains(m.Text, answer) }); err != nil {
		t.Fatalf("the answer did not reach the private chat: %v", err)
	}
	if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == group2 && strings.Contains(m.Text, answer2) }); err != nil {
		t.Fatalf("the non-sensitive answer did not reach its group: %v", err)
	}
	for _, g := range []struct {
		chat int64
		ref  citybot.CaseRef
	}{{group, bribe.Ref}, {group3, blocked.Ref}} {
		line := "La ville a répondu en privé au sujet du dossier " + string(g.ref) + "."
		if _, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == g.chat && m.Text == line }); err != nil {
			t.Fatalf("no content-free line in %d: %v", g.chat, err)
		}
	}
	var failed citybot.OutboxItem
	if err := tg.WaitFor(wctx, func() bool {
		failed, err = db.OutboxItem(ctx, fmt.Sprintf("officer:answer:%d:n1:%d#1", blocked.ID, blocked.ID))
		return err == nil && failed.State == citybot.OutboxFailed
	}); err != nil {
		t.Fatalf("the answer to a citizen who blocked the bot is not failed: %v", err)
	}
	if strings.Contains(failed.LastError, fmt.Sprint(lea.ID)) {
		t.Errorf("the outbox error names the citizen: %q", failed.LastError)
	}
	for _, chat := range []int64{group, group3} {
		for _, m := range tg.Sent(chat) {
			for _, bad := range []string{answer, answer3, "corruption", "pot-de-vin"} {
				if strings.Contains(m.Text, bad) {
					t.Errorf("group %d got %q", chat, m.Text)
				}
			}
		}
	}
	if n := len(tg.Sent(max.ID)); n != 0 {
		t.Errorf("the non-sensitive case sent %d private messages", n)
	}
	l := logs.String()
	for _, u := range []tgemu.User{zoe, max, lea} {
		if strings.Contains(l, fmt.Sprint(u.ID)) || strings.Contains(l, u.FirstName) {
			t.Errorf("logs name citizen %d", u.ID)
		}
	}
}
