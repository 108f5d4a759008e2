// Package telegram is citybot's Telegram adapter, built on tgbotapi v5.5.1.
// It implements bots.Bot and bots.Editor: it turns Telegram updates into
// citybot.Message and citybot.Action for a bots.Handler, and
// citybot.Outgoing into sendMessage calls.
//
// Intake is at-least-once. In polling mode the adapter runs its own
// getUpdates loop and confirms an update (stores the next offset through
// bots.Cursors, and asks Telegram for the updates after it) only after the
// handler returned nil for it; a failing handler gets the same update
// again after a backoff. In webhook mode, WebhookHandler answers 2xx only
// after the handler returned nil, so Telegram redelivers otherwise.
//
// Sends are rate limited inside the adapter (about one message a second
// per chat with a small burst, 20 a minute per group, 30 a second
// overall): a send the limiter would delay is refused at once with a
// *citybot.RetryAfterError so the caller's outbox can reschedule it.
//
// The bot token never appears in an error or a log line: transport errors
// (which carry the request URL) are redacted, and the logger given in
// Options is wrapped by a redacting handler.
//
// Chat and message ids are decimal strings of Telegram's integers; only
// this package parses them.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram/internal/ratelimit"
	"citybot/internal/pause"
)

// Modes of receiving updates.
const (
	ModePolling = "polling"
	ModeWebhook = "webhook"
)

// MaxText is the longest text one Telegram message may carry, in UTF-16
// code units (Telegram counts characters after entity parsing that way).
const MaxText = 4096

// Rate allows at most N sends in any window Per. The zero Rate takes the
// adapter's default for its place; a negative N disables that limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Options configure a Bot. Token is required; Cursors is required in
// polling mode; WebhookURL and WebhookSecret are required in webhook mode.
type Options struct {
	// Token is the bot token from @BotFather. Secret: never logged.
	Token string
	// APIEndpoint is tgbotapi's endpoint format string with two %s, the
	// token then the method, e.g. "http://127.0.0.1:8081/bot%s/%s".
	// Default tgbotapi.APIEndpoint (the public Bot API).
	APIEndpoint string
	// Mode is ModePolling (default) or ModeWebhook.
	Mode string
	// WebhookURL is the public https URL Telegram posts updates to, where
	// WebhookHandler is mounted. Webhook mode only.
	WebhookURL string
	// WebhookSecret is sent by Telegram in X-Telegram-Bot-Api-Secret-Token
	// and checked by WebhookHandler: 1 to 256 of A-Z a-z 0-9 _ -.
	WebhookSecret string
	// ListenGroups are the groups (Telegram chat ids) where every message
	// is taken. In other groups only commands, messages that mention the
	// bot and replies to the bot are taken.
	ListenGroups []int64
	// Cursors stores the polling offset.
	Cursors bots.Cursors
	// CursorKey is the key of the offset in Cursors. Default
	// "telegram/<bot id>/offset".
	CursorKey string
	// Logger receives the adapter's logs (with component=telegram).
	// Default discards.
	Logger *slog.Logger
	// HTTPClient makes the API calls. Default a new http.Client. Its
	// Timeout, if set, must exceed PollTimeout; every call also gets its
	// own deadline (RequestTimeout, or PollTimeout plus 10 s for
	// getUpdates) and is cancelled with its context.
	HTTPClient *http.Client
	// PollTimeout is the long-poll timeout of getUpdates, at least 1 s.
	// Default 30 s.
	PollTimeout time.Duration
	// RequestTimeout bounds every other API call. Default 15 s.
	RequestTimeout time.Duration
	// HandlerTimeout bounds one Handler call. Default 60 s.
	HandlerTimeout time.Duration
	// BackoffMin and BackoffMax bound the delay between retries of a
	// failed poll or a failed handler. Defaults 1 s and 1 min.
	BackoffMin, BackoffMax time.Duration
	// MaxHandlerAttempts is how many times a polled update is handed to
	// a failing Handler before it is skipped (logged at error level and
	// counted, see SkippedUpdates) so that one poison update cannot block
	// the ones after it. A Handler that panics is not retried. Default 10.
	MaxHandlerAttempts int
	// PerChat, PerGroup and Global are the local send limits. Defaults:
	// 3 per 3 s per chat, 20 per minute per group, 30 per second overall.
	PerChat, PerGroup, Global Rate
	// Now is the clock of the rate limiter. Default time.Now.
	Now func() time.Time
}

// Bot is a connection to the Telegram Bot API. Create it with New. Its
// methods are safe for concurrent use; Run runs once at a time.
type Bot struct {
	api     *tgbotapi.BotAPI // template: each call copies it with its own client
	http    *http.Client
	self    tgbotapi.User
	opts    Options
	log     *slog.Logger
	redact  func(string) string
	limiter *ratelimit.Limiter
	cmu     sync.Mutex
	credits map[string]credit // slots Reserve took, by outbox key
	listen  map[int64]bool
	chatN   ratelimit.Rule
	groupN  ratelimit.Rule
	globalN ratelimit.Rule
	// share is how many citybot processes send with this token
	// (ShareLimits): each rule above allows its share.
	share   atomic.Int32
	handler atomic.Pointer[handlerBox] // set while Run runs in webhook mode
	skipped atomic.Int64               // updates given up on (see SkippedUpdates)
}

type handlerBox struct{ h bots.Handler }

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// libLoggerMu serialises tgbotapi.SetLogger, which writes a variable of
// that package without a lock, so that concurrent New calls do not race.
// (tgbotapi reads it only in debug mode and in GetUpdatesChan, which this
// package never uses.)
var libLoggerMu sync.Mutex

// New checks opts, connects to the Bot API and checks the token with
// getMe (retrying transient failures a few times). It returns an error
// wrapping citybot.ErrInvalid for bad options, wrapping
// citybot.ErrForbidden when Telegram rejects the token, and another error
// when the API cannot be reached. Errors never contain the token.
//
// New replaces tgbotapi's process-wide logger (tgbotapi.SetLogger) with
// one that redacts the token and writes to opts.Logger (the last New
// wins; the library only logs in modes this package does not use).
func New(ctx context.Context, opts Options) (*Bot, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	red := redactor(opts.Token, opts.WebhookSecret)
	log := slog.New(&redactHandler{h: opts.Logger.Handler(), redact: red}).With("component", "telegram")
	libLoggerMu.Lock()
	err := tgbotapi.SetLogger(libLogger{log: log})
	libLoggerMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("telegram: set library logger: %w", err)
	}
	b := &Bot{
		http:    opts.HTTPClient,
		opts:    opts,
		log:     log,
		redact:  red,
		limiter: ratelimit.New(),
		credits: map[string]credit{},
		listen:  make(map[int64]bool, len(opts.ListenGroups)),
		chatN:   rule(opts.PerChat, ratelimit.TelegramChatN, ratelimit.TelegramChatWindow),
		groupN:  rule(opts.PerGroup, ratelimit.TelegramGroupN, ratelimit.TelegramGroupWindow),
		globalN: rule(opts.Global, ratelimit.TelegramGlobalN, ratelimit.TelegramGlobalWindow),
	}
	for _, id := range opts.ListenGroups {
		b.listen[id] = true
	}
	var api *tgbotapi.BotAPI
	bo := backoff{min: opts.BackoffMin, max: opts.BackoffMax}
	for attempt := 1; ; attempt++ {
		client := &ctxClient{base: b.http, ctx: ctx, timeout: opts.RequestTimeout, redact: red}
		api, err = tgbotapi.NewBotAPIWithClient(opts.Token, opts.APIEndpoint, client)
		if err == nil {
			break
		}
		var te *tgbotapi.Error
		if errors.As(err, &te) && (te.Code == http.StatusUnauthorized || te.Code == http.StatusNotFound) {
			return nil, fmt.Errorf("telegram: the Bot API rejected the token (%d %s): %w", te.Code, red(te.Message), citybot.ErrForbidden)
		}
		wait := bo.next()
		if errors.As(err, &te) && te.RetryAfter > 0 {
			wait = time.Duration(te.RetryAfter) * time.Second
		}
		if attempt >= 4 || ctx.Err() != nil {
			return nil, fmt.Errorf("telegram: connect (getMe): %w", b.clean(err))
		}
		log.Warn("getMe failed, retrying", "err", b.clean(err), "retry_in", wait)
		if !pause.For(ctx, wait) {
			return nil, fmt.Errorf("telegram: connect (getMe): %w", b.clean(err))
		}
	}
	api.Client = nil // every call sets its own context-bound client
	b.api, b.self = api, api.Self
	if b.opts.CursorKey == "" {
		b.opts.CursorKey = "telegram/" + strconv.FormatInt(api.Self.ID, 10) + "/offset"
	}
	b.log.Info("connected", "bot_username", api.Self.UserName, "mode", opts.Mode)
	return b, nil
}

func (o *Options) defaults() error {
	var problems []string
	if strings.TrimSpace(o.Token) == "" {
		problems = append(problems, "token is empty")
	}
	if o.APIEndpoint == "" {
		o.APIEndpoint = tgbotapi.APIEndpoint
	} else if strings.Count(o.APIEndpoint, "%s") != 2 || strings.Count(o.APIEndpoint, "%") != 2 {
		problems = append(problems, "api endpoint must be a format string with exactly two %s (token, then method)")
	}
	switch o.Mode {
	case "":
		o.Mode = ModePolling
	case ModePolling, ModeWebhook:
	default:
		problems = append(problems, fmt.Sprintf("mode %q is neither %q nor %q", o.Mode, ModePolling, ModeWebhook))
	}
	if o.Mode == ModeWebhook {
		if u, err := url.Parse(o.WebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			problems = append(problems, "webhook mode needs an absolute http(s) webhook URL")
		}
		if !secretRE.MatchString(o.WebhookSecret) {
			problems = append(problems, "webhook mode needs a webhook secret of 1 to 256 characters A-Z a-z 0-9 _ -")
		}
	}
	if o.Mode == ModePolling && o.Cursors == nil {
		problems = append(problems, "polling mode needs Cursors")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = 30 * time.Second
	}
	if o.PollTimeout < time.Second {
		problems = append(problems, "poll timeout must be at least 1s")
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 15 * time.Second
	}
	if o.HandlerTimeout <= 0 {
		o.HandlerTimeout = time.Minute
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = time.Second
	}
	if o.MaxHandlerAttempts <= 0 {
		o.MaxHandlerAttempts = 10
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(time.Minute, o.BackoffMin)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	} else if o.HTTPClient.Timeout != 0 && o.HTTPClient.Timeout <= o.PollTimeout {
		problems = append(problems, fmt.Sprintf("http client timeout %s must exceed the poll timeout %s", o.HTTPClient.Timeout, o.PollTimeout))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(problems) > 0 {
		return fmt.Errorf("telegram: options: %s: %w", strings.Join(problems, "; "), citybot.ErrInvalid)
	}
	return nil
}

func rule(r Rate, n int, per time.Duration) ratelimit.Rule {
	switch {
	case r.N < 0:
		return ratelimit.Rule{}
	case r.N == 0 || r.Per <= 0:
		return ratelimit.Rule{N: n, Window: per}
	}
	return ratelimit.Rule{N: r.N, Window: r.Per}
}

// Platform returns citybot.Telegram.
func (b *Bot) Platform() citybot.Platform { return citybot.Telegram }

// Spacing returns the steady gap between two messages to out's chat
// that the local limits allow (bots.Spacer): the widest of the per-chat
// rule and, in a group or channel, the per-group rule, each spread
// evenly over its window (20 a minute: 3 s).
func (b *Bot) Spacing(out citybot.Outgoing) time.Duration {
	gap := func(r ratelimit.Rule) time.Duration {
		if r.N <= 0 || r.Window <= 0 {
			return 0
		}
		return r.Window / time.Duration(r.N)
	}
	g := gap(b.shared(b.chatN))
	if out.ChatKind != citybot.ChatPrivate {
		g = max(g, gap(b.shared(b.groupN)))
	}
	return g
}

// ShareLimits implements bots.LimitSharer: with n citybot processes
// sending with this token, each of the per-chat, per-group and global
// rules allows bots.Share(N, n) messages in its window.
func (b *Bot) ShareLimits(n int) { b.share.Store(int32(max(n, 1))) }

// shared is this process's share of r (see ShareLimits).
func (b *Bot) shared(r ratelimit.Rule) ratelimit.Rule {
	r.N = bots.Share(r.N, int(b.share.Load()))
	return r
}

// Limits returns Telegram's message limits: 4096 UTF-16 code units of
// text.
func (b *Bot) Limits() bots.Limits { return Limits() }

// Limits returns the limits every Telegram Bot reports (Bot.Limits), for
// the commands that need them without connecting.
func Limits() bots.Limits { return bots.Limits{MaxText: MaxText} }

// Username returns the bot's @username (without "@"), as getMe told.
func (b *Bot) Username() string { return b.self.UserName }

// call returns a copy of the API client whose requests are bound to ctx
// and time out after timeout.
func (b *Bot) call(ctx context.Context, timeout time.Duration) *tgbotapi.BotAPI {
	a := *b.api
	a.Client = &ctxClient{base: b.http, ctx: ctx, timeout: timeout, redact: b.redact}
	return &a
}

// clean returns err with the token and webhook secret redacted from its
// text. The result wraps err only when err's text held no secret, or
// err's chain held a context error.
func (b *Bot) clean(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := b.redact(msg); red != msg {
		return &redactedError{msg: red, cause: ctxCause(err)}
	}
	return err
}
