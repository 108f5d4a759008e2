package discord

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"citybot"
	"citybot/bots"
)

// HearingMessageContent is the problem code of a Discord bots.Hearing
// whose application lacks the Message Content intent.
const HearingMessageContent = "discord_message_content"

// Application flags that say the developer portal's Message Content
// Intent switch is on: GATEWAY_MESSAGE_CONTENT (a verified bot approved
// for it) and GATEWAY_MESSAGE_CONTENT_LIMITED (a bot in fewer than 100
// servers).
const (
	appFlagMessageContent        = 1 << 18
	appFlagMessageContentLimited = 1 << 19
)

// closeDisallowedIntents is the gateway's close code for an IDENTIFY
// asking for a privileged intent the application lacks.
const closeDisallowedIntents = 4014

// Hearing asks Discord for the bot's application (GET
// /oauth2/applications/@me) and reports whether its Message Content
// intent is on (bots.HearingChecker). citybot identifies with the
// GUILD_MESSAGES, DIRECT_MESSAGES and MESSAGE_CONTENT intents; the first
// two need no switch, the third does, and without it Discord refuses the
// gateway connection altogether (close 4014), so the problem is reported
// whether or not [discord] channels lists any. Errors wrap
// citybot.ErrForbidden when Discord rejects the token; others are
// transient. They never hold the token.
func (b *Bot) Hearing(ctx context.Context) (bots.Hearing, error) {
	// Session.Application takes no request options (no context): the
	// same call, made through RequestWithBucketID.
	endpoint := discordgo.EndpointOAuth2Application("@me")
	// The call counts against Discord's global limit like every other:
	// it takes a slot of the local limiter (the catch-up may be reading
	// history at full rate at the same moment).
	if b.limiter != nil {
		slot, err := b.limiter.acquire(ctx, "")
		if err != nil {
			return bots.Hearing{}, fmt.Errorf("discord: read the application: %w", err)
		}
		defer b.limiter.release(slot)
	}
	raw, err := b.rest.RequestWithBucketID(http.MethodGet, endpoint, nil, discordgo.EndpointOAuth2Application(""),
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if isUnauthorized(err) {
		return bots.Hearing{}, fmt.Errorf("discord: the API rejected the token: %w", citybot.ErrForbidden)
	}
	if err != nil {
		return bots.Hearing{}, fmt.Errorf("discord: read the application: %w", b.redact(err))
	}
	var app discordgo.Application
	if err := discordgo.Unmarshal(raw, &app); err != nil {
		return bots.Hearing{}, fmt.Errorf("discord: read the application: decode: %w", err)
	}
	return judgeHearing(app.Flags, len(b.opts.Channels)), nil
}

// judgeHearing reads an application's flags against the number of
// listened channels.
func judgeHearing(flags, channels int) bots.Hearing {
	h := bots.Hearing{Platform: citybot.Discord}
	if flags&(appFlagMessageContent|appFlagMessageContentLimited) != 0 {
		return h
	}
	missed := "The Message Content intent is off: Discord refuses citybot's gateway connection (close code 4014, disallowed intents), " +
		"so the bot hears nothing, not even direct messages"
	if channels > 0 {
		missed += fmt.Sprintf(", nor the %d channel(s) of [discord] channels", channels)
	}
	h.Problems = append(h.Problems, bots.HearingProblem{
		Code:   HearingMessageContent,
		Missed: missed + ".",
		Fix: "In the Discord developer portal (https://discord.com/developers/applications), choose the bot's application, open Bot, " +
			"turn on Message Content Intent under Privileged Gateway Intents, and save. " +
			"A bot in 100 servers or more must first be approved for it by Discord.",
	})
	return h
}

// ProbeOptions are what CheckHearing needs.
type ProbeOptions struct {
	Token    string // without "Bot "
	APIBase  string // default DefaultAPIBase
	Channels []string
}

// CheckHearing asks Discord, without starting a bot, whether a bot with
// this token hears what Channels expects (see Bot.Hearing); for
// "citybot config check --live". Errors wrap citybot.ErrInvalid for an
// empty token or a bad base URL, citybot.ErrForbidden when Discord
// rejects the token; others mean the API could not be reached. They never
// hold the token.
func CheckHearing(ctx context.Context, o ProbeOptions) (bots.Hearing, error) {
	if o.Token == "" || strings.ContainsAny(o.Token, " \t\r\n") {
		return bots.Hearing{}, fmt.Errorf("discord: check: token is empty or holds white space (give it without \"Bot \"): %w", citybot.ErrInvalid)
	}
	if o.APIBase == "" {
		o.APIBase = DefaultAPIBase
	}
	opts := Options{Token: o.Token, APIBase: o.APIBase, Channels: o.Channels, Cursors: noCursors{}}
	if err := opts.fill(); err != nil {
		return bots.Hearing{}, fmt.Errorf("discord: check: %w", err)
	}
	b := &Bot{
		opts:     opts,
		client:   &http.Client{Timeout: 20 * time.Second, Transport: newTransport(opts.APIBase)},
		redactor: strings.NewReplacer(opts.Token, "[REDACTED]"),
	}
	b.rest = b.newSession()
	return b.Hearing(ctx)
}

// noCursors stands in for the cursors a probe never reads.
type noCursors struct{}

func (noCursors) Cursor(context.Context, string) (string, error)  { return "", nil }
func (noCursors) SetCursor(context.Context, string, string) error { return nil }
