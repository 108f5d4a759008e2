package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/casework"
	"citybot/internal/testclock"
	"citybot/responder"
	"citybot/scheduler"
	"citybot/store"
)

// dgClock is the injected clock of the whole process under test.
type dgClock = testclock.Clock

// dgProcess is one run of citybot's digest side, wired as cmd/citybot
// wires it: the store, both adapters on their emulators, the pipeline
// wrapped by the digester, the dispatcher with chart-capable bots and the
// scheduler, all on the injected clock.
type dgProcess struct {
	db      *store.DB
	resp    *responder.Responder
	off     *casework.Officer
	dg      *accountability.Digester
	sched   *scheduler.Scheduler
	disp    *responder.Dispatcher
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

type dgWorld struct {
	t        *testing.T
	clock    *dgClock
	dbPath   string
	tg       *tgemu.Server
	dc       *dcemu.Server
	dcChan   string // the city's public Discord channel
	dcReport string // a listened Discord channel where citizens write
	official tgemu.User
	extra    []DigestChannel // more public channels
}

const (
	tgPublic    = int64(-100500) // the city's public Telegram group
	tgOfficials = int64(-100777) // the officials' private group
)

func newDgWorld(t *testing.T) *dgWorld {
	t.Helper()
	tg := tgemu.New(tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	dc, err := dcemu.Start(dcemu.Options{Token: "dc-test-token", HeartbeatInterval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	w := &dgWorld{t: t, clock: testclock.New(time.Date(2026, 11, 16, 8, 0, 0, 0, time.UTC)), dbPath: filepath.Join(t.TempDir(), "citybot.db"),
		tg: tg, dc: dc, official: tgemu.User{ID: 4242, FirstName: "Mayor", LanguageCode: "en"}}
	w.dcChan = dc.AddChannel("city-news")
	w.dcReport = dc.AddChannel("report")
	// The Telegram groups exist once someone wrote in them.
	for _, g := range []int64{tgPublic, tgOfficials} {
		if _, err := tg.Post(tgemu.Incoming{Chat: g, ChatTitle: "group", From: w.official, Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// start runs a process on the world's database.
func (w *dgWorld) start() *dgProcess {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &dgProcess{cancel: cancel}
	var err error
	if p.db, err = store.Open(ctx, w.dbPath, store.Options{Now: w.clock.Now}); err != nil {
		t.Fatal(err)
	}
	tgBot, err := telegram.New(ctx, telegram.Options{Token: w.tg.Token(), APIEndpoint: w.tg.Endpoint(), Cursors: p.db,
		PollTimeout: time.Second, PerChat: telegram.Rate{N: -1}, PerGroup: telegram.Rate{N: -1}})
	if err != nil {
		t.Fatal(err)
	}
	dcBot, err := discord.New(ctx, discord.Options{Token: "dc-test-token", APIBase: w.dc.URL(), GuildID: w.dc.GuildID(),
		Channels: []string{w.dcReport}, Cursors: p.db, RetryInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var notify func()
	p.disp, err = responder.NewDispatcher(responder.DispatcherOptions{Store: p.db, Now: w.clock.Now, PollInterval: 100 * time.Millisecond,
		Bots: []bots.Bot{tgBot, dcBot}, Charts: p.db})
	if err != nil {
		t.Fatal(err)
	}
	notify = p.disp.Notify
	city := testPolicy(t, DefaultConfig())
	if p.resp, err = responder.New(responder.Options{Store: p.db, Now: w.clock.Now, Notify: notify, Policy: city,
		Classifier: responder.ClassifierFunc(func(text, hint string) citybot.Classification {
			topic := "roads"
			if strings.Contains(text, "water") {
				topic = "water_sanitation"
			}
			return citybot.Classification{Topic: citybot.Scored{Label: topic, Confidence: 0.9}, Urgency: citybot.UrgencyNormal, Language: "en"}
		})}); err != nil {
		t.Fatal(err)
	}
	if p.off, err = casework.NewOfficer(casework.OfficerOptions{Store: p.db, Notify: notify, Policy: city}); err != nil {
		t.Fatal(err)
	}
	opts, err := DigestOptions(DigestConfig{
		Channels:  append([]DigestChannel{{Platform: "telegram", Chat: fmt.Sprint(tgPublic)}, {Platform: "discord", Chat: w.dcChan}}, w.extra...),
		Officials: DigestChannel{Platform: "telegram", Chat: fmt.Sprint(tgOfficials), Language: "en"},
		Approvers: map[string]string{fmt.Sprint(w.official.ID): "mayor"},
	}, RetentionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Policy, opts.Store, opts.Now, opts.Notify = city, p.db, w.clock.Now, notify
	if p.dg, err = accountability.NewDigester(opts); err != nil {
		t.Fatal(err)
	}
	if p.sched, err = NewDigestScheduler(p.dg, ScheduleConfig{Reminders: "off", Followups: "off", Retention: "off"}, nil, "", nil, w.clock.Now); err != nil {
		t.Fatal(err)
	}
	h := p.dg.Wrap(p.resp)
	for _, run := range []func(context.Context) error{
		func(ctx context.Context) error { return tgBot.Run(ctx, h) },
		func(ctx context.Context) error { return dcBot.Run(ctx, h) },
		p.disp.Run,
	} {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); run(ctx) }()
	}
	return p
}

// stop shuts the process down in order: intake, scheduler, dispatcher,
// store.
func (p *dgProcess) stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	p.sched.Stop()
	p.cancel()
	p.wg.Wait()
	p.db.Close()
}

func (w *dgWorld) waitFor(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitRecorded waits until every outbox row whose key starts with prefix
// is recorded as sent: a process stopped while a send is in flight sends
// it again after a restart (at least once, never lost), which this test
// is not about.
func (w *dgWorld) waitRecorded(p *dgProcess, prefix string) {
	w.t.Helper()
	w.waitFor("rows "+prefix+" recorded as sent", func() bool {
		items, err := p.db.OutboxItems(context.Background(), prefix)
		if err != nil || len(items) == 0 {
			return false
		}
		for _, it := range items {
			if it.State != citybot.OutboxSent {
				return false
			}
		}
		return true
	})
}

// TestDigestEndToEnd: a week of traffic on both platforms, the draft at
// the scheduled time, approval by the official's Telegram button, a
// restart between approval and posting, the digest and its chart posted
// once to the public Telegram group and once to the Discord channel; the
// next week's draft is sent back and never posted.
func TestDigestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := newDgWorld(t)
	p := w.start()
	defer func() { p.stop() }()
	monday := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)

	// A week of traffic: 6 Telegram citizens, 4 Discord citizens.
	for i := range 6 {
		w.clock.Set(monday.Add(time.Duration(9+i*12) * time.Hour))
		if _, err := w.tg.Post(tgemu.Incoming{From: tgemu.User{ID: int64(500 + i), FirstName: "Citizen"}, Text: fmt.Sprintf("pothole %d on Main Street", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		u := w.dc.AddUser(fmt.Sprint("citizen", i), false)
		if _, err := w.dc.Post(w.dcReport, u.ID, fmt.Sprintf("no water at number %d of the square", i)); err != nil {
			t.Fatal(err)
		}
	}
	var cases []citybot.Case
	w.waitFor("10 cases", func() bool {
		cases, _ = p.db.Inbox(context.Background(), citybot.CaseFilter{Limit: 100})
		return len(cases) == 10
	})
	// Officers answer and resolve half of them during the week.
	for i, c := range cases[:5] {
		w.clock.Set(monday.Add(3*24*time.Hour + time.Duration(i)*time.Hour))
		if _, err := p.off.Answer(context.Background(), c.ID, "olivia", "Our team repaired it this morning.", fmt.Sprintf("e2e%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := p.off.ChangeStatus(context.Background(), c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, fmt.Sprintf("r2e%d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// Sunday night: nothing is due. Monday 08:00 next week: the draft.
	from := monday.Add(8 * time.Hour)
	w.clock.Set(monday.Add(6*24*time.Hour + 23*time.Hour))
	if ran := p.sched.Fire(context.Background(), from); len(ran) != 0 {
		t.Fatalf("ran before the schedule: %v", ran)
	}
	w.clock.Set(monday.Add(7*24*time.Hour + 8*time.Hour + time.Minute))
	if ran := p.sched.Fire(context.Background(), from); len(ran) != 1 || ran[0] != "digest" {
		t.Fatalf("ran %v, want the digest draft", ran)
	}
	ds, err := p.db.Digests(context.Background(), 5)
	if err != nil || len(ds) != 1 || ds[0].Week != "2026-W47" || ds[0].State != citybot.DigestDraft {
		t.Fatalf("draft: %v %+v", err, ds)
	}
	// The officials' group gets the draft with the buttons.
	var draftMsg tgemu.SentMessage
	w.waitFor("the draft in the officials' group", func() bool {
		for _, m := range w.tg.Sent(tgOfficials) {
			if len(m.Buttons) == 1 && strings.HasPrefix(m.Buttons[0][0].Data, "dg:a:") {
				draftMsg = m
				return true
			}
		}
		return false
	})
	if !strings.Contains(draftMsg.Text, "Received: 10 reports") {
		t.Fatalf("draft as shown to officials:\n%s", draftMsg.Text)
	}
	// Nothing public yet.
	if n := len(w.tg.Sent(tgPublic)) + len(w.dc.Sent(w.dcChan)); n != 0 {
		t.Fatalf("%d public posts before approval", n)
	}

	// Every row of the draft is recorded as sent (stopping while a send is
	// in flight would resend it after the restart: at least once).
	w.waitRecorded(p, "digest:2026-W47:r1:officials")
	// Stop the dispatcher side before the approval lands, so that the
	// posts are queued by one process and sent by the next: the restart
	// between approval and posting.
	p.disp.Stop()
	if _, err := w.tg.Press(tgOfficials, draftMsg.MessageID, w.official, draftMsg.Buttons[0][0].Data); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the approval", func() bool {
		d, err := p.db.Digest(context.Background(), ds[0].ID)
		return err == nil && d.State == citybot.DigestApproved && d.DecidedBy == "mayor"
	})
	p.stop()
	if n := len(w.tg.Sent(tgPublic)) + len(w.dc.Sent(w.dcChan)); n != 0 {
		t.Fatalf("%d public posts before the restart", n)
	}
	p = w.start()
	// Telegram: chart, en, fr. Discord: chart, en, fr.
	w.waitFor("the posts", func() bool { return len(w.tg.Sent(tgPublic)) == 3 && len(w.dc.Sent(w.dcChan)) == 3 })
	var photos int
	for _, e := range w.tg.Transcript(tgPublic) {
		if e.FromBot && e.Media == tgemu.MediaPhoto {
			photos++
		}
	}
	dcSent := w.dc.Sent(w.dcChan)
	if photos != 1 || len(dcSent[0].Attachments) != 1 || !strings.Contains(dcSent[1].Content, "Received: 10 reports") {
		t.Fatalf("telegram photos %d; discord %+v", photos, dcSent)
	}

	// Another restart posts nothing again; a second press changes nothing.
	w.waitRecorded(p, "digest:2026-W47:telegram")
	w.waitRecorded(p, "digest:2026-W47:discord")
	p.stop()
	p = w.start()
	if _, err := w.tg.Press(tgOfficials, draftMsg.MessageID, w.official, draftMsg.Buttons[0][0].Data); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if len(w.tg.Sent(tgPublic)) != 3 || len(w.dc.Sent(w.dcChan)) != 3 {
		t.Fatalf("posted again: telegram %d, discord %d", len(w.tg.Sent(tgPublic)), len(w.dc.Sent(w.dcChan)))
	}

	// The next week: the draft is sent back from Telegram and never posted.
	w.clock.Set(monday.Add(14*24*time.Hour + 8*time.Hour + time.Minute))
	if ran := p.sched.Fire(context.Background(), monday.Add(7*24*time.Hour+8*time.Hour+time.Minute)); len(ran) != 1 {
		t.Fatalf("second week: ran %v", ran)
	}
	ds, err = p.db.Digests(context.Background(), 1)
	if err != nil || len(ds) != 1 || ds[0].Week != "2026-W48" {
		t.Fatalf("second draft: %v %+v", err, ds)
	}
	var second tgemu.SentMessage
	w.waitFor("the second draft", func() bool {
		for _, m := range w.tg.Sent(tgOfficials) {
			if len(m.Buttons) == 1 && m.Buttons[0][1].Data == fmt.Sprintf("dg:r:%d", ds[0].ID) {
				second = m
				return true
			}
		}
		return false
	})
	if _, err := w.tg.Press(tgOfficials, second.MessageID, w.official, second.Buttons[0][1].Data); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the send-back", func() bool {
		ds, _ := p.db.Digests(context.Background(), 1)
		return len(ds) == 1 && ds[0].Week == "2026-W48" && ds[0].State == citybot.DigestChangesRequested
	})
	time.Sleep(500 * time.Millisecond)
	if len(w.tg.Sent(tgPublic)) != 3 || len(w.dc.Sent(w.dcChan)) != 3 {
		t.Fatalf("a sent-back draft was posted")
	}
}
