package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
	"citybot/bots"
)

// Problem codes of a Telegram bots.Hearing.
const (
	HearingPrivacyMode = "telegram_privacy_mode"
	HearingJoinGroups  = "telegram_join_groups"
)

// hearingTimeout bounds one getMe asked for a bots.Hearing.
const hearingTimeout = 15 * time.Second

// Hearing asks getMe whether the bot hears every message of the groups
// in Options.ListenGroups (group privacy mode off in @BotFather) and may
// be added to groups (bots.HearingChecker). With no listened group,
// privacy mode is what citybot needs (commands, mentions and replies in
// groups; all of a private chat) and nothing is reported. Errors as for
// New; they never hold the token.
func (b *Bot) Hearing(ctx context.Context) (bots.Hearing, error) {
	me, err := b.call(ctx, hearingTimeout).GetMe()
	if err != nil {
		return bots.Hearing{}, getMeError(err, b.redact)
	}
	return judgeHearing(me, len(b.opts.ListenGroups)), nil
}

// ProbeOptions are what CheckHearing needs: the token, the endpoint and
// the groups the configuration listens to.
type ProbeOptions struct {
	Token        string
	APIEndpoint  string // default tgbotapi.APIEndpoint
	ListenGroups []int64
	HTTPClient   *http.Client // default: a client with no other timeout than the call's
}

// CheckHearing asks Telegram's getMe, without starting a bot, whether a
// bot with this token hears what ListenGroups expects (see Bot.Hearing);
// for "citybot config check --live". Errors wrap citybot.ErrInvalid for
// an empty token or a bad endpoint, citybot.ErrForbidden when Telegram
// rejects the token; others mean the Bot API could not be reached. They
// never hold the token.
func CheckHearing(ctx context.Context, o ProbeOptions) (bots.Hearing, error) {
	if strings.TrimSpace(o.Token) == "" {
		return bots.Hearing{}, fmt.Errorf("telegram: check: token is empty: %w", citybot.ErrInvalid)
	}
	if o.APIEndpoint == "" {
		o.APIEndpoint = tgbotapi.APIEndpoint
	} else if strings.Count(o.APIEndpoint, "%s") != 2 || strings.Count(o.APIEndpoint, "%") != 2 {
		return bots.Hearing{}, fmt.Errorf("telegram: check: api endpoint must be a format string with exactly two %%s: %w", citybot.ErrInvalid)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	red := redactor(o.Token)
	client := &ctxClient{base: o.HTTPClient, ctx: ctx, timeout: hearingTimeout, redact: red}
	api, err := tgbotapi.NewBotAPIWithClient(o.Token, o.APIEndpoint, client) // calls getMe
	if err != nil {
		return bots.Hearing{}, getMeError(err, red)
	}
	return judgeHearing(api.Self, len(o.ListenGroups)), nil
}

// getMeError turns a failed getMe into an error without the token.
func getMeError(err error, red func(string) string) error {
	var te *tgbotapi.Error
	if errors.As(err, &te) && (te.Code == http.StatusUnauthorized || te.Code == http.StatusNotFound) {
		return fmt.Errorf("telegram: the Bot API rejected the token (%d %s): %w", te.Code, red(te.Message), citybot.ErrForbidden)
	}
	msg := err.Error()
	if r := red(msg); r != msg {
		return fmt.Errorf("telegram: getMe: %w", &redactedError{msg: r, cause: ctxCause(err)})
	}
	return fmt.Errorf("telegram: getMe: %w", err)
}

// judgeHearing compares getMe's answer with the number of listened
// groups.
func judgeHearing(me tgbotapi.User, listenGroups int) bots.Hearing {
	h := bots.Hearing{Platform: citybot.Telegram}
	if listenGroups == 0 {
		return h
	}
	if !me.CanReadAllGroupMessages {
		h.Problems = append(h.Problems, bots.HearingProblem{
			Code: HearingPrivacyMode,
			Missed: fmt.Sprintf("Group privacy mode is on: in the %d group(s) of [telegram] listen_groups the bot hears only commands, "+
				"replies to it and messages that name @%s, not every message.", listenGroups, me.UserName),
			Fix: fmt.Sprintf("In Telegram, open @BotFather, send /setprivacy, choose @%s, then Disable. "+
				"Then remove the bot from each listened group and add it again: Telegram applies the change when the bot joins. "+
				"(A bot that is an administrator of a group hears all of it anyway, but getMe cannot tell.)", me.UserName),
		})
	}
	if !me.CanJoinGroups {
		h.Problems = append(h.Problems, bots.HearingProblem{
			Code:   HearingJoinGroups,
			Missed: "The bot may not be added to groups, so a group of [telegram] listen_groups it is not yet in cannot be heard.",
			Fix:    fmt.Sprintf("In Telegram, open @BotFather, send /setjoingroups, choose @%s, then Enable.", me.UserName),
		})
	}
	return h
}
