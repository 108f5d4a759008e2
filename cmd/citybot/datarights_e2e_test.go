package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/internal/storetest"
	"citybot/locale"
	"citybot/responder"
	"citybot/store"
)

// TestDataRightsTelegram drives /mydata and /forget end to end: a real
// store, the real Telegram adapter on its emulator, the dispatcher and the
// responder. In a group both commands only send the citizen to a private
// chat; privately /mydata sends what the city holds (a JSON file in
// the chat, through sendDocument), /forget asks first, and the button (or "/forget yes") erases
// the identity and texts while the cases stay counted.
func TestDataRightsTelegram(t *testing.T) {
	tg := tgemu.New(tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const group = int64(-100911)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := storetest.SQLite(t, store.Options{})
	tgBot, err := telegram.New(ctx, telegram.Options{Token: tg.Token(), APIEndpoint: tg.Endpoint(), Cursors: db, Logger: logger,
		ListenGroups: []int64{group}, PollTimeout: time.Second, PerChat: telegram.Rate{N: -1}, PerGroup: telegram.Rate{N: -1}})
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
			return citybot.Classification{Topic: citybot.Scored{Label: "roads", Confidence: 0.9}, Urgency: citybot.UrgencyNormal, Language: "en",
				Places: []citybot.Place{{Name: "Rue Zephyrine", Kind: "street"}}}
		})})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { tgBot.Run(ctx, resp); done <- struct{}{} }()
	go func() { disp.Run(ctx); done <- struct{}{} }()
	defer func() { cancel(); <-done; <-done }()

	en := locale.MustEmbedded().Catalog("en")
	text := func(key string) string { return en.Text("chat." + key) }
	zoe := tgemu.User{ID: 7740012, FirstName: "Zoé", LastName: "Quintessa", Username: "zoe_q", LanguageCode: "en"}
	max := tgemu.User{ID: 7740034, FirstName: "Maximilian", Username: "maxim_b", LanguageCode: "en"}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	post := func(in tgemu.Incoming) {
		t.Helper()
		if _, err := tg.Post(in); err != nil {
			t.Fatal(err)
		}
	}
	waitText := func(chat int64, want string) tgemu.SentMessage {
		t.Helper()
		m, err := tg.WaitSent(wctx, func(m tgemu.SentMessage) bool { return m.Chat == chat && strings.Contains(m.Text, want) })
		if err != nil {
			t.Fatalf("no message with %q in %d: %v\n%s", want, chat, err, logs)
		}
		return m
	}
	const zoeReport = "Pothole on Rue Zephyrine, call me on 0612345678"
	post(tgemu.Incoming{From: zoe, Text: zoeReport})
	waitText(zoe.ID, "registered as case")
	post(tgemu.Incoming{From: max, Text: "Streetlight broken near the Bobbington school"})
	waitText(max.ID, "registered as case")

	// In a group: only "ask me privately", for both commands.
	post(tgemu.Incoming{Chat: group, ChatTitle: "street", From: zoe, Text: "/mydata"})
	waitText(group, text("data_private"))
	post(tgemu.Incoming{Chat: group, ChatTitle: "street", From: zoe, Text: "/forget yes"})
	time.Sleep(300 * time.Millisecond)
	if n := len(tg.Sent(group)); n != 2 {
		t.Fatalf("group got %d messages, want 2", n)
	}
	for _, m := range tg.Sent(group) {
		if strings.Contains(m.Text, "0612345678") || m.Text != text("data_private") {
			t.Errorf("group message: %q", m.Text)
		}
	}
	if _, err := db.CitizenByIdentity(ctx, citybot.Telegram, citybot.UserID("7740012")); err != nil {
		t.Fatalf("/forget yes in a group erased the citizen: %v", err)
	}

	// Privately: the data, as one JSON document (a file) with a short
	// caption.
	before := len(tg.Sent(zoe.ID))
	post(tgemu.Incoming{From: zoe, Text: "/mydata"})
	got := waitText(zoe.ID, text("mydata"))
	if got.Document == nil || got.Document.Name != "my-data.json" || got.Text != text("mydata") {
		t.Fatalf("/mydata did not come as a file with its caption: %+v", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(tg.Sent(zoe.ID)) - before; n != 1 {
		t.Errorf("/mydata sent %d messages, want the one file", n)
	}
	doc := string(got.Document.Data)
	// Once sent, the outbox keeps the file's name but not its bytes.
	if err := tg.WaitFor(wctx, func() bool {
		rows, err := db.OutboxItems(ctx, "in:")
		if err != nil {
			return false
		}
		for _, it := range rows {
			if it.Out.File != nil && it.State == citybot.OutboxSent {
				return it.Out.File.Data == nil
			}
		}
		return false
	}); err != nil {
		t.Errorf("the sent file's bytes stay in the outbox: %v", err)
	}
	var data citybot.CitizenData
	if err := json.Unmarshal([]byte(doc), &data); err != nil {
		t.Fatalf("data is not JSON: %v\n%s", err, doc)
	}
	if data.Handle != "zoe_q" || len(data.Cases) != 1 || len(data.Messages) < 1 || data.Messages[0].Text != zoeReport ||
		len(data.Answers) == 0 || !strings.Contains(data.Answers[0].Text, string(data.Cases[0].Ref)) {
		t.Errorf("data: %+v", data)
	}
	if strings.Contains(doc, "Bobbington") || strings.Contains(doc, "maxim") {
		t.Error("another citizen's data was sent")
	}

	// /forget asks first; nothing is erased yet.
	post(tgemu.Incoming{From: zoe, Text: "/forget"})
	ask := waitText(zoe.ID, text("forget_ask"))
	if len(ask.Buttons) != 1 || len(ask.Buttons[0]) != 1 {
		t.Fatalf("no confirmation button: %+v", ask.Buttons)
	}
	zid, err := db.CitizenByIdentity(ctx, citybot.Telegram, citybot.UserID("7740012"))
	if err != nil {
		t.Fatalf("erased before confirming: %v", err)
	}
	if _, err := tg.Press(zoe.ID, ask.MessageID, zoe, ask.Buttons[0][0].Data); err != nil {
		t.Fatal(err)
	}
	if err := tg.WaitFor(wctx, func() bool {
		for _, a := range tg.Answers() {
			if a.Text == text("forget_done") {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("no confirmation toast: %v (%+v)", err, tg.Answers())
	}
	if _, err := db.CitizenByIdentity(ctx, citybot.Telegram, citybot.UserID("7740012")); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("identity kept: %v", err)
	}
	data, err = db.CitizenData(ctx, zid)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range data.Messages {
		if m.Text != "" {
			t.Errorf("text kept: %q", m.Text)
		}
	}
	if data.Name != "" || data.Handle != "" || len(data.Answers) != 0 || len(data.Cases) != 1 || data.Cases[0].Topic != "roads" {
		t.Errorf("after forget: %+v", data)
	}
	if items, _, _ := db.InboxPage(ctx, citybot.InboxQuery{Search: "Zephyrine"}); len(items) != 0 {
		t.Errorf("search still finds her text")
	}

	// Max types the confirmation.
	post(tgemu.Incoming{From: max, Text: "/forget yes"})
	waitText(max.ID, text("forget_done"))
	if _, err := db.CitizenByIdentity(ctx, citybot.Telegram, citybot.UserID("7740034")); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("max's identity kept: %v", err)
	}
	// The anonymous counts stay.
	counts, err := db.InboxCounts(ctx, citybot.InboxQuery{})
	if err != nil || counts.Total != 2 {
		t.Errorf("cases counted after forgetting: %+v %v", counts, err)
	}
	for _, secret := range []string{"Quintessa", "zoe_q", "7740012", "0612345678", "Maximilian", "maxim_b"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
