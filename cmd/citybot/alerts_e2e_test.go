package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
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
	"citybot/classifier"
	"citybot/internal/testclock"
	"citybot/responder"
	"citybot/store"
)

// The officers' Telegram groups of the alerts test.
const (
	tgAlerts    = int64(-100900) // alerts of critical cases
	tgSensitive = int64(-100901) // the only chat told of sensitive ones
	tgEscalate  = int64(-100902) // escalations
)

// alWorld is the world of the alerts test: both emulators, the officers'
// chats, an injected clock and the database path shared by the runs.
type alWorld struct {
	t       *testing.T
	clock   *dgClock
	dbPath  string
	tg      *tgemu.Server
	dc      *dcemu.Server
	dcAlert string // the officers' Discord channel
	dcTown  string // a listened channel where citizens write
	olivia  tgemu.User
	adam    dcemu.User
	cfg     Config
	clf     *classifier.Classifier
}

// alProcess is one run of citybot's alert side, wired as serve wires it:
// the store, both adapters on their emulators, the dispatcher, the
// responder kicking the alerter, the alerter's Run and its handler wrap.
type alProcess struct {
	db      *store.DB
	resp    *responder.Responder
	alerter *accountability.Alerter
	disp    *responder.Dispatcher
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newAlWorld(t *testing.T) *alWorld {
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
	w := &alWorld{t: t, clock: testclock.New(time.Date(2026, 11, 20, 19, 30, 0, 0, time.UTC)), // a Friday evening
		dbPath: filepath.Join(t.TempDir(), "citybot.db"), tg: tg, dc: dc,
		olivia: tgemu.User{ID: 7001, FirstName: "Olivia", LanguageCode: "en"}}
	w.dcAlert = dc.AddChannel("officers")
	w.dcTown = dc.AddChannel("town-square")
	w.adam = dc.AddUser("adam", false)
	// The Telegram groups exist once someone wrote in them; what officers
	// write there opens no case.
	for _, g := range []int64{tgAlerts, tgSensitive, tgEscalate} {
		if _, err := tg.Post(tgemu.Incoming{Chat: g, ChatTitle: "officers", From: w.olivia, Text: "hello team"}); err != nil {
			t.Fatal(err)
		}
	}
	w.cfg = DefaultConfig()
	w.cfg.Web.PublicBaseURL = "https://city.example/"
	w.cfg.Alerts = AlertsConfig{
		TelegramChats: []int64{tgAlerts}, DiscordChannels: []string{w.dcAlert},
		SensitiveChats: []string{fmt.Sprint("telegram:", tgSensitive)}, EscalateChats: []string{fmt.Sprint("telegram:", tgEscalate)},
		EscalateAfter: DurationOrOff{Duration: 10 * time.Minute},
		Officers:      map[string]string{strconv.FormatInt(w.olivia.ID, 10): "olivia", w.adam.ID: "adam"},
	}
	if err := w.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if w.clf, err = classifier.New(w.cfg.Classifier); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *alWorld) start() *alProcess {
	t := w.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &alProcess{ctx: ctx, cancel: cancel}
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
		Channels: withAlertChannels([]string{w.dcTown}, w.cfg), Cursors: p.db, RetryInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if p.disp, err = responder.NewDispatcher(responder.DispatcherOptions{Store: p.db, Now: w.clock.Now, PollInterval: 100 * time.Millisecond,
		Bots: []bots.Bot{tgBot, dcBot}, Charts: p.db}); err != nil {
		t.Fatal(err)
	}
	if p.alerter, err = newAlerter(w.cfg, testPolicy(t, w.cfg), p.db, p.disp.Notify, nil, w.clock.Now); err != nil {
		t.Fatal(err)
	}
	if p.resp, err = responder.New(responder.Options{Store: p.db, Classifier: w.clf, Now: w.clock.Now,
		Notify: p.disp.Notify, Critical: p.alerter.Kick, Policy: testPolicy(t, w.cfg)}); err != nil {
		t.Fatal(err)
	}
	h := p.alerter.Wrap(p.resp)
	for _, run := range []func(context.Context) error{
		func(ctx context.Context) error { return tgBot.Run(ctx, h) },
		func(ctx context.Context) error { return dcBot.Run(ctx, h) },
		p.disp.Run, p.alerter.Run,
	} {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); run(ctx) }()
	}
	return p
}

// runDispatcher runs the dispatcher again after a Stop.
func (p *alProcess) runDispatcher() {
	p.wg.Add(1)
	go func() { defer p.wg.Done(); p.disp.Run(p.ctx) }()
}

func (p *alProcess) stop() {
	p.cancel()
	p.wg.Wait()
	p.db.Close()
}

func (w *alWorld) waitFor(what string, within time.Duration, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tgBotMessages returns the bot's messages in a Telegram chat.
func (w *alWorld) tgBotMessages(chat int64) []tgemu.SentMessage { return w.tg.Sent(chat) }

// TestAlertsEndToEnd: a critical message reaches the officers' Telegram
// group and Discord channel within 5 s of intake, with reference, topic,
// place, cues, age and a console link, never the citizen's identity nor
// text; nobody takes it, so it is escalated after 10 minutes (injected
// clock), then again; Take it from Telegram assigns the case (audited) and
// edits every alert; a later press from Discord is told who has it, and
// escalation stops. A case an officer makes sensitive and critical is
// told to the sensitive chat only, by reference. A restart sends nothing
// again.
func TestAlertsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	w := newAlWorld(t)
	p := w.start()
	defer func() { p.stop() }()
	ctx := context.Background()
	for _, a := range []struct {
		name string
		role citybot.Role
	}{{"olivia", citybot.RoleOfficer}, {"adam", citybot.RoleAdmin}} {
		if _, err := p.db.CreateAccount(ctx, a.name, a.role, "x-hash", "test"); err != nil {
			t.Fatal(err)
		}
	}

	// A citizen on Telegram, privately, on a Friday evening.
	citizen := tgemu.User{ID: 9100, FirstName: "Zoé", LastName: "Martin", Username: "zoemartin", LanguageCode: "en"}
	const said = "there is a gas leak in our building"
	posted := time.Now()
	if _, err := w.tg.Post(tgemu.Incoming{From: citizen, Text: said}); err != nil {
		t.Fatal(err)
	}
	var alert tgemu.SentMessage
	var dcAlert dcemu.Message
	w.waitFor("the alert in the officers' Telegram group and Discord channel", 5*time.Second, func() bool {
		tgm, dcm := w.tgBotMessages(tgAlerts), w.dc.Sent(w.dcAlert)
		if len(tgm) == 0 || len(dcm) == 0 {
			return false
		}
		alert, dcAlert = tgm[0], dcm[0]
		return true
	})
	latency := time.Since(posted)
	t.Logf("alert in both chats %s after the citizen's message", latency.Round(time.Millisecond))
	cases, err := p.db.Inbox(ctx, citybot.CaseFilter{})
	if err != nil || len(cases) != 1 || cases[0].Urgency != citybot.UrgencyCritical {
		t.Fatalf("cases %+v, %v: want one critical case", cases, err)
	}
	c := cases[0]
	for _, text := range []string{alert.Text, dcAlert.Content} {
		for _, want := range []string{string(c.Ref), "Why critical:", "gas", "https://city.example/cases/" + strconv.FormatInt(int64(c.ID), 10), "Waiting for"} {
			if !strings.Contains(text, want) {
				t.Errorf("alert lacks %q:\n%s", want, text)
			}
		}
		for _, never := range []string{said, "our building", "Zoé", "Martin", "zoemartin", "9100"} {
			if strings.Contains(text, never) {
				t.Errorf("alert carries the citizen's %q:\n%s", never, text)
			}
		}
	}
	if len(alert.Buttons) != 1 || alert.Buttons[0][0].Data != "al:t:"+strconv.FormatInt(int64(c.ID), 10) || len(dcAlert.Buttons) != 1 {
		t.Fatalf("Take it buttons: telegram %+v discord %+v", alert.Buttons, dcAlert.Buttons)
	}
	if n := len(w.tgBotMessages(tgEscalate)); n != 0 {
		t.Fatalf("%d escalations at once", n)
	}
	// The officers' "hello team" opened no case.
	if all, _ := p.db.Inbox(ctx, citybot.CaseFilter{Limit: 10}); len(all) != 1 {
		t.Fatalf("%d cases: a message in an alert chat opened one", len(all))
	}

	// Nobody takes it: 9 minutes, nothing; 10, the first escalation; 20,
	// the second.
	start := w.clock.Now()
	escalations := func() int { return len(w.tgBotMessages(tgEscalate)) }
	advance := func(d time.Duration) {
		w.clock.Set(start.Add(d))
		p.alerter.Kick()
	}
	advance(9 * time.Minute)
	time.Sleep(300 * time.Millisecond)
	if n := escalations(); n != 0 {
		t.Fatalf("escalated after 9 minutes (%d)", n)
	}
	advance(10*time.Minute + time.Second)
	w.waitFor("the first escalation", 5*time.Second, func() bool { return escalations() == 1 })
	advance(20*time.Minute + time.Second)
	w.waitFor("the second escalation", 5*time.Second, func() bool { return escalations() == 2 })
	esc := w.tgBotMessages(tgEscalate)
	if !strings.Contains(esc[1].Text, string(c.Ref)) || !strings.Contains(esc[1].Text, "reminder 2") || len(esc[1].Buttons) != 1 {
		t.Fatalf("second escalation:\n%s %+v", esc[1].Text, esc[1].Buttons)
	}
	if len(w.tgBotMessages(tgAlerts)) != 1 || len(w.dc.Sent(w.dcAlert)) != 1 {
		t.Fatalf("the alert chats got more than the alert")
	}

	// Someone not on the officers' list cannot take it.
	stranger := tgemu.User{ID: 7003, FirstName: "Stranger"}
	if _, err := w.tg.Press(tgAlerts, alert.MessageID, stranger, alert.Buttons[0][0].Data); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the stranger's refusal", 5*time.Second, func() bool {
		for _, a := range w.tg.Answers() {
			if strings.Contains(a.Text, "not on the list") {
				return true
			}
		}
		return false
	})
	if v, _ := p.db.CaseView(ctx, c.ID); v.Assignee != "" {
		t.Fatalf("a stranger's press assigned the case to %q", v.Assignee)
	}

	// Olivia takes it from Telegram while Adam still sees the Discord
	// alert's button (the dispatcher is held, so the edits wait).
	p.disp.Stop()
	if _, err := w.tg.Press(tgAlerts, alert.MessageID, w.olivia, alert.Buttons[0][0].Data); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the assignment", 5*time.Second, func() bool {
		v, err := p.db.CaseView(ctx, c.ID)
		return err == nil && v.Assignee == "olivia"
	})
	// Adam presses the Discord alert's button he still sees: already taken.
	iid, err := w.dc.PressButton(w.dcAlert, w.adam.ID, dcAlert.ID, "al:t:"+strconv.FormatInt(int64(c.ID), 10))
	if err != nil {
		t.Fatal(err)
	}
	in, err := w.dc.WaitInteraction(ctxTimeout(t, 5*time.Second), iid, func(in dcemu.Interaction) bool { return in.Acked && in.Content != "" })
	if err != nil || !in.Ephemeral || !strings.Contains(in.Content, "already taken by olivia") {
		t.Fatalf("second press: %+v, %v", in, err)
	}
	if v, _ := p.db.CaseView(ctx, c.ID); v.Assignee != "olivia" {
		t.Fatalf("assignee %q after a second press", v.Assignee)
	}
	p.runDispatcher()
	w.waitFor("every alert edited", 5*time.Second, func() bool {
		a, d, e := w.tgBotMessages(tgAlerts), w.dc.Sent(w.dcAlert), w.tgBotMessages(tgEscalate)
		ok := strings.Contains(a[0].Text, "Taken by olivia") && len(a[0].Buttons) == 0 &&
			strings.Contains(d[0].Content, "Taken by olivia") && len(d[0].Buttons) == 0
		for _, m := range e {
			ok = ok && strings.Contains(m.Text, "Taken by olivia")
		}
		return ok
	})
	w.waitFor("Olivia's toast", 5*time.Second, func() bool {
		for _, a := range w.tg.Answers() {
			if strings.Contains(a.Text, string(c.Ref)+" is yours") {
				return true
			}
		}
		return false
	})
	audit, err := p.db.Audit(ctx, "case:"+strconv.FormatInt(int64(c.ID), 10))
	if err != nil {
		t.Fatal(err)
	}
	assigned := false
	for _, e := range audit {
		assigned = assigned || (e.Action == "case.assign" && e.Actor == "olivia")
	}
	if !assigned {
		t.Fatalf("no case.assign by olivia in the audit log: %+v", audit)
	}
	// Taken: no more escalation.
	advance(45 * time.Minute)
	time.Sleep(300 * time.Millisecond)
	if n := escalations(); n != 2 {
		t.Fatalf("%d escalations after the case was taken", n)
	}

	// A case an officer makes sensitive and critical: the sensitive chat
	// alone hears of it, by reference, and of its escalation.
	w.clock.Set(start.Add(time.Hour))
	cit2 := w.dc.AddUser("citizen2", false)
	if _, err := w.dc.Post(w.dcTown, cit2.ID, "the pothole on the main road is getting bigger"); err != nil {
		t.Fatal(err)
	}
	var c2 citybot.Case
	w.waitFor("the second case", 5*time.Second, func() bool {
		cs, _ := p.db.Inbox(ctx, citybot.CaseFilter{Limit: 10})
		for _, x := range cs {
			if x.ID != c.ID {
				c2 = x
				return true
			}
		}
		return false
	})
	if _, err := p.db.SetCaseSensitive(ctx, c2.ID, true, "adam", "a bribe was mentioned by phone"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.db.CorrectCase(ctx, c2.ID, "", citybot.UrgencyCritical, "adam"); err != nil {
		t.Fatal(err)
	}
	// No kick: the alerter's own round finds it (5 s), as for a
	// correction in the console.
	w.waitFor("the sensitive alert", 15*time.Second, func() bool { return len(w.tgBotMessages(tgSensitive)) == 1 })
	sens := w.tgBotMessages(tgSensitive)[0]
	if !strings.Contains(sens.Text, string(c2.Ref)) || strings.Contains(sens.Text, "Topic") || strings.Contains(sens.Text, "pothole") ||
		strings.Contains(sens.Text, "/cases/") {
		t.Fatalf("sensitive alert says more than its reference:\n%s", sens.Text)
	}
	w.clock.Set(start.Add(time.Hour + 10*time.Minute + time.Second))
	p.alerter.Kick()
	w.waitFor("the sensitive escalation", 5*time.Second, func() bool { return len(w.tgBotMessages(tgSensitive)) == 2 })
	checkNoRef := func() {
		t.Helper()
		var texts []string
		for _, m := range append(w.tgBotMessages(tgAlerts), w.tgBotMessages(tgEscalate)...) {
			texts = append(texts, m.Text)
		}
		for _, m := range w.dc.Sent(w.dcAlert) {
			texts = append(texts, m.Content)
		}
		for _, s := range texts {
			if strings.Contains(s, string(c2.Ref)) {
				t.Fatalf("the sensitive case reached a non-sensitive chat:\n%s", s)
			}
		}
	}
	checkNoRef()

	// A critical case alerted in the open chats that becomes sensitive
	// afterwards: its alerts there are cut down to the reference, and its
	// escalation goes to the sensitive chat only.
	w.clock.Set(start.Add(2 * time.Hour))
	if _, err := w.tg.Post(tgemu.Incoming{From: tgemu.User{ID: 9200, FirstName: "Noah", LanguageCode: "en"}, Text: "there is a gas leak in the school"}); err != nil {
		t.Fatal(err)
	}
	var c3 citybot.Case
	w.waitFor("the third alert", 5*time.Second, func() bool {
		a := w.tgBotMessages(tgAlerts)
		if len(a) != 2 || len(w.dc.Sent(w.dcAlert)) != 2 {
			return false
		}
		cs, _ := p.db.Inbox(ctx, citybot.CaseFilter{Limit: 10})
		for _, x := range cs {
			if x.ID != c.ID && x.ID != c2.ID {
				c3 = x
			}
		}
		return c3.ID != 0 && strings.Contains(a[1].Text, string(c3.Ref)) && strings.Contains(a[1].Text, "Topic")
	})
	w.waitFor("the third alert recorded sent", 5*time.Second, func() bool {
		st, err := p.db.OutboxStats(ctx)
		return err == nil && st.Pending == 0
	})
	if _, err := p.db.SetCaseSensitive(ctx, c3.ID, true, "adam", "the caller named an official"); err != nil {
		t.Fatal(err)
	}
	p.alerter.Kick()
	w.waitFor("the open alerts cut down to the reference", 5*time.Second, func() bool {
		a, d := w.tgBotMessages(tgAlerts)[1], w.dc.Sent(w.dcAlert)[1]
		return a.Text == "🚨 A sensitive critical case waits: "+string(c3.Ref) && d.Content == a.Text
	})
	escBefore := escalations()
	w.clock.Set(start.Add(2*time.Hour + 10*time.Minute + time.Second))
	p.alerter.Kick()
	w.waitFor("the became-sensitive escalation", 5*time.Second, func() bool {
		for _, m := range w.tgBotMessages(tgSensitive) {
			if strings.Contains(m.Text, string(c3.Ref)) && strings.Contains(m.Text, "reminder 1") {
				return true
			}
		}
		return false
	})
	if escalations() != escBefore {
		t.Fatalf("a sensitive case was escalated to the open escalation chat")
	}

	// A restart sends nothing again.
	counts := func() [4]int {
		return [4]int{len(w.tgBotMessages(tgAlerts)), len(w.tgBotMessages(tgEscalate)), len(w.tgBotMessages(tgSensitive)), len(w.dc.Sent(w.dcAlert))}
	}
	w.waitFor("the outbox drained", 5*time.Second, func() bool {
		st, err := p.db.OutboxStats(ctx)
		return err == nil && st.Pending == 0
	})
	before := counts()
	p.stop()
	p = w.start()
	p.alerter.Kick()
	time.Sleep(time.Second)
	if after := counts(); after != before {
		t.Fatalf("after a restart: %v messages, before %v", after, before)
	}
	checkNoRef()
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
