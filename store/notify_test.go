package store

import (
	"context"
	"errors"
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
