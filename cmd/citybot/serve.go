package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/netutil"

	"citybot"
	"citybot/accountability"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
	"citybot/casework"
	"citybot/classifier"
	"citybot/cluster"
	"citybot/locale"
	"citybot/responder"
	"citybot/scheduler"
	"citybot/store"
	"citybot/web"

	"github.com/prometheus/client_golang/prometheus"
)

// The concrete store satisfies the interfaces its consumers declare.
var (
	_ responder.Store           = (*store.DB)(nil)
	_ responder.OutboxStore     = (*store.DB)(nil)
	_ responder.AckCombiner     = (*store.DB)(nil)
	_ accountability.AlertStore = (*store.DB)(nil)
	_ accountability.SurgeStore = (*store.DB)(nil)
	_ casework.StatementStore   = (*store.DB)(nil)
	_ web.StatementStore        = (*store.DB)(nil)
	_ web.StatementSender       = (*casework.Statements)(nil)
	_ responder.AnswerTimeStore = (*store.DB)(nil)
	_ responder.MediaStore      = (*store.DB)(nil)
	_ bots.Cursors              = (*store.DB)(nil)
	_ scheduler.Leases          = (*store.DB)(nil)
	_ responder.Classifier      = (*classifier.Classifier)(nil)
	_ bots.Bot                  = (*telegram.Bot)(nil)
	_ bots.Bot                  = (*discord.Bot)(nil)
	_ web.Store                 = (*store.DB)(nil)
	_ web.Officer               = (*casework.Officer)(nil)
	_ web.Digester              = (*accountability.Digester)(nil)
	_ web.PublicFigures         = (*accountability.Digester)(nil)
	_ web.Trainer               = (*responder.Retrainer)(nil)
)

// Stop timeouts of serve's parts, in shutdown order.
const (
	// A platform's stop lets the update in hand be stored: it waits for
	// the longest handler call plus a margin, so that the database is
	// never closed under a running handler. Telegram's adapter gets this
	// smaller HandlerTimeout (its default is 60 s) to keep shutdown quick;
	// a handler is a classification and a store write, far below it, and
	// an update that times out is retried. Discord's in-flight handlers
	// are awaited up to its ShutdownGrace (default 10 s), also below.
	botHandlerTimeout    = 20 * time.Second
	stopBotTimeout       = botHandlerTimeout + 5*time.Second
	stopHTTPTimeout      = 10 * time.Second
	stopSchedulerTimeout = 30 * time.Second // the running job finishes
	// The dispatcher lets a send in flight finish (bounded by [outbox]
	// send_timeout) and records it: its stop waits that long plus this
	// margin, so that a graceful stop never leaves a row mid-send.
	stopDispatcherMargin = 10 * time.Second
	stopEmulatorTimeout  = 5 * time.Second
)

// Part names, listed in the order of shutdown.
const (
	partTelegram   = "telegram"
	partDiscord    = "discord"
	partHTTP       = "http"
	partHearing    = "hearing"
	partRetrain    = "retrain"
	partMedia      = "media"
	partAlerts     = "alerts"
	partSurge      = "surge"
	partScheduler  = "scheduler"
	partDispatcher = "dispatcher"
	partTelegramEm = "telegram_emulator"
	partDiscordEm  = "discord_emulator"
)

func serveCommand() *command {
	var readyFile string
	return &command{
		name:    "serve",
		summary: "run the bot until SIGTERM (the default command)",
		usage: `Usage:
  citybot [--config PATH] serve [--ready-file FILE]

Opens (and migrates) the database, connects to the platforms, sends the
outbox, runs the scheduled jobs (weekly digest, reminders, follow-ups,
retention) and serves on [http] addr the officer console (/), the public
pages (/public/, /open311/v2/), GET /healthz and GET /metrics, until
SIGTERM or SIGINT; then it stops in order: platforms, HTTP server, hearing check, the
console's model training (a training in progress is dropped), media keeper, alerter,
scheduler (waiting for the running job), dispatcher (recording the send
in flight), emulators, database.

With neither CITYBOT_TELEGRAM_TOKEN nor CITYBOT_DISCORD_TOKEN set (or with
[sandbox] enabled = true), citybot runs in sandbox mode: each enabled
platform is a local emulator, on [sandbox] telegram_addr and discord_addr,
and nothing leaves this machine. One log line gives the URL of each
emulator's page where you play a citizen. Once one token is set, citybot
is live: every enabled platform needs its token (set it, or set
[<platform>] enabled = false). GET /healthz reports each platform's mode.
`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&readyFile, "ready-file", "",
				"once serving, write a JSON `FILE` with the pid, the bound HTTP address and the sandbox URLs (for scripts and tests)")
		},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if err := noArgs("serve", args); err != nil {
				return err
			}
			cfg, err := LoadConfig(e.configPath, e.getenv)
			if err != nil {
				return err
			}
			return serve(ctx, cfg, newLogger(cfg.Log, e.stderr), readyFile)
		},
	}
}

// readyInfo is what serve writes to --ready-file once it serves.
type readyInfo struct {
	PID      int    `json:"pid"`
	HTTPAddr string `json:"http_addr"` // host:port actually bound
	// Sandbox maps a platform in sandbox mode to its play-a-citizen page.
	Sandbox map[string]string `json:"sandbox,omitempty"`
	// Emulators maps a platform in sandbox mode to its emulator's base URL.
	Emulators map[string]string `json:"emulators,omitempty"`
}

// serve runs citybot until ctx is cancelled or a part fails, then stops
// every part in order and closes the database. It returns nil after a
// clean stop on ctx, and the failure otherwise.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, readyFile string) (err error) {
	began := time.Now()
	app, err := openApp(ctx, cfg, logger, appOptions{})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if cerr := app.Close(); cerr != nil {
			err = errors.Join(err, cerr)
			logger.Error("database close failed", "component", "serve", "err", cerr)
		} else {
			logger.Info("stopped", "component", "serve", "part", "database")
		}
	}()
	return app.Run(ctx, readyFile, began)
}

// Run serves: it connects the platforms, starts every part (in reverse
// order of stop: sending first, then HTTP, then intake) and runs until ctx
// is cancelled or a part fails; then it stops them in order. It returns
// nil after a clean stop on ctx, and the failure otherwise. began is when
// the command started, for the log.
func (a *App) Run(ctx context.Context, readyFile string, began time.Time) (err error) {
	cfg, log := a.cfg, a.logger.With("component", "serve")
	g := newGroup(log)
	// Whatever started is stopped on every return path, in order.
	defer func() {
		if serr := g.stopAll(partTelegram, partDiscord, partHTTP, partHearing, partRetrain, partMedia, partAlerts, partSurge, partScheduler, partDispatcher, partTelegramEm, partDiscordEm); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	ready := readyInfo{PID: os.Getpid(), Sandbox: map[string]string{}, Emulators: map[string]string{}}
	routes := map[string]http.Handler{}
	intake, err := a.connect(ctx, g, &ready, routes)
	if err != nil {
		return err
	}
	reg := newRegistry()
	parts, err := a.wire(intake, routes, reg)
	if err != nil {
		return err
	}
	// Whether each platform lets the bot hear the chats listed: logged
	// with what to change, and shown on /healthz.
	var platforms []bots.Bot
	for _, b := range intake {
		platforms = append(platforms, b.bot)
	}
	hearing := &hearingBoard{}
	hearing.ask(ctx, a.logger, platforms)
	// The parts that run on one instance at a time (Telegram's polling,
	// Discord's gateway, the alert and surge loops) run under their
	// lease; the others run on every instance.
	lead := newLeadership(a)
	intakeRuns := make([]func(ctx context.Context) error, len(intake))
	for i, b := range intake {
		if intakeRuns[i], err = lead.lead(b.lease, func(ctx context.Context) error { return b.run(ctx, parts.handler) }); err != nil {
			return err
		}
	}
	alerts, err := lead.lead(leaseAlerts, parts.alerter.Run)
	if err != nil {
		return err
	}
	var surge func(ctx context.Context) error
	if parts.surger != nil {
		if surge, err = lead.lead(leaseSurge, parts.surger.Run); err != nil {
			return err
		}
	}
	// One instance fetches the citizens' files, so that a platform is not
	// asked for each file by every instance.
	media, err := lead.lead(leaseMedia, func(ctx context.Context) error {
		parts.media.Run(ctx) // the file in hand is left for the next start
		return nil
	})
	if err != nil {
		return err
	}
	if err := lead.register(reg); err != nil {
		return err
	}
	ln, srv, err := a.listen(routes, reg, hearing.get, lead.statuses, parts.dispatcher.LiveInstances)
	if err != nil {
		return err
	}
	ready.HTTPAddr = ln.Addr().String()

	g.start(ctx, partDispatcher, cfg.Outbox.SendTimeout.Duration+stopDispatcherMargin, parts.dispatcher.Run)
	g.start(ctx, partScheduler, stopSchedulerTimeout, func(ctx context.Context) error {
		parts.digest.Scheduler.Start(ctx)
		<-ctx.Done()
		parts.digest.Scheduler.Stop() // waits for the running job
		return nil
	})
	g.start(ctx, partAlerts, stopSchedulerTimeout, alerts)
	if surge != nil {
		g.start(ctx, partSurge, stopSchedulerTimeout, surge)
	}
	if parts.retrainer != nil {
		// The console's trainings run here, in the background.
		g.start(ctx, partRetrain, stopSchedulerTimeout, parts.retrainer.Run)
	}
	g.start(ctx, partMedia, stopSchedulerTimeout, media)
	g.start(ctx, partHearing, stopHTTPTimeout, func(ctx context.Context) error {
		return hearing.run(ctx, a.logger, platforms, hearingEvery)
	})
	g.start(ctx, partHTTP, stopHTTPTimeout, func(ctx context.Context) error {
		return serveHTTP(ctx, srv, ln, stopHTTPTimeout)
	})
	for i, b := range intake {
		g.start(ctx, b.part, stopBotTimeout, intakeRuns[i])
	}

	if cfg.Sandbox.Enabled && (cfg.TelegramToken.Set() || cfg.DiscordToken.Set()) {
		log.Warn("[sandbox] enabled = true: the platform tokens set in the environment are not used")
	}
	if len(ready.Sandbox) > 0 {
		log.Info(sandboxLine(ready.Sandbox, cfg.Sandbox.Enabled), "telegram_sandbox", ready.Sandbox["telegram"], "discord_sandbox", ready.Sandbox["discord"])
	}
	if readyFile != "" {
		if err := writeReadyFile(readyFile, ready); err != nil {
			return err
		}
	}
	source := cfg.Source
	if source == "" {
		source = "built-in defaults"
	}
	log.Info("serving", "http_addr", ready.HTTPAddr, "config", source, "store", cfg.Store.Describe(), "mode", describeMode(cfg),
		"startup", time.Since(began).Round(time.Millisecond))

	select {
	case <-ctx.Done():
		log.Info("shutting down", "reason", "signal")
		return nil
	case p := <-g.exited:
		log.Error("a part stopped on its own; shutting down", "part", p.name, "err", p.err)
		if p.err == nil {
			return fmt.Errorf("serve: %s stopped unexpectedly", p.name)
		}
		if errors.Is(p.err, citybot.ErrForbidden) && p.name == partTelegram {
			return fmt.Errorf("serve: %w (check %s)", p.err, envTelegramToken)
		}
		if errors.Is(p.err, citybot.ErrForbidden) && p.name == partDiscord {
			return fmt.Errorf("serve: %w (check %s)", p.err, envDiscordToken)
		}
		return fmt.Errorf("serve: %s: %w", p.name, p.err)
	}
}

// platformBot is a connected platform: its bot, the part that runs it,
// how it runs with a handler, and the lease it runs under when one
// instance at a time runs it ("": every instance runs it).
type platformBot struct {
	bot   bots.Bot
	part  string
	run   func(ctx context.Context, h bots.Handler) error
	lease string
}

// connect connects every enabled platform (starting its emulator as a
// part of g in sandbox mode, noted in ready) and adds the Telegram
// webhook's route to routes.
func (a *App) connect(ctx context.Context, g *group, ready *readyInfo, routes map[string]http.Handler) ([]platformBot, error) {
	var out []platformBot
	if a.cfg.Telegram.Enabled {
		tg, err := a.connectTelegram(ctx, g, ready, routes)
		if err != nil {
			return nil, err
		}
		// Telegram answers a second poller with 409 Conflict: one
		// instance polls. A webhook is served by every instance (each
		// registers the same URL; the store keeps an update once).
		lease := ""
		if a.cfg.PlatformMode("telegram") == modeLive && a.cfg.Telegram.Mode != telegram.ModeWebhook {
			lease = leaseTelegramPoll
		}
		out = append(out, platformBot{bot: tg, part: partTelegram, run: tg.Run, lease: lease})
	}
	if a.cfg.Discord.Enabled {
		dc, err := a.connectDiscord(ctx, g, ready)
		if err != nil {
			return nil, err
		}
		// One gateway connection hears everything once; a new leader
		// catches up from the channels' history what was said while the
		// connection moved. In sandbox mode the emulator is this
		// process's own: every instance listens to its own.
		lease := ""
		if a.cfg.PlatformMode("discord") == modeLive {
			lease = leaseDiscordGateway
		}
		out = append(out, platformBot{bot: dc, part: partDiscord, run: dc.Run, lease: lease})
	}
	return out, nil
}

func (a *App) connectTelegram(ctx context.Context, g *group, ready *readyInfo, routes map[string]http.Handler) (*telegram.Bot, error) {
	cfg := a.cfg
	opts := telegram.Options{
		Token:         cfg.TelegramToken.Reveal(),
		APIEndpoint:   cfg.Telegram.APIEndpoint,
		Mode:          cfg.Telegram.Mode,
		WebhookURL:    cfg.Telegram.WebhookURL,
		WebhookSecret: cfg.TelegramWebhookSecret.Reveal(),
		ListenGroups:  cfg.Telegram.ListenGroups,
		Cursors:       a.db,
		Logger:        a.logger,
		PollTimeout:   cfg.Telegram.PollTimeout.Duration,
		PerChat:       telegramRate(cfg.Telegram.RatePerChat),
		PerGroup:      telegramRate(cfg.Telegram.RatePerGroup),
		Global:        telegramRate(cfg.Telegram.RateGlobal),
	}
	if cfg.PlatformMode("telegram") == modeSandbox {
		emu, err := startTelegramSandbox(ctx, cfg, a.policy.Languages(), a.logger, g)
		if err != nil {
			return nil, err
		}
		opts.Token, opts.APIEndpoint = emu.Token(), emu.Endpoint()
		if opts.Mode == telegram.ModeWebhook {
			a.logger.Warn("telegram.mode = \"webhook\" is ignored in sandbox mode: the emulator is polled", "component", "serve")
		}
		opts.Mode, opts.WebhookURL, opts.WebhookSecret = telegram.ModePolling, "", ""
		// The emulator answers at once; a short poll keeps shutdown quick.
		opts.PollTimeout = min(opts.PollTimeout, 5*time.Second)
		ready.Sandbox["telegram"] = emu.URL() + "/sandbox"
		ready.Emulators["telegram"] = emu.URL()
	}
	opts.HandlerTimeout = botHandlerTimeout // see stopBotTimeout
	tg, err := telegram.New(ctx, opts)
	if err != nil {
		if errors.Is(err, citybot.ErrForbidden) {
			return nil, fmt.Errorf("%w (check %s)", err, envTelegramToken)
		}
		return nil, err
	}
	if opts.Mode == telegram.ModeWebhook {
		u, _ := url.Parse(cfg.Telegram.WebhookURL) // checked by Validate
		routes["POST "+u.Path] = tg.WebhookHandler()
	}
	return tg, nil
}

func (a *App) connectDiscord(ctx context.Context, g *group, ready *readyInfo) (*discord.Bot, error) {
	cfg := a.cfg
	opts := discord.Options{
		Token:   cfg.DiscordToken.Reveal(),
		APIBase: cfg.Discord.APIBase,
		GuildID: cfg.Discord.GuildID,
		// The officers' alert channels are heard too, for their Take
		// it buttons (what is written there opens no case).
		Channels:        withAlertChannels(cfg.Discord.Channels, cfg),
		Languages:       discordLanguages(a.policy.Languages(), a.locales),
		Locales:         a.locales,
		Cursors:         a.db,
		Logger:          a.logger,
		GlobalPerSecond: cfg.Discord.GlobalPerSecond,
		ChannelMessages: cfg.Discord.RatePerChannel.N,
		ChannelWindow:   cfg.Discord.RatePerChannel.Per,
	}
	if cfg.PlatformMode("discord") == modeSandbox {
		token, err := sandboxToken()
		if err != nil {
			return nil, err
		}
		emu, channel, err := startDiscordSandbox(ctx, cfg, token, a.logger, g)
		if err != nil {
			return nil, err
		}
		opts.Token, opts.APIBase, opts.GuildID = token, emu.URL(), emu.GuildID()
		opts.Channels = append(slices.Clone(opts.Channels), channel)
		ready.Sandbox["discord"] = emu.URL() + "/sandbox"
		ready.Emulators["discord"] = emu.URL()
	}
	dc, err := discord.New(ctx, opts)
	if err != nil {
		if errors.Is(err, citybot.ErrForbidden) {
			return nil, fmt.Errorf("%w (check %s)", err, envDiscordToken)
		}
		return nil, err
	}
	return dc, nil
}

// servingParts are what serve runs besides the platforms and HTTP.
type servingParts struct {
	dispatcher *responder.Dispatcher
	alerter    *accountability.Alerter
	surger     *accountability.Surger // nil with [surge] enabled = false
	media      *responder.MediaKeeper
	retrainer  *responder.Retrainer // nil with [web] enabled = false
	digest     DigestParts
	// handler is what the adapters run with: the alerter first (Take it
	// presses reach it, and what is written in the officers' alert chats
	// opens no case), then the digester (officials' Approve / Request
	// changes, citizens' Fixed / Not fixed), then the responder.
	handler bots.Handler
}

// wire builds the dispatcher over the connected platforms, the alerter,
// the pipeline, the officers' actions and the digest, and adds the web's
// routes (with [web] enabled) to routes.
func (a *App) wire(intake []platformBot, routes map[string]http.Handler, reg prometheus.Registerer) (servingParts, error) {
	cfg := a.cfg
	var platforms []bots.Bot
	for _, b := range intake {
		platforms = append(platforms, b.bot)
	}
	// Photos and voice notes citizens send are fetched through their
	// platform's adapter and kept with the case for the console.
	media, err := responder.NewMediaKeeper(responder.MediaOptions{Store: a.db, Bots: platforms, Logger: a.logger})
	if err != nil {
		return servingParts{}, fmt.Errorf("serve: %w", err)
	}
	dopts := responder.DispatcherOptions{
		Store: a.db,
		Bots:  platforms,
		// The digest's chart rows go out as images.
		Charts:       a.db,
		PublicURL:    cfg.Digest.PublicURL,
		Logger:       a.logger,
		Workers:      cfg.Outbox.Workers,
		MaxAttempts:  cfg.Outbox.MaxAttempts,
		BaseBackoff:  cfg.Outbox.BaseBackoff.Duration,
		MaxBackoff:   cfg.Outbox.MaxBackoff.Duration,
		PollInterval: cfg.Outbox.PollInterval.Duration,
		SendTimeout:  cfg.Outbox.SendTimeout.Duration,
		Registerer:   reg,
		// Rows are claimed, and the heartbeat kept, under this
		// process's name: the other instances on the database settle
		// its rows in sending only once it is dead.
		Instance:     a.instance,
		HeartbeatTTL: cfg.Outbox.InstanceHeartbeat.Duration,
	}
	if cfg.Outbox.CombineGroupAcks {
		dopts.Combine = &responder.CombineOptions{Policy: a.policy, Locales: a.locales}
	}
	disp, err := responder.NewDispatcher(dopts)
	if err != nil {
		return servingParts{}, fmt.Errorf("serve: %w", err)
	}
	alerter, err := a.newAlerter(disp.Notify)
	if err != nil {
		return servingParts{}, fmt.Errorf("serve: %w", err)
	}
	surger, err := a.newSurger(disp.Notify)
	if err != nil {
		return servingParts{}, fmt.Errorf("serve: %w", err)
	}
	resp, err := a.newResponder(disp.Notify, alerter.Kick, reg)
	if err != nil {
		return servingParts{}, fmt.Errorf("serve: %w", err)
	}
	officer, err := a.newOfficer(disp.Notify)
	if err != nil {
		return servingParts{}, fmt.Errorf("serve: %w", err)
	}
	digest, err := a.newDigest(disp.Notify)
	if err != nil {
		return servingParts{}, fmt.Errorf("serve: digest: %w", err)
	}
	var trainer *responder.Retrainer
	if cfg.Web.Enabled {
		if trainer, err = a.newRetrainer(); err != nil {
			return servingParts{}, fmt.Errorf("serve: %w", err)
		}
		if err := a.webRoutes(routes, officer, digest.Digester, trainer); err != nil {
			return servingParts{}, err
		}
		if err := addOpen311Routes(routes, cfg, a.policy, a.locales, a.db, resp, a.logger); err != nil {
			return servingParts{}, err
		}
	}
	return servingParts{dispatcher: disp, alerter: alerter, surger: surger, media: media, retrainer: trainer, digest: digest,
		handler: alerter.Wrap(digest.Digester.Wrap(resp))}, nil
}

// listen binds [http] addr, with at most [http] max_connections open at
// once, and returns the server of routes, /healthz (with the count of
// live instances) and /metrics.
func (a *App) listen(routes map[string]http.Handler, reg *prometheus.Registry, hearing func() map[string]hearingStatus, roles func() map[string]cluster.Status, instances func() int) (net.Listener, *http.Server, error) {
	cfg := a.cfg
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: http: listen on %s ([http] addr): %w", cfg.HTTP.Addr, err)
	}
	httpLog := a.logger.With("component", "http")
	maxConns := cfg.HTTP.MaxConnections
	if maxConns == 0 {
		maxConns = autoMaxConnections()
	}
	httpLog.Debug("connection limit", "max_connections", maxConns)
	ln = netutil.LimitListener(ln, maxConns)
	srv := &http.Server{
		Handler:           newOpsMuxToken(dbHealth{db: a.db, instances: instances}, cfg.PlatformModes(), hearing, roles, reg, httpLog, routes, cfg.MetricsToken),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		// Short: an idle keep-alive connection holds one of the limited
		// slots.
		IdleTimeout: 30 * time.Second,
		ErrorLog:    slog.NewLogLogger(httpLog.Handler(), slog.LevelWarn),
	}
	return ln, srv, nil
}

// webRoutes adds the officer console (at /, with the retraining page), the
// digest approval pages (/digests) and the public pages (/public/,
// /open311/v2/) to routes.
func (a *App) webRoutes(routes map[string]http.Handler, officer *casework.Officer, dg *accountability.Digester, trainer *responder.Retrainer) error {
	cfg := a.cfg
	proxies, err := cfg.Web.TrustedProxies()
	if err != nil {
		return fmt.Errorf("serve: web: trusted_proxies: %w", err)
	}
	sensRoles, sensAccounts := cfg.Web.SensitiveReaderSets()
	statements, err := a.newStatements(officer)
	if err != nil {
		return fmt.Errorf("serve: web: %w", err)
	}
	console, err := web.New(web.Options{
		Statements:        a.db,
		StatementSender:   statements,
		Policy:            a.policy,
		TrustedProxies:    proxies,
		Locales:           a.locales,
		Store:             a.db,
		Officer:           officer,
		Trainer:           trainer,
		Logger:            a.logger,
		Now:               a.now,
		InsecureCookies:   cfg.Web.InsecureCookies,
		SensitiveRoles:    sensRoles,
		SensitiveAccounts: sensAccounts,
		ServiceLevels:     cfg.SLA.Levels(cfg.Digest, dg.Location()),
		Location:          a.policy.Location(),
		Issuer:            cfg.City.Name,
	})
	if err != nil {
		return fmt.Errorf("serve: web: %w", err)
	}
	approval, err := console.ApprovalHandler(a.db, dg)
	if err != nil {
		return fmt.Errorf("serve: web: %w", err)
	}
	public, err := web.NewPublic(web.PublicOptions{
		Policy:         a.policy,
		Locales:        a.locales,
		Store:          a.db,
		Figures:        dg,
		Logger:         a.logger,
		Now:            a.now,
		Agency:         cfg.Digest.Agency,
		ApprovedBy:     cfg.Digest.ApprovedBy,
		Location:       dg.Location(),
		JurisdictionID: cfg.Open311.JurisdictionID,
	})
	if err != nil {
		return fmt.Errorf("serve: web: %w", err)
	}
	routes["/"] = console.Handler()
	routes["/digests"] = approval
	routes["/digests/"] = approval
	for pattern, h := range public.Routes() {
		routes[pattern] = h
	}
	return nil
}

// dbHealth checks the database for /healthz with a cheap query through
// the store, and counts the live instances with instances (the
// dispatcher's count, from their heartbeats) when set.
type dbHealth struct {
	db        *store.DB
	instances func() int
}

// Instances implements instanceCounter.
func (h dbHealth) Instances() int {
	if h.instances == nil {
		return 0
	}
	return h.instances()
}

// Ping reads the outbox summary: it fails when the database cannot be
// read.
func (h dbHealth) Ping(ctx context.Context) error {
	_, err := h.db.OutboxStats(ctx)
	return err
}

// serveHTTP serves srv on ln until ctx is cancelled, then shuts it down
// gracefully within timeout.
func serveHTTP(ctx context.Context, srv *http.Server, ln net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: http: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("serve: http: shutdown: %w", err)
	}
	<-errc // http.ErrServerClosed
	return nil
}

// startTelegramSandbox starts the Telegram emulator on [sandbox]
// telegram_addr with a freshly generated token, its page offering the
// city's languages, as a part of g.
func startTelegramSandbox(ctx context.Context, cfg Config, langs []string, logger *slog.Logger, g *group) (*tgemu.Server, error) {
	token, err := sandboxToken()
	if err != nil {
		return nil, err
	}
	emu := tgemu.New(tgemu.Options{Token: token, Logger: logger, Languages: langs})
	if err := emu.Start(cfg.Sandbox.TelegramAddr); err != nil {
		return nil, fmt.Errorf("serve: sandbox: start the Telegram emulator on %s ([sandbox] telegram_addr): %w", cfg.Sandbox.TelegramAddr, err)
	}
	g.start(ctx, partTelegramEm, stopEmulatorTimeout, func(ctx context.Context) error {
		<-ctx.Done()
		return emu.Close()
	})
	return emu, nil
}

// sandboxChannel is the channel the Discord sandbox creates and listens to.
const sandboxChannel = "town-square"

// startDiscordSandbox starts the Discord emulator on [sandbox]
// discord_addr, accepting token, with one public channel, as
// a part of g. It returns the emulator and the channel's id.
func startDiscordSandbox(ctx context.Context, cfg Config, token string, logger *slog.Logger, g *group) (*dcemu.Server, string, error) {
	emu, err := dcemu.Start(dcemu.Options{Token: token, Addr: cfg.Sandbox.DiscordAddr, Logger: logger})
	if err != nil {
		return nil, "", fmt.Errorf("serve: sandbox: start the Discord emulator on %s ([sandbox] discord_addr): %w", cfg.Sandbox.DiscordAddr, err)
	}
	channel := emu.AddChannel(sandboxChannel)
	g.start(ctx, partDiscordEm, stopEmulatorTimeout, func(ctx context.Context) error {
		<-ctx.Done()
		emu.Close()
		return nil
	})
	return emu, channel, nil
}

// sandboxLine is the one log line that says citybot runs in sandbox mode,
// where to play a citizen, and how to go live; forced is [sandbox]
// enabled.
func sandboxLine(pages map[string]string, forced bool) string {
	var where, golive []string
	if p, ok := pages["telegram"]; ok {
		where = append(where, "Telegram at "+p)
		golive = append(golive, envTelegramToken)
	}
	if p, ok := pages["discord"]; ok {
		where = append(where, "Discord at "+p)
		golive = append(golive, envDiscordToken)
	}
	how := "set " + strings.Join(golive, " and ")
	if forced {
		how = "set [sandbox] enabled = false and " + strings.Join(golive, " and ")
	}
	return fmt.Sprintf("citybot is in sandbox mode (local emulators, nothing leaves this machine): play a citizen on %s ; to go live, %s",
		strings.Join(where, " and on "), how)
}

// sandboxToken makes a random token shaped like a Telegram bot token.
func sandboxToken() (string, error) {
	id, err := rand.Int(rand.Reader, big.NewInt(9e9))
	if err != nil {
		return "", fmt.Errorf("serve: sandbox token: %w", err)
	}
	return fmt.Sprintf("%d:sandbox-%s", id.Int64()+1e9, rand.Text()), nil
}

// followUpInterval converts [cases] follow_up_note_every to the
// responder's FollowUpInterval, where a negative value sends no notes.
func followUpInterval(d DurationOrOff) time.Duration {
	if d.Off {
		return -1
	}
	return d.Duration
}

// telegramRate converts a configured rate to the adapter's.
func telegramRate(r Rate) telegram.Rate {
	if r.Off() {
		return telegram.Rate{N: -1}
	}
	return telegram.Rate{N: r.N, Per: r.Per}
}

// writeReadyFile writes info as JSON to path atomically (a temp file
// renamed into place), so a reader never sees half of it.
func writeReadyFile(path string, info readyInfo) error {
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("serve: ready file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ready-*")
	if err != nil {
		return fmt.Errorf("serve: ready file: %w", err)
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("serve: ready file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("serve: ready file: %w", err)
	}
	return nil
}

// servingClassifier builds the base classifier ([classifier] model, or
// the model shipped in the binary) and the live classifier serve tags
// with: the model retraining switched to (cfg.ModelFiles()) when there is
// one, else the base. A missing switched model is normal; a damaged or
// unreadable one is logged as an error and the base serves. The error
// returned is the base's (a bad [classifier] model).
func servingClassifier(cfg Config, logger *slog.Logger) (*classifier.Classifier, *responder.LiveClassifier, error) {
	base, err := classifier.New(cfg.Classifier)
	if err != nil {
		return nil, nil, fmt.Errorf("classifier: %w", err)
	}
	files := cfg.ModelFiles()
	m, err := files.Load()
	if err != nil {
		logger.Error("the model switched to by retraining cannot be read: serving the shipped model; roll back or retrain in the console, or remove the file",
			"component", "serve", "path", files.Current, "err", err)
		return base, responder.NewLiveClassifier(base), nil
	}
	if m == nil {
		return base, responder.NewLiveClassifier(base), nil
	}
	cur, err := classifier.NewWithModel(cfg.Classifier, m.WithFallback(base.Model()))
	if err != nil {
		logger.Error("the model switched to by retraining cannot be used: serving the shipped model",
			"component", "serve", "path", files.Current, "err", err)
		return base, responder.NewLiveClassifier(base), nil
	}
	logger.Info("serving the model switched to by retraining", "component", "serve", "model", m.Name(), "path", files.Current)
	return base, responder.NewLiveClassifier(cur), nil
}

// newRetrainer builds the retraining of the console and of `citybot train
// --from-store`: the officers' corrections in db plus the embedded shipped
// training data, switched models kept in cfg.ModelFiles(). With leases
// (the database's; nil: none), one training runs at a time among the
// processes sharing it, holder being this one.
func newRetrainer(cfg Config, db responder.RetrainStore, leases responder.RetrainLeases, holder string, base *classifier.Classifier, live *responder.LiveClassifier, logger *slog.Logger) (*responder.Retrainer, error) {
	return responder.NewRetrainer(responder.RetrainerOptions{
		Store:          db,
		Leases:         leases,
		Holder:         holder,
		Live:           live,
		Base:           base.Model(),
		Classifier:     cfg.Classifier,
		Shipped:        shippedTraining,
		Files:          cfg.ModelFiles(),
		MinCorrections: cfg.Retrain.MinCorrections,
		NoSearch:       !cfg.Retrain.Search,
		Logger:         logger,
	})
}

// discordLanguages are the choices of Discord's /language: the city's
// languages, each named in itself.
func discordLanguages(langs []string, locales *locale.Set) []discord.Language {
	var out []discord.Language
	for _, l := range langs {
		name := l
		if c := locales.Catalog(l); c != nil {
			name = c.Name()
		}
		out = append(out, discord.Language{Code: l, Name: name})
	}
	return out
}
