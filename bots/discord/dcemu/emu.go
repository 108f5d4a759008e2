// Package dcemu is a local Discord emulator for tests and sandbox mode: a
// REST API under /api/v9 and a gateway websocket on 127.0.0.1, enough for
// the real discordgo client to identify, resume, receive MESSAGE_CREATE,
// MESSAGE_UPDATE and INTERACTION_CREATE, send messages, answer
// interactions and register slash commands.
//
// A test or the sandbox plays citizens through the Server's methods (Post,
// Edit, SlashCommand, PressButton), reads what the bot sent (Sent,
// WaitSent, Interaction) and injects faults (SetFaults, DropGateway,
// Reconnect, InvalidateSession). Options.MessageContentOff (or
// SetMessageContent) plays the developer portal's Message Content Intent
// switch: the application's flags (GET /oauth2/applications/@me) say it,
// and an IDENTIFY asking for the intent without it is closed with 4014.
// Every method is safe for concurrent use.
//
// The emulator enforces Discord's documented rate limits (per-channel
// message bucket and a global per-second limit) and counts how often they
// were exceeded, separately from injected faults, so that tests can check
// a client stays within the limits.
package dcemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"citybot/bots/internal/answerhold"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// Token is the bot token the emulator accepts (without "Bot ").
	// Required.
	Token string
	// BotName is the bot's username (default "citybot").
	BotName string
	// HeartbeatInterval sent in HELLO (default 41.25 s).
	HeartbeatInterval time.Duration
	// Limits are the enforced rate limits; zero fields take Discord's
	// values. Set NoLimits to disable enforcement.
	Limits   Limits
	NoLimits bool
	// Addr is the address to listen on (default "127.0.0.1:0", an
	// ephemeral loopback port). Sandbox mode may fix a port.
	Addr string
	// Logger receives the emulator's own log lines (default: discard).
	Logger *slog.Logger
	// MessageContentOff plays an application whose Message Content
	// Intent is off in the developer portal: its flags (GET
	// /oauth2/applications/@me, READY) lack it, and an IDENTIFY asking
	// for the intent is closed with 4014 "Disallowed intent(s).", as
	// Discord does. Default: on. SetMessageContent changes it later.
	MessageContentOff bool
}

// Limits are the rate limits the emulator enforces.
type Limits struct {
	// ChannelMessages per ChannelWindow per channel for POST messages
	// (default 5 per 5 s).
	ChannelMessages int
	ChannelWindow   time.Duration
	// GlobalPerSecond over all authorised REST calls (default 50).
	GlobalPerSecond int
}

// Faults make a share of REST calls on channel-message routes fail. The
// draw is deterministic for a given Seed.
type Faults struct {
	// RateLimit is the share of calls answered 429 with RetryAfter.
	RateLimit float64
	// ServerError is the share answered 500 or 502.
	ServerError float64
	// RetryAfter is the retry_after announced in injected 429s
	// (default 100 ms).
	RetryAfter time.Duration
	// Seed seeds the draw.
	Seed uint64
}

// Stats count what the emulator saw.
type Stats struct {
	Requests     int // REST requests
	Unauthorized int // REST requests with a wrong token
	Injected429  int // 429s from Faults
	Injected5xx  int // 5xx from Faults
	Exceeded     int // 429s because the client exceeded a real limit
	// ExceededGlobal are those of Exceeded for the global limit (the
	// rest: a channel's).
	ExceededGlobal int
	NonceHits      int // posts answered with an earlier message of the same nonce
	Identifies     int
	Resumes        int
	AuthFailures   int // gateway connections closed with 4004
	IntentDenied   int // gateway connections closed with 4014 (Message Content off)
	Connections    int // gateway websocket connections accepted
}

// User is a Discord user known to the emulator.
type User struct {
	ID     string
	Name   string
	Bot    bool
	Locale string // client locale in interactions (default "en-US")
}

// Attachment is a file a citizen attaches to a posted message.
type Attachment struct {
	Filename    string
	ContentType string
	Size        int
	// Data is the file's bytes: for a file the bot uploaded, or, when
	// set on a citizen's attachment, its content, served at its URL on the
	// emulator (GET /attachments/...) as Discord's CDN would, Size being
	// its length.
	Data []byte
}

// Button is a button of a message sent by the bot.
type Button struct {
	Label    string
	CustomID string
}

// Message is a message stored in a channel, as tests see it.
type Message struct {
	ID        string
	ChannelID string
	AuthorID  string
	FromBot   bool // authored by the emulated bot user
	Content   string
	ReplyTo   string // referenced message id, if any
	Buttons   [][]Button
	// Mentions is the allowed_mentions.parse list the bot sent, if any.
	AllowedMentions []string
	// Pinged are the users the message notifies, in order of first
	// appearance: those written "<@id>" in Content that
	// allowed_mentions lets through (its users list, or "users" in its
	// parse list, or every one without allowed_mentions).
	Pinged      []string
	Attachments []Attachment
	Timestamp   time.Time
	Edited      *time.Time
}

// PostOptions are the optional parts of a citizen's message.
type PostOptions struct {
	Attachments []Attachment
	ReplyTo     string
	// Silent stores the message in the channel history without a
	// gateway event, as if the gateway lost it: only a REST history
	// catch-up finds it (after the next READY, e.g. following
	// InvalidateSession, or a restart).
	Silent bool
}

// Server is a running emulator. Create it with Start; stop it with Close.
type Server struct {
	holds answerhold.Holds[string] // answers withheld (HoldAnswers)

	opts    Options
	log     *slog.Logger
	ln      net.Listener
	httpSrv *http.Server
	baseURL string

	guildID string
	appID   string
	bot     User

	mu           sync.Mutex
	token        string
	contentOff   bool // the portal's Message Content Intent is off
	nonces       map[string]*Message
	changed      chan struct{} // closed and replaced on every state change
	lastID       int64
	users        map[string]*User
	files        map[string][]byte // attachment path → content
	channels     map[string]*channel
	dms          map[string]string // user id → DM channel id
	sessions     map[string]*gwSession
	conns        map[*gwConn]struct{}
	commands     []discordgo.ApplicationCommand
	interactions map[string]*interaction
	byToken      map[string]*interaction
	faults       Faults
	rng          uint64
	stats        Stats
	channelHits  map[string][]time.Time
	globalHits   []time.Time
	closed       bool
	wg           sync.WaitGroup
}

type channel struct {
	ID       string
	Name     string
	Type     discordgo.ChannelType
	GuildID  string
	ParentID string
	Peer     string // DM: the citizen's user id
	// Forbidden channels answer the bot's posts 403 (missing access).
	Forbidden bool
	Messages  []*Message
}

// Start listens on Options.Addr (by default 127.0.0.1 with an ephemeral
// port) and serves until Close. It returns an error when Token is empty or the port cannot be
// bound.
func Start(opts Options) (*Server, error) {
	if opts.Token == "" {
		return nil, errors.New("dcemu: token required")
	}
	if opts.BotName == "" {
		opts.BotName = "citybot"
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 41250 * time.Millisecond
	}
	if opts.Limits.ChannelMessages <= 0 {
		opts.Limits.ChannelMessages = 5
	}
	if opts.Limits.ChannelWindow <= 0 {
		opts.Limits.ChannelWindow = 5 * time.Second
	}
	if opts.Limits.GlobalPerSecond <= 0 {
		opts.Limits.GlobalPerSecond = 50
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("dcemu: listen: %w", err)
	}
	s := &Server{
		opts:         opts,
		log:          lg.With("component", "dcemu"),
		ln:           ln,
		baseURL:      "http://" + ln.Addr().String(),
		changed:      make(chan struct{}),
		users:        map[string]*User{},
		files:        map[string][]byte{},
		channels:     map[string]*channel{},
		dms:          map[string]string{},
		sessions:     map[string]*gwSession{},
		conns:        map[*gwConn]struct{}{},
		interactions: map[string]*interaction{},
		byToken:      map[string]*interaction{},
		channelHits:  map[string][]time.Time{},
		token:        opts.Token,
		contentOff:   opts.MessageContentOff,
		nonces:       map[string]*Message{},
	}
	s.guildID = s.newIDLocked()
	s.appID = s.newIDLocked()
	s.bot = User{ID: s.appID, Name: opts.BotName, Bot: true}
	s.users[s.bot.ID] = &s.bot
	s.httpSrv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return s, nil
}

// URL is the emulator's base URL ("http://127.0.0.1:port"), the value for
// the adapter's APIBase.
func (s *Server) URL() string { return s.baseURL }

// SandboxURL is the address of the page for playing citizens by hand.
func (s *Server) SandboxURL() string { return s.baseURL + "/sandbox" }

// GuildID is the id of the emulated guild.
func (s *Server) GuildID() string { return s.guildID }

// BotUser is the emulated bot's user.
func (s *Server) BotUser() User { return s.bot }

// Close stops serving, drops every gateway connection and waits for the
// emulator's goroutines. Safe to call twice.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.httpSrv.Shutdown(ctx)
	for _, c := range conns {
		c.kill()
	}
	s.wg.Wait()
}

// newIDLocked returns a fresh snowflake, strictly increasing. s.mu held
// (or the server not yet shared).
func (s *Server) newIDLocked() string {
	const discordEpoch = 1420070400000
	id := (time.Now().UnixMilli() - discordEpoch) << 22
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatInt(id, 10)
}

// notifyLocked wakes every waiter. s.mu held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait blocks until cond (evaluated under s.mu) is true or ctx ends.
func (s *Server) wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dcemu: wait: %w", ctx.Err())
		case <-ch:
		}
	}
}

// SetToken changes the token the emulator accepts, as when the city
// resets its bot token: clients with the old one get 401 and 4004.
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

func (s *Server) currentToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// SetFaults replaces the fault injection settings.
func (s *Server) SetFaults(f Faults) {
	if f.RetryAfter <= 0 {
		f.RetryAfter = 100 * time.Millisecond
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	s.rng = f.Seed*2654435761 + 1
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// AddUser creates a citizen (or another bot when bot is true).
func (s *Server) AddUser(name string, bot bool) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{ID: s.newIDLocked(), Name: name, Bot: bot}
	s.users[u.ID] = u
	return *u
}

// AddChannel creates a text channel in the guild and returns its id.
func (s *Server) AddChannel(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &channel{ID: s.newIDLocked(), Name: name, Type: discordgo.ChannelTypeGuildText, GuildID: s.guildID}
	s.channels[c.ID] = c
	return c.ID
}

// AddThread creates a public thread under parent and dispatches
// THREAD_CREATE. It returns the thread's id, or an error when parent is
// unknown.
func (s *Server) AddThread(parent, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.channels[parent]
	if !ok || p.Type != discordgo.ChannelTypeGuildText {
		return "", fmt.Errorf("dcemu: add thread: no text channel %s", parent)
	}
	c := &channel{ID: s.newIDLocked(), Name: name, Type: discordgo.ChannelTypeGuildPublicThread, GuildID: s.guildID, ParentID: parent}
	s.channels[c.ID] = c
	s.dispatchLocked("THREAD_CREATE", s.channelJSONLocked(c), 1<<0)
	return c.ID, nil
}

// DMChannel returns the id of the DM channel between the bot and user,
// creating it when needed, or an error when user is unknown.
func (s *Server) DMChannel(user string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmChannelLocked(user)
}

func (s *Server) dmChannelLocked(user string) (string, error) {
	if _, ok := s.users[user]; !ok {
		return "", fmt.Errorf("dcemu: dm: no user %s", user)
	}
	if id, ok := s.dms[user]; ok {
		return id, nil
	}
	c := &channel{ID: s.newIDLocked(), Type: discordgo.ChannelTypeDM, Peer: user}
	s.channels[c.ID] = c
	s.dms[user] = c.ID
	return c.ID, nil
}

// Post stores a citizen's message in channel and dispatches MESSAGE_CREATE
// (unless opts.Silent). It returns the stored message, or an error when the
// channel or author is unknown.
func (s *Server) Post(channelID, authorID, content string, opts ...PostOptions) (Message, error) {
	var o PostOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return Message{}, fmt.Errorf("dcemu: post: no channel %s", channelID)
	}
	if _, ok := s.users[authorID]; !ok {
		return Message{}, fmt.Errorf("dcemu: post: no user %s", authorID)
	}
	m := &Message{
		ID: s.newIDLocked(), ChannelID: channelID, AuthorID: authorID, FromBot: authorID == s.bot.ID,
		Content: content, ReplyTo: o.ReplyTo, Attachments: append([]Attachment(nil), o.Attachments...),
		Timestamp: time.Now().UTC(),
	}
	c.Messages = append(c.Messages, m)
	if !o.Silent {
		s.dispatchMessageLocked("MESSAGE_CREATE", c, m)
	}
	s.notifyLocked()
	return copyMessage(m), nil
}

// Edit changes the text of a stored message and dispatches MESSAGE_UPDATE.
// It returns an error when the message is unknown.
func (s *Server) Edit(channelID, messageID, content string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c := s.findMessageLocked(channelID, messageID)
	if m == nil {
		return fmt.Errorf("dcemu: edit: no message %s in %s", messageID, channelID)
	}
	now := time.Now().UTC()
	m.Content, m.Edited = content, &now
	s.dispatchMessageLocked("MESSAGE_UPDATE", c, m)
	s.notifyLocked()
	return nil
}

// Forbid makes the bot's posts in channel fail with 403 Missing Access,
// as when the bot lost its permissions there.
func (s *Server) Forbid(channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelID]; ok {
		c.Forbidden = true
	}
}

// Dispatch sends an arbitrary gateway event (for example an event type the
// client does not know) to every session.
func (s *Server) Dispatch(eventType string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("dcemu: dispatch: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dispatchLocked(eventType, raw, 0)
	return nil
}

func (s *Server) findMessageLocked(channelID, messageID string) (*Message, *channel) {
	c, ok := s.channels[channelID]
	if !ok {
		return nil, nil
	}
	for _, m := range c.Messages {
		if m.ID == messageID {
			return m, c
		}
	}
	return nil, c
}

// Messages returns a copy of every message in channel, oldest first.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(c.Messages))
	for _, m := range c.Messages {
		out = append(out, copyMessage(m))
	}
	return out
}

// Sent returns the messages the bot posted in channel, oldest first.
func (s *Server) Sent(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sentLocked(channelID)
}

func (s *Server) sentLocked(channelID string) []Message {
	c, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	var out []Message
	for _, m := range c.Messages {
		if m.FromBot {
			out = append(out, copyMessage(m))
		}
	}
	return out
}

// SentAll returns the bot's messages in every channel, keyed by channel id.
func (s *Server) SentAll() map[string][]Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]Message{}
	for id := range s.channels {
		if sent := s.sentLocked(id); len(sent) > 0 {
			out[id] = sent
		}
	}
	return out
}

// WaitSent blocks until the bot has posted at least n messages in channel
// and returns them, or returns ctx's error.
func (s *Server) WaitSent(ctx context.Context, channelID string, n int) ([]Message, error) {
	var out []Message
	err := s.wait(ctx, func() bool {
		out = s.sentLocked(channelID)
		return len(out) >= n
	})
	return out, err
}

// WaitStats blocks until cond holds for the counters, or ctx ends.
func (s *Server) WaitStats(ctx context.Context, cond func(Stats) bool) error {
	return s.wait(ctx, func() bool { return cond(s.stats) })
}

// Connected reports how many gateway sessions are currently attached to a
// live websocket.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectedLocked()
}

func (s *Server) connectedLocked() int {
	n := 0
	for _, g := range s.sessions {
		if g.conn != nil && !g.ended && g.ready {
			n++
		}
	}
	return n
}

// WaitConnected blocks until a gateway session is attached (after READY or
// RESUMED), or ctx ends.
func (s *Server) WaitConnected(ctx context.Context) error {
	return s.wait(ctx, func() bool { return s.connectedLocked() > 0 })
}

// Commands returns the names of the guild commands the bot registered.
func (s *Server) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.commands))
	for _, c := range s.commands {
		out = append(out, c.Name)
	}
	return out
}

// WaitCommands blocks until at least n guild commands are registered and
// returns their names, or returns ctx's error.
func (s *Server) WaitCommands(ctx context.Context, n int) ([]string, error) {
	var out []string
	err := s.wait(ctx, func() bool {
		out = out[:0]
		for _, c := range s.commands {
			out = append(out, c.Name)
		}
		return len(out) >= n
	})
	return out, err
}

func copyMessage(m *Message) Message {
	c := *m
	c.Attachments = append([]Attachment(nil), m.Attachments...)
	if m.AllowedMentions != nil {
		c.AllowedMentions = append([]string{}, m.AllowedMentions...)
	}
	c.Pinged = append([]string(nil), m.Pinged...)
	c.Buttons = nil
	for _, row := range m.Buttons {
		c.Buttons = append(c.Buttons, append([]Button(nil), row...))
	}
	if m.Edited != nil {
		t := *m.Edited
		c.Edited = &t
	}
	return c
}

func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
