package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
)

// TestWatchOutboxAcrossInstances: rows queued through one handle (one
// process) wake the other's watcher on PostgreSQL; on SQLite the watcher
// says it is not supported (one process per file, woken in memory).
func TestWatchOutboxAcrossInstances(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clk := newClock()
		dbs := openInstances(t, te, clk, 2)
		a, b := dbs[0], dbs[1]
		if te.eng == SQLite {
			if err := b.WatchOutbox(ctx, func() {}); !errors.Is(err, citybot.ErrNotSupported) {
				t.Errorf("WatchOutbox on SQLite = %v, want ErrNotSupported", err)
			}
			return
		}
		wakes := make(chan struct{}, 16)
		done := make(chan error, 1)
		go func() { done <- b.WatchOutbox(ctx, func() { wakes <- struct{}{} }) }()
		// A deadline only to fail instead of hanging.
		next := func(what string) {
			t.Helper()
			select {
			case <-wakes:
			case <-time.After(30 * time.Second):
				t.Fatalf("no wake-up: %s", what)
			}
		}
		next("once listening")
		for _, key := range []string{"k1", "k2"} {
			if _, err := a.Enqueue(context.Background(), citybot.OutboxItem{Out: citybot.Outgoing{Key: key, Platform: citybot.Telegram, Chat: "c1", Text: "answer"}}); err != nil {
				t.Fatal(err)
			}
			next("after the other process queued row " + key)
		}
		// A transaction that queues a row among others already queued.
		if n, err := a.Enqueue(context.Background(), citybot.OutboxItem{Out: citybot.Outgoing{Key: "k1", Platform: citybot.Telegram, Chat: "c1", Text: "answer"}},
			citybot.OutboxItem{Out: citybot.Outgoing{Key: "k3", Platform: citybot.Telegram, Chat: "c1", Text: "answer"}}); err != nil || n != 1 {
			t.Fatalf("Enqueue = %d, %v", n, err)
		}
		next("after k3")
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("WatchOutbox = %v, want nil once cancelled", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("WatchOutbox did not return once cancelled")
		}
	})
}

// TestWatchOutboxReconnects: when the listening connection is cut (the
// server ends it), the watcher says so once, connects again after its
// backoff, wakes once (rows may have been queued meanwhile), says it is
// restored, and is woken by queueing again. The log never shows the
// connection string's parts.
func TestWatchOutboxReconnects(t *testing.T) {
	if os.Getenv(testPostgresURL) == "" {
		t.Skip(testPostgresURL + " not set")
	}
	te := testEngine{Postgres}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := te.newSource(t)
	logs := &strings.Builder{}
	var mu sync.Mutex
	logw := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	b, err := te.open(ctx, src, Options{Logger: slog.New(slog.NewTextHandler(logw, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a, err := te.open(ctx, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	wakes := make(chan struct{}, 16)
	go b.WatchOutbox(ctx, func() { wakes <- struct{}{} })
	next := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(30 * time.Second): // only to fail instead of hanging
			t.Fatalf("no wake-up: %s", what)
		}
	}
	next("once listening")
	// The server ends the listening connection.
	var ended bool
	if err := a.w.QueryRowContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN citybot_outbox'`).Scan(&ended); err != nil || !ended {
		t.Fatalf("terminate the listener: %v, %v", ended, err)
	}
	next("once listening again")
	if _, err := a.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: "after", Platform: citybot.Telegram, Chat: "c1", Text: "answer"}}); err != nil {
		t.Fatal(err)
	}
	next("after a row was queued on the new connection")
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if strings.Count(out, "wake-ups from other instances lost") != 1 || strings.Count(out, "wake-ups from other instances restored") != 1 {
		t.Errorf("want one line for the loss and one for the recovery:\n%s", out)
	}
	cfg, err := parsePostgresURL(src)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "listen on PostgreSQL: the server ended it") {
		t.Errorf("the loss is not said in words:\n%s", out)
	}
	// (The test server's user may be called "postgres", a word the log
	// uses anyway.)
	for _, s := range []string{cfg.Password, cfg.Database, cfg.Host + ":"} {
		if len(s) > 1 && strings.Contains(out, s) {
			t.Errorf("the log shows a part of the connection string (%q):\n%s", s, out)
		}
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestWatchOutboxProbe: a new listening connection notifies itself once
// through the writers' connection. Heard, it says so at debug level and
// the probe wakes nobody; not heard (as behind a pooler in transaction
// mode: here, a probe sent on another channel), it warns in words of the
// pooler and of the poll.
func TestWatchOutboxProbe(t *testing.T) {
	if os.Getenv(testPostgresURL) == "" {
		t.Skip(testPostgresURL + " not set")
	}
	te := testEngine{Postgres}
	src := te.newSource(t)
	for _, deaf := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		logs := &strings.Builder{}
		var mu sync.Mutex
		logw := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
		db, err := te.open(ctx, src, Options{Logger: slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		db.listenProbe.timeout = 2 * time.Second
		if deaf {
			db.listenProbe.channel = "citybot_elsewhere"
		}
		var wakes atomic.Int32
		done := make(chan struct{})
		go func() { defer close(done); db.WatchOutbox(ctx, func() { wakes.Add(1) }) }()
		want := "the listener heard its probe"
		if deaf {
			want = "did not hear its own probe within 2s: a pooler in transaction mode"
		}
		deadline := time.Now().Add(30 * time.Second) // only to fail instead of hanging
		for {
			mu.Lock()
			out := logs.String()
			mu.Unlock()
			if strings.Contains(out, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("deaf %v: the log lacks %q:\n%s", deaf, want, out)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		<-done
		db.Close()
		if n := wakes.Load(); n != 1 {
			t.Errorf("deaf %v: %d wake-ups, want 1 (once listening; the probe wakes nobody)", deaf, n)
		}
		mu.Lock()
		if !deaf && strings.Contains(logs.String(), "did not hear") {
			t.Errorf("warned though the probe was heard:\n%s", logs.String())
		}
		mu.Unlock()
	}
}
