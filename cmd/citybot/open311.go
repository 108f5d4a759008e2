package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"text/tabwriter"
	"unicode"

	"citybot"
	"citybot/locale"
	"citybot/store"
	"citybot/web"
)

// Open311Config is [open311]: the Open311 GeoReport v2 API. The read side
// (GET services, requests) is always served with the public pages; POST
// requests needs an API key, one per client app, that an admin gives
// (console /admin/open311 or "citybot open311 key add NAME").
type Open311Config struct {
	// JurisdictionID is the city's jurisdiction_id: a request naming
	// another one is answered 404. "" means the city has none, and any
	// named one is unknown.
	JurisdictionID string `toml:"jurisdiction_id"`
	// PerMinute is how many reports one key may post per minute on
	// average; Burst how many in a row. Over it, 429.
	PerMinute float64 `toml:"per_minute"`
	Burst     int     `toml:"burst"`
}

// DefaultOpen311 is [open311] when the file says nothing.
func DefaultOpen311() Open311Config { return Open311Config{PerMinute: 10, Burst: 20} }

// validate names every problem of [open311].
func (c Open311Config) validate() []error {
	var errs []error
	if len(c.JurisdictionID) > 100 || strings.IndexFunc(c.JurisdictionID, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		errs = append(errs, fmt.Errorf("open311.jurisdiction_id: %q: at most 100 visible characters, no spaces", c.JurisdictionID))
	}
	if !(c.PerMinute > 0 && c.PerMinute <= 6000) {
		errs = append(errs, fmt.Errorf("open311.per_minute: %v: between 0 (excluded) and 6000 reports a minute per key", c.PerMinute))
	}
	if c.Burst < 1 || c.Burst > 1000 {
		errs = append(errs, fmt.Errorf("open311.burst: %d: from 1 to 1000", c.Burst))
	}
	return errs
}

// addOpen311Routes adds POST /open311/v2/requests.{json,xml} to routes:
// reports from other apps, with their key, become cases through sub.
func addOpen311Routes(routes map[string]http.Handler, cfg Config, policy *citybot.Policy, locales *locale.Set, db *store.DB,
	sub citybot.ReportSubmitter, logger *slog.Logger) error {
	in, err := web.NewOpen311Intake(web.Open311IntakeOptions{
		Policy: policy, Submitter: sub, Keys: db, Logger: logger, JurisdictionID: cfg.Open311.JurisdictionID,
		PerMinute: cfg.Open311.PerMinute, Burst: cfg.Open311.Burst, Locales: locales,
	})
	if err != nil {
		return fmt.Errorf("serve: open311: %w", err)
	}
	for pattern, h := range in.Routes() {
		routes[pattern] = h
	}
	return nil
}

// open311Usage is the help of "citybot open311".
const open311Usage = `Usage:
  citybot [--config PATH] open311 key add [--db PATH] NAME
  citybot [--config PATH] open311 key list [--db PATH]
  citybot [--config PATH] open311 key revoke [--db PATH] NAME

Gives other apps and websites of the city the API keys they need to send
reports through the Open311 GeoReport v2 API (POST
/open311/v2/requests.json or .xml). NAME names the app (1 to 64 letters,
digits, spaces, dots, dashes or underscores); an app has one working key.

  add     makes a key and prints it once: give it to the app's team by a
          safe channel. Only a hash is stored; it cannot be shown again.
  list    lists the apps, when their keys were made and whether they work.
  revoke  stops the app's key at once (add gives it a new one).

Every change is in the audit log, done by "cli". Admins can do the same
on the console's page /admin/open311.
`

func open311Command() *command {
	return &command{
		name:        "open311",
		summary:     "give other apps Open311 API keys (open311 key add | list | revoke)",
		usage:       open311Usage,
		passThrough: true,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if len(args) > 0 && args[0] == "key" {
				args = args[1:]
			} else if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
				return &UsageError{Command: "citybot open311", Msg: fmt.Sprintf("unknown subcommand %q (want key)", args[0])}
			}
			args, err := withDB(e, args)
			if err != nil {
				return err
			}
			return usageOnInvalid("open311", runOpen311Key(ctx, args, e.getenv, e.stdout))
		},
	}
}

// runOpen311Key runs "citybot open311 key ARGS". It returns an error
// wrapping citybot.ErrInvalid for bad arguments or a bad name,
// citybot.ErrDuplicate when the app has a working key and
// citybot.ErrNotFound when revoke finds none.
func runOpen311Key(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, open311Usage)
		if len(args) == 0 {
			return fmt.Errorf("open311 key: %w: missing subcommand (add, list, revoke)", citybot.ErrInvalid)
		}
		return nil
	}
	sub := args[0]
	if sub != "add" && sub != "list" && sub != "revoke" {
		return fmt.Errorf("open311 key: %w: unknown subcommand %q (want add, list, revoke)", citybot.ErrInvalid, sub)
	}
	fs := flag.NewFlagSet("citybot open311 key "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dbPath := fs.String("db", "", "database file ([store] path), or "+postgresDB+" for CITYBOT_DATABASE_URL")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, open311Usage)
			return nil
		}
		return fmt.Errorf("open311 key %s: %w: %v", sub, citybot.ErrInvalid, err)
	}
	want := 1
	if sub == "list" {
		want = 0
	}
	if fs.NArg() != want {
		if want == 0 {
			return fmt.Errorf("open311 key list: %w: no argument expected", citybot.ErrInvalid)
		}
		return fmt.Errorf("open311 key %s: %w: give the app's NAME after the flags (quote it when it has spaces)", sub, citybot.ErrInvalid)
	}
	if *dbPath == "" {
		return fmt.Errorf("open311 key %s: %w: no database path", sub, citybot.ErrInvalid)
	}
	db, err := openStoreAt(ctx, *dbPath, getenv, store.Options{})
	if err != nil {
		return fmt.Errorf("open311 key %s: %w", sub, err)
	}
	defer db.Close()
	const actor = "cli"
	switch sub {
	case "add":
		k, key, err := db.CreateOpen311Key(ctx, fs.Arg(0), actor)
		if err != nil {
			return fmt.Errorf("open311 key add: %w", err)
		}
		fmt.Fprintf(stdout, "Key for %q (shown once; only a hash is kept):\n%s\n", k.Name, key)
	case "list":
		keys, err := db.Open311Keys(ctx)
		if err != nil {
			return fmt.Errorf("open311 key list: %w", err)
		}
		if len(keys) == 0 {
			fmt.Fprintln(stdout, "No app has a key yet.")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tMADE\tBY\tSTATE")
		for _, k := range keys {
			state := "works"
			if !k.Active() {
				state = "revoked " + k.RevokedAt.UTC().Format("2006-01-02 15:04") + " by " + k.RevokedBy
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.CreatedAt.UTC().Format("2006-01-02 15:04"), k.CreatedBy, state)
		}
		return tw.Flush()
	case "revoke":
		if err := db.RevokeOpen311Key(ctx, fs.Arg(0), actor); err != nil {
			return fmt.Errorf("open311 key revoke: %w", err)
		}
		fmt.Fprintf(stdout, "The key of %q no longer works.\n", fs.Arg(0))
	}
	return nil
}
