package discord_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"citybot"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

// BenchmarkIntake measures citizen messages handed over per second, from
// the emulator's gateway through discordgo and the adapter to a fake
// handler, spread over the listened channels and a thread.
func BenchmarkIntake(b *testing.B) {
	w := newWorldB(b)
	h := newFakeHandler()
	r := w.startB(b, h)
	defer r.stopB()
	chats := []string{w.general, w.roads, w.thread}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.emu.Post(chats[i%len(chats)], w.alice.ID, fmt.Sprintf("bench %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if n, _ := h.count(); n >= b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("messages not handed over")
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkSend measures Send round trips to the emulator with its limits
// off and the local limiter wide open.
func BenchmarkSend(b *testing.B) {
	w := newWorldB(b)
	h := newFakeHandler()
	r := w.startB(b, h)
	defer r.stopB()
	ctx := b.Context()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.bot.Send(ctx, citybot.Outgoing{Key: fmt.Sprint("k", i), Chat: citybot.ChatID(w.general), Text: "answer"}); err != nil {
			b.Fatal(err)
		}
	}
}

func newWorldB(b *testing.B) *world {
	b.Helper()
	emu, err := dcemu.Start(dcemu.Options{Token: testToken, NoLimits: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(emu.Close)
	w := &world{emu: emu, logs: &syncBuffer{}}
	w.general = emu.AddChannel("general")
	w.roads = emu.AddChannel("roads")
	if w.thread, err = emu.AddThread(w.roads, "t"); err != nil {
		b.Fatal(err)
	}
	w.alice = emu.AddUser("alice", false)
	return w
}

func (w *world) startB(b *testing.B, h *fakeHandler) *running {
	b.Helper()
	opts := w.options(newFakeCursors())
	opts.GlobalPerSecond, opts.ChannelMessages = 1e6, 1e6
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bot, err := discord.New(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	r := &running{bot: bot, cancel: rcancel, done: make(chan error, 1)}
	go func() { r.done <- bot.Run(rctx, h) }()
	if err := w.emu.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	return r
}

func (r *running) stopB() {
	r.cancel()
	<-r.done
}
