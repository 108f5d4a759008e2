// Package discord is citybot's Discord adapter, built on discordgo. It
// listens on the gateway in the configured channels, their threads and in
// direct messages, turns messages, edits, slash commands and button presses
// into citybot.Message and citybot.Action for a bots.Handler, and sends
// citybot.Outgoing through the REST API.
//
// Nothing heard is lost: the adapter remembers, through bots.Cursors, the
// last message id handled per channel, and after a start, a reconnect that
// could not resume, or a failed hand-over it reads the channel's history
// after that id and hands every missed message over, in order. A message
// is confirmed (its cursor saved) only after Handler.HandleMessage returned
// nil for it and for every message before it in its channel.
//
// Sending never blocks on Discord's rate limits: a local limiter and
// Discord's 429 answers both come back as *citybot.RetryAfterError.
//
// The subpackage dcemu is a local Discord emulator for tests and sandbox
// mode.
package discord

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"citybot"
	"citybot/bots"
	"citybot/locale"

	"github.com/bwmarrin/discordgo"
)

// MaxText is the longest message text Discord accepts, in UTF-16 code
// units (what Discord counts).
const MaxText = 2000

// DefaultAPIBase is Discord's own API host.
const DefaultAPIBase = "https://discord.com"

// Options configure a Bot. Token and Cursors are required.
type Options struct {
	// Token is the bot token, without the "Bot " prefix. It never
	// appears in errors or logs.
	Token string
	// APIBase is the scheme and host serving Discord's REST API
	// (default DefaultAPIBase). Point it at a dcemu emulator's URL for
	// tests and sandbox mode; the gateway URL comes from the API.
	APIBase string
	// GuildID is the city's server: slash commands are registered there
	// and guild messages from other servers are ignored.
	GuildID string
	// Channels are the ids of the text channels listened to; their
	// threads are listened to as well. Direct messages always are.
	Channels []string
	// Languages are the choices of the /language slash command, in
	// order; empty leaves the choice as free text.
	Languages []Language
	// Locales give the few texts the adapter says itself (an
	// interaction that failed, a channel not listened to), in the
	// user's Discord language ([chat] sorry, not_here); nil means the
	// shipped language files.
	Locales *locale.Set
	// Cursors stores the last message id handled per channel.
	Cursors bots.Cursors
	// Logger receives the adapter's logs (default: discard).
	Logger *slog.Logger

	// GlobalPerSecond bounds REST requests per second (default 45,
	// under Discord's 50).
	GlobalPerSecond int
	// ChannelMessages per ChannelWindow bounds sends per channel
	// (default 5 per 5 s, Discord's message bucket).
	ChannelMessages int
	ChannelWindow   time.Duration
	// Workers is how many channels are handled in parallel (default
	// 4); one channel's messages are always handled in order.
	Workers int
	// RetryInterval is how often channels whose hand-over failed are
	// read again from their history (default 5 s).
	RetryInterval time.Duration
	// HTTPTimeout bounds each REST request (default 20 s).
	HTTPTimeout time.Duration
	// ShutdownGrace is how long Run waits for in-flight handler calls
	// after ctx is cancelled before cancelling them (default 10 s).
	ShutdownGrace time.Duration
}

// Bot is a Discord connection. Create it with New; Send, Edit and
// PrivateChat may be used from any goroutine, with or without Run.
type Bot struct {
	opts     Options
	log      *slog.Logger
	client   *http.Client
	rest     *discordgo.Session
	limiter  *limiter
	cmu      sync.Mutex
	credits  map[string]credit // slots Reserve took, by outbox key
	listened map[string]bool
	redactor *strings.Replacer
	running  chan struct{} // holds a token while Run runs
}

var (
	_ bots.Bot            = (*Bot)(nil)
	_ bots.Editor         = (*Bot)(nil)
	_ bots.PrivateChatter = (*Bot)(nil)
	_ bots.Pacer          = (*Bot)(nil)
)

// New checks opts and builds a Bot. When Discord is reachable it checks
// the token (GET /users/@me) and returns an error wrapping
// citybot.ErrForbidden if Discord rejects it; an unreachable API is only
// logged, so that the city's bot can start during an outage. New does not
// connect to the gateway: Run does.
func New(ctx context.Context, opts Options) (*Bot, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	lg := opts.Logger.With("component", "discord")
	b := &Bot{
		opts:     opts,
		log:      lg,
		limiter:  newLimiter(opts.GlobalPerSecond, opts.ChannelMessages, opts.ChannelWindow),
		credits:  map[string]credit{},
		listened: map[string]bool{},
		redactor: strings.NewReplacer(opts.Token, "[REDACTED]"),
		running:  make(chan struct{}, 1),
	}
	for _, c := range opts.Channels {
		b.listened[c] = true
	}
	b.client = &http.Client{Timeout: opts.HTTPTimeout, Transport: newTransport(opts.APIBase)}
	b.rest = b.newSession()

	_, err := b.rest.User("@me", discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
	if isUnauthorized(err) {
		return nil, fmt.Errorf("discord: new: token rejected: %w", citybot.ErrForbidden)
	}
	if err != nil {
		lg.Warn("discord api unreachable at start", "err", b.redact(err))
	}
	return b, nil
}

func (o *Options) fill() error {
	var errs []error
	if o.Token == "" {
		errs = append(errs, errors.New("token is empty"))
	} else if strings.ContainsAny(o.Token, " \t\r\n") {
		errs = append(errs, errors.New("token contains white space (give it without \"Bot \")"))
	}
	if o.Cursors == nil {
		errs = append(errs, errors.New("cursors are required"))
	}
	if o.APIBase == "" {
		o.APIBase = DefaultAPIBase
	}
	if u, err := url.Parse(o.APIBase); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("api base %q is not an http(s) URL", o.APIBase))
	}
	if o.GuildID != "" && !isSnowflake(o.GuildID) {
		errs = append(errs, fmt.Errorf("guild id %q is not a Discord id", o.GuildID))
	}
	for _, c := range o.Channels {
		if !isSnowflake(c) {
			errs = append(errs, fmt.Errorf("channel id %q is not a Discord id", c))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("discord: options: %w: %w", citybot.ErrInvalid, errors.Join(errs...))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.GlobalPerSecond <= 0 {
		o.GlobalPerSecond = 45
	}
	if o.ChannelMessages <= 0 {
		o.ChannelMessages = 5
	}
	if o.ChannelWindow <= 0 {
		o.ChannelWindow = 5 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 5 * time.Second
	}
	if o.HTTPTimeout <= 0 {
		o.HTTPTimeout = 20 * time.Second
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	return nil
}

// newSession builds a discordgo session that talks to APIBase through
// b.client, never retries 429s by itself and logs nothing (its logger is
// package-global; the adapter logs through slog instead).
func (b *Bot) newSession() *discordgo.Session {
	s, _ := discordgo.New("Bot " + b.opts.Token) // never fails
	s.Client = b.client
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 1
	s.LogLevel = -1
	s.Identify.Intents = discordgo.IntentGuildMessages | discordgo.IntentDirectMessages | discordgo.IntentMessageContent
	s.StateEnabled = false // the adapter keeps what it needs; no member or channel cache growth
	s.SyncEvents = true
	return s
}

// Platform reports citybot.Discord.
func (b *Bot) Platform() citybot.Platform { return citybot.Discord }

// Limits reports Discord's 2000-character message limit.
func (b *Bot) Limits() bots.Limits { return Limits() }

// Limits returns the limits every Discord Bot reports (Bot.Limits), for
// the commands that need them without connecting.
func Limits() bots.Limits { return bots.Limits{MaxText: MaxText} }

// TextLen counts s the way Discord does: in UTF-16 code units.
func TextLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Send posts out in its channel (a text channel, thread or DM). The text
// goes as plain content with no mentions parsed; ReplyTo becomes a message
// reference; Buttons become action rows. A nonce derived from out.Key makes
// Discord answer a repeated Send with the first message instead of posting
// twice.
//
// Errors: citybot.ErrInvalid (wrapped) for a text over MaxText UTF-16
// units, an empty message, a malformed chat id or bad buttons;
// *citybot.RetryAfterError when the local limiter or Discord's 429 refuses
// for now; citybot.ErrPermanent (wrapped) when Discord refuses for good
// (403, 404, rejected body); citybot.ErrForbidden (wrapped) when the token
// is rejected; other errors for transient failures. Errors never contain
// the token.
func (b *Bot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	if out.Platform != "" && out.Platform != citybot.Discord {
		return citybot.Sent{}, fmt.Errorf("discord: send: platform %q: %w", out.Platform, citybot.ErrInvalid)
	}
	ch := string(out.Chat)
	data, err := buildMessage(out)
	if err != nil {
		return citybot.Sent{}, fmt.Errorf("discord: send: %w", err)
	}
	if !isSnowflake(ch) {
		return citybot.Sent{}, fmt.Errorf("discord: send: chat id is not a Discord id: %w", citybot.ErrInvalid)
	}
	if isSnowflake(string(out.ReplyTo)) {
		no := false
		data.Reference = &discordgo.MessageReference{MessageID: string(out.ReplyTo), ChannelID: ch, FailIfNotExists: &no}
	}
	body := struct {
		*discordgo.MessageSend
		Nonce        string `json:"nonce,omitempty"`
		EnforceNonce bool   `json:"enforce_nonce,omitempty"`
	}{MessageSend: data}
	if out.Key != "" {
		body.Nonce, body.EnforceNonce = nonce(out.Key), true
	}
	st, wait := b.slotFor(out.Key, ch)
	if wait > 0 {
		return citybot.Sent{}, &citybot.RetryAfterError{After: wait, Throttled: true, Err: errors.New("discord: send: local rate limit")}
	}
	endpoint := discordgo.EndpointChannelMessages(ch)
	raw, err := b.rest.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(1))
	b.limiter.release(st)
	if err != nil {
		return citybot.Sent{}, b.sendError("send", err, ch)
	}
	var m discordgo.Message
	if err := discordgo.Unmarshal(raw, &m); err != nil {
		return citybot.Sent{}, fmt.Errorf("discord: send: decode answer: %w", err)
	}
	at := m.Timestamp.UTC()
	if at.IsZero() {
		at = time.Now().UTC()
	}
	return citybot.Sent{ID: citybot.PlatformMessageID(m.ID), SentAt: at}, nil
}

// Edit replaces the text and buttons of a message the bot sent. Errors as
// for Send.
func (b *Bot) Edit(ctx context.Context, chat citybot.ChatID, id citybot.PlatformMessageID, out citybot.Outgoing) error {
	ch := string(chat)
	if !isSnowflake(ch) || !isSnowflake(string(id)) {
		return fmt.Errorf("discord: edit: bad chat or message id: %w", citybot.ErrInvalid)
	}
	data, err := buildMessage(out)
	if err != nil {
		return fmt.Errorf("discord: edit: %w", err)
	}
	comps := data.Components
	if comps == nil {
		comps = []discordgo.MessageComponent{}
	}
	// The slot Reserve took for an outbox row's key, or a new one.
	st, wait := b.slotFor(out.Key, ch)
	if wait > 0 {
		return &citybot.RetryAfterError{After: wait, Throttled: true, Err: errors.New("discord: edit: local rate limit")}
	}
	_, err = b.rest.ChannelMessageEditComplex(&discordgo.MessageEdit{
		ID: string(id), Channel: ch, Content: &data.Content, Components: &comps, AllowedMentions: data.AllowedMentions,
	}, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(1))
	b.limiter.release(st)
	if err != nil {
		return b.sendError("edit", err, ch)
	}
	return nil
}

// PrivateChat returns the DM channel between the bot and user, for
// anything personal (bots.PrivateChatter). Errors as for Send.
func (b *Bot) PrivateChat(ctx context.Context, user citybot.UserID) (citybot.ChatID, error) {
	if !isSnowflake(string(user)) {
		return "", fmt.Errorf("discord: private chat: user id is not a Discord id: %w", citybot.ErrInvalid)
	}
	var c *discordgo.Channel
	err := b.restCall(ctx, func(o ...discordgo.RequestOption) (err error) {
		c, err = b.rest.UserChannelCreate(string(user), o...)
		return err
	})
	if err != nil {
		return "", b.sendError("private chat", err, "")
	}
	return citybot.ChatID(c.ID), nil
}

// Spacing returns the steady gap between two messages to one channel
// that its limit allows (bots.Spacer): the window spread evenly over its
// messages (5 in 5 s: 1 s), this process's share of them when several
// send with the token (ShareLimits).
func (b *Bot) Spacing(out citybot.Outgoing) time.Duration {
	return b.limiter.channelGap()
}

// ShareLimits implements bots.LimitSharer: with n citybot processes
// sending with this token, the global limit on REST calls and the limit
// per channel allow bots.Share(N, n) calls in their windows.
func (b *Bot) ShareLimits(n int) { b.limiter.setShare(n) }

// Mentions reports that Send names the people in Outgoing.Mentions
// (bots.Mentioner).
func (b *Bot) Mentions() bool { return true }

// withMentions puts "<@id> " before each mention's span of out.Text and
// returns the text with the ids of the users it pings, in order. Errors
// wrap citybot.ErrInvalid for a span outside the text or out of order,
// or a user id that is not a Discord id.
func withMentions(out citybot.Outgoing) (string, []string, error) {
	if len(out.Mentions) == 0 {
		return out.Text, nil, nil
	}
	var b strings.Builder
	var users []string
	prev := 0
	for _, m := range out.Mentions {
		if m.Start < prev || m.End < m.Start || m.End > len(out.Text) {
			return "", nil, fmt.Errorf("mention outside the text or out of order: %w", citybot.ErrInvalid)
		}
		if !isSnowflake(string(m.User)) {
			return "", nil, fmt.Errorf("mention: user id is not a Discord id: %w", citybot.ErrInvalid)
		}
		b.WriteString(out.Text[prev:m.Start])
		b.WriteString("<@" + string(m.User) + "> ")
		prev = m.Start
		if !slices.Contains(users, string(m.User)) {
			users = append(users, string(m.User))
		}
	}
	b.WriteString(out.Text[prev:])
	if len(users) > 100 {
		return "", nil, fmt.Errorf("%d people named, Discord pings at most 100: %w", len(users), citybot.ErrInvalid)
	}
	return b.String(), users, nil
}

// buildMessage validates out's text and buttons. Only the people out
// names (Mentions) are pinged: no @everyone, role or other user written
// in the text.
func buildMessage(out citybot.Outgoing) (*discordgo.MessageSend, error) {
	text, users, err := withMentions(out)
	if err != nil {
		return nil, err
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	if n := TextLen(text); n > MaxText {
		return nil, fmt.Errorf("text is %d UTF-16 units, over Discord's %d: %w", n, MaxText, citybot.ErrInvalid)
	}
	if strings.TrimSpace(text) == "" && len(out.Buttons) == 0 {
		return nil, fmt.Errorf("empty message: %w", citybot.ErrInvalid)
	}
	comps, err := components(out.Buttons)
	if err != nil {
		return nil, err
	}
	return &discordgo.MessageSend{
		Content:         text,
		Components:      comps,
		AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: users},
	}, nil
}

// components turns rows of buttons into action rows: at most 5 rows of 5
// buttons, labels of 1–80 UTF-16 units, data of 1–100 bytes.
func components(rows [][]citybot.Button) ([]discordgo.MessageComponent, error) {
	if len(rows) > 5 {
		return nil, fmt.Errorf("%d rows of buttons, Discord allows 5: %w", len(rows), citybot.ErrInvalid)
	}
	var out []discordgo.MessageComponent
	for _, row := range rows {
		if len(row) == 0 {
			continue
		}
		if len(row) > 5 {
			return nil, fmt.Errorf("%d buttons in a row, Discord allows 5: %w", len(row), citybot.ErrInvalid)
		}
		var bs []discordgo.MessageComponent
		for _, btn := range row {
			if l := TextLen(btn.Label); l == 0 || l > 80 || btn.Data == "" || len(btn.Data) > 100 || !utf8.ValidString(btn.Label+btn.Data) {
				return nil, fmt.Errorf("button label must be 1-80 and data 1-100 characters: %w", citybot.ErrInvalid)
			}
			bs = append(bs, discordgo.Button{Label: btn.Label, Style: discordgo.PrimaryButton, CustomID: btn.Data})
		}
		out = append(out, discordgo.ActionsRow{Components: bs})
	}
	return out, nil
}

// creditTTL is how long a slot taken by Reserve waits for its Send; an
// unused one then expires, still counted until it leaves its window.
const creditTTL = 5 * time.Second

// credit is a send slot Reserve took for one outbox key.
type credit struct {
	s  slot
	at time.Time
}

// Reserve implements bots.Pacer: it takes a slot for out in the local
// limiter (global and per channel, and the holds Discord's 429s set),
// kept for the next Send or SendPhoto of out.Key. A global wait has scope
// bots.PacePlatform. A private row (out.To) goes to a DM channel only
// Send finds: it waits for the global limit only and its Send takes its
// own slot; so does a row without a key or with a malformed chat.
func (b *Bot) Reserve(out citybot.Outgoing) (time.Duration, bots.PaceScope) {
	if w := b.limiter.globalWait(); w > 0 {
		return w, bots.PacePlatform
	}
	ch := string(out.Chat)
	if out.Key == "" || out.To != "" || !isSnowflake(ch) {
		return 0, bots.PaceChat
	}
	st, wait := b.limiter.reserve(ch)
	if wait > 0 {
		return wait, bots.PaceChat
	}
	now := time.Now()
	b.cmu.Lock()
	defer b.cmu.Unlock()
	for k, c := range b.credits {
		if now.Sub(c.at) >= creditTTL {
			delete(b.credits, k)
		}
	}
	if old, ok := b.credits[out.Key]; ok {
		b.limiter.cancel(old.s)
	}
	b.credits[out.Key] = credit{s: st, at: now}
	return 0, bots.PaceChat
}

// Unreserve implements bots.Pacer.
func (b *Bot) Unreserve(out citybot.Outgoing) {
	b.cmu.Lock()
	c, ok := b.credits[out.Key]
	delete(b.credits, out.Key)
	b.cmu.Unlock()
	if ok {
		b.limiter.cancel(c.s)
	}
}

// slotFor returns the slot Reserve took for key when it is for channel
// and fresh, or reserves one.
func (b *Bot) slotFor(key, channel string) (slot, time.Duration) {
	if key != "" {
		b.cmu.Lock()
		c, ok := b.credits[key]
		delete(b.credits, key)
		b.cmu.Unlock()
		if ok && c.s.channel == channel && time.Since(c.at) < creditTTL {
			return c.s, 0
		}
	}
	return b.limiter.reserve(channel)
}

// nonce derives Discord's 25-character message nonce from an outbox key.
func nonce(key string) string {
	sum := sha256.Sum256([]byte(key))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]))[:25]
}

// sendError maps a discordgo error onto citybot's error kinds, redacted.
// A 429 holds channel's later sends back for its retry_after (a global
// 429 discordgo itself waits out, for every call).
func (b *Bot) sendError(op string, err error, channel string) error {
	safe := b.redact(err)
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		after := time.Second
		if rl.RateLimit != nil && rl.TooManyRequests != nil && rl.RetryAfter > 0 {
			after = rl.RetryAfter
		}
		if channel != "" {
			b.limiter.block(channel, after)
		}
		return &citybot.RetryAfterError{After: after, Throttled: true, Err: fmt.Errorf("discord: %s: rate limited: %w", op, safe)}
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		switch code := re.Response.StatusCode; {
		case code == http.StatusUnauthorized:
			return fmt.Errorf("discord: %s: token rejected: %w", op, errors.Join(citybot.ErrForbidden, safe))
		case code == http.StatusForbidden, code == http.StatusNotFound,
			code == http.StatusBadRequest, code == http.StatusRequestEntityTooLarge:
			return fmt.Errorf("discord: %s: refused: %w", op, errors.Join(citybot.ErrPermanent, safe))
		}
	}
	return fmt.Errorf("discord: %s: %w", op, safe)
}

// isUnauthorized reports whether err is Discord's 401.
func isUnauthorized(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized
}

// restStatus returns the HTTP status of a REST error, or 0.
func restStatus(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// secretPaths matches interaction and webhook tokens inside URLs.
var secretPaths = regexp.MustCompile(`(/(?:interactions|webhooks)/[0-9]+/)[^/\s"?]+`)

// safeError carries a redacted message and keeps the original for
// errors.Is and errors.As.
type safeError struct {
	msg string
	err error
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.err }

// redact returns err with the bot token and interaction tokens removed
// from its text.
func (b *Bot) redact(err error) error {
	if err == nil {
		return nil
	}
	msg := b.redactor.Replace(err.Error())
	msg = secretPaths.ReplaceAllString(msg, "${1}[REDACTED]")
	return &safeError{msg: msg, err: err}
}

// isSnowflake reports whether s looks like a Discord id.
func isSnowflake(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// idLess orders snowflakes numerically.
func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// snowflakeAt is the smallest id Discord could give a message at t.
func snowflakeAt(t time.Time) string {
	const discordEpoch = 1420070400000
	ms := t.UnixMilli() - discordEpoch
	if ms < 0 {
		ms = 0
	}
	return fmt.Sprint(ms << 22)
}

// transport sends discord.com requests to another base URL.
type transport struct {
	scheme, host, prefix string
	next                 http.RoundTripper
}

func newTransport(base string) http.RoundTripper {
	var next *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		next = dt.Clone()
	} else {
		next = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSHandshakeTimeout: 10 * time.Second}
	}
	next.MaxIdleConnsPerHost = 16
	u, _ := url.Parse(base)
	if u.Scheme == "https" && u.Host == "discord.com" && strings.Trim(u.Path, "/") == "" {
		return next
	}
	return &transport{scheme: u.Scheme, host: u.Host, prefix: strings.TrimRight(u.Path, "/"), next: next}
}

func (t *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "discord.com" {
		return t.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = t.scheme, t.host, ""
	r2.URL.Path = t.prefix + r.URL.Path
	if r.URL.RawPath != "" {
		r2.URL.RawPath = t.prefix + r.URL.RawPath
	}
	return t.next.RoundTrip(r2)
}
