package discord_test

import (
	"context"
	"log/slog"
	"os"

	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

// Sandbox mode: the emulator stands in for Discord, a person plays
// citizens on its page, and the adapter runs unchanged.
func Example_sandbox() {
	var (
		ctx     = context.Background()
		handler bots.Handler // the responder's pipeline
		cursors bots.Cursors // the store
		logger  = slog.New(slog.NewTextHandler(os.Stderr, nil))
	)
	emu, err := dcemu.Start(dcemu.Options{Token: "sandbox-token", Addr: "127.0.0.1:8092", Logger: logger})
	if err != nil {
		logger.Error("start emulator", "err", err)
		return
	}
	defer emu.Close()
	general := emu.AddChannel("general")
	reports := emu.AddChannel("reports")
	logger.Info("play a citizen", "url", emu.SandboxURL())

	bot, err := discord.New(ctx, discord.Options{
		Token:    "sandbox-token",
		APIBase:  emu.URL(),
		GuildID:  emu.GuildID(),
		Channels: []string{general, reports},
		Cursors:  cursors,
		Logger:   logger,
	})
	if err != nil {
		logger.Error("discord", "err", err)
		return
	}
	_ = bot.Run(ctx, handler) // until ctx is cancelled
}
