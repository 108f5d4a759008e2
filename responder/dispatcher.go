package responder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"citybot"
	"citybot/bots"
)

// OutboxStore is what the Dispatcher needs from storage.
type OutboxStore interface {
	// OutboxHeads returns up to limit due rows of these platforms, each
	// the head of its chat's queue, critical first then oldest due,
	// without claiming them (a read).
	OutboxHeads(ctx context.Context, platforms []citybot.Platform, limit int) ([]citybot.OutboxItem, error)
	// ClaimOutboxIDs marks the rows with these ids that are still
	// pending as sending, claimed by claimer (this process), in one
	// transaction, and returns them.
	ClaimOutboxIDs(ctx context.Context, claimer string, ids []citybot.OutboxID) ([]citybot.OutboxItem, error)
	// MarkSent records a delivered row (and acknowledges its case when
	// it is an acknowledgement).
	MarkSent(ctx context.Context, id citybot.OutboxID, sent citybot.Sent) error
	// RetryOutbox puts a row back to pending, due at next.
	RetryOutbox(ctx context.Context, id citybot.OutboxID, next time.Time, countAttempt bool, lastErr string) error
	// FailOutbox gives up on a row.
	FailOutbox(ctx context.Context, id citybot.OutboxID, lastErr string) error
	// AbandonedOutbox returns the rows of these platforms left in
	// sending by a process other than self whose heartbeat expired or
	// was released (UpdatedAt is when they were claimed).
	AbandonedOutbox(ctx context.Context, platforms []citybot.Platform, self string) ([]citybot.OutboxItem, error)
	// MarkDeliveryUnknown gives up on an abandoned row without sending
	// it again, leaving its case as it is, and returns the case's
	// reference ("" for none); citybot.ErrNotFound when the row is no
	// longer abandoned (another process settled it).
	MarkDeliveryUnknown(ctx context.Context, id citybot.OutboxID, lastErr string) (citybot.CaseRef, error)
	// RequeueAbandoned puts an abandoned row back to pending, due now;
	// citybot.ErrNotFound when it is no longer abandoned.
	RequeueAbandoned(ctx context.Context, id citybot.OutboxID, lastErr string) error
	// InstanceHeartbeat takes or renews this process's heartbeat for
	// ttl; ReleaseInstance ends it (a clean stop); LiveInstances counts
	// the processes whose heartbeat lives.
	InstanceHeartbeat(ctx context.Context, instance string, ttl time.Duration) error
	ReleaseInstance(ctx context.Context, instance string) error
	LiveInstances(ctx context.Context) (int, error)
	// OutboxStats summarises the rows still to send.
	OutboxStats(ctx context.Context) (citybot.OutboxStats, error)
	// NextOutboxDueAfter tells when the next claimable row of these
	// platforms due after after is due.
	NextOutboxDueAfter(ctx context.Context, platforms []citybot.Platform, after time.Time) (time.Time, bool, error)
}

// OutboxWatcher is an optional capability of an OutboxStore shared by
// several processes (PostgreSQL): WatchOutbox calls wake whenever any of
// them queues rows, until ctx ends; it returns an error wrapping
// citybot.ErrNotSupported when the store cannot (SQLite: one process,
// woken through Notify).
type OutboxWatcher interface {
	WatchOutbox(ctx context.Context, wake func()) error
}

// ChartSource finds the chart of an approved digest (the store).
type ChartSource interface {
	ApprovedDigest(ctx context.Context, week citybot.Week) (citybot.Digest, error)
}

// DispatcherOptions configure a Dispatcher. Store and at least one bot are
// required.
type DispatcherOptions struct {
	Store OutboxStore
	// Bots are the platforms' bots, one per platform, given as they are:
	// the dispatcher finds their capabilities (bots.PhotoSender,
	// bots.Editor, …) on them.
	Bots []bots.Bot
	// Charts finds the chart of an approved digest, for the
	// citybot.OutboxChart rows; nil fails such rows for good.
	Charts ChartSource
	// PublicURL is the public page's address: a platform that cannot
	// send images gets a chart row's caption with a link to the chart
	// there; "" leaves the link out.
	PublicURL string
	Logger    *slog.Logger     // nil discards logs
	Now       func() time.Time // nil means time.Now; must agree with the store's clock
	// Workers bounds concurrent sends (each to a different chat); <= 0
	// means 8.
	Workers int
	// MaxAttempts is how many failed attempts a row gets before it is
	// given up; <= 0 means 8. Throttled refusals are not counted.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the exponential backoff after a
	// failed attempt; <= 0 mean 2 s and 10 min.
	BaseBackoff, MaxBackoff time.Duration
	// PollInterval is the longest the dispatcher sleeps without a
	// Notify (or, with a store that is an OutboxWatcher, a wake-up from
	// another instance's queueing); <= 0 means 5 s.
	PollInterval time.Duration
	// SendTimeout bounds one Send; <= 0 means 30 s. It also bounds how
	// long a stop waits for the sends in flight.
	SendTimeout time.Duration
	// RecordTimeout bounds one attempt at recording a send's outcome in
	// the store (its budget starts once the send has returned); <= 0
	// means 10 s. A failed attempt is retried a few times.
	RecordTimeout time.Duration
	// Combine, when set, combines the acknowledgements waiting in a busy
	// group chat into one message naming each reporter (see
	// CombineOptions); the store must implement AckCombiner. nil sends
	// each acknowledgement on its own.
	Combine *CombineOptions
	// Registerer receives the metrics (outbox depth, oldest pending age,
	// sends, send failures and deliveries left unknown after a crash, by
	// platform; rows settled for a dead instance; live instances); nil
	// registers none.
	Registerer prometheus.Registerer
	// Instance names this process among the citybot processes sharing
	// the database (unique to the process: host, process id and a
	// random part); "" makes one up. It claims rows under this name and
	// keeps its heartbeat under it.
	Instance string
	// HeartbeatTTL is how long this process's heartbeat lasts without
	// renewal (it is renewed five times as often): once it has expired,
	// the other instances settle the rows it left in sending. <= 0
	// means 10 s.
	HeartbeatTTL time.Duration
	// SweepInterval is how often the dispatcher looks for rows a dead
	// instance left in sending; <= 0 means 5 s.
	SweepInterval time.Duration
}

// Dispatcher sends the outbox. Rows of one chat go out one at a time and
// in order; different chats are served concurrently by a bounded number of
// workers.
//
// Delivery guarantees: a reply is never sent twice; a reply is lost only
// as a visible "delivery unknown" row, when a crash makes its delivery
// ambiguous on a platform that cannot recognise a repeat.
//
//   - A row is marked sending (committed) before Send and sent right after
//     it; nothing but the MarkSent commit runs between the platform's
//     answer and the sent state, and the store commits it ahead of the
//     writes waiting (see store.MarkSent).
//   - Stop (or cancelling Run's context) stops claiming rows, lets the
//     sends in flight finish (each bounded by SendTimeout, no longer
//     cancelled by the stop), records their outcome, and only then
//     returns: a send the platform accepted is never left pending.
//   - A row left in sending by a process that died (its heartbeat
//     expired; see "Several processes" below) was being sent when it
//     died: the platform may or may not have accepted it. When
//     its bot implements bots.IdempotentSender (Discord: a nonce derived
//     from the row's key) and the interrupted attempt is within half the
//     platform's window, the row is sent again and the platform answers
//     the repeat with the first message. Otherwise (Telegram has no
//     idempotency key) it is not sent again: it becomes
//     citybot.OutboxUnknown ("delivery unknown", shown as such in the
//     console), a warning names the outbox id and the case reference, the
//     metric citybot_outbox_delivery_unknown_total{platform} counts it,
//     and its case keeps its status (an acknowledgement's case stays new,
//     at the top of the officers' inbox).
//
// Combined acknowledgements (DispatcherOptions.Combine): when the row at
// the head of a group chat's queue is an acknowledgement and others wait
// for the same chat, the head carries them (CombineAcks, one write, before
// its claim): it goes out as one message naming each reporter, in its
// slot, and the rows it carries are settled with it in the same
// transaction: sent (their cases acknowledged), failed, or delivery
// unknown after a crash, never sent on their own as well. The combined
// text is recorded before the send, so that a repeat after a crash is
// the same message under the same key (Discord recognises it).
//
// A send that fails with a transient error is retried; if the platform
// had in fact accepted it (an answer lost on the network), the retry can
// still post it twice.
//
// Several processes on one database: each runs its Dispatcher under its
// own name (DispatcherOptions.Instance). A row is claimed by one of them
// and records its name. Each keeps a heartbeat in the database, renewed
// while Run runs (and through the wait for the sends in flight after a
// stop, within the longest that wait can take) and released once Run
// has recorded them. At start and every SweepInterval, each dispatcher
// settles, as above, the rows in sending of the processes whose
// heartbeat has expired or was released: after a SIGKILL, within
// HeartbeatTTL plus SweepInterval. A live process's rows in flight are
// never touched, whatever its peers do; a row is settled once, by one of
// them. A dispatcher that cannot renew its heartbeat stops claiming
// rows until it can, since its peers will soon take it for dead. The
// metric citybot_outbox_dead_instance_rows_total{platform,outcome}
// counts the rows settled for a dead process, citybot_instances_live
// the processes alive (bots.LimitSharer bots are told it, to share the
// platform's limits among them).
//
// Rate limits: the dispatcher never claims a row it cannot send now. It
// reads the heads of the chat queues (critical cases first), asks each
// row's bot for a send slot (bots.Pacer) and claims only the rows that got
// one; a chat or a whole platform that must wait is paused in memory
// until its slot, and meanwhile costs no claim, no write and no log line
// (a counter, citybot_outbox_throttled_total, and a debug line). A send
// the platform still refuses (a 429) is put back once, due after its
// retry_after, and pauses its chat; the bot's limiter knows whether the
// refusal covers every chat.
type Dispatcher struct {
	store       OutboxStore
	charts      ChartSource
	publicURL   string
	bots        map[citybot.Platform]bots.Bot
	platforms   []citybot.Platform // those of bots: rows of others are left alone
	log         *slog.Logger
	now         func() time.Time
	workers     int
	maxAttempts int
	base, cap   time.Duration
	poll        time.Duration
	sendTimeout time.Duration
	recordTO    time.Duration
	wake        chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}

	// pmu guards the pauses: until when a platform, or one chat's
	// queue, may not send (what the bots' limiters and 429s said).
	pmu       sync.Mutex
	platPause map[citybot.Platform]time.Time
	chatPause map[chatRef]time.Time
	groupSent map[chatRef]time.Time // last claim of a row to a group chat, for spacedUntil
	lastPrune time.Time
	claimTxs  prometheus.Counter
	throttled *prometheus.CounterVec

	depth, oldest  prometheus.Gauge
	sent, failures *prometheus.CounterVec
	unknown        *prometheus.CounterVec
	lastStats      time.Time

	comb     *ackCombiner // nil: acknowledgements go out one by one
	combined *prometheus.CounterVec

	instance   string
	ttl, sweep time.Duration
	// lastBeat is when the heartbeat was last renewed (UnixNano, d.now).
	lastBeat atomic.Int64
	// beatLapsed and claimsPaused make a failing heartbeat, and the
	// claims it holds back, logged once until it is renewed.
	beatLapsed, claimsPaused atomic.Bool
	live                     atomic.Int64
	deadRows                 *prometheus.CounterVec
	liveGauge                prometheus.Gauge
}

// chatRef names one chat's queue.
type chatRef struct {
	platform citybot.Platform
	chat     citybot.ChatID
}

// headScan bounds how many heads of chat queues one claim reads: the rows
// due now, of which those whose chat or platform may send are claimed.
const headScan = 256

// NewDispatcher returns a Dispatcher. It returns an error wrapping
// citybot.ErrInvalid when the store or bots are missing or two bots share
// a platform, and the registerer's error when metrics cannot be
// registered.
func NewDispatcher(opts DispatcherOptions) (*Dispatcher, error) {
	if opts.Store == nil || len(opts.Bots) == 0 {
		return nil, fmt.Errorf("responder: dispatcher: %w: Store and Bots are required", citybot.ErrInvalid)
	}
	d := &Dispatcher{
		store: opts.Store, bots: map[citybot.Platform]bots.Bot{}, log: opts.Logger, now: opts.Now,
		charts: opts.Charts, publicURL: strings.TrimRight(opts.PublicURL, "/"),
		workers: opts.Workers, maxAttempts: opts.MaxAttempts, base: opts.BaseBackoff, cap: opts.MaxBackoff,
		poll: opts.PollInterval, sendTimeout: opts.SendTimeout, recordTO: opts.RecordTimeout, wake: make(chan struct{}, 1),
		instance: opts.Instance, ttl: opts.HeartbeatTTL, sweep: opts.SweepInterval,
		platPause: map[citybot.Platform]time.Time{}, chatPause: map[chatRef]time.Time{}, groupSent: map[chatRef]time.Time{},
	}
	for _, b := range opts.Bots {
		if _, dup := d.bots[b.Platform()]; dup {
			return nil, fmt.Errorf("responder: dispatcher: %w: two bots for %s", citybot.ErrInvalid, b.Platform())
		}
		d.bots[b.Platform()] = b
		d.platforms = append(d.platforms, b.Platform())
	}
	if d.log == nil {
		d.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d.log = d.log.With("component", "dispatcher")
	if d.now == nil {
		d.now = time.Now
	}
	if d.workers <= 0 {
		d.workers = 8
	}
	if d.maxAttempts <= 0 {
		d.maxAttempts = 8
	}
	if d.base <= 0 {
		d.base = 2 * time.Second
	}
	if d.cap <= 0 {
		d.cap = 10 * time.Minute
	}
	if d.poll <= 0 {
		d.poll = 5 * time.Second
	}
	if d.sendTimeout <= 0 {
		d.sendTimeout = 30 * time.Second
	}
	if d.recordTO <= 0 {
		d.recordTO = 10 * time.Second
	}
	if d.instance == "" {
		d.instance = fmt.Sprintf("dispatcher:%016x", rand.Uint64())
	}
	if d.ttl <= 0 {
		d.ttl = 10 * time.Second
	}
	if d.sweep <= 0 {
		d.sweep = 5 * time.Second
	}
	if opts.Combine != nil {
		c, err := newAckCombiner(opts.Store, opts.Combine)
		if err != nil {
			return nil, err
		}
		d.comb = c
	}
	d.combined = counterVec("citybot_outbox_acks_combined_total",
		"Acknowledgements sent inside a combined acknowledgement carried by another row (busy group chats), by platform.", "platform")
	d.depth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "citybot_outbox_depth", Help: "Outbox rows waiting to be sent."})
	d.oldest = prometheus.NewGauge(prometheus.GaugeOpts{Name: "citybot_outbox_oldest_pending_seconds", Help: "Age of the oldest outbox row waiting to be sent."})
	d.sent = counterVec("citybot_outbox_sent_total", "Messages sent, by platform.", "platform")
	d.failures = counterVec("citybot_outbox_send_failures_total",
		"Failed sends, by platform and kind (throttled, transient, permanent).", "platform", "kind")
	d.unknown = counterVec("citybot_outbox_delivery_unknown_total",
		"Outbox rows a crash interrupted mid-send and that were not sent again (delivery unknown), by platform.", "platform")
	d.claimTxs = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "citybot_outbox_claims_total",
		Help: "Claim transactions (each marks the rows it claims as sending).",
	})
	d.throttled = counterVec("citybot_outbox_throttled_total",
		"Times a chat or a whole platform was held back by a rate limit (local or the platform's 429), by platform and scope.", "platform", "scope")
	d.deadRows = counterVec("citybot_outbox_dead_instance_rows_total",
		"Outbox rows a dead citybot instance left in sending that this instance settled, by platform and outcome (delivery_unknown, requeued).", "platform", "outcome")
	d.liveGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "citybot_instances_live",
		Help: "citybot instances whose heartbeat in the shared database is alive, this one included.",
	})
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{d.depth, d.oldest, d.sent, d.failures, d.unknown, d.claimTxs, d.throttled, d.combined,
			d.deadRows, d.liveGauge} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("responder: dispatcher: register metrics: %w", err)
			}
		}
	}
	return d, nil
}

// Notify wakes the dispatcher because rows were queued. It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run takes this process's heartbeat, settles the rows dead processes
// left in sending (see Dispatcher), then sends due rows until ctx is
// cancelled or Stop is called, settling dead processes' rows every
// SweepInterval. It then claims nothing more, waits for the sends in
// flight to finish (each within SendTimeout) and their outcome to be
// recorded, releases the heartbeat, and returns nil. It returns an error
// only when it cannot start (already running, or the store fails at
// start).
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.cancel != nil {
		d.mu.Unlock()
		return errors.New("responder: dispatcher: already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	d.cancel, d.done = cancel, make(chan struct{})
	done := d.done
	d.mu.Unlock()
	defer func() {
		cancel()
		d.mu.Lock()
		d.cancel = nil
		d.mu.Unlock()
		close(done)
	}()

	if err := d.beat(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("responder: dispatcher: heartbeat: %w", err)
	}
	n, err := d.store.LiveInstances(ctx)
	counted := err == nil
	if err != nil {
		d.log.Warn("count live instances", "err", err)
	} else {
		d.setLive(n)
	}
	// The heartbeat lives until the sends in flight are recorded (the
	// deferred calls run in reverse order: wg.Wait below first).
	beatCtx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	beatDone := make(chan struct{})
	defer func() {
		stopBeat()
		<-beatDone
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.recordTO)
		defer cancel()
		if err := d.store.ReleaseInstance(rctx, d.instance); err != nil {
			d.log.Warn("release the heartbeat: the other instances wait for it to expire", "err", err)
		}
	}()
	if err := d.settleAbandoned(ctx); err != nil {
		stopBeat()
		close(beatDone)
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("responder: dispatcher: %w", err)
	}
	go func() {
		defer close(beatDone)
		d.keepAlive(beatCtx, ctx)
	}()
	// A newcomer among live instances claims nothing until each of them
	// has counted it (they count at every renewal, a fifth of the
	// heartbeat's length; two renewals leave room for a slow one): until
	// then they keep to their larger shares of the platforms' limits, and
	// its sends would take the platform over its global limit (seen as
	// Discord 429s when a third instance started during a burst). A
	// heartbeat not renewed within those two renewals is a dead process's
	// (this one's own before a crash, say): nobody to wait for. When the
	// first count failed, others may be there: the renewals decide.
	if (!counted || d.LiveInstances() > 1) && d.peersRenewing(ctx, 2*d.ttl/5) {
		d.log.Info("waiting for the other instances to count this one before sending", "wait", 2*d.ttl/5)
		t := time.NewTimer(2 * d.ttl / 5)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
	if w, ok := d.store.(OutboxWatcher); ok {
		// Rows queued by the other instances wake this one too.
		watchDone := make(chan struct{})
		defer func() { <-watchDone }()
		go func() {
			defer close(watchDone)
			if err := w.WatchOutbox(ctx, d.Notify); err != nil && !errors.Is(err, citybot.ErrNotSupported) {
				d.log.Error("watch the outbox: rows other instances queue wait for the poll", "err", err)
			}
		}()
	}

	// Sends are not cut by a stop: they finish (within SendTimeout) and
	// their outcome is recorded before Run returns.
	sendCtx := context.WithoutCancel(ctx)
	finished := make(chan struct{}, d.workers)
	var wg sync.WaitGroup
	inflight := 0
	defer func() {
		if inflight > 0 {
			d.log.Info("stopping: waiting for the sends in flight", "sends", inflight)
		}
		wg.Wait()
	}()
	for {
		// Collect finished sends without blocking.
		for drained := false; !drained; {
			select {
			case <-finished:
				inflight--
			default:
				drained = true
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		free := d.workers - inflight
		if !d.alive(ctx) {
			// Peers may take this process for dead and settle what it
			// claims: claim nothing until the heartbeat is renewed.
			free = 0
		}
		claimedAt := d.now() // rows due by then were read (and claimed or paused)
		more, claimFailed := false, false
		var wake time.Time // when a paused chat or platform may send again
		if free > 0 {
			items, w, err := d.claim(ctx, free)
			if err != nil && ctx.Err() == nil {
				d.log.Error("claim outbox", "err", err)
				claimFailed = true
			}
			for _, it := range items {
				inflight++
				wg.Add(1)
				go func() {
					defer wg.Done()
					d.deliver(sendCtx, it)
					finished <- struct{}{}
				}()
			}
			more = err == nil && len(items) == free
			wake = w
		}
		d.updateStats(ctx)

		if more {
			continue // maybe more rows are due; claim again once a worker frees
		}
		var t *time.Timer
		var timer <-chan time.Time // nil (never fires) while every worker is busy
		if inflight < d.workers {
			// Nothing more can go now: sleep until a paused chat or
			// platform may send, a row comes due, a send finishes or
			// rows are queued (Notify).
			wait := d.poll
			if !wake.IsZero() {
				wait = min(wait, max(wake.Sub(d.now()), time.Millisecond))
			}
			if !claimFailed {
				if next, ok, err := d.store.NextOutboxDueAfter(ctx, d.platforms, claimedAt); err == nil && ok {
					wait = min(wait, max(next.Sub(d.now()), time.Millisecond))
				}
			}
			t = time.NewTimer(wait)
			timer = t.C
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-finished:
			inflight--
		case <-timer:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// claim claims up to free rows that can be sent now, and returns them with
// the earliest time a chat or platform held back may send (zero when none
// was). Reserve before claim: it reads the heads of the chat queues (a
// read), asks each row's bot for a send slot (bots.Pacer) and claims, in
// one transaction, only the rows that got one; a row whose chat or
// platform must wait is left pending, untouched, and its chat or platform
// is paused until the slot. So a throttled queue costs no write and no
// claim until its slot comes, however many rows wait in it.
func (d *Dispatcher) claim(ctx context.Context, free int) ([]citybot.OutboxItem, time.Time, error) {
	now := d.now()
	var wake time.Time
	earliest := func(t time.Time) {
		if wake.IsZero() || t.Before(wake) {
			wake = t
		}
	}
	d.pmu.Lock()
	if now.Sub(d.lastPrune) > time.Second {
		d.lastPrune = now
		for k, until := range d.chatPause {
			if !until.After(now) {
				delete(d.chatPause, k)
			}
		}
		for k, at := range d.groupSent {
			if now.Sub(at) > time.Minute {
				delete(d.groupSent, k)
			}
		}
	}
	// Read enough heads to get past the paused chats' ones.
	scan := min(headScan, free+len(d.chatPause)+8)
	var ready []citybot.Platform
	for _, p := range d.platforms {
		if until := d.platPause[p]; until.After(now) {
			earliest(until)
			continue
		}
		ready = append(ready, p)
	}
	d.pmu.Unlock()

	var ids []citybot.OutboxID
	reserved := map[citybot.OutboxID]citybot.Outgoing{}
	// A platform paused while scanning leaves the others to scan again.
	for len(ready) > 0 && len(ids) < free {
		heads, err := d.store.OutboxHeads(ctx, ready, scan)
		if err != nil {
			d.unreserve(reserved, nil)
			return nil, time.Time{}, err
		}
		stopped := map[citybot.Platform]bool{}
		for _, h := range heads {
			if len(ids) == free {
				break
			}
			p := h.Out.Platform
			if stopped[p] || reserved[h.ID].Key != "" || slices.Contains(ids, h.ID) {
				continue
			}
			d.pmu.Lock()
			until := d.chatPause[chatRef{p, h.Out.Chat}]
			d.pmu.Unlock()
			if until.After(now) {
				earliest(until)
				continue
			}
			if until := d.spacedUntil(h, now); until.After(now) {
				d.pause(h.Out, bots.PaceChat, until, "spacing")
				earliest(until)
				continue
			}
			if pc, ok := d.bots[p].(bots.Pacer); ok {
				if w, scope := pc.Reserve(h.Out); w > 0 {
					until := now.Add(w)
					d.pause(h.Out, scope, until, "rate limit")
					earliest(until)
					if scope == bots.PacePlatform {
						stopped[p] = true
					}
					continue
				}
				reserved[h.ID] = h.Out
			}
			// An acknowledgement at the head of a busy group's queue
			// carries the others waiting there (its slot is the
			// combined message's).
			d.combine(ctx, h)
			d.sentToGroup(h.Out, now)
			ids = append(ids, h.ID)
		}
		if len(stopped) == 0 || len(heads) < scan {
			break
		}
		ready = slices.DeleteFunc(ready, func(p citybot.Platform) bool { return stopped[p] })
	}
	if len(ids) == 0 {
		return nil, wake, nil
	}
	items, err := d.store.ClaimOutboxIDs(ctx, d.instance, ids)
	d.claimTxs.Inc()
	d.unreserve(reserved, items)
	if err != nil {
		return nil, time.Time{}, err
	}
	return items, wake, nil
}

// unreserve gives back the slots taken for rows that were not claimed.
func (d *Dispatcher) unreserve(reserved map[citybot.OutboxID]citybot.Outgoing, claimed []citybot.OutboxItem) {
	for id, out := range reserved {
		if slices.ContainsFunc(claimed, func(it citybot.OutboxItem) bool { return it.ID == id }) {
			continue
		}
		if pc, ok := d.bots[out.Platform].(bots.Pacer); ok {
			pc.Unreserve(out)
		}
	}
}

// pause holds back out's chat (or its whole platform) until until, counts
// it and says so at debug level, once per pause.
func (d *Dispatcher) pause(out citybot.Outgoing, scope bots.PaceScope, until time.Time, why string) {
	d.pmu.Lock()
	var prev time.Time
	if scope == bots.PacePlatform {
		prev = d.platPause[out.Platform]
		if until.After(prev) {
			d.platPause[out.Platform] = until
		}
	} else {
		k := chatRef{out.Platform, out.Chat}
		prev = d.chatPause[k]
		if until.After(prev) {
			d.chatPause[k] = until
		}
	}
	d.pmu.Unlock()
	if !until.After(prev) {
		return
	}
	d.throttled.WithLabelValues(string(out.Platform), scope.String()).Inc()
	d.log.Debug("throttled", "platform", string(out.Platform), "scope", scope.String(), "why", why,
		"wait", until.Sub(d.now()).Round(time.Millisecond))
}

// Stop cancels Run and waits for it to return. Calling it twice, or
// before Run, is safe.
func (d *Dispatcher) Stop() {
	d.mu.Lock()
	cancel, done := d.cancel, d.done
	d.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// deliver sends one claimed row and records the outcome. ctx is not
// cancelled by a stop.
func (d *Dispatcher) deliver(ctx context.Context, it citybot.OutboxItem) {
	platform := string(it.Out.Platform)
	log := d.log.With("outbox_id", int64(it.ID), "platform", platform, "kind", string(it.Kind))

	bot, ok := d.bots[it.Out.Platform]
	var sent citybot.Sent
	var err error
	if !ok {
		err = fmt.Errorf("no bot for platform %s", platform)
	} else {
		sent, err = d.send(ctx, bot, it)
	}
	// The outcome is recorded with budgets that start only now: a slow or
	// timed-out send must not leave the row in sending, where it would
	// block its chat's queue until the next start. A stop does not
	// abort the record either.
	rctx := context.WithoutCancel(ctx)
	now := d.now()
	var ra *citybot.RetryAfterError
	switch {
	case err == nil:
		d.sent.WithLabelValues(platform).Inc()
		if err := d.record(rctx, func(ctx context.Context) error { return d.store.MarkSent(ctx, it.ID, sent) }); err != nil {
			log.Error("sent but not recorded: the row stays in sending and is resolved at restart", "err", err)
		}
		return
	}
	msg := redact(err.Error(), it.Out)
	switch {
	case errors.As(err, &ra):
		kind := "transient"
		if ra.Throttled {
			kind = "throttled"
		}
		d.failures.WithLabelValues(platform, kind).Inc()
		if !ra.Throttled && it.Attempts+1 >= d.maxAttempts {
			d.fail(rctx, log, it, msg)
			return
		}
		if ra.Throttled {
			// Counted and paused, not logged at info: a surge makes many.
			// The bot's limiter knows what the refusal covers (the
			// chat, or the platform after a global 429): claim asks it.
			d.pause(it.Out, bots.PaceChat, now.Add(max(ra.After, 0)), "refused")
		} else {
			log.Warn("send refused for now", "retry_after", ra.After, "err", msg)
		}
		if err := d.record(rctx, func(ctx context.Context) error {
			return d.store.RetryOutbox(ctx, it.ID, now.Add(max(ra.After, 0)), !ra.Throttled, msg)
		}); err != nil {
			log.Error("reschedule", "err", err)
		}
	case errors.Is(err, citybot.ErrPermanent):
		d.failures.WithLabelValues(platform, "permanent").Inc()
		d.fail(rctx, log, it, msg)
	default:
		d.failures.WithLabelValues(platform, "transient").Inc()
		if it.Attempts+1 >= d.maxAttempts {
			d.fail(rctx, log, it, msg)
			return
		}
		wait := d.backoff(it.Attempts)
		log.Warn("send failed, will retry", "attempts", it.Attempts+1, "retry_in", wait, "err", msg)
		if err := d.record(rctx, func(ctx context.Context) error {
			return d.store.RetryOutbox(ctx, it.ID, now.Add(wait), true, msg)
		}); err != nil {
			log.Error("reschedule", "err", err)
		}
	}
}

// send calls the bot with a timeout; a panicking adapter counts as a
// transient failure instead of stopping the dispatcher. A private row
// (out.To set) goes to the private chat the adapter finds for out.To
// (bots.PrivateChatter), never to out.Chat: a bot without the capability
// (or one answering citybot.ErrNotSupported), a malformed user id or a
// refusal fails the row for good. Errors never name out.To nor the
// private chat (see redact).
func (d *Dispatcher) send(ctx context.Context, bot bots.Bot, it citybot.OutboxItem) (sent citybot.Sent, err error) {
	out := it.Out
	sctx, cancel := context.WithTimeout(ctx, d.sendTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("send panicked: %v", p)
		}
	}()
	if it.Kind == citybot.OutboxChart {
		return d.sendChart(sctx, bot, it)
	}
	if out.Edit != "" {
		// An edit replaces a message the bot sent (an alert once taken).
		ed, ok := bot.(bots.Editor)
		if !ok {
			return citybot.Sent{}, fmt.Errorf("edit: %w: the %s bot cannot edit messages", citybot.ErrPermanent, out.Platform)
		}
		if err := ed.Edit(sctx, out.Chat, out.Edit, out); err != nil {
			if errors.Is(err, citybot.ErrInvalid) || errors.Is(err, citybot.ErrNotSupported) {
				err = fmt.Errorf("%w: %w", citybot.ErrPermanent, err)
			}
			return citybot.Sent{}, fmt.Errorf("edit: %w", err)
		}
		return citybot.Sent{ID: out.Edit}, nil
	}
	if out.To != "" {
		pc, ok := bot.(bots.PrivateChatter)
		if !ok {
			return citybot.Sent{}, fmt.Errorf("private delivery: %w: the %s bot cannot open a private chat", citybot.ErrPermanent, out.Platform)
		}
		chat, err := pc.PrivateChat(sctx, out.To)
		if err == nil && chat == "" {
			err = fmt.Errorf("%w: no private chat", citybot.ErrPermanent)
		}
		if err != nil {
			if (errors.Is(err, citybot.ErrInvalid) || errors.Is(err, citybot.ErrNotSupported)) && !errors.Is(err, citybot.ErrPermanent) {
				err = fmt.Errorf("%w: %w", citybot.ErrPermanent, err)
			}
			return citybot.Sent{}, fmt.Errorf("private delivery: find the private chat: %w", redactErr(err, out, chat))
		}
		priv := out
		priv.Chat, priv.ChatKind, priv.ReplyTo = chat, citybot.ChatPrivate, ""
		sent, err = sendOne(sctx, bot, priv)
		if err != nil {
			return citybot.Sent{}, fmt.Errorf("private delivery: %w", redactErr(err, out, chat))
		}
		return sent, nil
	}
	return sendOne(sctx, bot, out)
}

// sendOne sends out through bot: a row with a file as a document
// (bots.DocumentSender, with the text as its caption), others as a
// message. A bot that cannot send files, or a file already dropped (a
// sent row), fails the row for good.
func sendOne(ctx context.Context, bot bots.Bot, out citybot.Outgoing) (citybot.Sent, error) {
	if out.File == nil {
		return bot.Send(ctx, out)
	}
	ds, ok := bot.(bots.DocumentSender)
	if !ok {
		return citybot.Sent{}, fmt.Errorf("send document: %w: the %s bot cannot send files", citybot.ErrPermanent, out.Platform)
	}
	if len(out.File.Data) == 0 {
		return citybot.Sent{}, fmt.Errorf("send document: %w: the file is empty", citybot.ErrPermanent)
	}
	sent, err := ds.SendDocument(ctx, out, *out.File)
	if errors.Is(err, citybot.ErrInvalid) || errors.Is(err, citybot.ErrNotSupported) {
		err = fmt.Errorf("%w: %w", citybot.ErrPermanent, err)
	}
	return sent, err
}

// sendChart sends a citybot.OutboxChart row: the chart the row carries
// (Out.File: the chart in its channel's language), else the chart of the
// approved digest of it.ChartWeek (rows queued before charts were drawn
// per language), as an image through the bot's bots.PhotoSender,
// with the row's text as caption; a bot without the capability (or one
// answering citybot.ErrNotSupported) sends the caption alone, with a link
// to the chart on the public page when there is one. No approved digest
// of that week fails the row for good.
func (d *Dispatcher) sendChart(ctx context.Context, bot bots.Bot, it citybot.OutboxItem) (citybot.Sent, error) {
	if d.charts == nil {
		return citybot.Sent{}, fmt.Errorf("chart of %s: %w: the dispatcher has no chart source", it.ChartWeek, citybot.ErrPermanent)
	}
	dg, err := d.charts.ApprovedDigest(ctx, it.ChartWeek)
	if errors.Is(err, citybot.ErrNotFound) {
		return citybot.Sent{}, fmt.Errorf("chart of %s: %w: no approved digest", it.ChartWeek, citybot.ErrPermanent)
	}
	if err != nil {
		return citybot.Sent{}, fmt.Errorf("chart of %s: %w", it.ChartWeek, err)
	}
	// A row that carries its chart (drawn in its channel's language)
	// sends that one; an older row, the digest's chart.
	out := it.Out
	png, name := dg.Chart, "digest-"+string(it.ChartWeek)+".png"
	if f := out.File; f != nil && len(f.Data) > 0 {
		png, name = f.Data, f.Name
	}
	out.File = nil
	if ps, ok := bot.(bots.PhotoSender); ok && len(png) > 0 {
		sent, err := ps.SendPhoto(ctx, out, name, png)
		if !errors.Is(err, citybot.ErrNotSupported) {
			return sent, err
		}
	}
	if d.publicURL != "" {
		out.Text += "\n" + d.publicURL + "/public/digests/" + string(it.ChartWeek) + "/chart.png"
	}
	return bot.Send(ctx, out)
}

// redactErr keeps a private row's person and private chat out of an
// error's text, keeping what errors.Is and errors.As find in it.
func redactErr(err error, out citybot.Outgoing, chat citybot.ChatID) error {
	msg := err.Error()
	for _, s := range []string{string(out.To), string(chat)} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<private>")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

// redactedError shows a redacted text and unwraps to the original error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (d *Dispatcher) fail(ctx context.Context, log *slog.Logger, it citybot.OutboxItem, msg string) {
	log.Error("send given up", "attempts", it.Attempts+1, "err", msg)
	if err := d.record(ctx, func(ctx context.Context) error { return d.store.FailOutbox(ctx, it.ID, msg) }); err != nil {
		log.Error("record failure", "err", err)
	}
}

// record runs a store update, each attempt within RecordTimeout, retrying
// a few times with a short backoff: losing it would leave the row in
// sending, blocking its chat, until the next start. It returns the last
// error; the caller logs it once.
func (d *Dispatcher) record(ctx context.Context, fn func(context.Context) error) error {
	const attempts = 5
	var err error
	for attempt := range attempts {
		actx, cancel := context.WithTimeout(ctx, d.recordTO)
		err = fn(actx)
		cancel()
		if err == nil || errors.Is(err, citybot.ErrNotFound) || attempt == attempts-1 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
	return err
}

// backoff returns the wait after the given number of earlier failed
// attempts: exponential from base, capped, with jitter in [half, full].
func (d *Dispatcher) backoff(attempts int) time.Duration {
	w := d.base
	for range attempts {
		if w >= d.cap/2 {
			w = d.cap
			break
		}
		w *= 2
	}
	w = min(w, d.cap)
	half := w / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// redact keeps the chat id (a person's id in a private Telegram chat), a
// private row's person and the people a message names out of an error
// text kept in the outbox and the logs.
func redact(msg string, out citybot.Outgoing) string {
	if out.To != "" {
		msg = strings.ReplaceAll(msg, string(out.To), "<private>")
	}
	if out.Chat != "" {
		msg = strings.ReplaceAll(msg, string(out.Chat), "<chat>")
	}
	// The people a combined acknowledgement names.
	for _, m := range out.Mentions {
		if m.User != "" {
			msg = strings.ReplaceAll(msg, string(m.User), "<person>")
		}
	}
	return msg
}

// updateStats refreshes the outbox gauges at most once a second.
func (d *Dispatcher) updateStats(ctx context.Context) {
	now := d.now()
	if now.Sub(d.lastStats) < time.Second && !d.lastStats.IsZero() {
		return
	}
	d.lastStats = now
	st, err := d.store.OutboxStats(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("outbox stats", "err", err)
		}
		return
	}
	d.depth.Set(float64(st.Pending))
	if st.Oldest.IsZero() {
		d.oldest.Set(0)
	} else {
		d.oldest.Set(max(now.Sub(st.Oldest).Seconds(), 0))
	}
}

// counterVec is a counter of the outbox, one series per value of labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}
