// Package tgemu is a local emulator of the Telegram Bot API, for tests and
// for citybot's sandbox mode. It speaks what the tgbotapi v5 client sends
// (form-encoded POSTs to /bot<token>/<method>, JSON-valued form fields
// including a literal "null") and answers APIResponse JSON.
//
// It implements getMe, getUpdates (offset confirmation, long polling, 409
// when another poll takes over or a webhook is set), sendMessage,
// editMessageText, answerCallbackQuery, setWebhook, deleteWebhook,
// getWebhookInfo (secret_token included; updates are pushed to the webhook
// when one is set), sendChatAction and deleteMessage.
//
// Tests play citizens with Post, Edit, Press and PostRaw, read what the bot
// sent with Sent and AllSent, and wait with WaitFor and WaitSent. Faults
// (429 with retry_after, 500, a non-JSON 502) can be injected on a share of
// calls, and Telegram's sending limits are enforced with 429 answers,
// counted in Stats. Options.Privacy and NoJoinGroups (or SetPrivacy and
// SetJoinGroups) play @BotFather's /setprivacy and /setjoingroups: getMe
// reports them, and in privacy mode a group's plain messages do not reach
// the bot. A small sandbox page at /sandbox lets a person play a
// citizen in a browser.
//
// Everything is kept in memory, bounded by Options. A Server is safe for
// concurrent use. It is a library: cmd/citybot starts it in-process.
package tgemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"citybot/bots/internal/answerhold"
	"citybot/bots/telegram/internal/ratelimit"
)

// DefaultToken is the token a Server accepts when Options.Token is empty.
const DefaultToken = "123456789:EMULATOR-TOKEN_for-local-tests"

// SandboxGroupID is the id of the group the sandbox page offers, a
// supergroup titled "City Square".
const SandboxGroupID int64 = -1001000000001

// Options configure a Server. The zero value is usable.
type Options struct {
	// Token is the only bot token accepted; others get 401. Default
	// DefaultToken.
	Token string
	// BotUsername is the bot's @username without the "@". Default "citybot".
	BotUsername string
	// BotName is the bot's display name. Default "City Bot".
	BotName string
	// Languages are the language codes the sandbox page offers as a
	// citizen's platform language (serve gives the city's). Default
	// SandboxLanguages().
	Languages []string
	// Faults injects failures on a share of calls. See Faults.
	Faults Faults
	// Limits are the emulated Telegram sending limits. Zero fields take
	// Telegram's (see DefaultLimits).
	Limits Limits
	// MaxPending bounds unconfirmed updates; the oldest are dropped (and
	// counted in Stats.DroppedUpdates) past it. Default 100000.
	MaxPending int
	// MaxSent bounds the bot messages kept for AllSent. Default 100000.
	MaxSent int
	// MaxChats bounds the chats the emulator knows; Post into a new chat
	// past it fails. Default 100000.
	MaxChats int
	// MaxTranscript bounds the messages kept per chat for the sandbox
	// page. Default 200.
	MaxTranscript int
	// WebhookRetry is the first delay before redelivering an update the
	// webhook refused; it doubles up to 2 s. Default 50 ms.
	WebhookRetry time.Duration
	// FirstUpdateID is the id of the first update. Default: the clock's
	// Unix time in milliseconds, so that a restarted emulator's ids keep
	// growing, as Telegram's do.
	FirstUpdateID int
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives the emulator's logs. Default discards.
	Logger *slog.Logger
	// Privacy plays a bot whose group privacy mode is on in @BotFather
	// (Telegram's default for a new bot): getMe says
	// can_read_all_group_messages false, and of a group's messages only
	// commands, replies to the bot and messages mentioning it reach the
	// bot (the others stay in the group's transcript). Default off:
	// every group message reaches the bot. SetPrivacy changes it later.
	Privacy bool
	// NoJoinGroups plays a bot that @BotFather's /setjoingroups forbids
	// to be added to groups: getMe says can_join_groups false.
	NoJoinGroups bool
}

// Faults injects failures. Each API call draws one random number: below
// RateLimitShare it is answered 429 with retry_after RetryAfter; in the
// next ServerErrorShare it is answered a JSON 500; in the next
// BadGatewayShare it is answered an HTML 502 (which the client cannot
// decode). A faulted call has no effect.
type Faults struct {
	RateLimitShare   float64
	ServerErrorShare float64
	BadGatewayShare  float64
	// RetryAfter is the retry_after of injected 429s, in seconds. Default 1.
	RetryAfter int
	// Methods limits faults to these API methods (e.g. "sendMessage").
	// Empty means every method except getMe.
	Methods []string
	// Seed makes the draws reproducible. 0 means 1.
	Seed uint64
}

// Rule allows at most N sends in any window of length Window; a zero Rule
// in Limits takes Telegram's default, N < 0 allows everything.
type Rule = ratelimit.Rule

// Limits are Telegram's sending limits as the emulator enforces them. A
// send over any limit is answered 429 with a retry_after.
type Limits struct {
	// Disabled turns enforcement off.
	Disabled bool
	// PerChat, PerGroup and Global: at most N sends in any Window.
	PerChat, PerGroup, Global Rule
	// Tolerance shortens every window, so that network jitter between a
	// well-behaved client's clock and the emulator's does not count as
	// a violation. Default 100 ms.
	Tolerance time.Duration
}

// DefaultLimits returns Telegram's limits: 3 per 3 s per chat (about one a
// second with a small burst), 20 per minute per group, 30 per second.
func DefaultLimits() Limits {
	return Limits{
		PerChat:   ratelimit.Rule{N: ratelimit.TelegramChatN, Window: ratelimit.TelegramChatWindow},
		PerGroup:  ratelimit.Rule{N: ratelimit.TelegramGroupN, Window: ratelimit.TelegramGroupWindow},
		Global:    ratelimit.Rule{N: ratelimit.TelegramGlobalN, Window: ratelimit.TelegramGlobalWindow},
		Tolerance: 100 * time.Millisecond,
	}
}

// Stats counts what happened since the Server started.
type Stats struct {
	Calls             map[string]int // API calls by method, faulted ones included
	Unauthorized      int            // calls with a wrong token
	InjectedFaults    int            // 429/500/502 answered because of Faults
	RateLimited       int            // sends answered 429 because a limit was exceeded
	DroppedUpdates    int            // updates dropped past MaxPending
	WebhookDeliveries int            // updates a webhook accepted
	WebhookFailures   int            // webhook deliveries refused or failed
}

// Button is one inline keyboard button the bot sent.
type Button struct {
	Text string
	Data string
}

// SentMessage is a message the bot sent, as the emulator stored it.
type SentMessage struct {
	Chat      int64
	MessageID int
	Text      string
	ParseMode string
	ReplyTo   int
	Buttons   [][]Button
	At        time.Time // when the emulator accepted it
	Edits     int       // how many times editMessageText changed it
	// Document is the file of a sendDocument (Text is then its
	// caption); nil for other messages.
	Document *Document
	// Mentions are the text mentions the bot sent (entities of type
	// text_mention), in order.
	Mentions []Mention
}

// Mention is a text mention in a message the bot sent: the person
// notified and the span of Text (in UTF-16 units, as Telegram counts)
// that links to them.
type Mention struct {
	User           int64
	Offset, Length int
}

// Document is a file the bot sent with sendDocument.
type Document struct {
	Name string
	Data []byte
}

// Server is a running emulator. Create it with New; stop it with Close.
type Server struct {
	holds answerhold.Holds[int] // answers withheld (HoldAnswers)

	token  string
	bot    User
	now    func() time.Time
	log    *slog.Logger
	limits Limits
	max    struct{ pending, sent, transcript, chats int }
	retry  time.Duration
	langs  []string // offered by the sandbox page
	mux    *http.ServeMux

	mu            sync.Mutex
	changed       chan struct{} // closed and replaced on every change
	faults        Faults
	rng           *rand.Rand
	limiter       *ratelimit.Limiter
	nextUpdate    int
	pending       []update // unconfirmed updates, ascending ids
	pollGen       int
	chats         map[int64]*chat
	sent          []SentMessage
	callbacks     map[string]*callback
	callbackOrder []string
	nextCallback  int
	answers       []CallbackAnswer
	files         map[string][]byte // file_id → content, for getFile
	hook          webhook
	stats         Stats
	privacy       bool // BotFather's group privacy mode is on
	noJoin        bool // BotFather's /setjoingroups is Disable

	stop     chan struct{}
	stopCtx  context.Context // cancelled by Close
	cancel   context.CancelFunc
	stopOnce sync.Once
	wg       sync.WaitGroup
	srv      *http.Server
	addr     string
}

type chat struct {
	api        apiChat
	lastMsg    int
	blocked    bool
	transcript []Entry
}

type callback struct {
	chat     int64
	msg      int
	answered bool
}

// CallbackAnswer is the bot's answer to a button press.
type CallbackAnswer struct {
	QueryID string
	Chat    int64
	Text    string
	At      time.Time
}

type webhook struct {
	url     string
	secret  string
	allowed []string
	gen     int
	lastErr string
	lastAt  int64
	running bool
}

// New returns a Server that is not yet listening: call Start, or mount
// Handler on a test server.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.BotUsername == "" {
		opts.BotUsername = "citybot"
	}
	if opts.BotName == "" {
		opts.BotName = "City Bot"
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 100000
	}
	if opts.MaxSent <= 0 {
		opts.MaxSent = 100000
	}
	if opts.MaxChats <= 0 {
		opts.MaxChats = 100000
	}
	if opts.MaxTranscript <= 0 {
		opts.MaxTranscript = 200
	}
	if opts.WebhookRetry <= 0 {
		opts.WebhookRetry = 50 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FirstUpdateID <= 0 {
		opts.FirstUpdateID = int(opts.Now().UnixMilli())
	}
	def := DefaultLimits()
	l := opts.Limits
	if l.PerChat == (Rule{}) {
		l.PerChat = def.PerChat
	}
	if l.PerGroup == (Rule{}) {
		l.PerGroup = def.PerGroup
	}
	if l.Global == (Rule{}) {
		l.Global = def.Global
	}
	if l.Tolerance == 0 {
		l.Tolerance = def.Tolerance
	}
	botID, _ := strconv.ParseInt(strings.SplitN(opts.Token, ":", 2)[0], 10, 64)
	if botID <= 0 {
		botID = 123456789
	}
	s := &Server{
		langs:      slices.Clone(opts.Languages),
		token:      opts.Token,
		bot:        User{ID: botID, IsBot: true, FirstName: opts.BotName, Username: opts.BotUsername},
		now:        opts.Now,
		log:        opts.Logger.With("component", "tgemu"),
		limits:     l,
		retry:      opts.WebhookRetry,
		changed:    make(chan struct{}),
		limiter:    ratelimit.New(),
		nextUpdate: opts.FirstUpdateID,
		chats:      make(map[int64]*chat),
		callbacks:  make(map[string]*callback),
		files:      make(map[string][]byte),
		stats:      Stats{Calls: make(map[string]int)},
		stop:       make(chan struct{}),
		privacy:    opts.Privacy,
		noJoin:     opts.NoJoinGroups,
	}
	s.stopCtx, s.cancel = context.WithCancel(context.Background())
	s.max.pending, s.max.sent, s.max.transcript = opts.MaxPending, opts.MaxSent, opts.MaxTranscript
	s.max.chats = opts.MaxChats
	s.setFaultsLocked(opts.Faults)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/", s.serveRoot)
	s.routeSandbox(s.mux)
	return s
}

// Handler returns the emulator's HTTP handler: the Bot API under /bot and
// the sandbox page under /sandbox.
func (s *Server) Handler() http.Handler { return s.mux }

// Start listens on addr (for example "127.0.0.1:0") and serves in the
// background until Close. It returns the listen error, if any.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("tgemu: listen: %w", err)
	}
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.srv, s.addr = srv, ln.Addr().String()
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return nil
}

// SetBaseURL tells a Server mounted on another listener (an
// httptest.Server) its address, so that URL and Endpoint work.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addr = strings.TrimPrefix(strings.TrimSuffix(u, "/"), "http://")
}

// URL returns the base URL, such as "http://127.0.0.1:43121", or "" before
// Start or SetBaseURL.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.addr == "" {
		return ""
	}
	return "http://" + s.addr
}

// Endpoint returns the tgbotapi endpoint format string for this server:
// URL()+"/bot%s/%s" (token, then method).
func (s *Server) Endpoint() string { return s.URL() + "/bot%s/%s" }

// Token returns the accepted bot token.
func (s *Server) Token() string { return s.token }

// Bot returns the bot's own user.
func (s *Server) Bot() User { return s.bot }

// Close stops the listener started by Start, wakes every long poll and
// stops webhook delivery. It waits for the emulator's goroutines. Safe to
// call more than once.
func (s *Server) Close() error {
	s.stopOnce.Do(func() {
		close(s.stop)
		s.cancel()
	})
	s.mu.Lock()
	srv := s.srv
	s.notifyLocked()
	s.mu.Unlock()
	var err error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(ctx)
	}
	s.wg.Wait()
	return err
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

func (s *Server) setFaultsLocked(f Faults) {
	if f.RetryAfter <= 0 {
		f.RetryAfter = 1
	}
	seed := f.Seed
	if seed == 0 {
		seed = 1
	}
	s.faults = f
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// SetLimits replaces the enforced sending limits (zero rules allow all).
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Calls = make(map[string]int, len(s.stats.Calls))
	for k, v := range s.stats.Calls {
		st.Calls[k] = v
	}
	return st
}

// Pending returns how many updates are not yet confirmed by the bot.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// BlockChat makes sends to chat fail with 403 "bot was blocked by the
// user" (or lifts it).
func (s *Server) BlockChat(chatID int64, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatLocked(chatID, "", nil).blocked = blocked
	s.notifyLocked()
}

// Sent returns copies of the bot's messages to chat, oldest first.
func (s *Server) Sent(chatID int64) []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SentMessage
	for _, m := range s.sent {
		if m.Chat == chatID {
			out = append(out, cloneSent(m))
		}
	}
	return out
}

// AllSent returns copies of every kept bot message, oldest first.
func (s *Server) AllSent() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SentMessage, len(s.sent))
	for i, m := range s.sent {
		out[i] = cloneSent(m)
	}
	return out
}

// Answers returns the bot's answers to button presses, oldest first.
func (s *Server) Answers() []CallbackAnswer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CallbackAnswer(nil), s.answers...)
}

func cloneSent(m SentMessage) SentMessage {
	m.Mentions = append([]Mention(nil), m.Mentions...)
	if m.Buttons != nil {
		rows := make([][]Button, len(m.Buttons))
		for i, r := range m.Buttons {
			rows[i] = append([]Button(nil), r...)
		}
		m.Buttons = rows
	}
	if m.Document != nil {
		d := *m.Document
		d.Data = append([]byte(nil), d.Data...)
		m.Document = &d
	}
	return m
}

// WaitFor blocks until cond returns true or ctx ends. cond is called
// without the Server's lock held (it may call Sent, Stats, ...) each time
// the emulator's state changes. It returns ctx's error on timeout.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("tgemu: wait: %w", ctx.Err())
		case <-s.stop:
			if cond() {
				return nil
			}
			return errors.New("tgemu: wait: server closed")
		}
	}
}

// WaitSent blocks until a bot message matching pred exists, and returns
// it. It returns an error when ctx ends first.
func (s *Server) WaitSent(ctx context.Context, pred func(SentMessage) bool) (SentMessage, error) {
	var found SentMessage
	err := s.WaitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range s.sent {
			if pred(m) {
				found = cloneSent(m)
				return true
			}
		}
		return false
	})
	return found, err
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// chatLocked returns the chat with id, creating it. Private chats take the
// user's names; groups take title.
func (s *Server) chatLocked(id int64, title string, u *User) *chat {
	c := s.chats[id]
	if c == nil {
		c = &chat{api: apiChat{ID: id}}
		switch {
		case id > 0:
			c.api.Type = "private"
		case id < -1000000000000:
			c.api.Type = "supergroup"
		default:
			c.api.Type = "group"
		}
		s.chats[id] = c
	}
	if c.api.Type == "private" && u != nil {
		c.api.FirstName, c.api.LastName, c.api.Username = u.FirstName, u.LastName, u.Username
	}
	if title != "" && c.api.Type != "private" {
		c.api.Title = title
	}
	if c.api.Type != "private" && c.api.Title == "" {
		c.api.Title = "Group " + strconv.FormatInt(-id, 10)
	}
	return c
}

func (s *Server) enqueueLocked(u update) int {
	u.ID = s.nextUpdate
	s.nextUpdate++
	s.pending = append(s.pending, u)
	if over := len(s.pending) - s.max.pending; over > 0 {
		s.pending = append(s.pending[:0:0], s.pending[over:]...)
		s.stats.DroppedUpdates += over
	}
	s.notifyLocked()
	return u.ID
}

func (c *chat) record(e Entry, max int) {
	c.transcript = append(c.transcript, e)
	if over := len(c.transcript) - max; over > 0 {
		c.transcript = append(c.transcript[:0:0], c.transcript[over:]...)
	}
}

// marshal writes v as the JSON body with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code = http.StatusInternalServerError
		b = []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// MaxInWindow returns the largest number of bot messages chat received
// within any span of length window, over the kept messages (AllSent).
// Tests use it to assert that no chat ever received more than its rate.
func (s *Server) MaxInWindow(chatID int64, window time.Duration) int {
	var times []time.Time
	for _, m := range s.Sent(chatID) {
		times = append(times, m.At)
	}
	return maxInWindow(times, window)
}

// CheckRates checks every kept bot message against l (with l's
// Tolerance), per chat, per group and overall, and returns an error naming
// the first chat over a limit, or nil. It is useful with enforcement
// disabled, to see whether the client kept to the limits on its own.
func (s *Server) CheckRates(l Limits) error {
	all := s.AllSent()
	byChat := make(map[int64][]time.Time)
	var global []time.Time
	for _, m := range all {
		byChat[m.Chat] = append(byChat[m.Chat], m.At)
		global = append(global, m.At)
	}
	shorten := func(w time.Duration) time.Duration {
		if w > l.Tolerance {
			return w - l.Tolerance
		}
		return w
	}
	for chat, times := range byChat {
		if r := l.PerChat; r.N > 0 {
			if n := maxInWindow(times, shorten(r.Window)); n > r.N {
				return fmt.Errorf("tgemu: chat %d received %d messages within %s (limit %d)", chat, n, r.Window, r.N)
			}
		}
		if r := l.PerGroup; r.N > 0 && chat < 0 {
			if n := maxInWindow(times, shorten(r.Window)); n > r.N {
				return fmt.Errorf("tgemu: group %d received %d messages within %s (limit %d)", chat, n, r.Window, r.N)
			}
		}
	}
	if r := l.Global; r.N > 0 {
		if n := maxInWindow(global, shorten(r.Window)); n > r.N {
			return fmt.Errorf("tgemu: the bot sent %d messages within %s (limit %d)", n, r.Window, r.N)
		}
	}
	return nil
}

// maxInWindow returns the largest number of times (ascending) that fall
// within a half-open span [t, t+window).
func maxInWindow(times []time.Time, window time.Duration) int {
	best, lo := 0, 0
	for hi := range times {
		for times[hi].Sub(times[lo]) >= window {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}
