package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
	"citybot/internal/testclock"
	"citybot/scheduler"
)

type clock = testclock.Clock

type memState struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memState) Cursor(ctx context.Context, key string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

func (s *memState) SetCursor(ctx context.Context, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

func TestNewNamesEveryBadJob(t *testing.T) {
	ok := func(context.Context) error { return nil }
	_, err := scheduler.New(scheduler.Options{},
		scheduler.Job{Name: "digest", Spec: "0 8 * * MON", Run: ok},
		scheduler.Job{Name: "bad", Spec: "61 * * * *", Run: ok},
		scheduler.Job{Name: "digest", Spec: "@daily", Run: ok},
		scheduler.Job{Name: "norun", Spec: "@daily"},
	)
	if !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{`"bad"`, `"digest" is defined twice`, `"norun"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestFireFollowsTheScheduleInTheCityTimeZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data")
	}
	// Monday 23 November 2026, 06:00 UTC = 07:00 in Paris.
	start := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	c := testclock.New(start)
	var runs []time.Time
	s, err := scheduler.New(scheduler.Options{Location: paris, Now: c.Now},
		scheduler.Job{Name: "digest", Spec: "0 8 * * MON", Run: func(ctx context.Context) error {
			runs = append(runs, c.Now())
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if ran := s.Fire(context.Background(), start); len(ran) != 0 {
		t.Fatalf("ran at 07:00 Paris: %v", ran)
	}
	c.Set(start.Add(59 * time.Minute)) // 07:59 Paris
	s.Fire(context.Background(), start)
	c.Set(start.Add(61 * time.Minute)) // 08:01 Paris
	s.Fire(context.Background(), start)
	s.Fire(context.Background(), start) // the same minute again: no second run
	if len(runs) != 1 {
		t.Fatalf("runs %v, want one at 08:01 Paris", runs)
	}
	// Three weeks later: one run for the missed Mondays, not three.
	c.Set(start.Add(21*24*time.Hour + 2*time.Hour))
	s.Fire(context.Background(), start)
	if len(runs) != 2 {
		t.Fatalf("runs %d after three weeks, want 2", len(runs))
	}
	if next := s.Next("digest", start); !next.Equal(time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)) {
		t.Fatalf("next %s", next)
	}
}

func TestErrorsAndPanicsAreNotFatal(t *testing.T) {
	c := testclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var after atomic.Int32
	s, err := scheduler.New(scheduler.Options{Now: c.Now},
		scheduler.Job{Name: "boom", Spec: "@hourly", Run: func(context.Context) error { panic("boom") }},
		scheduler.Job{Name: "fail", Spec: "@hourly", Run: func(context.Context) error { return errors.New("db down") }},
		scheduler.Job{Name: "after", Spec: "@hourly", Run: func(context.Context) error { after.Add(1); return nil }},
	)
	if err != nil {
		t.Fatal(err)
	}
	c.Set(c.Now().Add(time.Hour))
	ran := s.Fire(context.Background(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if len(ran) != 3 || after.Load() != 1 {
		t.Fatalf("ran %v, after %d", ran, after.Load())
	}
	if err := s.RunNow(context.Background(), "boom"); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("RunNow(boom) = %v", err)
	}
	if err := s.RunNow(context.Background(), "nope"); !errors.Is(err, citybot.ErrNotFound) {
		t.Fatalf("RunNow(nope) = %v", err)
	}
}

func TestStopWaitsForTheRunningJobAndSkipsOverlaps(t *testing.T) {
	started := make(chan struct{}, 10)
	var finished, runs atomic.Int32
	s, err := scheduler.New(scheduler.Options{},
		scheduler.Job{Name: "slow", Spec: "@every 1s", Run: func(ctx context.Context) error {
			runs.Add(1)
			started <- struct{}{}
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond) // cleanup after cancel
			finished.Add(1)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("job never started")
	}
	// While it runs, a manual run is refused rather than stacked.
	if err := s.RunNow(context.Background(), "slow"); !errors.Is(err, citybot.ErrDuplicate) {
		t.Fatalf("overlapping run: %v", err)
	}
	s.Stop()
	if finished.Load() != runs.Load() {
		t.Fatalf("Stop returned with a job still running (%d started, %d finished)", runs.Load(), finished.Load())
	}
	s.Stop() // twice is safe
}

func TestStartCatchesUpMissedRuns(t *testing.T) {
	c := testclock.New(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	st := &memState{m: map[string]string{
		// Last run a week and a half ago: Monday 08:00 was missed.
		"schedule:digest": time.Date(2026, 11, 12, 8, 0, 0, 0, time.UTC).Format(time.RFC3339Nano),
		// Ran this morning: nothing missed.
		"schedule:remind": time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC).Format(time.RFC3339Nano),
	}}
	done := make(chan string, 4)
	job := func(name string) scheduler.Job {
		return scheduler.Job{Name: name, Spec: "0 8 * * MON", Run: func(context.Context) error { done <- name; return nil }}
	}
	s, err := scheduler.New(scheduler.Options{Now: c.Now, State: st}, job("digest"), job("remind"), job("fresh"))
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	s.Stop()
	close(done)
	var got []string
	for n := range done {
		got = append(got, n)
	}
	if len(got) != 1 || got[0] != "digest" {
		t.Fatalf("caught up %v, want [digest]", got)
	}
	if st.m["schedule:fresh"] == "" {
		t.Fatalf("first start did not record a starting point")
	}
}
