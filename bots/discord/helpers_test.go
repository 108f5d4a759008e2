package discord_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

const testToken = "MTIzNDU2Nzg5.secret-TOKEN.do-not-leak"

// fakeHandler is a hand-written bots.Handler that stores each message once,
// like the real pipeline, and can be told to fail.
type fakeHandler struct {
	mu      sync.Mutex
	changed chan struct{}
	msgs    map[string]citybot.Message // by chat/id
	order   map[citybot.ChatID][]citybot.PlatformMessageID
	edits   []citybot.Message
	actions []citybot.Action
	dupes   int
	calls   int
	// fail, when set, makes HandleMessage fail for m (before storing).
	fail func(m citybot.Message) bool
	// gate, when set and returning a channel, makes HandleMessage wait
	// for it (a slow store).
	gate func(m citybot.Message) <-chan struct{}
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{changed: make(chan struct{}), msgs: map[string]citybot.Message{}, order: map[citybot.ChatID][]citybot.PlatformMessageID{}}
}

func (h *fakeHandler) HandleMessage(ctx context.Context, m citybot.Message) error {
	h.mu.Lock()
	gate := h.gate
	h.mu.Unlock()
	if gate != nil {
		if wait := gate(m); wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.fail != nil && h.fail(m) {
		return errors.New("fake: store unavailable")
	}
	defer func() {
		close(h.changed)
		h.changed = make(chan struct{})
	}()
	if m.Edit {
		h.edits = append(h.edits, m)
		return nil
	}
	k := string(m.Chat) + "/" + string(m.ID)
	if _, ok := h.msgs[k]; ok {
		h.dupes++
		return nil
	}
	h.msgs[k] = m
	h.order[m.Chat] = append(h.order[m.Chat], m.ID)
	return nil
}

func (h *fakeHandler) HandleAction(ctx context.Context, a citybot.Action) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.actions = append(h.actions, a)
	close(h.changed)
	h.changed = make(chan struct{})
	return "Noted: " + a.Data, nil
}

func (h *fakeHandler) setFail(f func(citybot.Message) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = f
}

// get returns the stored message with id in chat.
func (h *fakeHandler) get(chat string, id string) (citybot.Message, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.msgs[chat+"/"+id]
	return m, ok
}

func (h *fakeHandler) count() (stored, dupes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs), h.dupes
}

// waitFor polls cond under h.mu until it holds or 30 s pass.
func (h *fakeHandler) waitFor(t *testing.T, what string, cond func(h *fakeHandler) bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		ok := cond(h)
		ch := h.changed
		h.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (h *fakeHandler) waitMessage(t *testing.T, chat, id string) citybot.Message {
	t.Helper()
	h.waitFor(t, "message "+id, func(h *fakeHandler) bool { _, ok := h.msgs[chat+"/"+id]; return ok })
	m, _ := h.get(chat, id)
	return m
}

// fakeCursors is a hand-written bots.Cursors in memory.
type fakeCursors struct {
	mu   sync.Mutex
	vals map[string]string
	sets int
}

func newFakeCursors() *fakeCursors { return &fakeCursors{vals: map[string]string{}} }

func (c *fakeCursors) Cursor(ctx context.Context, key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vals[key], nil
}

func (c *fakeCursors) SetCursor(ctx context.Context, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals[key] = value
	c.sets++
	return nil
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// world is an emulator with a small city server.
type world struct {
	emu              *dcemu.Server
	general, roads   string // listened channels
	offtopic         string // not listened
	thread           string // thread of roads
	alice, bob, bot2 dcemu.User
	logs             *syncBuffer
}

func newWorld(t *testing.T, opts dcemu.Options) *world {
	t.Helper()
	if opts.Token == "" {
		opts.Token = testToken
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = 400 * time.Millisecond
	}
	emu, err := dcemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	w := &world{emu: emu, logs: &syncBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			logs := w.logs.String()
			if len(logs) > 20000 {
				logs = logs[len(logs)-20000:]
			}
			t.Logf("adapter logs:\n%s", logs)
		}
	})
	w.general = emu.AddChannel("general")
	w.roads = emu.AddChannel("roads")
	w.offtopic = emu.AddChannel("off-topic")
	if w.thread, err = emu.AddThread(w.roads, "pothole on Main St"); err != nil {
		t.Fatal(err)
	}
	w.alice = emu.AddUser("alice", false)
	w.bob = emu.AddUser("bob", false)
	w.bot2 = emu.AddUser("otherbot", true)
	return w
}

func (w *world) options(cur *fakeCursors) discord.Options {
	return discord.Options{
		Token: testToken, APIBase: w.emu.URL(), GuildID: w.emu.GuildID(),
		Channels: []string{w.general, w.roads}, Cursors: cur,
		Logger:        slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryInterval: 200 * time.Millisecond,
	}
}

// running is a Bot whose Run runs in the background.
type running struct {
	bot    *discord.Bot
	cancel context.CancelFunc
	done   chan error
}

// start builds a Bot and runs it until stop.
func (w *world) start(t *testing.T, h *fakeHandler, opts discord.Options) *running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bot, err := discord.New(ctx, opts)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return w.run(t, bot, h)
}

func (w *world) run(t *testing.T, bot *discord.Bot, h *fakeHandler) *running {
	t.Helper()
	before := w.emu.Stats().Identifies
	rctx, rcancel := context.WithCancel(context.Background())
	r := &running{bot: bot, cancel: rcancel, done: make(chan error, 1)}
	go func() { r.done <- bot.Run(rctx, h) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.emu.WaitStats(ctx, func(s dcemu.Stats) bool { return s.Identifies > before }); err != nil {
		t.Fatalf("bot never identified: %v", err)
	}
	if err := w.emu.WaitConnected(ctx); err != nil {
		t.Fatalf("bot never connected: %v", err)
	}
	return r
}

// stop cancels Run and returns its error.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
		return nil
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// post posts as a citizen and fails the test on error.
func (w *world) post(t *testing.T, ch, user, text string, opts ...dcemu.PostOptions) dcemu.Message {
	t.Helper()
	m, err := w.emu.Post(ch, user, text, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func noToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, testToken) || strings.Contains(s, "secret-TOKEN") {
		t.Errorf("%s contains the bot token: %s", what, s)
	}
}
