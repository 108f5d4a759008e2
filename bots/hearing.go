package bots

import (
	"context"
	"strings"

	"citybot"
)

// Hearing is what a platform says about whether the bot can hear the
// chats the configuration lists: Telegram's getMe (group privacy mode,
// joining groups), Discord's application flags (the Message Content
// intent). It holds no secret and no chat's content, so it may be logged
// and shown on /healthz as it is.
type Hearing struct {
	// Platform is the platform that answered.
	Platform citybot.Platform `json:"platform"`
	// Problems are what the bot cannot hear and how to change it; none
	// means it hears everything the configuration expects.
	Problems []HearingProblem `json:"problems,omitempty"`
}

// OK reports whether the bot hears everything the configuration expects.
func (h Hearing) OK() bool { return len(h.Problems) == 0 }

// Summary is one line for a log or a terminal: "hears what the
// configuration expects", or the problems' codes.
func (h Hearing) Summary() string {
	if h.OK() {
		return "hears what the configuration expects"
	}
	codes := make([]string, len(h.Problems))
	for i, p := range h.Problems {
		codes[i] = p.Code
	}
	return "cannot hear everything: " + strings.Join(codes, ", ")
}

// HearingProblem is one thing the bot cannot hear, for the person who
// runs citybot (log, /healthz, config check --live), in English.
type HearingProblem struct {
	// Code is stable, for monitoring: "telegram_privacy_mode",
	// "telegram_join_groups", "discord_message_content".
	Code string `json:"code"`
	// Missed says what the bot does not hear.
	Missed string `json:"missed"`
	// Fix says what to change, and where (@BotFather, the Discord
	// developer portal).
	Fix string `json:"fix"`
}

// HearingChecker is an optional capability: asking the platform whether
// the bot can hear what the configuration expects. It is asked once at
// start and by "citybot config check --live".
type HearingChecker interface {
	// Hearing asks the platform. Errors wrap citybot.ErrForbidden when
	// the token is rejected; others are transient. Errors never hold the
	// token.
	Hearing(ctx context.Context) (Hearing, error)
}
