package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/locale"
	"citybot/responder"
	"citybot/store"
)

// SLAConfig is the [sla] section: the first-answer target per urgency.
// Critical and high run on the wall clock; normal and low on working
// hours only ([digest] work_start to work_end, Monday to Friday), where
// a day ("2d") is one working day. Officers are reminded of a case past
// its target, then again at twice, four times… the target.
type SLAConfig struct {
	Critical SLADuration `toml:"critical"`
	High     SLADuration `toml:"high"`
	Normal   SLADuration `toml:"normal"`
	Low      SLADuration `toml:"low"`
}

// SLADuration is a target written "Nd" (days) or as a Go duration
// ("30m", "4h").
type SLADuration struct {
	Days int
	Rest time.Duration
}

// UnmarshalText parses "Nd" or a Go duration.
func (d *SLADuration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if v, err := strconv.Atoi(n); err == nil && v > 0 {
			*d = SLADuration{Days: v}
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("invalid target %q (want e.g. \"30m\", \"4h\", \"2d\")", s)
	}
	*d = SLADuration{Rest: v}
	return nil
}

// MarshalText writes "Nd" or the duration.
func (d SLADuration) MarshalText() ([]byte, error) {
	if d.Days > 0 && d.Rest == 0 {
		return []byte(strconv.Itoa(d.Days) + "d"), nil
	}
	return []byte((time.Duration(d.Days)*24*time.Hour + d.Rest).String()), nil
}

func (d SLADuration) String() string { b, _ := d.MarshalText(); return string(b) }

// DefaultSLA returns the default targets.
func DefaultSLA() SLAConfig {
	return SLAConfig{Critical: SLADuration{Rest: 30 * time.Minute}, High: SLADuration{Rest: 4 * time.Hour},
		Normal: SLADuration{Days: 2}, Low: SLADuration{Days: 5}}
}

// Targets returns the Digester's targets: a day is 24 hours for critical
// and high, a working day of workHours for normal and low.
func (c SLAConfig) Targets(workHours int) map[citybot.Urgency]time.Duration {
	day := func(d SLADuration, length time.Duration) time.Duration { return time.Duration(d.Days)*length + d.Rest }
	work := time.Duration(workHours) * time.Hour
	return map[citybot.Urgency]time.Duration{
		citybot.UrgencyCritical: day(c.Critical, 24*time.Hour),
		citybot.UrgencyHigh:     day(c.High, 24*time.Hour),
		citybot.UrgencyNormal:   day(c.Normal, work),
		citybot.UrgencyLow:      day(c.Low, work),
	}
}

// Levels returns the service levels the console shows and sorts by: the
// targets, with the working hours of d ([digest] work_start and work_end,
// 9 to 17 when both are unset) in loc, the digest's time zone.
func (c SLAConfig) Levels(d DigestConfig, loc *time.Location) citybot.ServiceLevels {
	start, end := d.WorkStart, d.WorkEnd
	if start == 0 && end == 0 {
		start, end = 9, 17
	}
	return citybot.ServiceLevels{Targets: c.Targets(end - start), Location: loc, WorkStart: start, WorkEnd: end}
}

// newExpectations builds what acknowledgements and /status say about
// when the city usually answers: its own history of first answers, or
// the [sla] targets (with the digest's working hours and time zone)
// while that history is thin.
func newExpectations(cfg Config, db *store.DB, locales *locale.Set, log *slog.Logger) (*responder.Expectations, error) {
	d := cfg.Digest
	if d.Timezone == "" {
		d.Timezone = cfg.City.Timezone
	}
	loc, err := d.Location()
	if err != nil {
		return nil, err
	}
	return responder.NewExpectations(responder.ExpectOptions{Store: db, Levels: cfg.SLA.Levels(cfg.Digest, loc), Locales: locales, Logger: log})
}
