package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

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
	return askHearingSince(ctx, logger, bs, nil)
}

// askHearingSince is askHearing that logs only the platforms whose answer
// differs from before (all of them when before is nil): asked again and
// again, it says what changed, not the same warning every time.
func askHearingSince(ctx context.Context, logger *slog.Logger, bs []bots.Bot, before map[string]hearingStatus) map[string]hearingStatus {
	out := map[string]hearingStatus{}
	log := logger.With("component", "hearing")
	for _, b := range bs {
		hc, ok := b.(bots.HearingChecker)
		if !ok {
			continue
		}
		p := string(b.Platform())
		h, err := hc.Hearing(ctx)
		switch {
		case err != nil:
			out[p] = hearingStatus{Status: hearsUnknown}
		case h.OK():
			out[p] = hearingStatus{Status: hearsAll}
		default:
			out[p] = hearingStatus{Status: hearsNotAll, Problems: h.Problems}
		}
		if prev, ok := before[p]; ok && reflect.DeepEqual(prev, out[p]) {
			continue
		}
		switch {
		case err != nil:
			log.Warn("could not ask the platform whether the bot hears the configured chats", "platform", p, "err", err)
		case h.OK():
			log.Info("the bot hears what the configuration expects", "platform", p)
		default:
			for _, pr := range h.Problems {
				log.Warn("the bot cannot hear everything the configuration expects", "platform", p, "problem", pr.Code, "missed", pr.Missed, "fix", pr.Fix)
			}
		}
	}
	return out
}

// hearingEvery is how often serve asks the platforms again whether the
// bot hears the configured chats (one or two API calls each): a fix made
// in BotFather or the developer portal, or a permission taken away,
// shows on /healthz without a restart.
const hearingEvery = 10 * time.Minute

// hearingBoard holds the platforms' latest answers for /healthz.
type hearingBoard struct {
	mu  sync.Mutex
	now map[string]hearingStatus
}

// get returns the latest answers (nil before the first).
func (h *hearingBoard) get() map[string]hearingStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// ask asks the platforms again, logs what changed and keeps the answers.
func (h *hearingBoard) ask(ctx context.Context, logger *slog.Logger, bs []bots.Bot) {
	next := askHearingSince(ctx, logger, bs, h.get())
	if ctx.Err() != nil {
		return // stopping: an interrupted answer is no answer
	}
	h.mu.Lock()
	h.now = next
	h.mu.Unlock()
}

// run asks again every interval until ctx is cancelled.
func (h *hearingBoard) run(ctx context.Context, logger *slog.Logger, bs []bots.Bot, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			h.ask(ctx, logger, bs)
		}
	}
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
