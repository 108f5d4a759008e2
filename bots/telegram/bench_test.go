package telegram_test

import (
	"context"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// BenchmarkIntake measures updates handled per second through the
// emulator, the real tgbotapi client and the adapter's polling loop
// (one stored offset per update), into a handler that does nothing.
func BenchmarkIntake(b *testing.B) {
	e := newEnv(b, tgemu.Options{MaxPending: b.N + 1})
	bot := e.bot(b, nil)
	for i := range b.N {
		_, _ = e.emu.Post(tgemu.Incoming{From: tgemu.User{ID: int64(10000 + i%200), FirstName: "C"}, Text: "the streetlight on rue Voltaire is broken"})
	}
	h := newHandler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { done <- bot.Run(ctx, h) }()
	for h.count() < b.N {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
}

// BenchmarkSend measures sends per second to distinct chats through the
// adapter, tgbotapi and the emulator, rate limits off on both sides.
func BenchmarkSend(b *testing.B) {
	e := newEnv(b, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	off := telegram.Rate{N: -1}
	bot := e.bot(b, func(o *telegram.Options) { o.PerChat, o.PerGroup, o.Global = off, off, off })
	const chats = 200
	for i := range chats {
		_, _ = e.emu.Post(tgemu.Incoming{From: tgemu.User{ID: int64(10000 + i), FirstName: "C"}, Text: "hi"})
	}
	b.ResetTimer()
	for i := range b.N {
		o := citybot.Outgoing{Chat: citybot.ChatID(i64toa(int64(10000 + i%chats))), ChatKind: citybot.ChatPrivate,
			Text: "Thank you. Your report AB-123 is registered."}
		if _, err := bot.Send(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}
