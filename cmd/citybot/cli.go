package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// env is what a command may touch of the outside world. run builds it;
// tests pass their own.
type env struct {
	getenv     func(string) string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	configPath string // from --config or CITYBOT_CONFIG; "" means the default
}

// command is one citybot subcommand.
type command struct {
	name    string
	summary string // one line for the top-level help
	usage   string // the command's own --help text, after its synopsis
	// flags registers the command's flags on fs; it may be nil.
	flags func(fs *flag.FlagSet)
	// passThrough hands every argument, --help included, to run
	// unparsed (train and eval parse their own).
	passThrough bool
	// run executes the command with the arguments left after its flags.
	run func(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error
}

// commands lists citybot's subcommands in help order. It is a function,
// not a package variable, so that nothing is package-level mutable state.
func commands() []*command {
	return []*command{
		serveCommand(),
		migrateCommand(),
		configCommand(),
		backupCommand(),
		userCommand(),
		digestCommand(),
		open311Command(),
		versionCommand(),
		trainCommand(),
		evalCommand(),
	}
}

const topUsage = `citybot: a city's listening-and-response bot for Telegram and Discord.

Usage:
  citybot [--config PATH] [COMMAND] [ARGS]

With no command, citybot runs "serve". With no platform token in the
environment, serve runs in sandbox mode against local emulators; once one
token is set, every enabled platform needs its own (or [<platform>]
enabled = false).

Commands:
%s
Global flags:
  --config PATH   configuration file (default: $CITYBOT_CONFIG, else ./config.toml;
                  when ./config.toml is absent the built-in defaults apply)
  -h, --help      show this help

Environment:
  CITYBOT_TELEGRAM_TOKEN            Telegram bot token
  CITYBOT_TELEGRAM_WEBHOOK_SECRET   secret Telegram sends with webhook calls
  CITYBOT_DISCORD_TOKEN             Discord bot token
  CITYBOT_CONFIG                    configuration file, when --config is not given

Run 'citybot COMMAND --help' for a command's own help.
Exit status: 0 ok, 1 runtime error, 2 usage or configuration error.
`

func topHelp() string {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-13s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf(topUsage, b.String())
}

// errHelpShown says help was printed on request: run returns nil.
var errHelpShown = errors.New("help shown")

// run is citybot's whole program: main only adds the process's signals,
// environment and streams, and turns the error into an exit status. It
// returns a *UsageError for a bad command line, a *ConfigError for a
// configuration that cannot be used, and other errors for runtime
// failures. serve blocks until ctx is cancelled.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("citybot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.configPath, "config", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, topHelp())
			return nil
		}
		return &UsageError{Command: "citybot", Msg: err.Error()}
	}
	if e.configPath == "" {
		e.configPath = getenv(envConfig)
	}
	rest := fs.Args()
	name := "serve"
	if len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "help" || name == "--help" {
		return runHelp(e, rest)
	}
	c := findCommand(name)
	if c == nil {
		return &UsageError{Command: "citybot", Msg: fmt.Sprintf("unknown command %q", name)}
	}
	err := runCommand(ctx, e, c, rest)
	if errors.Is(err, errHelpShown) {
		return nil
	}
	return err
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

func runHelp(e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, topHelp())
		return nil
	}
	c := findCommand(args[0])
	if c == nil {
		return &UsageError{Command: "citybot", Msg: fmt.Sprintf("no help for unknown command %q", args[0])}
	}
	fmt.Fprint(e.stdout, commandHelp(c))
	return nil
}

func commandHelp(c *command) string {
	var b strings.Builder
	b.WriteString(strings.TrimLeft(c.usage, "\n"))
	fs := newCommandFlags(c, new(string))
	b.WriteString("\nFlags:\n")
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

func newCommandFlags(c *command, configPath *string) *flag.FlagSet {
	fs := flag.NewFlagSet("citybot "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(configPath, "config", *configPath, "configuration file (as the global --config)")
	if c.flags != nil {
		c.flags(fs)
	}
	return fs
}

// runCommand parses c's flags from args and runs it. --help prints the
// command's help on stdout and returns errHelpShown.
func runCommand(ctx context.Context, e *env, c *command, args []string) error {
	fs := newCommandFlags(c, &e.configPath)
	if c.passThrough {
		err := c.run(ctx, e, fs, args)
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, commandHelp(c))
			return errHelpShown
		}
		return &UsageError{Command: "citybot " + c.name, Msg: err.Error()}
	}
	return c.run(ctx, e, fs, fs.Args())
}

// noArgs is a command's check that it got no positional arguments.
func noArgs(c string, args []string) error {
	if len(args) > 0 {
		return &UsageError{Command: "citybot " + c, Msg: fmt.Sprintf("%s takes no arguments, got %q", c, args)}
	}
	return nil
}
