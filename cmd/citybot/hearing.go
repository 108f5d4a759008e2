package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"citybot"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/telegram"
)

// Hearing statuses, as /healthz reports them under "hearing".
const (
	hearsAll     = "ok"       // the platform says the bot hears what the configuration expects
	hearsNotAll  = "problems" // it does not: see the problems
	hearsUnknown = "unknown"  // the platform could not be asked
)

// hearingStatus is one platform's answer as /healthz shows it: no token,
// no chat content, the same texts as the log.
type hearingStatus struct {
	Status   string                `json:"status"`
	Problems []bots.HearingProblem `json:"problems,omitempty"`
}

// askHearing asks each bot that can tell (bots.HearingChecker) whether it
// hears what [telegram] listen_groups and [discord] channels expect, logs
// the answer (a warning per problem, with what to change) and returns it
// by platform for /healthz. A platform that cannot be asked is logged and
// reported "unknown"; it never stops serve.
func askHearing(ctx context.Context, logger *slog.Logger, bs []bots.Bot) map[string]hearingStatus {
	out := map[string]hearingStatus{}
	log := logger.With("component", "hearing")
	for _, b := range bs {
		hc, ok := b.(bots.HearingChecker)
		if !ok {
			continue
		}
		p := string(b.Platform())
		h, err := hc.Hearing(ctx)
		if err != nil {
			log.Warn("could not ask the platform whether the bot hears the configured chats", "platform", p, "err", err)
			out[p] = hearingStatus{Status: hearsUnknown}
			continue
		}
		if h.OK() {
			log.Info("the bot hears what the configuration expects", "platform", p)
			out[p] = hearingStatus{Status: hearsAll}
			continue
		}
		for _, pr := range h.Problems {
			log.Warn("the bot cannot hear everything the configuration expects", "platform", p, "problem", pr.Code, "missed", pr.Missed, "fix", pr.Fix)
		}
		out[p] = hearingStatus{Status: hearsNotAll, Problems: h.Problems}
	}
	return out
}

// LiveCheckError is a configuration that is valid but that a platform
// says cannot work as written: the token is rejected, the platform cannot
// be reached, or the bot cannot hear the chats listed. main exits with
// status 1 on it.
type LiveCheckError struct {
	Platforms []string // the platforms with a problem, in check order
}

func (e *LiveCheckError) Error() string {
	return "config check --live: " + strings.Join(e.Platforms, " and ") + ": see above what to change"
}

// checkLive asks every live platform of cfg whether its token is accepted
// and the bot hears what the configuration expects, and writes the
// answers to w. A platform in sandbox mode or disabled is only named. It
// returns a *LiveCheckError when any platform has a problem. Tokens are
// never written.
func checkLive(ctx context.Context, cfg Config, w io.Writer) error {
	var failed []string
	report := func(platform string, h bots.Hearing, err error) {
		switch {
		case errors.Is(err, citybot.ErrForbidden):
			fmt.Fprintf(w, "%s: the token was rejected (%v). Check %s.\n", platform, err, tokenEnv(platform))
			failed = append(failed, platform)
		case err != nil:
			fmt.Fprintf(w, "%s: could not ask the platform: %v\n", platform, err)
			failed = append(failed, platform)
		case h.OK():
			fmt.Fprintf(w, "%s: the token is accepted and the bot hears what the configuration expects.\n", platform)
		default:
			fmt.Fprintf(w, "%s: the token is accepted, but the bot cannot hear everything the configuration expects:\n", platform)
			for _, p := range h.Problems {
				fmt.Fprintf(w, "  - %s\n    To change it: %s\n", p.Missed, p.Fix)
			}
			failed = append(failed, platform)
		}
	}
	for _, platform := range []string{"telegram", "discord"} {
		switch mode := cfg.PlatformMode(platform); mode {
		case modeLive:
		case modeSandbox:
			fmt.Fprintf(w, "%s: sandbox mode (the local emulator); nothing to ask. Set %s to check the real bot.\n", platform, tokenEnv(platform))
			continue
		default:
			fmt.Fprintf(w, "%s: %s.\n", platform, mode)
			continue
		}
		if platform == "telegram" {
			h, err := telegram.CheckHearing(ctx, telegram.ProbeOptions{
				Token: cfg.TelegramToken.Reveal(), APIEndpoint: cfg.Telegram.APIEndpoint,
				ListenGroups: cfg.Telegram.ListenGroups, HTTPClient: &http.Client{},
			})
			report(platform, h, err)
			continue
		}
		h, err := discord.CheckHearing(ctx, discord.ProbeOptions{
			Token: cfg.DiscordToken.Reveal(), APIBase: cfg.Discord.APIBase,
			Channels: withAlertChannels(cfg.Discord.Channels, cfg),
		})
		report(platform, h, err)
	}
	if len(failed) > 0 {
		return &LiveCheckError{Platforms: failed}
	}
	return nil
}

// tokenEnv names the environment variable of a platform's token.
func tokenEnv(platform string) string {
	if platform == "discord" {
		return envDiscordToken
	}
	return envTelegramToken
}
