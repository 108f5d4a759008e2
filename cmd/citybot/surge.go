package main

import (
	"fmt"
	"log/slog"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/casework"
)

// SurgeConfig is the [surge] section: officers' chats ([alerts]) are
// warned once when a topic's reports of the last hour, at a place or in
// the whole city, rise well above the usual count for that hour of the
// week.
type SurgeConfig struct {
	// Enabled runs the surge warning.
	Enabled bool `toml:"enabled"`
	// Factor: a surge is at least Factor times the usual count.
	Factor float64 `toml:"factor"`
	// MinReports: and at least this many reports in the hour.
	MinReports int `toml:"min_reports"`
	// Floor is the least usual count per hour, for a new city or a
	// quiet hour.
	Floor float64 `toml:"floor"`
	// Weeks of history the usual count is the mean of (only weeks since
	// the first case count).
	Weeks int `toml:"weeks"`
	// Quiet: after an alert, the topic's surging places alert nothing
	// more for this long.
	Quiet Duration `toml:"quiet"`
	// CheckEvery is how often the reports are counted.
	CheckEvery Duration `toml:"check_every"`
}

// DefaultSurge is [surge] when the file leaves it out.
func DefaultSurge() SurgeConfig {
	return SurgeConfig{Enabled: true, Factor: 3, MinReports: 5, Floor: 1, Weeks: 8,
		Quiet: Duration{3 * time.Hour}, CheckEvery: Duration{time.Minute}}
}

// validate returns every problem of [surge], each naming its key.
func (s SurgeConfig) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("surge.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if s.Factor < 1 || s.Factor > 100 {
		bad("factor", "%g: between 1 and 100", s.Factor)
	}
	if s.MinReports < 2 || s.MinReports > 10000 {
		bad("min_reports", "%d: between 2 and 10000", s.MinReports)
	}
	if s.Floor <= 0 || s.Floor > 10000 {
		bad("floor", "%g: more than 0, at most 10000", s.Floor)
	}
	if s.Weeks < 1 || s.Weeks > 52 {
		bad("weeks", "%d: between 1 and 52", s.Weeks)
	}
	if s.Quiet.Duration < 10*time.Minute || s.Quiet.Duration > 7*24*time.Hour {
		bad("quiet", "%s: between 10m and 168h", s.Quiet.Duration)
	}
	if s.CheckEvery.Duration < time.Second || s.CheckEvery.Duration > time.Hour {
		bad("check_every", "%s: between 1s and 1h", s.CheckEvery.Duration)
	}
	return errs
}

// newSurger builds the surge warning of cfg's [surge] and [alerts] for
// the city's policy on db, waking the dispatcher with notify; nil when
// [surge] enabled = false.
func newSurger(cfg Config, policy *citybot.Policy, db accountability.SurgeStore, notify func(), logger *slog.Logger, now func() time.Time) (*accountability.Surger, error) {
	if !cfg.Surge.Enabled {
		return nil, nil
	}
	alerts, err := cfg.AlertOptions()
	if err != nil {
		return nil, err
	}
	if alerts.Locales, err = cfg.City.Locales(); err != nil {
		return nil, err
	}
	s := cfg.Surge
	return accountability.NewSurger(accountability.SurgeOptions{
		Store: db, Logger: logger, Now: now, Policy: policy, Alerts: alerts, Notify: notify,
		Rule:  accountability.SurgeRule{Factor: s.Factor, MinCount: s.MinReports, Floor: s.Floor, Weeks: s.Weeks},
		Quiet: s.Quiet.Duration, Tick: s.CheckEvery.Duration,
	})
}

// publicChannels are the digest's channels ([[digest.channels]]), where
// a holding statement goes when an officer chooses "public".
func publicChannels(cfg Config) []casework.PublicChannel {
	opts, _ := DigestOptions(cfg.Digest, cfg.Retention) // checked by Validate
	var out []casework.PublicChannel
	for _, c := range opts.Channels {
		out = append(out, casework.PublicChannel{Platform: c.Platform, Chat: c.Chat, Language: c.Language})
	}
	return out
}
