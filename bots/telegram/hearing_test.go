package telegram_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

var _ bots.HearingChecker = (*telegram.Bot)(nil)

// TestHearing asks the emulator's getMe, through the real tgbotapi
// client, with BotFather's privacy and join settings both ways, with and
// without listened groups; both the running Bot and CheckHearing.
func TestHearing(t *testing.T) {
	const group = int64(-1001000000077)
	tests := []struct {
		name      string
		emu       tgemu.Options
		groups    []int64
		wantCodes []string
	}{
		{"privacy off, groups listened", tgemu.Options{}, []int64{group}, nil},
		{"privacy on, groups listened", tgemu.Options{Privacy: true}, []int64{group}, []string{telegram.HearingPrivacyMode}},
		{"privacy on, no group listened", tgemu.Options{Privacy: true, NoJoinGroups: true}, nil, nil},
		{"joining groups forbidden", tgemu.Options{NoJoinGroups: true}, []int64{group}, []string{telegram.HearingJoinGroups}},
		{"both", tgemu.Options{Privacy: true, NoJoinGroups: true}, []int64{group, group - 1},
			[]string{telegram.HearingPrivacyMode, telegram.HearingJoinGroups}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.emu)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b := e.bot(t, func(o *telegram.Options) { o.ListenGroups = tt.groups })
			fromBot, err := b.Hearing(ctx)
			if err != nil {
				t.Fatalf("Bot.Hearing: %v", err)
			}
			probed, err := telegram.CheckHearing(ctx, telegram.ProbeOptions{Token: e.emu.Token(), APIEndpoint: e.emu.Endpoint(), ListenGroups: tt.groups})
			if err != nil {
				t.Fatalf("CheckHearing: %v", err)
			}
			for _, h := range []bots.Hearing{fromBot, probed} {
				if h.Platform != citybot.Telegram {
					t.Errorf("platform = %q", h.Platform)
				}
				var codes []string
				for _, p := range h.Problems {
					codes = append(codes, p.Code)
					if p.Missed == "" || p.Fix == "" {
						t.Errorf("%s: empty text: %+v", p.Code, p)
					}
				}
				if strings.Join(codes, ",") != strings.Join(tt.wantCodes, ",") {
					t.Errorf("problems = %v, want %v", codes, tt.wantCodes)
				}
				if h.OK() != (len(tt.wantCodes) == 0) {
					t.Errorf("OK() = %v with problems %v", h.OK(), codes)
				}
			}
			for _, p := range fromBot.Problems {
				switch p.Code {
				case telegram.HearingPrivacyMode:
					if !strings.Contains(p.Fix, "/setprivacy") || !strings.Contains(p.Fix, "Disable") || !strings.Contains(p.Fix, "@citybot") {
						t.Errorf("privacy fix does not say what to do in BotFather: %s", p.Fix)
					}
					if !strings.Contains(p.Missed, "2 group") && len(tt.groups) == 2 {
						t.Errorf("missed does not count the groups: %s", p.Missed)
					}
				case telegram.HearingJoinGroups:
					if !strings.Contains(p.Fix, "/setjoingroups") || !strings.Contains(p.Fix, "Enable") {
						t.Errorf("join fix does not say what to do in BotFather: %s", p.Fix)
					}
				}
			}
		})
	}
}

// TestHearingFollowsTheSwitch turns privacy mode on after start: the
// running bot's next Hearing says so, and the emulator then keeps a plain
// group message from the bot while a command still reaches it.
func TestHearingFollowsTheSwitch(t *testing.T) {
	const group = int64(-1001000000078)
	e := newEnv(t, tgemu.Options{})
	e.dumpLogsOnFailure(t)
	b := e.bot(t, func(o *telegram.Options) { o.ListenGroups = []int64{group} })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if h, err := b.Hearing(ctx); err != nil || !h.OK() {
		t.Fatalf("before: %+v, %v", h, err)
	}
	e.emu.SetPrivacy(true)
	h, err := b.Hearing(ctx)
	if err != nil || h.OK() || h.Problems[0].Code != telegram.HearingPrivacyMode {
		t.Fatalf("after /setprivacy Enable: %+v, %v", h, err)
	}
	hd := newHandler()
	run(t, b, hd)
	plain, err := e.emu.Post(tgemu.Incoming{Chat: group, ChatTitle: "Square", From: bob(), Text: "the street lamp is broken"})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := e.emu.Post(tgemu.Incoming{Chat: group, ChatTitle: "Square", From: bob(), Text: "/help"})
	if err != nil {
		t.Fatal(err)
	}
	if plain.UpdateID != 0 || cmd.UpdateID == 0 {
		t.Fatalf("privacy mode: plain update %d (want none), command update %d", plain.UpdateID, cmd.UpdateID)
	}
	waitFor(t, "the command", func() bool { _, ok := hd.find(group, cmd.MessageID); return ok })
	if _, ok := hd.find(group, plain.MessageID); ok {
		t.Error("a plain group message reached the bot in privacy mode")
	}
}

// TestHearingWrongToken: a rejected token is ErrForbidden naming
// Telegram, never the token.
func TestHearingWrongToken(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	const bad = "987654321:WRONG-secret-token-value"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := telegram.CheckHearing(ctx, telegram.ProbeOptions{Token: bad, APIEndpoint: e.emu.Endpoint(), ListenGroups: []int64{-1}})
	if !errors.Is(err, citybot.ErrForbidden) {
		t.Fatalf("err = %v, want ErrForbidden", err)
	}
	if !strings.Contains(err.Error(), "telegram") || strings.Contains(err.Error(), "WRONG-secret") {
		t.Errorf("error must name telegram and not hold the token: %v", err)
	}
	// Unreachable: the error holds the URL, redacted.
	_, err = telegram.CheckHearing(ctx, telegram.ProbeOptions{Token: bad, APIEndpoint: "http://127.0.0.1:1/bot%s/%s"})
	if err == nil || errors.Is(err, citybot.ErrForbidden) || strings.Contains(err.Error(), "WRONG-secret") {
		t.Errorf("unreachable: err = %v", err)
	}
}
