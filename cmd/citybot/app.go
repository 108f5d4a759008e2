package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"citybot"
	"citybot/accountability"
	"citybot/bots/discord"
	"citybot/bots/telegram"
	"citybot/casework"
	"citybot/classifier"
	"citybot/grouping"
	"citybot/locale"
	"citybot/responder"
	"citybot/scheduler"
	"citybot/store"
)

// App is citybot's application, in the spirit of WTF Dial's Main: openApp
// builds, once and from the configuration, the city's Policy, the
// language files, the classifier and the database (migrated, with the
// cases of the city's sensitive topics flagged); its methods build every
// other part from them. serve, the digest commands and train --from-store
// all use it, so that no command can wire a part differently from serve.
// Close closes the database.
type App struct {
	cfg     Config
	logger  *slog.Logger
	now     func() time.Time // nil means time.Now
	policy  *citybot.Policy
	locales *locale.Set
	base    *classifier.Classifier    // [classifier] model, or the shipped one
	live    *responder.LiveClassifier // what serve tags with (a switched model, else base)
	db      *store.DB
	// instance names this process among the citybot processes that
	// share the database (host, process id and a random part): the
	// holder of its leases.
	instance string
}

// appOptions adjust openApp for a command.
type appOptions struct {
	// dbPath replaces [store] path (the digest commands' --db).
	dbPath string
	// existing refuses to create a database: the file must exist
	// (commands that only read one).
	existing bool
	// now is the clock of the store and the parts; nil means time.Now
	// (tests set one).
	now func() time.Time
}

// openApp opens citybot's application for cfg. It returns an error naming
// the configuration key or file at fault; the caller closes the App.
func openApp(ctx context.Context, cfg Config, logger *slog.Logger, o appOptions) (*App, error) {
	if o.dbPath != "" {
		cfg.Store.Path = o.dbPath
	}
	a := &App{cfg: cfg, logger: logger, now: o.now, instance: scheduler.NewHolder()}
	var err error
	if a.locales, err = cfg.City.Locales(); err != nil {
		return nil, err
	}
	if a.base, a.live, err = servingClassifier(cfg, logger); err != nil {
		return nil, err
	}
	if a.policy, err = cityPolicy(cfg, a.base.Topics()); err != nil {
		return nil, err
	}
	if o.existing && cfg.Store.Driver != driverPostgres {
		if _, err := os.Stat(cfg.Store.Path); err != nil {
			return nil, fmt.Errorf("database %s ([store] path): %w", cfg.Store.Path, err)
		}
	}
	a.db, err = openStore(ctx, cfg, store.Options{Logger: logger, Gazetteer: cfg.Gazetteer(), Now: o.now})
	if err != nil {
		return nil, err
	}
	// Cases on a sensitive topic of the city from before the flag existed
	// (or before the topic was configured) become sensitive, whichever
	// command opens the database first: the console, the public pages and
	// every export then hide the same cases.
	n, err := a.db.FlagSensitiveTopics(ctx, a.policy.SensitiveTopics())
	if err != nil {
		return nil, errors.Join(err, a.db.Close())
	}
	if n > 0 {
		logger.Info("cases flagged sensitive by their topic", "component", "serve", "cases", n)
	}
	return a, nil
}

// Close closes the database.
func (a *App) Close() error { return a.db.Close() }

// cityPolicy builds the city's Policy from cfg: [city] name, languages,
// default language, time zone and emergency number, the classifier's
// topics, [web] sensitive_topics and the platforms' text limits (what
// their Bot.Limits report). Only cmd/citybot builds a Policy
// (imports_test.go holds this).
func cityPolicy(cfg Config, topics []string) (*citybot.Policy, error) {
	loc, err := time.LoadLocation(cfg.City.Timezone)
	if err != nil {
		return nil, fmt.Errorf("city.timezone: %q: %w", cfg.City.Timezone, citybot.ErrInvalid)
	}
	sensitive := cfg.Web.SensitiveTopics
	if slices.Equal(sensitive, DefaultConfig().Web.SensitiveTopics) {
		// The default list need not be among a city's own topics
		// (Validate checks only a configured list).
		sensitive = slices.DeleteFunc(slices.Clone(sensitive), func(t string) bool { return !slices.Contains(topics, t) })
	}
	p, err := citybot.NewPolicy(citybot.PolicyConfig{
		City:            cfg.City.Name,
		Languages:       cfg.City.Languages,
		DefaultLanguage: cfg.City.DefaultLanguage,
		Location:        loc,
		Topics:          topics,
		SensitiveTopics: sensitive,
		EmergencyNumber: cfg.City.EmergencyNumber,
		MaxText: map[citybot.Platform]int{
			citybot.Telegram: telegram.Limits().MaxText,
			citybot.Discord:  discord.Limits().MaxText,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("[city]: %w", err)
	}
	return p, nil
}

// newResponder builds the inbound pipeline: notify wakes the dispatcher,
// critical the alerter; reg receives its metrics (nil: none).
func (a *App) newResponder(notify, critical func(), reg prometheus.Registerer) (*responder.Responder, error) {
	expect, err := newExpectations(a.cfg, a.db, a.locales, a.logger)
	if err != nil {
		return nil, err
	}
	readerRoles, readerNames := a.cfg.Web.SensitiveReaderSets()
	var grouper *grouping.Grouper
	if a.cfg.Grouping.Enabled {
		if grouper, err = grouping.New(a.cfg.groupingOptions(a.policy.SensitiveTopics())); err != nil {
			return nil, fmt.Errorf("[grouping]: %w", err)
		}
	}
	return responder.New(responder.Options{
		Grouping:             grouper,
		GroupingSource:       a.db,
		Expect:               expect,
		SensitiveReaderRoles: readerRoles,
		SensitiveReaderNames: len(readerNames),
		Policy:               a.policy,
		Locales:              a.locales,
		Store:                a.db,
		Classifier:           a.live,
		Logger:               a.logger,
		Now:                  a.now,
		CaseWindow:           a.cfg.Cases.Window.Duration,
		FollowUpInterval:     followUpInterval(a.cfg.Cases.FollowUpNoteEvery),
		Notify:               notify,
		Critical:             critical,
		Registerer:           reg,
	})
}

// newOfficer builds the officers' actions on cases; notify wakes the
// dispatcher.
func (a *App) newOfficer(notify func()) (*casework.Officer, error) {
	return casework.NewOfficer(casework.OfficerOptions{
		Policy:  a.policy,
		Locales: a.locales,
		Store:   a.db,
		Logger:  a.logger,
		Notify:  notify,
	})
}

// newAlerter builds the alerts of [alerts]; notify wakes the dispatcher.
func (a *App) newAlerter(notify func()) (*accountability.Alerter, error) {
	return newAlerter(a.cfg, a.policy, a.db, notify, a.logger, a.now)
}

// newSurger builds the surge warning of [surge] (nil when disabled);
// notify wakes the dispatcher.
func (a *App) newSurger(notify func()) (*accountability.Surger, error) {
	return newSurger(a.cfg, a.policy, a.db, notify, a.logger, a.now)
}

// newStatements builds the sending of holding statements over officer,
// to the followers and the public channels of [[digest.channels]].
func (a *App) newStatements(officer *casework.Officer) (*casework.Statements, error) {
	return casework.NewStatements(casework.StatementOptions{Officer: officer, Store: a.db, Channels: publicChannels(a.cfg), Locales: a.locales})
}

// newDigest builds the digest's Digester and Scheduler; notify wakes the
// dispatcher (nil when no dispatcher runs: rows wait for serve).
func (a *App) newDigest(notify func()) (DigestParts, error) {
	return NewDigestParts(a.db, a.cfg.Digest, a.cfg.Schedule, a.cfg.Retention, a.policy, a.locales,
		a.live, notify, a.logger, &a.cfg.SLA, a.instance, a.now)
}

// newRetrainer builds the retraining of the console and of `citybot
// train --from-store`, one at a time among the processes sharing the
// database (the store's lease "retrain", held as a.instance).
func (a *App) newRetrainer() (*responder.Retrainer, error) {
	return newRetrainer(a.cfg, a.db, a.db, a.instance, a.base, a.live, a.logger)
}
