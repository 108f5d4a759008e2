package accountability_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

// TestDigestChartPostedInEachChannelsLanguage: an approved digest posts
// to a French and an English Discord channel; each gets the chart drawn
// in its own language (the image the channel received is
// ChartPNG(dg, lang), and the two differ), with its caption in that
// language. A chart row queued without its image (before charts were
// drawn per language) still posts the digest's stored chart.
func TestDigestChartPostedInEachChannelsLanguage(t *testing.T) {
	dc, err := dcemu.Start(dcemu.Options{Token: "dc-test-token", HeartbeatInterval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	chFr, chEn, chOld := dc.AddChannel("nouvelles"), dc.AddChannel("news"), dc.AddChannel("old")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := storetest.SQLite(t, store.Options{})
	bot, err := discord.New(ctx, discord.Options{Token: "dc-test-token", APIBase: dc.URL(), GuildID: dc.GuildID(),
		Cursors: db, RetryInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	disp, err := responder.NewDispatcher(responder.DispatcherOptions{Store: db, Bots: []bots.Bot{bot}, Charts: db, PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dg, err := accountability.NewDigester(accountability.DigestOptions{Store: db, Policy: alertPolicy(t), Notify: disp.Notify,
		Languages: []string{"en", "fr"},
		Channels: []accountability.Channel{
			{Platform: citybot.Discord, Chat: citybot.ChatID(chFr), Language: "fr"},
			{Platform: citybot.Discord, Chat: citybot.ChatID(chEn), Language: "en"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dg.Draft(ctx, time.Now(), "root", "")
	if err != nil {
		t.Fatal(err)
	}
	if d, err = dg.Decide(ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	// An old chart row: no image of its own.
	if _, err := db.Enqueue(ctx, citybot.OutboxItem{Kind: citybot.OutboxChart, ChartWeek: d.Week, Out: citybot.Outgoing{
		Key: "digest:" + string(d.Week) + ":discord:" + chOld + ":en:chart", Platform: citybot.Discord, Chat: citybot.ChatID(chOld),
		ChatKind: citybot.ChatChannel, Text: "old caption"}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- disp.Run(ctx) }()
	defer func() { disp.Stop(); cancel(); <-done }()

	image := func(ch string) (dcemu.Message, []byte) {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, m := range dc.Sent(ch) {
				if len(m.Attachments) > 0 {
					return m, m.Attachments[0].Data
				}
			}
		}
		t.Fatalf("no chart in channel %s", ch)
		return dcemu.Message{}, nil
	}
	want := map[string][]byte{}
	for _, l := range []string{"en", "fr"} {
		if want[l], err = dg.ChartPNG(d, l); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Equal(want["en"], want["fr"]) {
		t.Fatal("the English and French charts are the same image")
	}
	mFr, gotFr := image(chFr)
	mEn, gotEn := image(chEn)
	if !bytes.Equal(gotFr, want["fr"]) {
		t.Errorf("the French channel's chart is not the French one (%d bytes; en %t)", len(gotFr), bytes.Equal(gotFr, want["en"]))
	}
	if !bytes.Equal(gotEn, want["en"]) {
		t.Errorf("the English channel's chart is not the English one (%d bytes)", len(gotEn))
	}
	if !strings.Contains(mFr.Content, "Signalements") || !strings.Contains(mEn.Content, "Reports") {
		t.Errorf("captions: fr %q, en %q", mFr.Content, mEn.Content)
	}
	if _, gotOld := image(chOld); !bytes.Equal(gotOld, d.Chart) {
		t.Errorf("an old chart row did not post the digest's stored chart (%d bytes)", len(gotOld))
	}
}
