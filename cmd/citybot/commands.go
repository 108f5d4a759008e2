package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/BurntSushi/toml"

	"citybot"
)

func configCommand() *command {
	return &command{
		name:    "config",
		summary: "check or show the configuration (config check | config show)",
		usage: `Usage:
  citybot [--config PATH] config check [--live]
  citybot [--config PATH] config show

check reads the configuration and the secrets from the environment and
reports every problem at once; it exits 0 and prints "OK" when there is
none, 2 otherwise. Secret values are never printed.

With --live, check then asks each live platform whether it accepts the
token and whether the bot hears what the configuration expects (Telegram's
group privacy mode for [telegram] listen_groups, Discord's Message Content
intent), and says what to change in @BotFather or the Discord developer
portal; it exits 1 when a platform has a problem.

show prints the effective configuration (the file over the built-in
defaults) as TOML. Secrets are not part of it.
`,
		flags: func(fs *flag.FlagSet) {
			fs.Bool("live", false, "check: also ask the live platforms whether the bot hears what the configuration expects")
		},
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			live := fs.Lookup("live").Value.String() == "true"
			if len(args) == 2 && args[0] == "check" && (args[1] == "--live" || args[1] == "-live") {
				live, args = true, args[:1] // "config check --live": the flag after the subcommand
			}
			if len(args) != 1 || (args[0] != "check" && args[0] != "show") {
				return &UsageError{Command: "citybot config", Msg: fmt.Sprintf("config needs one subcommand, check or show; got %q", args)}
			}
			cfg, err := LoadConfig(e.configPath, e.getenv)
			if args[0] == "check" {
				// The model files too, every problem in one list.
				err = withModelProblems(cfg, err)
			}
			if err != nil {
				return err
			}
			if args[0] == "show" && live {
				return &UsageError{Command: "citybot config", Msg: "--live goes with config check, not config show"}
			}
			if args[0] == "show" {
				if err := toml.NewEncoder(e.stdout).Encode(cfg); err != nil {
					return fmt.Errorf("config show: %w", err)
				}
				return nil
			}
			src := cfg.Source
			if src == "" {
				src = "the built-in configuration (no " + defaultConfigPath + ")"
			}
			fmt.Fprintf(e.stdout, "OK: %s is valid (%s)\n", src, describeMode(cfg))
			if live {
				return checkLive(ctx, cfg, e.stdout)
			}
			return nil
		},
	}
}

// describeMode says in a few words what serve would connect to, without
// any secret.
func describeMode(cfg Config) string {
	return "telegram " + cfg.PlatformMode("telegram") + ", discord " + cfg.PlatformMode("discord")
}

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version and build information",
		usage: `Usage:
  citybot version

Prints citybot's module version, the VCS revision and time it was built
from (when known) and the Go toolchain.
`,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if err := noArgs("version", args); err != nil {
				return err
			}
			fmt.Fprint(e.stdout, versionText())
			return nil
		},
	}
}

// versionText describes this build from debug.ReadBuildInfo.
func versionText() string {
	version, revision, when, modified := "(unknown)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "citybot %s\n", version)
	if revision != "" {
		dirty := ""
		if modified {
			dirty = " (modified)"
		}
		fmt.Fprintf(&b, "revision %s%s\n", revision, dirty)
	}
	if when != "" {
		fmt.Fprintf(&b, "built from commit of %s\n", when)
	}
	fmt.Fprintf(&b, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

func trainCommand() *command {
	return &command{
		name:    "train",
		summary: "train the classifier's model from labelled examples or officers' corrections",
		usage: `Usage:
  citybot train [ARGS]

Trains the classifier's model from a labelled CSV file, or with
--from-store from the officers' corrections in the database. Every
argument goes to the trainer: run 'citybot train --help' for its own
options.
`,
		passThrough: true,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			return runTrainEnv(ctx, e, args)
		},
	}
}

func evalCommand() *command {
	return &command{
		name:    "eval",
		summary: "measure the classifier against a labelled test set",
		usage: `Usage:
  citybot eval [ARGS]

Evaluates the classifier's model. Every argument goes to the
evaluator: run 'citybot eval --help' for its own options.
`,
		passThrough: true,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			return runEvalEnv(ctx, e, args)
		},
	}
}

// withDB puts --db PATH after args' subcommand, PATH being [store] path,
// unless args already name a database or only ask for help.
func withDB(e *env, args []string) ([]string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") || args[0] == "help" {
		return args, nil
	}
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if a == "-db" || a == "--db" || strings.HasPrefix(a, "-db=") || strings.HasPrefix(a, "--db=") ||
			a == "-h" || a == "-help" || a == "--help" {
			return args, nil
		}
	}
	cfg, err := LoadConfig(e.configPath, e.getenv)
	if err != nil {
		return nil, err
	}
	return append([]string{args[0], "--db", cfg.Store.dbFlag()}, args[1:]...), nil
}

// usageOnInvalid turns the citybot.ErrInvalid that user and digest return
// for bad arguments into a usage error (exit status 2).
func usageOnInvalid(command string, err error) error {
	if errors.Is(err, citybot.ErrInvalid) {
		return &UsageError{Command: "citybot " + command, Msg: err.Error()}
	}
	return err
}

func userCommand() *command {
	return &command{
		name:        "user",
		summary:     "manage the console's staff accounts (user add, disable, passwd, role, revoke…)",
		usage:       userUsage,
		passThrough: true,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			args, err := withDB(e, args)
			if err != nil {
				return err
			}
			return usageOnInvalid("user", runUser(ctx, args, e.getenv, e.stdin, e.stdout, e.stderr))
		},
	}
}

func digestCommand() *command {
	return &command{
		name:        "digest",
		summary:     "draft the weekly digest now, preview it, write its chart, export cases (draft | preview | chart | export)",
		usage:       digestUsage,
		passThrough: true,
		run: func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
			if len(args) > 0 && args[0] == "draft" {
				return usageOnInvalid("digest", runDigestDraft(ctx, e, args[1:]))
			}
			return usageOnInvalid("digest", runDigest(ctx, e, args))
		},
	}
}
