package answerhold

import (
	"context"
	"testing"
)

func TestHoldWaitsForRelease(t *testing.T) {
	var hs Holds[int]
	if hs.Active() {
		t.Fatal("a zero Holds is active")
	}
	if !hs.Wait(context.Background(), "anything", 1) {
		t.Fatal("Wait without a hold reported the client gone")
	}
	held, release := hs.Hold("Case #")
	if !hs.Active() {
		t.Fatal("no hold active after Hold")
	}
	if !hs.Wait(context.Background(), "no match here", 2) {
		t.Fatal("Wait on a text that does not match reported the client gone")
	}
	done := make(chan bool, 1)
	go func() { done <- hs.Wait(context.Background(), "Case #12 received", 3) }()
	if id := <-held; id != 3 {
		t.Fatalf("held id %d, want 3", id)
	}
	select {
	case <-done:
		t.Fatal("Wait returned before the release")
	default:
	}
	release()
	if ok := <-done; !ok {
		t.Fatal("Wait after the release reported the client gone")
	}
	release() // a second call does nothing
	if hs.Active() {
		t.Fatal("hold still active after its release")
	}
}

func TestHoldClientGone(t *testing.T) {
	var hs Holds[string]
	held, release := hs.Hold("ack")
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool, 1)
	go func() { done <- hs.Wait(ctx, "your ack", "m1") }()
	if id := <-held; id != "m1" {
		t.Fatalf("held id %q, want m1", id)
	}
	cancel()
	if ok := <-done; ok {
		t.Fatal("Wait reported a release when the client went away")
	}
}

func TestNewHoldReplacesOld(t *testing.T) {
	var hs Holds[int]
	_, releaseOld := hs.Hold("old")
	_, releaseNew := hs.Hold("new")
	defer releaseNew()
	if !hs.Wait(context.Background(), "old text", 1) {
		t.Fatal("the replaced hold still holds")
	}
	releaseOld() // does not end the new hold
	if !hs.Active() {
		t.Fatal("releasing the replaced hold ended the new one")
	}
}
