package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/locale"
	"citybot/responder"
	"citybot/scheduler"
	"citybot/store"
	"citybot/web"
)

// DigestConfig is the [digest] section of config.toml: the weekly public
// digest, its approval and where it is posted.
type DigestConfig struct {
	// Languages the digest is written in; empty means [city] languages.
	Languages []string `toml:"languages"`
	// Timezone is the city's IANA time zone ("Europe/Paris"): weeks,
	// schedules and working hours are read there. "" means UTC.
	Timezone string `toml:"timezone"`
	// PublicURL is the public page's address, linked from the digest.
	PublicURL string `toml:"public_url"`
	// Agency is Open311's agency_responsible ("City of …").
	Agency string `toml:"agency"`
	// ApprovedBy names, per language, the office the public pages say
	// approved a digest ("the Mayor's office"); the approving official's
	// account name is never shown in public. Empty: "the city".
	ApprovedBy map[string]string `toml:"approved_by"`
	// Examples is how many "you said, we did" examples (0: 3, -1: none).
	Examples int `toml:"examples"`
	// Channels receive the approved digest.
	Channels []DigestChannel `toml:"channels"`
	// Officials is the private officials' chat with Approve / Request
	// changes buttons; Approvers maps platform user ids allowed to
	// press them to console account names.
	Officials DigestChannel     `toml:"officials"`
	Approvers map[string]string `toml:"approvers"`
	// Officers is the chat that gets reminders about unanswered cases.
	Officers DigestChannel `toml:"officers"`
	// FollowupDays after resolution the citizen is asked "Is it fixed?"
	// (0 means 3); ReminderHours working hours without a first answer
	// trigger a reminder (0 means 8); WorkStart and WorkEnd bound the
	// working day (0, 0 means 9 to 17).
	FollowupDays  int `toml:"followup_days"`
	ReminderHours int `toml:"reminder_hours"`
	WorkStart     int `toml:"work_start"`
	WorkEnd       int `toml:"work_end"`
}

// DigestChannel is a chat on a platform.
type DigestChannel struct {
	Platform string `toml:"platform"` // "telegram" or "discord"
	Chat     string `toml:"chat"`     // the platform's chat or channel id
	Language string `toml:"language"` // "" posts every language
}

// ScheduleConfig is the [schedule] section: five-field cron specs (or
// descriptors such as "@daily") in the digest's time zone; "off"
// disables a job.
type ScheduleConfig struct {
	Digest    string `toml:"digest"`    // default "0 8 * * MON": draft last week's digest
	Reminders string `toml:"reminders"` // default "*/30 * * * *"
	Followups string `toml:"followups"` // default "0 10 * * *"
	Retention string `toml:"retention"` // default "30 3 * * *"
}

// DefaultIdentityDays is [retention] identity_days when the key is left
// out: a citizen's name, handle and platform id are erased 180 days after
// their last message once none of their cases is open or changed since.
const DefaultIdentityDays = 180

// RetentionConfig is the [retention] section: days after which each kind
// of citizen data is removed or anonymised (0 keeps it).
type RetentionConfig struct {
	MessageDays    int `toml:"message_days"`
	IdentityDays   int `toml:"identity_days"`
	AttachmentDays int `toml:"attachment_days"`
	OutboxDays     int `toml:"outbox_days"`
}

// DefaultSchedule returns the schedules used for empty keys.
func DefaultSchedule() ScheduleConfig {
	return ScheduleConfig{Digest: "0 8 * * MON", Reminders: "*/30 * * * *", Followups: "0 10 * * *", Retention: "30 3 * * *"}
}

// Location returns the digest's own time zone, or an error naming the
// key; c.Timezone must be set.
func (c DigestConfig) Location() (*time.Location, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("digest.timezone: %q: %w", c.Timezone, citybot.ErrInvalid)
	}
	return loc, nil
}

func (ch DigestChannel) channel(key string) (accountability.Channel, error) {
	if ch == (DigestChannel{}) {
		return accountability.Channel{}, nil
	}
	p := citybot.Platform(ch.Platform)
	if !p.Valid() || strings.TrimSpace(ch.Chat) == "" {
		return accountability.Channel{}, fmt.Errorf("%s: %w: needs platform (telegram or discord) and chat", key, citybot.ErrInvalid)
	}
	return accountability.Channel{Platform: p, Chat: citybot.ChatID(ch.Chat), Language: ch.Language}, nil
}

// DigestOptions turns the sections into the Digester's options (without
// Policy, Store, Logger, Now, Classifier and Notify, which the caller
// sets). Empty digest.languages and digest.timezone leave the policy's
// ([city] languages and timezone). It returns every problem at once, each
// naming its key.
func DigestOptions(d DigestConfig, r RetentionConfig) (accountability.DigestOptions, error) {
	var errs []error
	opts := accountability.DigestOptions{
		Languages: d.Languages, PublicURL: d.PublicURL, Examples: d.Examples,
		ReminderHours: d.ReminderHours, WorkStart: d.WorkStart, WorkEnd: d.WorkEnd,
		Retention: citybot.RetentionPolicy{MessageDays: r.MessageDays, IdentityDays: r.IdentityDays,
			AttachmentDays: r.AttachmentDays, OutboxDays: r.OutboxDays},
	}
	if d.Timezone != "" {
		loc, err := d.Location()
		errs = append(errs, err)
		opts.Location = loc
	}
	var err error
	if d.FollowupDays < 0 || d.ReminderHours < 0 {
		errs = append(errs, fmt.Errorf("digest.followup_days and digest.reminder_hours: %w: must not be negative", citybot.ErrInvalid))
	}
	opts.FollowupAfter = time.Duration(d.FollowupDays) * 24 * time.Hour
	for i, ch := range d.Channels {
		c, err := ch.channel(fmt.Sprintf("digest.channels[%d]", i))
		errs = append(errs, err)
		if c != (accountability.Channel{}) {
			opts.Channels = append(opts.Channels, c)
		}
	}
	if opts.Officials, err = d.Officials.channel("digest.officials"); err != nil {
		errs = append(errs, err)
	}
	if opts.Officers, err = d.Officers.channel("digest.officers"); err != nil {
		errs = append(errs, err)
	}
	if len(d.Approvers) > 0 {
		opts.Approvers = map[citybot.UserID]string{}
		for id, name := range d.Approvers {
			opts.Approvers[citybot.UserID(id)] = name
		}
	}
	for _, v := range []int{r.MessageDays, r.IdentityDays, r.AttachmentDays, r.OutboxDays} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("retention: %w: days must not be negative", citybot.ErrInvalid))
			break
		}
	}
	return opts, errors.Join(errs...)
}

// DigestJobs returns the scheduler's jobs for a Digester: digest (draft
// last week's digest), reminders, followups and retention, each on its
// schedule (empty keys take DefaultSchedule, "off" leaves a job out).
func DigestJobs(d *accountability.Digester, s ScheduleConfig) []scheduler.Job {
	def := DefaultSchedule()
	pick := func(v, fallback string) string {
		if strings.TrimSpace(v) == "" {
			return fallback
		}
		return v
	}
	all := []scheduler.Job{
		{Name: "digest", Spec: pick(s.Digest, def.Digest), Run: d.DraftLastWeek},
		{Name: "reminders", Spec: pick(s.Reminders, def.Reminders), Run: func(ctx context.Context) error {
			// Unanswered cases, then promised dates passed.
			_, err := d.Remind(ctx)
			_, perr := d.RemindPromises(ctx)
			return errors.Join(err, perr)
		}},
		{Name: "followups", Spec: pick(s.Followups, def.Followups), Run: func(ctx context.Context) error { _, err := d.AskFixed(ctx); return err }},
		{Name: "retention", Spec: pick(s.Retention, def.Retention), Run: d.Retain, Timeout: time.Hour},
	}
	var out []scheduler.Job
	for _, j := range all {
		if j.Spec != "off" {
			out = append(out, j)
		}
	}
	return out
}

// NewDigestScheduler builds the scheduler of the digest's jobs, in the
// digest's time zone, recording last runs in state (the store's cursors)
// so that a run missed while citybot was stopped happens at start.
// When state also holds job leases (store.DB does), each job runs in one
// citybot process at a time among those sharing the database, and each
// firing once; holder names this process in the leases ("" makes a
// name). Start it with Start(ctx) and stop it with Stop() (which
// waits for the running job) before the dispatcher and the store.
func NewDigestScheduler(d *accountability.Digester, s ScheduleConfig, state scheduler.State, holder string, log *slog.Logger, now func() time.Time) (*scheduler.Scheduler, error) {
	opts := scheduler.Options{Location: d.Location(), Logger: log, Now: now, State: state, Holder: holder}
	if l, ok := state.(scheduler.Leases); ok {
		opts.Leases = l
	}
	return scheduler.New(opts, DigestJobs(d, s)...)
}

// digestUsage is the help of "citybot digest".
const digestUsage = `Usage:
  citybot [--config PATH] digest draft   [--week 2026-W47 | --so-far]
  citybot [--config PATH] digest preview [--db PATH] [--week 2026-W47] [--lang LIST]
  citybot [--config PATH] digest chart   [--db PATH] [--week 2026-W47] --out FILE.png
  citybot [--config PATH] digest export  [--db PATH] [--from DATE] [--to DATE] > cases.csv

Every subcommand builds the digest as serve does, from the configuration:
the city's languages, time zone and sensitive topics, the database of
[store] path (--db PATH reads another).

draft drafts a week's digest now, as the schedule would (by default last
week; --so-far: the week so far), stores it as a new version for the
officials to approve, and announces it in the officials' chat when serve
next runs its outbox. A pending draft of that week is replaced; an
approved week is never redrafted.

preview prints the digest of a week (by default last week) in every
digest language (--lang: only those listed), exactly as it would be
posted, without storing or posting it. chart writes its PNG chart.
export writes the cases as CSV (no text, no identity; sensitive cases,
by their flag or the city's sensitive topics, left out, as on the public
pages; by default the last 90 days; dates in the city's time zone).
`

// runDigest runs "citybot digest preview|chart|export ARGS" on the
// application of the configuration (see App); --db PATH replaces [store]
// path. It returns an error wrapping citybot.ErrInvalid for bad
// arguments.
func runDigest(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stdout, digestUsage)
		if len(args) == 0 {
			return fmt.Errorf("digest: %w: missing subcommand (draft, preview, chart, export)", citybot.ErrInvalid)
		}
		return nil
	}
	sub := args[0]
	if sub != "preview" && sub != "chart" && sub != "export" {
		return fmt.Errorf("digest: %w: unknown subcommand %q (draft, preview, chart, export)", citybot.ErrInvalid, sub)
	}
	fs := flag.NewFlagSet("citybot digest "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dbPath := fs.String("db", "", "database file (default [store] path)")
	week := fs.String("week", "", "ISO week, e.g. 2026-W47 (default: last week)")
	langs := fs.String("lang", "", "languages to print, comma separated (default: every digest language)")
	out := fs.String("out", "", "PNG file to write (chart)")
	from := fs.String("from", "", "first day, 2006-01-02 (export)")
	to := fs.String("to", "", "day after the last, 2006-01-02 (export)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, digestUsage)
			return nil
		}
		return fmt.Errorf("digest %s: %w: %v", sub, citybot.ErrInvalid, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("digest %s: %w: unexpected argument %q", sub, citybot.ErrInvalid, fs.Arg(0))
	}
	if sub == "chart" && *out == "" {
		return fmt.Errorf("digest chart: %w: --out FILE.png is required", citybot.ErrInvalid)
	}
	cfg, err := LoadConfig(e.configPath, e.getenv)
	if err != nil {
		return err
	}
	// Only warnings: the command's output is the digest or the CSV.
	logger := newLogger(LogConfig{Level: "warn", Format: cfg.Log.Format}, e.stderr)
	app, err := openApp(ctx, cfg, logger, appOptions{dbPath: *dbPath, existing: true})
	if err != nil {
		return fmt.Errorf("digest %s: %w", sub, err)
	}
	defer app.Close()
	parts, err := app.newDigest(nil)
	if err != nil {
		return fmt.Errorf("digest %s: %w", sub, err)
	}
	dg := parts.Digester
	if sub == "export" {
		return exportCases(ctx, app, dg.Location(), *from, *to, e.stdout)
	}
	at := dg.LastWeek()
	if *week != "" {
		if at, err = weekStart(*week, dg.Location()); err != nil {
			return fmt.Errorf("digest %s: %w", sub, err)
		}
	}
	show := dg.Languages()
	if *langs != "" {
		show = strings.Split(*langs, ",")
		for _, l := range show {
			if !slices.Contains(dg.Languages(), l) {
				return fmt.Errorf("digest %s: %w: --lang %q is not a digest language (%s)", sub, citybot.ErrInvalid, l, strings.Join(dg.Languages(), ", "))
			}
		}
	}
	d, err := dg.Compute(ctx, at, "")
	if err != nil {
		return fmt.Errorf("digest %s: %w", sub, err)
	}
	if sub == "chart" {
		if err := os.WriteFile(*out, d.Chart, 0o644); err != nil {
			return fmt.Errorf("digest chart: %w", err)
		}
		fmt.Fprintf(e.stderr, "chart of %s written to %s (%d bytes)\n", d.Week, *out, len(d.Chart))
		return nil
	}
	for i, l := range show {
		if i > 0 {
			fmt.Fprintln(e.stdout, "\n-----")
		}
		fmt.Fprintf(e.stdout, "[%s]\n%s\n", l, d.Texts[l])
	}
	return nil
}

// exportCases writes the cases opened from the day from to the day
// before to (2006-01-02 in loc; by default the last 90 days) as the
// public CSV. Sensitive cases are left out by the store, by their flag,
// which openApp set on the cases of the city's sensitive topics.
func exportCases(ctx context.Context, app *App, loc *time.Location, from, to string, w io.Writer) error {
	q := citybot.PublicCaseQuery{Limit: 1_000_000}
	for _, p := range []struct {
		v   string
		dst *time.Time
	}{{from, &q.After}, {to, &q.Before}} {
		if p.v == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", p.v, loc)
		if err != nil {
			return fmt.Errorf("digest export: %w: dates are 2006-01-02", citybot.ErrInvalid)
		}
		*p.dst = t
	}
	if q.After.IsZero() && q.Before.IsZero() {
		q.After = time.Now().Add(-90 * 24 * time.Hour)
	}
	cases, err := app.db.PublicCases(ctx, q)
	if err != nil {
		return fmt.Errorf("digest export: %w", err)
	}
	return web.WriteCasesCSV(w, cases, loc)
}

// weekStart returns the Monday 00:00 of an ISO week ("2026-W47") in loc.
func weekStart(w string, loc *time.Location) (time.Time, error) {
	var year, n int
	if _, err := fmt.Sscanf(w, "%d-W%d", &year, &n); err != nil || n < 1 || n > 53 {
		return time.Time{}, fmt.Errorf("%w: week %q (want 2026-W47)", citybot.ErrInvalid, w)
	}
	// 4 January is always in week 1.
	jan4 := time.Date(year, 1, 4, 12, 0, 0, 0, loc)
	mon := jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+(n-1)*7)
	t := time.Date(mon.Year(), mon.Month(), mon.Day(), 0, 0, 0, 0, loc)
	if got, _, _ := citybot.WeekOf(t, loc); string(got) != fmt.Sprintf("%04d-W%02d", year, n) {
		return time.Time{}, fmt.Errorf("%w: week %q does not exist", citybot.ErrInvalid, w)
	}
	return t, nil
}

// Validate reports every schedule that does not parse, naming its key.
func (s ScheduleConfig) Validate() error {
	def := DefaultSchedule()
	var errs []error
	for _, k := range []struct{ key, v, def string }{
		{"schedule.digest", s.Digest, def.Digest}, {"schedule.reminders", s.Reminders, def.Reminders},
		{"schedule.followups", s.Followups, def.Followups}, {"schedule.retention", s.Retention, def.Retention},
	} {
		v := k.v
		if strings.TrimSpace(v) == "" {
			v = k.def
		}
		if v == "off" {
			continue
		}
		if _, err := scheduler.New(scheduler.Options{}, scheduler.Job{Name: k.key, Spec: v, Run: func(context.Context) error { return nil }}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k.key, err))
		}
	}
	return errors.Join(errs...)
}

// DigestParts are the digest's running parts.
type DigestParts struct {
	// Digester's Wrap(handler) is the handler the adapters run with, so
	// that Approve / Request changes and Fixed / Not fixed reach it.
	Digester *accountability.Digester
	// Scheduler runs the jobs: Start(ctx) after the dispatcher, Stop()
	// before it.
	Scheduler *scheduler.Scheduler
}

// NewDigestParts builds the Digester and its Scheduler from the
// configuration for the city's policy; locales are the language files
// (nil: the shipped ones); cls finds personal data in officers' answers;
// notify is the Dispatcher's Notify; now nil means time.Now. Sensitive
// cases are kept out of the digest's examples, places and follow-ups by
// their flag (the store's), whatever their topic. Errors name the
// configuration keys.
func NewDigestParts(db *store.DB, d DigestConfig, s ScheduleConfig, r RetentionConfig, policy *citybot.Policy,
	locales *locale.Set, cls responder.Classifier, notify func(), log *slog.Logger, sla *SLAConfig, holder string, now func() time.Time) (DigestParts, error) {
	opts, err := DigestOptions(d, r)
	if err != nil {
		return DigestParts{}, err
	}
	if sla != nil {
		start, end := opts.WorkStart, opts.WorkEnd
		if start == 0 && end == 0 {
			start, end = 9, 17
		}
		opts.Targets = sla.Targets(end - start)
	}
	opts.Policy, opts.Store, opts.Classifier, opts.Notify, opts.Logger, opts.Locales, opts.Now = policy, db, cls, notify, log, locales, now
	dg, err := accountability.NewDigester(opts)
	if err != nil {
		return DigestParts{}, err
	}
	sched, err := NewDigestScheduler(dg, s, db, holder, log, now)
	if err != nil {
		return DigestParts{}, err
	}
	return DigestParts{Digester: dg, Scheduler: sched}, nil
}

// runDigestDraft runs "citybot digest draft": it drafts a week on demand
// with the configured Digester and prints where to read the draft.
func runDigestDraft(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("citybot digest draft", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	week := fs.String("week", "", "ISO week, e.g. 2026-W47 (default: last week)")
	soFar := fs.Bool("so-far", false, "draft the week so far")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, digestUsage)
			return nil
		}
		return fmt.Errorf("digest draft: %w: %v", citybot.ErrInvalid, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("digest draft: %w: unexpected argument %q", citybot.ErrInvalid, fs.Arg(0))
	}
	if *week != "" && *soFar {
		return fmt.Errorf("digest draft: %w: --week and --so-far do not go together", citybot.ErrInvalid)
	}
	cfg, err := LoadConfig(e.configPath, e.getenv)
	if err != nil {
		return err
	}
	app, err := openApp(ctx, cfg, newLogger(cfg.Log, e.stderr), appOptions{existing: true})
	if err != nil {
		return fmt.Errorf("digest draft: %w", err)
	}
	defer app.Close()
	parts, err := app.newDigest(nil)
	if err != nil {
		return fmt.Errorf("digest draft: %w", err)
	}
	dg := parts.Digester
	at := dg.LastWeek()
	switch {
	case *soFar:
		at = dg.Now()
	case *week != "":
		if at, err = weekStart(*week, dg.Location()); err != nil {
			return fmt.Errorf("digest draft: %w", err)
		}
	}
	d, err := dg.Redraft(ctx, at, "cli", "")
	if errors.Is(err, citybot.ErrDuplicate) {
		return fmt.Errorf("digest draft: week %s is approved already; it is not redrafted", weekOfIn(at, dg.Location()))
	}
	if err != nil {
		return fmt.Errorf("digest draft: %w", err)
	}
	fmt.Fprintf(e.stdout, "Drafted %s, version %d (digest %d): read and approve it at /digests/%d in the console.\n",
		d.Week, d.Revision, d.ID, d.ID)
	return nil
}

func weekOfIn(t time.Time, loc *time.Location) citybot.Week {
	w, _, _ := citybot.WeekOf(t, loc)
	return w
}
