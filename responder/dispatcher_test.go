package responder_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"citybot"
	"citybot/accountability"
	"citybot/bots"
	"citybot/responder"
	"citybot/store"
)

// idemBot is a platform that recognises a repeated send of the same key
// (as Discord does with its nonce) and answers it with the first message.
type idemBot struct {
	*fakeBot
	window time.Duration

	mu      sync.Mutex
	first   map[string]citybot.Sent
	repeats int // sends answered with the first message
}

func newIdemBot(t *testing.T, window time.Duration) *idemBot {
	return &idemBot{fakeBot: newFakeBot(t, citybot.Telegram), window: window, first: map[string]citybot.Sent{}}
}

func (b *idemBot) IdempotencyWindow(citybot.Outgoing) time.Duration { return b.window }

func (b *idemBot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	b.mu.Lock()
	if s, ok := b.first[out.Key]; ok {
		b.repeats++
		b.mu.Unlock()
		return s, nil
	}
	b.mu.Unlock()
	s, err := b.fakeBot.Send(ctx, out)
	if err == nil {
		b.mu.Lock()
		b.first[out.Key] = s
		b.mu.Unlock()
	}
	return s, err
}

func (b *idemBot) repeated() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.repeats
}

// logBuf is a log destination safe for concurrent use.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// runDispatcher runs d until the test ends and returns a function that
// cancels Run's context and returns Run's result.
func runDispatcher(t *testing.T, d *responder.Dispatcher) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); d.Stop() })
	return func() error { cancel(); return <-done }
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// crashLeftSending stores a citizen's message (queueing its
// acknowledgement) and claims the row as a dispatcher that dies mid-send
// would leave it.
func crashLeftSending(t *testing.T, rg *rig, m citybot.Message) citybot.OutboxItem {
	t.Helper()
	rg.handle(m)
	items, err := rg.db.OutboxItems(context.Background(), "")
	if err != nil || len(items) != 1 {
		t.Fatalf("queued %+v, %v", items, err)
	}
	got, err := rg.db.ClaimOutboxIDs(context.Background(), deadInstance, []citybot.OutboxID{items[0].ID})
	if err != nil || len(got) != 1 || got[0].Kind != citybot.OutboxAck {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	return got[0]
}

func caseStatus(t *testing.T, db *store.DB, id citybot.CaseID) citybot.CaseStatus {
	t.Helper()
	c, err := db.Case(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Status
}

func TestStopFinishesInFlightSends(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	block := make(chan struct{})
	rg.bot.block = block
	m := privateMsg("u1", 1, "pothole")
	rg.handle(m)
	ctx := context.Background()
	items, _ := rg.db.OutboxItems(ctx, "")
	if len(items) != 1 {
		t.Fatalf("queued %+v", items)
	}
	ack := items[0]
	rg.start()
	waitFor(t, "the send to start", func() bool { return rg.bot.callCount(ack.Out.Key) == 1 })

	rg.stop() // Run's context is cancelled: nothing more is claimed
	rg.handle(privateMsg("u2", 2, "graffiti"))
	stopped := make(chan struct{})
	go func() { rg.d.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned while a send was in flight")
	case err := <-rg.done:
		t.Fatalf("Run returned %v while a send was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(block) // the platform answers
	<-stopped
	if err := <-rg.done; err != nil {
		t.Errorf("Run = %v", err)
	}
	it, _ := rg.db.OutboxItem(ctx, ack.Out.Key)
	if it.State != citybot.OutboxSent || it.SentID == "" {
		t.Errorf("in-flight row after stop: %+v; want sent", it)
	}
	if n := len(rg.bot.sentTo(m.Chat)); n != 1 {
		t.Errorf("delivered %d, want 1", n)
	}
	if s := caseStatus(t, rg.db, ack.Case); s != citybot.StatusAcknowledged {
		t.Errorf("case is %s, want acknowledged", s)
	}
	items, _ = rg.db.OutboxItems(ctx, "")
	if len(items) != 2 || items[1].State != citybot.OutboxPending || rg.bot.callCount(items[1].Out.Key) != 0 {
		t.Errorf("row queued after the stop: %+v; want pending, never sent", items)
	}
	// The next run sends it, and nothing is sent twice.
	rg.start()
	rg.drain()
	if n := len(rg.bot.allSent()); n != 2 {
		t.Errorf("%d messages delivered in all, want 2", n)
	}
}

func TestStopWaitsAtMostSendTimeout(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true, dopts: responder.DispatcherOptions{SendTimeout: 100 * time.Millisecond}})
	rg.bot.block = make(chan struct{}) // never answers
	rg.handle(privateMsg("u1", 1, "pothole"))
	ctx := context.Background()
	items, _ := rg.db.OutboxItems(ctx, "")
	rg.start()
	waitFor(t, "the send to start", func() bool { return rg.bot.callCount(items[0].Out.Key) == 1 })
	rg.d.Stop()
	if err := <-rg.done; err != nil {
		t.Errorf("Run = %v", err)
	}
	// The send timed out: a transient failure, retried later.
	it, _ := rg.db.OutboxItem(ctx, items[0].Out.Key)
	if it.State != citybot.OutboxPending || it.Attempts != 1 || it.LastError == "" {
		t.Errorf("row after a timed-out send at stop: %+v", it)
	}
}

func TestCrashInterruptedNotResentWithoutIdempotency(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	logs := &logBuf{}
	rg := newRig(t, rigOptions{noRun: true, dopts: responder.DispatcherOptions{
		Registerer: reg, Logger: slog.New(slog.NewTextHandler(logs, nil))}})
	m := privateMsg("u1", 1, "pothole")
	claimed := crashLeftSending(t, rg, m)
	rg.start()
	rg.drain()
	rg.d.Stop()

	ctx := context.Background()
	if n := rg.bot.callCount(claimed.Out.Key); n != 0 {
		t.Errorf("the ambiguous row was sent %d times, want 0", n)
	}
	it, _ := rg.db.OutboxItem(ctx, claimed.Out.Key)
	if it.State != citybot.OutboxUnknown || !strings.HasPrefix(it.LastError, "delivery unknown") {
		t.Errorf("row = %+v; want delivery unknown", it)
	}
	c, err := rg.db.Case(ctx, claimed.Case)
	if err != nil || c.Status != citybot.StatusNew {
		t.Fatalf("case = %s, %v; want still new", c.Status, err)
	}
	want := `
# HELP citybot_outbox_delivery_unknown_total Outbox rows a crash interrupted mid-send and that were not sent again (delivery unknown), by platform.
# TYPE citybot_outbox_delivery_unknown_total counter
citybot_outbox_delivery_unknown_total{platform="telegram"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "citybot_outbox_delivery_unknown_total"); err != nil {
		t.Error(err)
	}
	out := logs.String()
	var line string
	for l := range strings.Lines(out) {
		if strings.Contains(l, "delivery unknown") {
			line = l
		}
	}
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "outbox_id=") || !strings.Contains(line, "case_ref="+string(c.Ref)) {
		t.Errorf("no warning with the outbox id and case ref:\n%s", out)
	}
	for _, secret := range []string{string(m.Chat), m.Sender.Name, "pothole"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log shows %q:\n%s", secret, out)
		}
	}
}

func TestCrashInterruptedResentOnIdempotentPlatform(t *testing.T) {
	for _, accepted := range []bool{true, false} {
		name := map[bool]string{true: "platform had accepted it", false: "platform had not"}[accepted]
		t.Run(name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			rg := newRig(t, rigOptions{noRun: true})
			bot := newIdemBot(t, 2*time.Minute)
			d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: rg.db, Bots: []bots.Bot{bot}, Registerer: reg})
			if err != nil {
				t.Fatal(err)
			}
			m := privateMsg("u1", 1, "pothole")
			claimed := crashLeftSending(t, rg, m)
			ctx := context.Background()
			if accepted {
				// The platform took it; the process died before MarkSent.
				if _, err := bot.Send(ctx, claimed.Out); err != nil {
					t.Fatal(err)
				}
			}
			stop := runDispatcher(t, d)
			rg.drain()
			if err := stop(); err != nil {
				t.Errorf("Run = %v", err)
			}
			it, _ := rg.db.OutboxItem(ctx, claimed.Out.Key)
			if it.State != citybot.OutboxSent {
				t.Errorf("row = %+v; want sent", it)
			}
			if n := len(bot.sentTo(m.Chat)); n != 1 {
				t.Errorf("citizen got %d messages, want exactly 1", n)
			}
			wantRepeats := map[bool]int{true: 1, false: 0}[accepted]
			if r := bot.repeated(); r != wantRepeats {
				t.Errorf("%d repeats answered by the platform, want %d", r, wantRepeats)
			}
			if s := caseStatus(t, rg.db, claimed.Case); s != citybot.StatusAcknowledged {
				t.Errorf("case is %s, want acknowledged", s)
			}
			if n := testutil.CollectAndCount(reg, "citybot_outbox_delivery_unknown_total"); n != 0 {
				t.Errorf("%d delivery-unknown series, want none", n)
			}
		})
	}
}

func TestCrashInterruptedOutsideWindowNotResent(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	rg := newRig(t, rigOptions{noRun: true, clock: clk})
	bot := newIdemBot(t, 2*time.Minute)
	d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: rg.db, Bots: []bots.Bot{bot}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	claimed := crashLeftSending(t, rg, privateMsg("u1", 1, "pothole"))
	// The restart comes too late for the platform to recognise a repeat.
	clk.Advance(time.Minute)
	stop := runDispatcher(t, d)
	rg.drain()
	stop()
	it, _ := rg.db.OutboxItem(context.Background(), claimed.Out.Key)
	if it.State != citybot.OutboxUnknown || bot.callCount(claimed.Out.Key) != 0 {
		t.Errorf("row = %+v after %d sends; want delivery unknown, never sent", it, bot.callCount(claimed.Out.Key))
	}
}

// A chart row a crash interrupted is not sent again, even on a platform
// that recognises a repeated message: a photo is not deduplicated. It
// becomes delivery unknown.
func TestCrashInterruptedChartNotResent(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	bot := newIdemBot(t, 2*time.Minute)
	ctx := context.Background()
	chart := citybot.OutboxItem{Kind: citybot.OutboxChart, ChartWeek: "2026-W10", Out: citybot.Outgoing{
		Key: "digest:2026-W10:telegram:-100500:en" + accountability.ChartKeySuffix, Platform: citybot.Telegram, Chat: "-100500",
		ChatKind: citybot.ChatChannel, Text: "Week 2026-W10"}}
	if _, err := rg.db.Enqueue(ctx, chart); err != nil {
		t.Fatal(err)
	}
	it, err := rg.db.OutboxItem(ctx, chart.Out.Key)
	if err != nil || it.Kind != citybot.OutboxChart || it.ChartWeek != "2026-W10" {
		t.Fatalf("stored chart row %+v, %v", it, err)
	}
	if got, err := rg.db.ClaimOutboxIDs(ctx, deadInstance, []citybot.OutboxID{it.ID}); err != nil || len(got) != 1 {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: rg.db, Bots: []bots.Bot{bot}, Charts: rg.db})
	if err != nil {
		t.Fatal(err)
	}
	stop := runDispatcher(t, d)
	rg.drain()
	if err := stop(); err != nil {
		t.Errorf("Run = %v", err)
	}
	if it, _ := rg.db.OutboxItem(ctx, chart.Out.Key); it.State != citybot.OutboxUnknown || bot.callCount(chart.Out.Key) != 0 {
		t.Errorf("chart row = %+v after %d sends; want delivery unknown, never sent", it, bot.callCount(chart.Out.Key))
	}
}

// A send slower than the record budget still has its outcome recorded:
// the budget starts once the send returns. Otherwise the row would stay in
// sending and block its chat's queue until a restart.
func TestSlowSendOutcomeRecorded(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true, dopts: responder.DispatcherOptions{
		RecordTimeout: 20 * time.Millisecond, SendTimeout: 10 * time.Second}})
	block := make(chan struct{})
	rg.bot.block = block
	m := privateMsg("u1", 1, "pothole")
	rg.handle(m)
	ctx := context.Background()
	items, _ := rg.db.OutboxItems(ctx, "")
	if len(items) != 1 {
		t.Fatalf("queued %+v", items)
	}
	rg.start()
	waitFor(t, "the send to start", func() bool { return rg.bot.callCount(items[0].Out.Key) == 1 })
	time.Sleep(100 * time.Millisecond) // well past the record budget
	close(block)
	waitFor(t, "the slow send to be recorded", func() bool {
		it, err := rg.db.OutboxItem(ctx, items[0].Out.Key)
		return err == nil && it.State == citybot.OutboxSent
	})
	// The chat is not blocked: its next reply goes out, once.
	rg.bot.mu.Lock()
	rg.bot.block = nil
	rg.bot.mu.Unlock()
	help := privateMsg("u1", 2, "/help")
	help.Command = "help"
	rg.handle(help)
	rg.drain()
	if n := len(rg.bot.sentTo(m.Chat)); n != 2 {
		t.Errorf("delivered %d to the chat, want 2", n)
	}
}

// A send that times out after longer than the record budget is put back to
// pending for a retry, not left in sending.
func TestTimedOutSendRescheduled(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true, dopts: responder.DispatcherOptions{
		RecordTimeout: 20 * time.Millisecond, SendTimeout: 100 * time.Millisecond, BaseBackoff: time.Hour}})
	rg.bot.block = make(chan struct{}) // never answers
	rg.handle(privateMsg("u1", 1, "pothole"))
	ctx := context.Background()
	items, _ := rg.db.OutboxItems(ctx, "")
	rg.start()
	waitFor(t, "the timed-out send to be rescheduled", func() bool {
		it, err := rg.db.OutboxItem(ctx, items[0].Out.Key)
		return err == nil && it.State == citybot.OutboxPending && it.Attempts == 1
	})
}

// deadInstance claims the rows a test leaves in sending: a process that
// died, with no heartbeat.
const deadInstance = "dead-instance"
