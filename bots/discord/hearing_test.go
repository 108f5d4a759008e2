package discord_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

var _ bots.HearingChecker = (*discord.Bot)(nil)

// TestHearing asks the emulator for the application's flags through the
// real discordgo client, with the portal's Message Content Intent both
// ways; the running Bot and CheckHearing agree.
func TestHearing(t *testing.T) {
	for _, off := range []bool{false, true} {
		name := map[bool]string{false: "intent on", true: "intent off"}[off]
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, dcemu.Options{MessageContentOff: off})
			ctx := ctxT(t, 10*time.Second)
			bot, err := discord.New(ctx, w.options(newFakeCursors()))
			if err != nil {
				t.Fatal(err)
			}
			fromBot, err := bot.Hearing(ctx)
			if err != nil {
				t.Fatalf("Bot.Hearing: %v", err)
			}
			probed, err := discord.CheckHearing(ctx, discord.ProbeOptions{Token: testToken, APIBase: w.emu.URL(), Channels: []string{w.general, w.roads}})
			if err != nil {
				t.Fatalf("CheckHearing: %v", err)
			}
			for _, h := range []bots.Hearing{fromBot, probed} {
				if h.Platform != citybot.Discord || h.OK() != !off {
					t.Fatalf("hearing = %+v, want OK=%v", h, !off)
				}
				if off {
					p := h.Problems[0]
					if p.Code != discord.HearingMessageContent || !strings.Contains(p.Fix, "Message Content Intent") ||
						!strings.Contains(p.Fix, "developer portal") || !strings.Contains(p.Missed, "2 channel") {
						t.Errorf("problem = %+v", p)
					}
				}
			}
		})
	}
}

// TestHearingIntentRefused: with the portal's intent off the emulator
// closes the gateway with 4014, as Discord does, and Run stops with an
// error saying what to turn on; after the switch is turned on a new Run
// hears a channel message with its content.
func TestHearingIntentRefused(t *testing.T) {
	w := newWorld(t, dcemu.Options{MessageContentOff: true})
	ctx := ctxT(t, 20*time.Second)
	opts := w.options(newFakeCursors())
	bot, err := discord.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := newFakeHandler()
	done := make(chan error, 1)
	go func() { done <- bot.Run(ctx, h) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatal("Run did not stop on 4014")
	}
	if !errors.Is(err, citybot.ErrForbidden) || !strings.Contains(err.Error(), "Message Content Intent") {
		t.Fatalf("Run = %v, want ErrForbidden naming the intent", err)
	}
	noToken(t, "Run's error", err.Error())
	if w.emu.Stats().IntentDenied == 0 {
		t.Error("the emulator never refused the intent")
	}

	w.emu.SetMessageContent(true)
	bot2, err := discord.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if hr, err := bot2.Hearing(ctx); err != nil || !hr.OK() {
		t.Fatalf("after the switch: %+v, %v", hr, err)
	}
	r := w.run(t, bot2, h)
	m := w.post(t, w.general, w.alice.ID, "water pipe burst on 5th street")
	got := h.waitMessage(t, w.general, m.ID)
	if got.Text != "water pipe burst on 5th street" {
		t.Errorf("text = %q", got.Text)
	}
	if err := r.stop(t); err != nil {
		t.Errorf("stop: %v", err)
	}
}

// TestHearingWrongToken: a rejected token is ErrForbidden naming Discord,
// never the token.
func TestHearingWrongToken(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const bad = "MTk4NjIy.wrong-SECRET.value"
	_, err := discord.CheckHearing(ctx, discord.ProbeOptions{Token: bad, APIBase: w.emu.URL()})
	if !errors.Is(err, citybot.ErrForbidden) || !strings.Contains(err.Error(), "discord") || strings.Contains(err.Error(), "wrong-SECRET") {
		t.Fatalf("err = %v, want ErrForbidden naming discord without the token", err)
	}
}
