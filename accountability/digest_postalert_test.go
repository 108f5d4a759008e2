package accountability_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

const (
	alertPublic    = int64(-100500)
	alertOfficials = int64(-100600)
	alertMissing   = int64(-100999) // never written in: "chat not found"
)

func alertPolicy(t *testing.T) *citybot.Policy {
	t.Helper()
	p, err := citybot.NewPolicy(citybot.PolicyConfig{City: "Testville", Languages: []string{"en", "fr"}, DefaultLanguage: "en",
		Location: time.UTC, Topics: []string{"roads", "other"},
		MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// alertProcess is one run of the parts that post a digest: the real
// store file, the real Telegram client against the emulator, the
// dispatcher and a Digester.
type alertProcess struct {
	db     *store.DB
	disp   *responder.Dispatcher
	dg     *accountability.Digester
	cancel context.CancelFunc
	done   chan error
}

func startAlertProcess(t *testing.T, tg *tgemu.Server, path string) *alertProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &alertProcess{cancel: cancel, done: make(chan error, 1)}
	var err error
	if p.db, err = store.Open(ctx, path, store.Options{}); err != nil {
		t.Fatal(err)
	}
	bot, err := telegram.New(ctx, telegram.Options{Token: tg.Token(), APIEndpoint: tg.Endpoint(), Cursors: p.db,
		PollTimeout: time.Second, PerChat: telegram.Rate{N: -1}, PerGroup: telegram.Rate{N: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if p.disp, err = responder.NewDispatcher(responder.DispatcherOptions{Store: p.db, Bots: []bots.Bot{bot}, Charts: p.db,
		PollInterval: 50 * time.Millisecond, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ch := func(id int64, lang string) accountability.Channel {
		return accountability.Channel{Platform: citybot.Telegram, Chat: citybot.ChatID(itoa(id)), Language: lang}
	}
	if p.dg, err = accountability.NewDigester(accountability.DigestOptions{Store: p.db, Policy: alertPolicy(t), Notify: p.disp.Notify,
		Channels:  []accountability.Channel{ch(alertPublic, ""), ch(alertMissing, "en")},
		Officials: ch(alertOfficials, "fr")}); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.disp.Run(ctx) }()
	return p
}

func (p *alertProcess) stop(t *testing.T) {
	t.Helper()
	p.disp.Stop()
	p.cancel()
	<-p.done
	if err := p.db.Close(); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// alertsIn returns the failure alerts the officials' chat received.
func alertsIn(tg *tgemu.Server) []tgemu.SentMessage {
	var out []tgemu.SentMessage
	for _, m := range tg.Sent(alertOfficials) {
		if strings.Contains(m.Text, "n’a pas pu être publié") {
			out = append(out, m)
		}
	}
	return out
}

// TestDigestPostFailedAlertsOfficialsOnce: an approved digest's post to
// a chat the platform does not know fails (its chart and its text); the
// officials' chat gets one alert, in the officials' language (French),
// naming the channel, the reason in words and the console's button, and
// nothing for the channel that worked. After a restart nothing is sent
// again; a re-post that fails again is a new failed post and gets its
// own single alert.
func TestDigestPostFailedAlertsOfficialsOnce(t *testing.T) {
	tg := tgemu.New(tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	official := tgemu.User{ID: 4242, FirstName: "Maire", LanguageCode: "fr"}
	for _, g := range []int64{alertPublic, alertOfficials} {
		if _, err := tg.Post(tgemu.Incoming{Chat: g, ChatTitle: "group", From: official, Text: "bonjour"}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "citybot.db")
	ctx := context.Background()
	wait := func(what string, cond func() bool) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		if err := tg.WaitFor(wctx, cond); err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
	}

	p := startAlertProcess(t, tg, path)
	d, err := p.dg.Draft(ctx, time.Now(), "root", "")
	if err != nil {
		t.Fatal(err)
	}
	if d, err = p.dg.Decide(ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	failed := func() bool {
		ps, err := p.dg.PostStatuses(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ps {
			if x.Chat == citybot.ChatID(itoa(alertMissing)) {
				return x.State == citybot.OutboxFailed
			}
		}
		return false
	}
	wait("the alert", func() bool { return len(alertsIn(tg)) > 0 })
	if !failed() {
		t.Fatal("an alert before the post was recorded failed")
	}
	wait("the public posts", func() bool { return len(tg.Sent(alertPublic)) >= 3 }) // chart, en, fr
	p.stop(t)

	alerts := alertsIn(tg)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts; want one for the failed post (chart and text)", len(alerts))
	}
	a := alerts[0].Text
	for _, want := range []string{"telegram " + itoa(alertMissing), string(d.Week), "ne connaît pas ce groupe", "Post again where it failed", "English"} {
		if !strings.Contains(a, want) {
			t.Errorf("alert %q lacks %q", a, want)
		}
	}
	if strings.Contains(a, itoa(alertPublic)) {
		t.Errorf("alert names the channel that worked: %q", a)
	}

	// A restart sends nothing again; a failed re-post is alerted once.
	p = startAlertProcess(t, tg, path)
	defer p.stop(t)
	if n, err := p.dg.Repost(ctx, d, "mayor"); err != nil || n != 2 {
		t.Fatalf("re-post queued %d, %v; want the chart and the text", n, err)
	}
	wait("the re-post's alert", func() bool { return len(alertsIn(tg)) >= 2 })
	it, err := p.db.OutboxItems(ctx, "alert:digest-post:")
	if err != nil {
		t.Fatal(err)
	}
	if len(it) != 2 || !strings.HasSuffix(it[1].Out.Key, ":en:repost1") {
		t.Fatalf("alert rows %+v", it)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rows, err := p.db.OutboxItems(ctx, "alert:digest-post:")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 2 && rows[1].State == citybot.OutboxSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the re-post's alert not recorded sent: %+v", rows)
		}
	}
	if n := len(alertsIn(tg)); n != 2 {
		t.Fatalf("%d alerts after a restart and a failed re-post; want 2", n)
	}
}

// TestPostFailedAlertOnlyForPublicPosts: rows that are not a public
// post of the digest, or not failed, give no alert.
func TestPostFailedAlertOnlyForPublicPosts(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	ch := accountability.Channel{Platform: citybot.Telegram, Chat: "-5"}
	dg, err := accountability.NewDigester(accountability.DigestOptions{Store: db, Policy: alertPolicy(t), Channels: []accountability.Channel{ch},
		Officials: accountability.Channel{Platform: citybot.Telegram, Chat: "-6"}})
	if err != nil {
		t.Fatal(err)
	}
	row := func(key, chat string, st citybot.OutboxState) citybot.OutboxItem {
		return citybot.OutboxItem{State: st, LastError: "Forbidden: bot was kicked", Out: citybot.Outgoing{Key: key, Platform: citybot.Telegram, Chat: citybot.ChatID(chat)}}
	}
	for _, it := range []citybot.OutboxItem{
		row("reply:1", "-5", citybot.OutboxFailed),
		row("digest:2026-W47:telegram:-5:en", "-5", citybot.OutboxUnknown),
		row("digest:2026-W47:r1:officials:notice", "-6", citybot.OutboxFailed),
		row("digest:2026-W47:telegram:-7:en", "-7", citybot.OutboxFailed),
	} {
		if got := dg.PostFailedAlert(it); got != nil {
			t.Errorf("%s: alert %+v", it.Out.Key, got)
		}
	}
	got := dg.PostFailedAlert(row("digest:2026-W47:telegram:-5:en#2", "-5", citybot.OutboxFailed))
	if len(got) != 1 || got[0].Out.Key != "alert:digest-post:2026-W47:telegram:-5:en" || got[0].Out.Chat != "-6" ||
		!strings.Contains(got[0].Out.Text, "not allowed to post") {
		t.Fatalf("alert %+v", got)
	}
}
