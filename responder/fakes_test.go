package responder_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/internal/storetest"
	"citybot/responder"
	"citybot/store"
)

// fakeClassifier tags by keywords: enough to drive the pipeline's
// branches, not a model.
type fakeClassifier struct{}

func (fakeClassifier) Classify(text, hint string) citybot.Classification {
	low := strings.ToLower(text)
	c := citybot.Classification{Topic: citybot.Scored{Label: "other", Confidence: 0.3}, Urgency: citybot.UrgencyNormal,
		UrgencyConfidence: 0.5, Language: "en", Model: "fake-1"}
	switch {
	case strings.Contains(low, "pothole") || strings.Contains(low, "nid-de-poule"):
		c.Topic = citybot.Scored{Label: "roads", Confidence: 0.9}
	case strings.Contains(low, "water") || strings.Contains(low, "eau"):
		c.Topic = citybot.Scored{Label: "water_sanitation", Confidence: 0.9}
	case strings.Contains(low, "bribe") || strings.Contains(low, "pot-de-vin"):
		c.Topic = citybot.Scored{Label: "corruption", Confidence: 0.9}
	case strings.Contains(low, "gas") || strings.Contains(low, "fire") || strings.Contains(low, "gaz"):
		c.Topic = citybot.Scored{Label: "public_safety", Confidence: 0.9}
	}
	if strings.Contains(low, "gas") || strings.Contains(low, "fire") || strings.Contains(low, "gaz") || strings.Contains(low, "danger") {
		c.Urgency, c.UrgencyScore, c.UrgencyCues = citybot.UrgencyCritical, 0.95, []string{"danger"}
	}
	for _, w := range []string{" le ", " la ", " est ", "il y a", " une "} {
		if strings.Contains(" "+low+" ", w) {
			c.Language = "fr"
		}
	}
	// A bribe in plain words: sensitive whatever the topic.
	if strings.Contains(low, "cash") || strings.Contains(low, "liquide") {
		c.Sensitive, c.SensitiveCues = true, []string{"cash"}
	}
	// Feedback, as the lexicon marks it.
	switch trimmed := strings.Trim(low, " !.?"); {
	case strings.HasPrefix(low, "thank") || strings.HasPrefix(low, "merci"):
		c.Intent = citybot.IntentThanks
		if strings.HasPrefix(low, "merci") {
			c.Language = "fr"
		}
	case trimmed == "hello" || trimmed == "bonjour":
		c.Intent = citybot.IntentGreeting
	case trimmed == "ok":
		c.Intent = citybot.IntentAck
	case strings.HasPrefix(low, "who are you"):
		c.Intent = citybot.IntentBotQuestion
	}
	return c
}

// sendResult scripts one Send.
type sendResult struct {
	err error
}

// fakeBot records what it is asked to send and fails as scripted. It also
// checks that no chat ever has two sends in flight.
type fakeBot struct {
	t        *testing.T
	platform citybot.Platform
	maxText  int

	mu       sync.Mutex
	script   map[citybot.ChatID][]sendResult // per chat, consumed in order
	fail     func(out citybot.Outgoing) error
	block    chan struct{} // when set, Send waits for it or ctx
	panics   int           // the next this many sends panic
	inflight map[citybot.ChatID]int
	sent     []citybot.Outgoing
	calls    map[string]int // by key
	times    map[string][]time.Time
	next     int
}

func newFakeBot(t *testing.T, p citybot.Platform) *fakeBot {
	return &fakeBot{t: t, platform: p, maxText: 4096, script: map[citybot.ChatID][]sendResult{},
		inflight: map[citybot.ChatID]int{}, calls: map[string]int{}, times: map[string][]time.Time{}}
}

func (b *fakeBot) Platform() citybot.Platform                    { return b.platform }
func (b *fakeBot) Limits() bots.Limits                           { return bots.Limits{MaxText: b.maxText} }
func (b *fakeBot) Run(ctx context.Context, h bots.Handler) error { <-ctx.Done(); return nil }

func (b *fakeBot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	b.mu.Lock()
	b.inflight[out.Chat]++
	if b.inflight[out.Chat] > 1 {
		b.t.Errorf("two sends in flight for one chat (%s)", out.Key)
	}
	b.calls[out.Key]++
	b.times[out.Key] = append(b.times[out.Key], time.Now())
	var err error
	if s := b.script[out.Chat]; len(s) > 0 {
		err, b.script[out.Chat] = s[0].err, s[1:]
	} else if b.fail != nil {
		err = b.fail(out)
	}
	block := b.block
	doPanic := b.panics > 0
	if doPanic {
		b.panics--
	}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inflight[out.Chat]--
		b.mu.Unlock()
	}()
	if doPanic {
		panic("adapter bug")
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return citybot.Sent{}, ctx.Err()
		}
	}
	if err != nil {
		return citybot.Sent{}, err
	}
	if n := citybot.UTF16Len(out.Text); n > b.maxText {
		b.t.Errorf("%s: text of %d UTF-16 units over the limit %d", out.Key, n, b.maxText)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	b.sent = append(b.sent, out)
	return citybot.Sent{ID: citybot.PlatformMessageID(fmt.Sprint("bot-", b.next)), SentAt: time.Now()}, nil
}

// privateBot is a fakeBot that finds private chats.
type privateBot struct {
	*fakeBot
	err error
}

func (b *privateBot) PrivateChat(ctx context.Context, user citybot.UserID) (citybot.ChatID, error) {
	if b.err != nil {
		return "", b.err
	}
	return citybot.ChatID("dm-" + string(user)), nil
}

// sentTo returns the messages delivered to a chat, in order.
func (b *fakeBot) sentTo(chat citybot.ChatID) []citybot.Outgoing {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []citybot.Outgoing
	for _, o := range b.sent {
		if o.Chat == chat {
			out = append(out, o)
		}
	}
	return out
}

func (b *fakeBot) allSent() []citybot.Outgoing {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]citybot.Outgoing(nil), b.sent...)
}

func (b *fakeBot) callCount(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[key]
}

// rig is a responder and dispatcher on a real on-disk store.
type rig struct {
	t    *testing.T
	db   *store.DB
	r    *responder.Responder
	d    *responder.Dispatcher
	bot  *fakeBot
	stop context.CancelFunc
	done chan error
}

type rigOptions struct {
	opts  responder.Options
	dopts responder.DispatcherOptions
	noRun bool
	// privateChats gives the bot bots.PrivateChatter: the private chat
	// of user U is "dm-U", or privateErr when set.
	privateChats bool
	privateErr   error
	// clock, when set, is the store's, the responder's and the
	// dispatcher's clock.
	clock *fakeClock
	// city, when set, changes the tests' city (testCity) before the
	// responder's policy is built from it.
	city func(*citybot.PolicyConfig)
}

// testCity is the city of the tests: every shipped language, English
// first and by default, the classifier's default topics, corruption
// sensitive, 112, and the platforms' real text limits.
func testCity() citybot.PolicyConfig {
	return citybot.PolicyConfig{
		City:            "Testville",
		Languages:       []string{"en", "ar", "es", "fr", "pt", "sw"},
		DefaultLanguage: "en",
		Location:        time.UTC,
		Topics: []string{"roads", "waste", "water_sanitation", "street_lighting", "public_safety", "transport",
			"housing", "noise", "parks", "taxes_budget", "corruption", "administration_permits", "other"},
		SensitiveTopics: []string{"corruption"},
		EmergencyNumber: "112",
		MaxText:         map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000},
	}
}

// testPolicy builds the policy of testCity changed by edits.
func testPolicy(t testing.TB, edits ...func(*citybot.PolicyConfig)) *citybot.Policy {
	t.Helper()
	c := testCity()
	for _, e := range edits {
		if e != nil {
			e(&c)
		}
	}
	p, err := citybot.NewPolicy(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newRig(t *testing.T, ro rigOptions) *rig {
	t.Helper()
	var now func() time.Time
	if ro.clock != nil {
		now = ro.clock.Now
	}
	db := storetest.SQLite(t, store.Options{Now: now})
	bot := newFakeBot(t, citybot.Telegram)
	dopts := ro.dopts
	if now != nil {
		dopts.Now = now
	}
	dopts.Store, dopts.Bots = db, []bots.Bot{bot}
	if ro.privateChats {
		dopts.Bots = []bots.Bot{&privateBot{fakeBot: bot, err: ro.privateErr}}
	}
	if dopts.BaseBackoff == 0 {
		dopts.BaseBackoff = 5 * time.Millisecond
	}
	d, err := responder.NewDispatcher(dopts)
	if err != nil {
		t.Fatal(err)
	}
	opts := ro.opts
	opts.Store, opts.Notify = db, d.Notify
	if opts.Grouping != nil && opts.GroupingSource == nil {
		opts.GroupingSource = db
	}
	if opts.Classifier == nil {
		opts.Classifier = fakeClassifier{}
	}
	if now != nil {
		opts.Now = now
	}
	if opts.Policy == nil {
		opts.Policy = testPolicy(t, ro.city)
	}
	r, err := responder.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rg := &rig{t: t, db: db, r: r, d: d, bot: bot}
	if !ro.noRun {
		rg.start()
	}
	return rg
}

func (rg *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	rg.stop, rg.done = cancel, make(chan error, 1)
	go func() { rg.done <- rg.d.Run(ctx) }()
	rg.t.Cleanup(func() {
		cancel()
		rg.d.Stop()
	})
}

// drain waits until the outbox has nothing left to send.
func (rg *rig) drain() {
	rg.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := rg.db.OutboxStats(context.Background())
		if err != nil {
			rg.t.Fatal(err)
		}
		if st.Pending == 0 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	rg.t.Fatal("outbox not drained in 20 s")
}

func (rg *rig) handle(m citybot.Message) {
	rg.t.Helper()
	if err := rg.r.HandleMessage(context.Background(), m); err != nil {
		rg.t.Fatalf("HandleMessage: %v", err)
	}
}

func privateMsg(user string, id int, text string) citybot.Message {
	return citybot.Message{
		Platform: citybot.Telegram, Chat: citybot.ChatID("chat-" + user), ChatKind: citybot.ChatPrivate,
		ID: citybot.PlatformMessageID(fmt.Sprint(id)), Sender: citybot.Sender{ID: citybot.UserID(user), Name: "N " + user},
		Text: text, SentAt: time.Now(),
	}
}
