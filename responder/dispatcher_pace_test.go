package responder_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

// countingStore counts the dispatcher's reads of the queue and its writes.
type countingStore struct {
	*store.DB
	heads, claims, retries atomic.Int64
}

func (s *countingStore) OutboxHeads(ctx context.Context, ps []citybot.Platform, limit int) ([]citybot.OutboxItem, error) {
	s.heads.Add(1)
	return s.DB.OutboxHeads(ctx, ps, limit)
}

func (s *countingStore) ClaimOutboxIDs(ctx context.Context, claimer string, ids []citybot.OutboxID) ([]citybot.OutboxItem, error) {
	s.claims.Add(1)
	return s.DB.ClaimOutboxIDs(ctx, claimer, ids)
}

func (s *countingStore) RetryOutbox(ctx context.Context, id citybot.OutboxID, next time.Time, count bool, lastErr string) error {
	s.retries.Add(1)
	return s.DB.RetryOutbox(ctx, id, next, count, lastErr)
}

// pacedBot sends at most one message per interval across all its chats,
// as a platform's global limit does, and paces like the real adapters: a
// slot Reserve took is used by the next Send of the same key; a Send
// without one takes one or is refused (throttled), never reaching the
// platform.
type pacedBot struct {
	*fakeBot
	interval time.Duration

	perChat time.Duration // 0: no per-chat limit

	pmu      sync.Mutex
	next     time.Time // the next free slot
	chatNext map[citybot.ChatID]time.Time
	credits  map[string]time.Time
	blocked  time.Time // a 429's pause, for every chat
}

func newPacedBot(t *testing.T, interval time.Duration) *pacedBot {
	return &pacedBot{fakeBot: newFakeBot(t, citybot.Telegram), interval: interval, credits: map[string]time.Time{},
		chatNext: map[citybot.ChatID]time.Time{}}
}

// take takes a slot for chat at now, or returns the wait and its scope.
func (b *pacedBot) take(now time.Time, chat citybot.ChatID) (time.Duration, bots.PaceScope) {
	if w := b.blocked.Sub(now); w > 0 {
		return w, bots.PacePlatform
	}
	if w := b.next.Sub(now); w > 0 {
		return w, bots.PacePlatform
	}
	if w := b.chatNext[chat].Sub(now); w > 0 {
		return w, bots.PaceChat
	}
	b.next = now.Add(b.interval)
	if b.perChat > 0 {
		b.chatNext[chat] = now.Add(b.perChat)
	}
	return 0, bots.PaceChat
}

func (b *pacedBot) Reserve(out citybot.Outgoing) (time.Duration, bots.PaceScope) {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	now := time.Now()
	if w, scope := b.take(now, out.Chat); w > 0 {
		return w, scope
	}
	b.credits[out.Key] = now
	return 0, bots.PaceChat
}

func (b *pacedBot) Unreserve(out citybot.Outgoing) {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	if at, ok := b.credits[out.Key]; ok {
		delete(b.credits, out.Key)
		if b.next.Equal(at.Add(b.interval)) {
			b.next = at
		}
	}
}

func (b *pacedBot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	b.pmu.Lock()
	_, ok := b.credits[out.Key]
	delete(b.credits, out.Key)
	if !ok {
		if w, _ := b.take(time.Now(), out.Chat); w > 0 {
			b.pmu.Unlock()
			return citybot.Sent{}, &citybot.RetryAfterError{After: w, Throttled: true}
		}
	}
	b.pmu.Unlock()
	return b.fakeBot.Send(ctx, out)
}

// TestDispatcherNoSpinWhileThrottled: 300 chats each wait for one reply
// while the platform lets one message through every 50 ms. Between two
// slots every chat is throttled: the dispatcher must claim nothing and
// write nothing then (no claim, release, claim loop), so claim
// transactions and queue reads follow the sends, not the waiting rows.
// A 429 that pauses the whole platform stops claims altogether.
func TestDispatcherNoSpinWhileThrottled(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, store.Options{})
	const chats = 300
	for i := range chats {
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: fmt.Sprint("k", i), Platform: citybot.Telegram,
			Chat: citybot.ChatID(fmt.Sprint(1000 + i)), ChatKind: citybot.ChatPrivate, Text: "ack"}, Kind: citybot.OutboxAck}); err != nil {
			t.Fatal(err)
		}
	}
	cs := &countingStore{DB: db}
	bot := newPacedBot(t, 50*time.Millisecond)
	d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: cs, Bots: []bots.Bot{bot}, Workers: 8, PollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stop := runDispatcher(t, d)
	waitFor(t, "20 sends", func() bool { return len(bot.allSent()) >= 20 })
	sent, claims, heads := len(bot.allSent()), cs.claims.Load(), cs.heads.Load()

	// A 429 pauses every chat for 600 ms: nothing is claimed meanwhile.
	bot.pmu.Lock()
	bot.blocked = time.Now().Add(600 * time.Millisecond)
	bot.pmu.Unlock()
	time.Sleep(50 * time.Millisecond) // a send in flight may finish
	c0, h0, s0 := cs.claims.Load(), cs.heads.Load(), len(bot.allSent())
	time.Sleep(400 * time.Millisecond)
	c1, h1, s1 := cs.claims.Load(), cs.heads.Load(), len(bot.allSent())
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d sends: %d claim transactions, %d queue reads, %d reschedules; during a 400 ms platform pause: %d claims, %d reads, %d sends",
		sent, claims, heads, cs.retries.Load(), c1-c0, h1-h0, s1-s0)
	if claims > int64(sent)+2 {
		t.Errorf("%d claim transactions for %d sends: throttled rows were claimed", claims, sent)
	}
	if heads > 3*int64(sent)+5 {
		t.Errorf("%d queue reads for %d sends: the dispatcher polls while throttled", heads, sent)
	}
	if n := cs.retries.Load(); n > 2 {
		t.Errorf("%d rows claimed then put back", n)
	}
	if c1 != c0 || s1 != s0 || h1-h0 > 2 {
		t.Errorf("during the pause: %d claims, %d sends, %d reads; want none", c1-c0, s1-s0, h1-h0)
	}
	seen := map[string]bool{}
	for _, o := range bot.allSent() {
		if seen[o.Key] {
			t.Errorf("%s sent twice", o.Key)
		}
		seen[o.Key] = true
	}
}

// TestCriticalJumpsTheQueue: with 200 replies waiting behind a slow
// platform, the acknowledgement of a critical report goes out next.
func TestCriticalJumpsTheQueue(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	pb := newPacedBot(t, 20*time.Millisecond)
	pb.fakeBot = rg.bot
	d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: rg.db, Bots: []bots.Bot{pb}, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		rg.handle(privateMsg(fmt.Sprint("u", i), 1, "pothole on my street"))
	}
	stop := runDispatcher(t, d)
	waitFor(t, "a few sends", func() bool { return len(rg.bot.allSent()) >= 5 })
	crit := privateMsg("u-crit", 1, "gas leak in my building")
	rg.handle(crit)
	d.Notify()
	waitFor(t, "the critical ack", func() bool { return len(rg.bot.sentTo(crit.Chat)) > 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	pos := -1
	for i, o := range rg.bot.allSent() {
		if o.Chat == crit.Chat {
			pos = i
		}
	}
	t.Logf("critical ack sent %d-th of %d", pos+1, len(rg.bot.allSent()))
	if before := len(rg.bot.allSent()) - 1; pos < 0 || pos > 5+8 || before > 40 {
		t.Errorf("the critical ack went out %d-th (%d sent in all): it did not jump the queue", pos+1, before+1)
	}
}

// TestFloodingChatDelaysNoOne: one chat has 40 replies queued before 40
// other chats get one each; the platform allows one message a chat every
// 200 ms. The flooding chat is served at its pace while every other chat
// is served at once, and no throttled row is claimed.
func TestFloodingChatDelaysNoOne(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t, store.Options{})
	row := func(key, chat string) citybot.OutboxItem {
		return citybot.OutboxItem{Out: citybot.Outgoing{Key: key, Platform: citybot.Telegram, Chat: citybot.ChatID(chat),
			ChatKind: citybot.ChatPrivate, Text: "reply " + key}, Kind: citybot.OutboxReply}
	}
	for i := range 40 {
		if _, err := db.Enqueue(ctx, row(fmt.Sprint("flood", i), "666")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 {
		if _, err := db.Enqueue(ctx, row(fmt.Sprint("other", i), fmt.Sprint(2000+i))); err != nil {
			t.Fatal(err)
		}
	}
	cs := &countingStore{DB: db}
	bot := newPacedBot(t, time.Millisecond)
	bot.perChat = 200 * time.Millisecond
	d, err := responder.NewDispatcher(responder.DispatcherOptions{Store: cs, Bots: []bots.Bot{bot}, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	stop := runDispatcher(t, d)
	others := func() int { return len(bot.allSent()) - len(bot.sentTo("666")) }
	waitFor(t, "the 40 other chats", func() bool { return others() == 40 })
	flood := len(bot.sentTo("666"))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("when the 40 other chats were served, the flooding chat had %d of its 40; %d claims, %d reschedules", flood, cs.claims.Load(), cs.retries.Load())
	if flood > 5 {
		t.Errorf("the flooding chat got %d messages before the others were all served", flood)
	}
	if n := cs.retries.Load(); n > 2 {
		t.Errorf("%d throttled rows claimed and put back", n)
	}
}
