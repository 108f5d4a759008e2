// Command citybot runs the city's listening-and-response bot: it wires the
// SQLite store, the classifier, the responder pipeline and the Telegram and
// Discord adapters, serves health and metrics over HTTP, and offers the
// maintenance commands (migrate, backup, config check, version, train,
// eval).
//
// With no platform token in the environment, serve runs in sandbox mode:
// it starts the project's local platform emulator in-process and points
// the adapter at it, so citybot works offline.
//
// Run "citybot --help" for the commands and "citybot COMMAND --help" for
// each one. Configuration is config.toml (see README.md, "Configuration");
// secrets come from the environment only.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		reportError(os.Stderr, err)
		os.Exit(exitCode(err))
	}
}

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1 // the command failed while running
	exitUsage   = 2 // bad arguments or a configuration that cannot be used
)

// exitCode maps run's error to the process exit status.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ue *UsageError
	var ce *ConfigError
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return exitUsage
	}
	return exitRuntime
}

// reportError prints run's error the way a person reads it.
func reportError(w io.Writer, err error) {
	fmt.Fprintf(w, "citybot: %v\n", err)
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", ue.Command)
	}
}

// UsageError is a command line citybot cannot make sense of. main exits
// with status 2 on it.
type UsageError struct {
	Command string // "citybot" or "citybot serve": where --help helps
	Msg     string
}

func (e *UsageError) Error() string { return e.Msg }
