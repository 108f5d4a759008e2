package pause

import (
	"context"
	"testing"
	"time"
)

func TestForElapses(t *testing.T) {
	if !For(context.Background(), time.Millisecond) {
		t.Fatal("For on a live context reported it ended")
	}
}

func TestForEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool, 1)
	go func() { done <- For(ctx, time.Hour) }()
	cancel()
	if <-done {
		t.Fatal("For reported an hour elapsed after its context ended")
	}
}
