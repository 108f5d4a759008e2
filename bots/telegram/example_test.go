package telegram_test

import (
	"context"
	"fmt"
	"time"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// echo answers every message in its chat.
type echo struct{ bot *telegram.Bot }

func (e echo) HandleMessage(ctx context.Context, m citybot.Message) error {
	_, err := e.bot.Send(ctx, citybot.Outgoing{Chat: m.Chat, ChatKind: m.ChatKind, ReplyTo: m.ID,
		Text: "Received: " + m.Text})
	return err
}

func (echo) HandleAction(context.Context, citybot.Action) (string, error) { return "", nil }

// Example wires the adapter to an in-process emulator, as sandbox mode
// does: start the emulator, point the adapter at its Endpoint with its
// Token, run, and play a citizen.
func Example() {
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		panic(err)
	}
	defer emu.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bot, err := telegram.New(ctx, telegram.Options{
		Token:       emu.Token(),
		APIEndpoint: emu.Endpoint(),
		Cursors:     newCursors(),
		PollTimeout: time.Second,
	})
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- bot.Run(runCtx, echo{bot}) }()

	// A sandbox user would be at emu.URL() + "/sandbox".
	citizen := tgemu.User{ID: 42, FirstName: "Ana", LanguageCode: "es"}
	if _, err := emu.Post(tgemu.Incoming{From: citizen, Text: "Hay basura en la calle"}); err != nil {
		panic(err)
	}
	sent, err := emu.WaitSent(ctx, func(m tgemu.SentMessage) bool { return m.Chat == citizen.ID })
	if err != nil {
		panic(err)
	}
	fmt.Println(sent.Text)
	stop()
	fmt.Println(<-done)
	// Output:
	// Received: Hay basura en la calle
	// <nil>
}
