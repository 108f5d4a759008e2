package ratelimit

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	l := New()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	chat := Check{Key: "c", Rule: Rule{N: 3, Window: 3 * time.Second}}
	for i := range 3 {
		if _, ok := l.Reserve(t0.Add(time.Duration(i)*time.Millisecond), chat); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	wait, ok := l.Reserve(t0.Add(10*time.Millisecond), chat)
	if ok || wait != 3*time.Second-10*time.Millisecond {
		t.Fatalf("4th: ok=%v wait=%s", ok, wait)
	}
	if _, ok := l.Reserve(t0.Add(3*time.Second), chat); !ok {
		t.Fatal("refused after the first event left the window")
	}
	if _, ok := l.Reserve(t0.Add(3*time.Second), chat); ok {
		t.Fatal("the second event has not left the window yet")
	}
}

func TestAllChecksOrNothing(t *testing.T) {
	l := New()
	t0 := time.Unix(0, 0)
	a := Check{Key: "a", Rule: Rule{N: 1, Window: time.Second}}
	b := Check{Key: "b", Rule: Rule{N: 5, Window: time.Second}}
	if _, ok := l.Reserve(t0, a, b); !ok {
		t.Fatal("first refused")
	}
	if _, ok := l.Reserve(t0, a, b); ok {
		t.Fatal("a should refuse")
	}
	// The refused event was not recorded under b: b still has 4 slots.
	for i := range 4 {
		if _, ok := l.Reserve(t0, b); !ok {
			t.Fatalf("b slot %d refused", i)
		}
	}
	if _, ok := l.Reserve(t0, b); ok {
		t.Fatal("b over its limit")
	}
}

func TestBlockAndDisabledRules(t *testing.T) {
	l := New()
	t0 := time.Unix(100, 0)
	l.Block(t0, "c", 7*time.Second)
	if wait, ok := l.Reserve(t0.Add(time.Second), Check{Key: "c"}); ok || wait != 6*time.Second {
		t.Fatalf("blocked: ok=%v wait=%s", ok, wait)
	}
	if _, ok := l.Reserve(t0.Add(7*time.Second), Check{Key: "c"}); !ok {
		t.Fatal("still blocked after the block ended")
	}
	for range 100 {
		if _, ok := l.Reserve(t0, Check{Key: "free", Rule: Rule{}}); !ok {
			t.Fatal("a zero rule refused")
		}
	}
}

func TestIdleKeysAreSwept(t *testing.T) {
	l := New()
	t0 := time.Unix(0, 0)
	for i := range 1000 {
		l.Reserve(t0, Check{Key: string(rune('a'+i%26)) + time.Duration(i).String(), Rule: Rule{N: 1, Window: time.Second}})
	}
	if l.Len() != 1000 {
		t.Fatalf("len = %d", l.Len())
	}
	l.Reserve(t0.Add(2*time.Second), Check{Key: "new", Rule: Rule{N: 1, Window: time.Second}})
	if l.Len() != 1 {
		t.Fatalf("after the windows passed, len = %d, want 1", l.Len())
	}
}
