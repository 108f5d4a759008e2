package discord

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"citybot"
	"citybot/bots"
	"citybot/internal/pause"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Cursor keys in bots.Cursors.
const (
	keyEpoch   = "discord:epoch"       // id before which nothing is caught up
	keyDMs     = "discord:dm_channels" // DM channels to catch up after a restart
	keyChannel = "discord:channel:"    // + channel id: last message id handled
	maxDMs     = 1000                  // DM channels remembered for catch-up
	pageSize   = 100                   // Discord's history page limit
	maxPages   = 50                    // pages read per catch-up pass
	// maxInbound is the longest text handed over, in bytes: a little more
	// than the store keeps, so that the store still sees a longer text
	// and records the cut.
	maxInbound = citybot.MaxStoredText + utf8.UTFMax
	// catchUpsPerTick bounds the channels a shard reads again per
	// RetryInterval, between live messages.
	catchUpsPerTick = 20
)

// Run connects to the gateway, registers the slash commands and hands what
// it hears to h until ctx is cancelled, then closes the connection, waits
// for in-flight handler calls (up to Options.ShutdownGrace) and returns
// nil. It returns an error wrapping citybot.ErrForbidden when Discord
// rejects the token at start, or later (checked when the gateway
// disconnects), and an error when Run is already running.
// Network and cursor-store failures at start are retried (backing off up
// to 30 s) until ctx ends; later failures are logged and retried.
func (b *Bot) Run(ctx context.Context, h bots.Handler) error {
	if h == nil {
		return fmt.Errorf("discord: run: nil handler: %w", citybot.ErrInvalid)
	}
	select {
	case b.running <- struct{}{}:
		defer func() { <-b.running }()
	default:
		return errors.New("discord: run: already running")
	}
	r := &runner{
		b: b, h: h, log: b.log, stop: make(chan struct{}),
		info: map[string]chanInfo{}, seen: map[string]bool{}, dmSet: map[string]bool{},
		sem: make(chan struct{}, 32), fatal: make(chan error, 1),
	}
	r.ctx = ctx
	r.hctx, r.hcancel = context.WithCancel(context.WithoutCancel(ctx))
	defer r.hcancel()

	// Who we are, and where catch-up starts.
	var me *discordgo.User
	err := b.retryStart(ctx, "read bot user", func() error {
		var err error
		me, err = b.rest.User("@me", discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
		if isUnauthorized(err) {
			return fmt.Errorf("discord: run: token rejected: %w", citybot.ErrForbidden)
		}
		return err
	})
	if err != nil || ctx.Err() != nil {
		return err
	}
	r.setBotID(me.ID)
	if err := b.retryStart(ctx, "read cursors", func() error { return r.loadStart(ctx) }); err != nil || ctx.Err() != nil {
		return err
	}

	r.shards = make([]*shard, b.opts.Workers)
	for i := range r.shards {
		r.shards[i] = &shard{r: r, q: make(chan item, 1024), states: map[string]*chanState{}}
		r.wg.Add(1)
		go r.shards[i].run()
	}
	r.wg.Add(1)
	go r.registerCommands(me.ID)

	gw := b.newSession()
	gw.Dialer = gatewayDialer()
	r.gw = gw
	gw.AddHandler(func(_ *discordgo.Session, e *discordgo.Ready) {
		if r.closeIfStopped() {
			return
		}
		if e.User != nil {
			r.setBotID(e.User.ID)
		}
		r.log.Info("gateway ready")
		r.sessionStarted()
	})
	gw.AddHandler(func(_ *discordgo.Session, e *discordgo.Resumed) {
		// A resumed session replays what was missed: nothing to catch up.
		if !r.closeIfStopped() {
			r.log.Info("gateway resumed")
		}
	})
	gw.AddHandler(func(_ *discordgo.Session, e *discordgo.Disconnect) {
		r.log.Info("gateway disconnected")
		// discordgo reconnects for ever, silently, even when the token
		// was revoked (close 4004); ask the REST API whether it still
		// accepts the token.
		r.spawn(r.checkToken)
	})
	gw.AddHandler(func(_ *discordgo.Session, e *discordgo.MessageCreate) {
		if e.Message != nil {
			// A DM channel is remembered as soon as its message is
			// read from the gateway, not when its shard gets to it:
			// the REST history of a remembered channel is all a
			// restart after a crash can recover, and DMs cannot be
			// listed.
			if e.GuildID == "" && !r.skip(e.Message) {
				r.rememberDM(e.ChannelID)
			}
			r.enqueue(item{kind: itemMessage, ch: e.ChannelID, msg: e.Message})
		}
	})
	gw.AddHandler(func(_ *discordgo.Session, e *discordgo.MessageUpdate) {
		if e.Message != nil {
			r.enqueue(item{kind: itemEdit, ch: e.ChannelID, msg: e.Message})
		}
	})
	gw.AddHandler(func(_ *discordgo.Session, e *discordgo.InteractionCreate) {
		if e.Interaction != nil {
			r.spawn(func() { r.interact(e.Interaction) })
		}
	})
	gw.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if e.Struct == nil && e.Operation == 0 && e.Type != "" {
			r.log.Debug("gateway event skipped", "event_type", e.Type)
		}
	})

	err = b.retryStart(ctx, "open gateway", func() error {
		err := gw.Open()
		var ce *websocket.CloseError
		if isUnauthorized(err) || errors.As(err, &ce) && ce.Code == 4004 {
			return fmt.Errorf("discord: run: gateway rejected the token: %w", citybot.ErrForbidden)
		}
		if errors.As(err, &ce) && ce.Code == closeDisallowedIntents {
			return fmt.Errorf("discord: run: the gateway refused the Message Content intent (close 4014); "+
				"turn on Message Content Intent on the application's Bot page in the Discord developer portal: %w", citybot.ErrForbidden)
		}
		return err
	})
	if err == nil && ctx.Err() == nil {
		r.log.Info("discord listening", "channels", len(b.opts.Channels))
		select {
		case <-ctx.Done():
		case err = <-r.fatal:
			r.log.Error("discord stops", "err", err)
		}
	}
	r.shutdown()
	return err
}

// gatewayIdle is how long the gateway may stay silent before the
// connection counts as dead: Discord acknowledges a heartbeat at least every
// 41.25 s. discordgo reads with no deadline, so a server that never says
// HELLO would hang Open for ever without it.
const gatewayIdle = 75 * time.Second

// gatewayDialer dials websockets whose reads time out after gatewayIdle.
func gatewayDialer() *websocket.Dialer {
	nd := &net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}
	return &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 15 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return idleConn{Conn: c, idle: gatewayIdle}, nil
		},
	}
}

// idleConn pushes its read deadline forward before every read.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// retryStart runs f until it succeeds, returns an ErrForbidden error, or
// ctx ends (then it returns nil), backing off from 1 s to 30 s.
func (b *Bot) retryStart(ctx context.Context, what string, f func() error) error {
	wait := time.Second
	for {
		err := f()
		if err == nil || errors.Is(err, citybot.ErrForbidden) {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		b.log.Warn("discord start step failed; retrying", "step", what, "err", b.redact(err), "retry_in", wait)
		if !pause.For(ctx, wait) {
			return nil
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// runner is the state of one Run.
type runner struct {
	b       *Bot
	h       bots.Handler
	log     *slog.Logger
	gw      *discordgo.Session
	ctx     context.Context // Run's: REST reads stop with it
	hctx    context.Context // for handler calls and interaction answers; outlives ctx by the grace
	hcancel context.CancelFunc
	stop    chan struct{}
	shards  []*shard
	wg      sync.WaitGroup
	spawnMu sync.Mutex    // orders spawn's wg.Add before shutdown's wg.Wait
	sem     chan struct{} // bounds concurrent interactions
	dmSave  sync.Mutex    // serialises saves of the DM channel list
	fatal   chan error    // an error that ends Run (a revoked token)

	mu    sync.Mutex
	botID string
	epoch string
	info  map[string]chanInfo
	seen  map[string]bool // interaction ids handled
	order []string        // seen, oldest first
	dms   []string        // DM channels, least recent first
	dmSet map[string]bool
}

// chanInfo is what the adapter knows of a chat.
type chanInfo struct {
	listened bool
	kind     citybot.ChatKind
	title    string
}

type itemKind int

const (
	itemMessage itemKind = iota
	itemEdit
	itemResync  // a new gateway session: catch up every channel
	itemCatchUp // catch up one channel
)

type item struct {
	kind itemKind
	ch   string
	msg  *discordgo.Message
	lazy bool // itemCatchUp: leave it to the retry tick
}

func (r *runner) setBotID(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.botID = id
}

func (r *runner) stopping() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// spawn runs f on a tracked goroutine unless Run is stopping.
func (r *runner) spawn(f func()) {
	r.spawnMu.Lock()
	defer r.spawnMu.Unlock()
	if r.stopping() {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		f()
	}()
}

// loadStart reads the epoch (writing it on the very first run) and the
// remembered DM channels.
func (r *runner) loadStart(ctx context.Context) error {
	epoch, err := r.b.opts.Cursors.Cursor(ctx, keyEpoch)
	if err != nil {
		return fmt.Errorf("discord: read epoch: %w", err)
	}
	if epoch == "" {
		epoch = snowflakeAt(time.Now().Add(-time.Second))
		if err := r.b.opts.Cursors.SetCursor(ctx, keyEpoch, epoch); err != nil {
			return fmt.Errorf("discord: save epoch: %w", err)
		}
	}
	dms, err := r.b.opts.Cursors.Cursor(ctx, keyDMs)
	if err != nil {
		return fmt.Errorf("discord: read dm channels: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch = epoch
	for _, id := range strings.Fields(dms) {
		if isSnowflake(id) && !r.dmSet[id] {
			r.dmSet[id] = true
			r.dms = append(r.dms, id)
			r.info[id] = chanInfo{listened: true, kind: citybot.ChatPrivate}
		}
	}
	return nil
}

// closeIfStopped closes the gateway session when it came back after Run
// stopped (discordgo's reconnect loop does not look at
// ShouldReconnectOnError again once it started).
func (r *runner) closeIfStopped() bool {
	if !r.stopping() {
		return false
	}
	go r.closeGateway()
	return true
}

func (r *runner) closeGateway() {
	// D-7: without this, a heartbeat failing during Close's sleep
	// reconnects the closed session.
	r.gw.Lock()
	r.gw.ShouldReconnectOnError = false
	r.gw.Unlock()
	_ = r.gw.Close()
}

// shutdown closes the gateway, stops intake and waits for in-flight work.
func (r *runner) shutdown() {
	if r.gw != nil {
		r.closeGateway()
	}
	r.spawnMu.Lock()
	close(r.stop)
	r.spawnMu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(r.b.opts.ShutdownGrace):
		r.log.Warn("discord shutdown grace over; cancelling handler calls")
		r.hcancel()
		<-done
	}
	r.log.Info("discord stopped")
}

// enqueue routes it to the shard owning its channel; it gives up when Run
// stops (the item is then found again by the next catch-up).
func (r *runner) enqueue(it item) {
	if it.ch == "" {
		return
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(it.ch))
	sh := r.shards[h.Sum32()%uint32(len(r.shards))]
	select {
	case sh.q <- it:
	case <-r.stop:
	}
}

// sessionStarted runs after READY (a new session, which may follow a gap):
// every channel is read again
// from its cursor, and active threads and known DMs are found.
func (r *runner) sessionStarted() {
	for _, sh := range r.shards {
		select {
		case sh.q <- item{kind: itemResync}:
		case <-r.stop:
			return
		}
	}
	r.spawn(r.discover)
}

// discover queues a catch-up for the active threads of listened channels
// and for remembered DM channels.
func (r *runner) discover() {
	r.mu.Lock()
	dms := slices.Clone(r.dms)
	r.mu.Unlock()
	for _, id := range dms {
		r.enqueue(item{kind: itemCatchUp, ch: id, lazy: true})
	}
	if r.b.opts.GuildID == "" {
		return
	}
	var list *discordgo.ThreadsList
	err := r.b.restCall(r.ctx, func(o ...discordgo.RequestOption) (err error) {
		list, err = r.b.rest.GuildThreadsActive(r.b.opts.GuildID, o...)
		return err
	})
	if err != nil {
		r.log.Warn("list active threads", "err", r.b.redact(err))
		return
	}
	for _, t := range list.Threads {
		if t == nil || !r.b.listened[t.ParentID] {
			continue
		}
		r.mu.Lock()
		r.info[t.ID] = chanInfo{listened: true, kind: citybot.ChatGroup, title: t.Name}
		r.mu.Unlock()
		r.enqueue(item{kind: itemCatchUp, ch: t.ID})
	}
}

// checkToken ends Run with an error wrapping citybot.ErrForbidden when
// the REST API rejects the token (it was revoked or reset while running).
// Other failures are left to discordgo's reconnection.
func (r *runner) checkToken() {
	_, err := r.b.rest.User("@me", discordgo.WithContext(r.ctx), discordgo.WithRetryOnRatelimit(false))
	if !isUnauthorized(err) {
		return
	}
	select {
	case r.fatal <- fmt.Errorf("discord: run: token rejected after start: %w", citybot.ErrForbidden):
	default:
	}
}

// rememberDM records a DM channel so that a restart catches it up.
func (r *runner) rememberDM(ch string) {
	r.mu.Lock()
	if r.dmSet[ch] {
		r.mu.Unlock()
		return
	}
	r.dmSet[ch] = true
	r.dms = append(r.dms, ch)
	if len(r.dms) > maxDMs {
		delete(r.dmSet, r.dms[0])
		r.dms = r.dms[1:]
	}
	r.mu.Unlock()
	// Saves are serialised, each writing the list as it is then, so that
	// a slow save never overwrites a longer list with an older one.
	r.dmSave.Lock()
	defer r.dmSave.Unlock()
	r.mu.Lock()
	val := strings.Join(r.dms, " ")
	r.mu.Unlock()
	if err := r.b.opts.Cursors.SetCursor(r.hctx, keyDMs, val); err != nil {
		r.log.Warn("save dm channels", "err", err)
	}
}

// channelInfo tells whether ch is listened to. m, when given, is a
// gateway message in ch (a DM when it has no guild id).
func (r *runner) channelInfo(ctx context.Context, ch, guildID string, fromGateway bool) (chanInfo, error) {
	r.mu.Lock()
	info, ok := r.info[ch]
	r.mu.Unlock()
	if ok {
		return info, nil
	}
	if fromGateway && guildID == "" {
		info = chanInfo{listened: true, kind: citybot.ChatPrivate}
	} else if fromGateway && r.b.opts.GuildID != "" && guildID != r.b.opts.GuildID {
		info = chanInfo{}
	} else {
		var c *discordgo.Channel
		err := r.b.restCall(ctx, func(o ...discordgo.RequestOption) (err error) {
			c, err = r.b.rest.Channel(ch, o...)
			return err
		})
		switch st := restStatus(err); {
		case err != nil && (st == http.StatusNotFound || st == http.StatusForbidden):
			info = chanInfo{}
		case err != nil:
			return chanInfo{}, err
		case c.Type == discordgo.ChannelTypeDM:
			info = chanInfo{listened: true, kind: citybot.ChatPrivate}
		case r.b.listened[c.ID]:
			info = chanInfo{listened: true, kind: citybot.ChatGroup, title: c.Name}
		case c.IsThread() && r.b.listened[c.ParentID]:
			info = chanInfo{listened: true, kind: citybot.ChatGroup, title: c.Name}
		}
	}
	r.mu.Lock()
	r.info[ch] = info
	r.mu.Unlock()
	return info, nil
}

// chatAttr names a chat in logs: a channel id for guild channels, nothing
// that identifies a citizen for DMs.
func chatAttr(info chanInfo, ch string) slog.Attr {
	if info.kind == citybot.ChatPrivate {
		return slog.String("chat_kind", string(citybot.ChatPrivate))
	}
	return slog.String("channel_id", ch)
}

// skip reports whether m is not a citizen's message: the bot's own,
// another bot's or a webhook's, or a system message.
func (r *runner) skip(m *discordgo.Message) bool {
	if m.Author == nil || m.Author.Bot || m.WebhookID != "" {
		return true
	}
	r.mu.Lock()
	own := m.Author.ID == r.botID
	r.mu.Unlock()
	if own {
		return true
	}
	return m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply
}

// deliver hands m to the handler unless it is skipped.
func (r *runner) deliver(info chanInfo, ch string, m *discordgo.Message, edit bool) error {
	if r.skip(m) {
		return nil
	}
	msg := translate(info, ch, m, edit)
	if len(m.Content) > maxInbound {
		r.log.Warn("message text truncated", chatAttr(info, ch), "bytes", len(m.Content), "kept", len(msg.Text))
	}
	if err := r.h.HandleMessage(r.hctx, msg); err != nil && !errors.Is(err, citybot.ErrDuplicate) {
		return fmt.Errorf("discord: handle message: %w", err)
	}
	return nil
}

// shard handles the channels that hash to it, one item at a time, so that
// one channel's messages are handed over in order.
type shard struct {
	r      *runner
	q      chan item
	states map[string]*chanState
}

// chanState is a channel's position. synced means every message up to
// cursor was handed over and no gap is known after it.
type chanState struct {
	id     string
	cursor string
	loaded bool
	synced bool
}

func (w *shard) run() {
	defer w.r.wg.Done()
	tick := time.NewTicker(w.r.b.opts.RetryInterval)
	defer tick.Stop()
	for {
		select {
		case <-w.r.stop:
			return
		case it := <-w.q:
			if w.r.stopping() {
				return
			}
			w.handle(it)
		case <-tick.C:
			n := 0
			for _, st := range w.states {
				if w.r.stopping() || n == catchUpsPerTick {
					break
				}
				if !st.synced {
					w.catchUp(st)
					n++
				}
			}
		}
	}
}

func (w *shard) handle(it item) {
	switch it.kind {
	case itemResync:
		// Listened channels now; threads and DMs as discover queues
		// them, then a few per tick, so that live messages never wait
		// behind thousands of DM catch-ups.
		for _, st := range w.states {
			st.synced = false
		}
		for _, ch := range w.r.b.opts.Channels {
			if w.r.stopping() {
				return
			}
			if w.owns(ch) {
				w.catchUp(w.state(ch))
			}
		}
	case itemCatchUp:
		if st := w.state(it.ch); !st.synced && !it.lazy {
			w.catchUp(st)
		}
	case itemMessage:
		w.live(it.ch, it.msg)
	case itemEdit:
		w.edit(it.ch, it.msg)
	}
}

func (w *shard) owns(ch string) bool {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ch))
	return w.r.shards[h.Sum32()%uint32(len(w.r.shards))] == w
}

// state returns ch's state, loading its cursor on first use.
func (w *shard) state(ch string) *chanState {
	st := w.states[ch]
	if st == nil {
		st = &chanState{id: ch}
		w.states[ch] = st
	}
	if !st.loaded {
		v, err := w.r.b.opts.Cursors.Cursor(w.r.hctx, keyChannel+ch)
		if err != nil {
			w.r.log.Warn("read cursor", "err", err)
			return st
		}
		st.cursor, st.loaded = v, true
	}
	return st
}

// confirm records that everything up to id in st's channel was handed
// over.
func (w *shard) confirm(st *chanState, id string) {
	st.cursor = id
	if err := w.r.b.opts.Cursors.SetCursor(w.r.hctx, keyChannel+st.id, id); err != nil {
		w.r.log.Warn("save cursor", "err", err)
	}
}

// live handles a MESSAGE_CREATE.
func (w *shard) live(ch string, m *discordgo.Message) {
	r := w.r
	info, err := r.channelInfo(r.ctx, ch, m.GuildID, true)
	if err == nil && !info.listened {
		return
	}
	st := w.state(ch)
	if err != nil {
		r.log.Warn("look up channel; will catch up later", "err", r.b.redact(err))
		st.synced = false
		return
	}
	if info.kind == citybot.ChatPrivate && !r.skip(m) {
		r.rememberDM(ch)
	}
	if !st.synced {
		w.catchUp(st)
	}
	if st.loaded && st.cursor != "" && !idLess(st.cursor, m.ID) {
		return // handed over already (by the catch-up, or a replay)
	}
	if err := r.deliver(info, ch, m, false); err != nil {
		r.log.Warn("hand over message; will retry from history", chatAttr(info, ch), "err", err)
		st.synced = false
		return
	}
	if st.synced && st.loaded {
		w.confirm(st, m.ID)
	}
}

// edit handles a MESSAGE_UPDATE. Edits are not in the history, so a failed
// hand-over is retried a few times here.
func (w *shard) edit(ch string, m *discordgo.Message) {
	r := w.r
	if m.EditedTimestamp == nil || m.Author == nil {
		return // an embed or pin update, not a citizen's edit
	}
	info, err := r.channelInfo(r.ctx, ch, m.GuildID, true)
	if err != nil || !info.listened {
		return
	}
	wait := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := r.deliver(info, ch, m, true)
		if err == nil {
			return
		}
		if attempt == 3 || r.stopping() {
			r.log.Error("edit not handed over", chatAttr(info, ch), "err", err)
			return
		}
		time.Sleep(wait)
		wait *= 2
	}
}

// catchUp reads st's channel history after its cursor and hands every
// message over in order, confirming each; st is synced when the history
// is exhausted.
func (w *shard) catchUp(st *chanState) {
	r := w.r
	if !st.loaded {
		if w.state(st.id); !st.loaded {
			return
		}
	}
	info, err := r.channelInfo(r.ctx, st.id, "", false)
	if err != nil {
		r.log.Warn("look up channel for catch-up", "err", r.b.redact(err))
		return
	}
	if !info.listened {
		st.synced = true
		return
	}
	after := st.cursor
	if after == "" || idLess(after, r.epoch) {
		after = r.epoch
	}
	handed := 0
	defer func() {
		if handed > 0 {
			r.log.Info("caught up", chatAttr(info, st.id), "messages", handed)
		}
	}()
	for page := 0; page < maxPages; page++ {
		if r.stopping() {
			return
		}
		var msgs []*discordgo.Message
		err := r.b.restCall(r.ctx, func(o ...discordgo.RequestOption) (err error) {
			msgs, err = r.b.rest.ChannelMessages(st.id, pageSize, "", after, "", o...)
			return err
		})
		if s := restStatus(err); s == http.StatusForbidden || s == http.StatusNotFound {
			r.log.Warn("channel history not readable", chatAttr(info, st.id), "status", s)
			st.synced = true
			return
		}
		if err != nil {
			r.log.Warn("read channel history; will retry", chatAttr(info, st.id), "err", r.b.redact(err))
			return
		}
		slices.SortFunc(msgs, func(a, b *discordgo.Message) int {
			switch {
			case idLess(a.ID, b.ID):
				return -1
			case idLess(b.ID, a.ID):
				return 1
			}
			return 0
		})
		for _, m := range msgs {
			if r.stopping() {
				return
			}
			if m == nil || !idLess(after, m.ID) {
				continue
			}
			if err := r.deliver(info, st.id, m, false); err != nil {
				r.log.Warn("hand over message; will retry", chatAttr(info, st.id), "err", err)
				return
			}
			if !r.skip(m) {
				handed++
			}
			w.confirm(st, m.ID)
			after = m.ID
		}
		if len(msgs) < pageSize {
			st.synced = true
			return
		}
	}
}

// restCall runs fn within the global rate limit, retrying 429s (after
// Discord's retry_after, at most 10 s) and 5xx or network failures
// (backing off) up to 5 attempts or until ctx ends.
func (b *Bot) restCall(ctx context.Context, fn func(...discordgo.RequestOption) error) error {
	return b.retryREST(ctx, true, fn)
}

// restCallFree is restCall without the global limiter, for interaction
// answers, which Discord does not count against it.
func (b *Bot) restCallFree(ctx context.Context, fn func(...discordgo.RequestOption) error) error {
	return b.retryREST(ctx, false, fn)
}

func (b *Bot) retryREST(ctx context.Context, limited bool, fn func(...discordgo.RequestOption) error) error {
	var err error
	backoff := 200 * time.Millisecond
	for attempt := 0; attempt < 5; attempt++ {
		var s slot
		if limited {
			if s, err = b.limiter.acquire(ctx, ""); err != nil {
				return err
			}
		}
		err = fn(discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0))
		if limited {
			b.limiter.release(s)
		}
		if err == nil {
			return nil
		}
		var wait time.Duration
		var rl *discordgo.RateLimitError
		switch st := restStatus(err); {
		case errors.As(err, &rl):
			wait = time.Second
			if rl.RateLimit != nil && rl.TooManyRequests != nil {
				wait = min(max(rl.RetryAfter, 50*time.Millisecond), 10*time.Second)
			}
		case st >= 400 && st < 500:
			return err
		case errors.Is(err, discordgo.ErrJSONUnmarshal):
			return err
		default: // 5xx, "exceeded max retries", network
			wait = backoff
			backoff *= 2
		}
		if ctx.Err() != nil || !pause.For(ctx, wait) {
			return err
		}
	}
	return err
}
