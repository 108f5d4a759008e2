package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram/tgemu"
)

// tgMissing is a Telegram group configured as a digest channel that the
// bot cannot post to until someone writes in it ("chat not found").
const tgMissing = int64(-100999)

// TestDigestRepostFailedChannelEndToEnd: a digest drafted on demand and
// approved; the post to a chat the platform does not know fails and the
// digest's posting status says so in words; once the chat exists a
// re-post sends the failed parts there once, across a restart and a
// second press, and the other channels get nothing twice.
func TestDigestRepostFailedChannelEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := newDgWorld(t)
	w.extra = []DigestChannel{{Platform: "telegram", Chat: fmt.Sprint(tgMissing), Language: "fr"}}
	p := w.start()
	defer func() { p.stop() }()
	ctx := context.Background()
	monday := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		w.clock.Set(monday.Add(time.Duration(9+i) * time.Hour))
		if _, err := w.tg.Post(tgemu.Incoming{From: tgemu.User{ID: int64(700 + i), FirstName: "Citizen"}, Text: fmt.Sprintf("pothole %d on Main Street", i)}); err != nil {
			t.Fatal(err)
		}
	}
	w.waitFor("3 cases", func() bool {
		cs, _ := p.db.Inbox(ctx, citybot.CaseFilter{Limit: 10})
		return len(cs) == 3
	})
	// Wednesday: the week so far, on demand.
	w.clock.Set(monday.Add(2*24*time.Hour + 10*time.Hour))
	d, err := p.dg.Redraft(ctx, w.clock.Now(), "root", "")
	if err != nil || d.Week != "2026-W47" || d.Figures.Received != 3 {
		t.Fatalf("draft on demand: %v %+v", err, d.Figures.Received)
	}
	if posts, err := p.dg.PostStatuses(ctx, d); err != nil || len(posts) != 0 {
		t.Fatalf("a draft has posts: %v %v", posts, err)
	}
	if _, err := p.dg.Repost(ctx, d, "root"); err == nil {
		t.Fatal("re-post of a draft accepted")
	}
	if d, err = p.dg.Decide(ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	status := func() map[string]citybot.DigestPost {
		t.Helper()
		ps, err := p.dg.PostStatuses(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]citybot.DigestPost{}
		for _, x := range ps {
			m[fmt.Sprintf("%s %s %s", x.Platform, x.Chat, x.Language)] = x
		}
		return m
	}
	missing := fmt.Sprintf("telegram %d fr", tgMissing)
	w.waitFor("the failed post", func() bool { return status()[missing].State == citybot.OutboxFailed })
	w.waitRecorded(p, "digest:2026-W47:telegram:-100500")
	w.waitRecorded(p, "digest:2026-W47:discord")
	st := status()
	if len(st) != 5 { // telegram public en, fr; discord en, fr; the missing chat fr
		t.Fatalf("statuses %+v", st)
	}
	if x := st[missing]; x.Failure != citybot.PostFailedChat || x.FailureDetail == "" {
		t.Fatalf("failure %q (%q), want %q with the platform's words", x.Failure, x.FailureDetail, citybot.PostFailedChat)
	}
	for k, x := range st {
		if k != missing && (x.State != citybot.OutboxSent || !x.SentAt.Equal(w.clock.Now())) {
			t.Errorf("%s: %s at %v; want sent at %v", k, x.State, x.SentAt, w.clock.Now())
		}
	}
	// The chat exists now; the re-post goes there once, across a restart.
	if _, err := w.tg.Post(tgemu.Incoming{Chat: tgMissing, ChatTitle: "quartier", From: w.official, Text: "bonjour"}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.dg.Repost(ctx, d, "mayor"); err != nil || n != 2 { // chart and fr text
		t.Fatalf("re-post queued %d, %v; want 2", n, err)
	}
	w.waitFor("the re-post", func() bool { return status()[missing].State == citybot.OutboxSent })
	if x := status()[missing]; x.Reposts != 1 {
		t.Fatalf("re-posts %d", x.Reposts)
	}
	w.waitRecorded(p, "digest:2026-W47:telegram:-100999:fr:repost1")
	p.stop()
	p = w.start()
	if n, err := p.dg.Repost(ctx, d, "mayor"); err != nil || n != 0 {
		t.Fatalf("second re-post queued %d, %v", n, err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(w.tg.Sent(tgMissing)); n != 2 {
		t.Fatalf("the missing chat got %d posts; want the chart and the text once", n)
	}
	if n := len(w.tg.Sent(tgPublic)); n != 3 {
		t.Fatalf("the public group got %d posts; want 3", n)
	}
	if sent := w.tg.Sent(tgMissing); !strings.Contains(sent[1].Text, "Reçus : 3 signalements") {
		t.Fatalf("re-posted text: %q", sent[1].Text)
	}
}
