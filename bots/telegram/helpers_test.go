package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// fakeHandler records what the adapter hands it. failures makes the next
// calls for a message id fail.
type fakeHandler struct {
	mu       sync.Mutex
	msgs     []citybot.Message
	actions  []citybot.Action
	calls    map[citybot.PlatformMessageID]int
	failures map[citybot.PlatformMessageID]int
	panics   map[citybot.PlatformMessageID]bool // these always panic
	reply    string
}

func newHandler() *fakeHandler {
	return &fakeHandler{calls: map[citybot.PlatformMessageID]int{}, failures: map[citybot.PlatformMessageID]int{},
		panics: map[citybot.PlatformMessageID]bool{}}
}

func (h *fakeHandler) HandleMessage(_ context.Context, m citybot.Message) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls[m.ID]++
	if h.panics[m.ID] {
		panic("handler bug on: " + m.Text)
	}
	if h.failures[m.ID] > 0 {
		h.failures[m.ID]--
		return errors.New("fake store: disk full")
	}
	h.msgs = append(h.msgs, m)
	return nil
}

func (h *fakeHandler) HandleAction(_ context.Context, a citybot.Action) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.actions = append(h.actions, a)
	return h.reply, nil
}

func (h *fakeHandler) failNext(id int, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failures[citybot.PlatformMessageID(itoa(id))] = n
}

func (h *fakeHandler) panicOn(id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.panics[citybot.PlatformMessageID(itoa(id))] = true
}

func (h *fakeHandler) messages() []citybot.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]citybot.Message(nil), h.msgs...)
}

func (h *fakeHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

func (h *fakeHandler) callsFor(id int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[citybot.PlatformMessageID(itoa(id))]
}

func (h *fakeHandler) acts() []citybot.Action {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]citybot.Action(nil), h.actions...)
}

// find returns the handled message with chat and id.
func (h *fakeHandler) find(chat int64, id int) (citybot.Message, bool) {
	for _, m := range h.messages() {
		if m.Chat == citybot.ChatID(i64toa(chat)) && m.ID == citybot.PlatformMessageID(itoa(id)) {
			return m, true
		}
	}
	return citybot.Message{}, false
}

// fakeCursors is an in-memory bots.Cursors that records every value set.
type fakeCursors struct {
	mu   sync.Mutex
	m    map[string]string
	sets []string
}

func newCursors() *fakeCursors { return &fakeCursors{m: map[string]string{}} }

func (c *fakeCursors) Cursor(_ context.Context, key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key], nil
}

func (c *fakeCursors) SetCursor(_ context.Context, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
	c.sets = append(c.sets, value)
	return nil
}

func (c *fakeCursors) values() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sets...)
}

// syncBuffer is a log sink safe for concurrent writes.
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

type env struct {
	emu  *tgemu.Server
	cur  *fakeCursors
	logs *syncBuffer
	log  *slog.Logger
}

func newEnv(t testing.TB, eo tgemu.Options) *env {
	t.Helper()
	emu := tgemu.New(eo)
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	logs := &syncBuffer{}
	return &env{emu: emu, cur: newCursors(), logs: logs,
		log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

func (e *env) options() telegram.Options {
	return telegram.Options{
		Token:       e.emu.Token(),
		APIEndpoint: e.emu.Endpoint(),
		Cursors:     e.cur,
		Logger:      e.log,
		PollTimeout: time.Second,
		BackoffMin:  5 * time.Millisecond,
		BackoffMax:  50 * time.Millisecond,
	}
}

func (e *env) bot(t testing.TB, mod func(*telegram.Options)) *telegram.Bot {
	t.Helper()
	o := e.options()
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := telegram.New(ctx, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// run starts b.Run and returns a function that stops it and returns Run's
// error.
func run(t *testing.T, b *telegram.Bot, h *fakeHandler) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, h) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func itoa(n int) string     { return strconv.Itoa(n) }
func i64toa(n int64) string { return strconv.FormatInt(n, 10) }

func alice() tgemu.User {
	return tgemu.User{ID: 5001, FirstName: "Alice", LastName: "Dupont", Username: "alice_d", LanguageCode: "fr"}
}

func bob() tgemu.User { return tgemu.User{ID: 5002, FirstName: "Bob", LanguageCode: "en"} }

// dumpLogsOnFailure prints the captured logs (lines cut at 300 bytes) if
// the test fails.
func (e *env) dumpLogsOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, line := range strings.Split(e.logs.String(), "\n") {
			t.Log(line[:min(len(line), 300)])
		}
	})
}
