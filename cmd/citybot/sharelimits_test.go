package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/internal/testclock"
	"citybot/store"
)

// shareClock is a settable clock for the limiters.
type shareClock = testclock.Clock

// TestInstancesShareTelegramLimits: three citybot processes (three store
// handles on one database, each with its heartbeat) send with one
// Telegram token. Each learns from the database that three instances
// live and keeps to its share of the limits (the dispatcher's wiring of
// that count to the bots is TestDispatchersShareLimits): together they
// stay within Telegram's limits, counted on a fake clock over 20
// seconds of sends wanted far beyond them: at most 30 in any second, 3
// in any 3 s to one chat, 20 in any minute to one group. Each process
// alone, unaware of the others, would allow three times as much: the
// same count then exceeds the limits (checked first, so that the test
// shows it can fail).
func TestInstancesShareTelegramLimits(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "citybot.db")
		testShareTelegramLimits(t, func(ctx context.Context) (*store.DB, error) { return store.Open(ctx, path, store.Options{}) })
	})
	t.Run("postgres", func(t *testing.T) {
		src := testPostgresDB(t)
		testShareTelegramLimits(t, func(ctx context.Context) (*store.DB, error) { return store.OpenPostgres(ctx, src, store.Options{}) })
	})
}

func testShareTelegramLimits(t *testing.T, open func(context.Context) (*store.DB, error)) {
	ctx := context.Background()
	const instances = 3
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	clk := testclock.New(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	var dbs []*store.DB
	var tgs []*telegram.Bot
	for i := range instances {
		db, err := open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.InstanceHeartbeat(ctx, fmt.Sprint("instance-", i), time.Hour); err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
		tg, err := telegram.New(ctx, telegram.Options{Token: emu.Token(), APIEndpoint: emu.Endpoint(), Now: clk.Now, Cursors: db})
		if err != nil {
			t.Fatal(err)
		}
		tgs = append(tgs, tg)
	}

	// Unaware of each other, the three allow more than Telegram does.
	for _, tg := range tgs {
		tg.ShareLimits(1)
	}
	if over := simulateSends(tgs, clk); over == "" {
		t.Fatal("three processes each with the whole limits stayed within them: the count below proves nothing")
	} else {
		t.Logf("each with the whole limits: %s", over)
	}

	for i, db := range dbs {
		n, err := db.LiveInstances(ctx)
		if err != nil || n != instances {
			t.Fatalf("instance %d: LiveInstances = %d, %v; want %d", i, n, err, instances)
		}
		tgs[i].ShareLimits(n)
	}
	clk.Add(time.Hour) // past every window of the first round
	if over := simulateSends(tgs, clk); over != "" {
		t.Errorf("sharing the limits among %d instances: %s", instances, over)
	}
}

// simulateSends has every bot try, every 10 ms of the fake clock for 20 s,
// to send to a new private chat (twice), to one shared private chat and
// to one shared group, taking a slot (Reserve) for each, and counts the
// slots all of them got together in sliding windows. It returns the
// first limit exceeded, "" when none was.
func simulateSends(tgs []*telegram.Bot, clk *shareClock) string {
	var all, chat, group []time.Time
	start := clk.Now()
	n := 0
	for step := 0; step < 2000; step++ {
		for _, tg := range tgs {
			for range 2 {
				n++
				out := citybot.Outgoing{Key: fmt.Sprint("p", n), Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint(100000 + n)),
					ChatKind: citybot.ChatPrivate, Text: "ack"}
				if w, _ := tg.Reserve(out); w == 0 {
					all = append(all, clk.Now())
				}
			}
			n++
			if w, _ := tg.Reserve(citybot.Outgoing{Key: fmt.Sprint("c", n), Platform: citybot.Telegram, Chat: "777",
				ChatKind: citybot.ChatPrivate, Text: "ack"}); w == 0 {
				all, chat = append(all, clk.Now()), append(chat, clk.Now())
			}
			n++
			if w, _ := tg.Reserve(citybot.Outgoing{Key: fmt.Sprint("g", n), Platform: citybot.Telegram, Chat: "-100123",
				ChatKind: citybot.ChatGroup, Text: "ack"}); w == 0 {
				all, group = append(all, clk.Now()), append(group, clk.Now())
			}
		}
		clk.Add(10 * time.Millisecond)
	}
	for _, c := range []struct {
		what   string
		times  []time.Time
		n      int
		window time.Duration
	}{
		{"messages overall", all, 30, time.Second},
		{"messages to one chat", chat, 3, 3 * time.Second},
		{"messages to one group", group, 20, time.Minute},
	} {
		if len(c.times) == 0 {
			return c.what + ": none sent at all"
		}
		if most, at := mostInWindow(c.times, c.window); most > c.n {
			return fmt.Sprintf("%d %s in the %s ending %s after the start, over Telegram's %d", most, c.what, c.window, at.Sub(start), c.n)
		}
	}
	return ""
}

// mostInWindow returns the most events (times in order) within any
// window (t-window, t], and the end of that window.
func mostInWindow(times []time.Time, window time.Duration) (int, time.Time) {
	most, at, lo := 0, time.Time{}, 0
	for hi, t := range times {
		for !times[lo].After(t.Add(-window)) {
			lo++
		}
		if n := hi - lo + 1; n > most {
			most, at = n, t
		}
	}
	return most, at
}
