package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGroupStopsInOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	g := newGroup(discardLogger())
	ctx, cancel := context.WithCancel(context.Background())
	for _, name := range []string{"db-user", "http", "bots"} {
		g.start(ctx, name, time.Second, func(ctx context.Context) error {
			<-ctx.Done()
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return ctx.Err()
		})
	}
	// Cancelling the parent (a signal) does not stop parts by itself.
	cancel()
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	if len(order) != 0 {
		t.Fatalf("parts stopped on the parent's cancel: %v", order)
	}
	mu.Unlock()
	if err := g.stopAll("bots", "http"); err != nil {
		t.Fatalf("stopAll: %v", err)
	}
	if got := strings.Join(order, ","); got != "bots,http,db-user" {
		t.Errorf("stop order %s, want bots,http,db-user", got)
	}
	if err := g.stop("bots"); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestGroupReportsEarlyExitAndTimeout(t *testing.T) {
	g := newGroup(discardLogger())
	boom := errors.New("token rejected")
	g.start(context.Background(), "bot", time.Second, func(ctx context.Context) error { return boom })
	release := make(chan struct{})
	defer close(release)
	g.start(context.Background(), "stuck", 30*time.Millisecond, func(ctx context.Context) error {
		<-release
		return nil
	})
	select {
	case p := <-g.exited:
		if p.name != "bot" {
			t.Fatalf("exited part %q, want bot", p.name)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("early exit not reported")
	}
	err := g.stopAll("bot", "stuck")
	if !errors.Is(err, boom) {
		t.Errorf("stopAll error %v does not wrap the part's error", err)
	}
	if err == nil || !strings.Contains(err.Error(), "stuck did not stop within 30ms") {
		t.Errorf("stopAll error %v does not report the timeout", err)
	}
}
