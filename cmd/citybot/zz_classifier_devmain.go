package main

// This file lets the classifier branch build and run on its own. The lead
// deletes it when merging: the real main dispatches to runTrain and runEval.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: citybot train|eval [flags]")
		os.Exit(2)
	}
	var run func(context.Context, []string, io.Writer, io.Writer) error
	switch os.Args[1] {
	case "train":
		run = runTrain
	case "eval":
		run = runEval
	default:
		fmt.Fprintf(os.Stderr, "citybot: unknown command %q (this development main knows train and eval)\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(ctx, os.Args[2:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "citybot:", err)
		os.Exit(1)
	}
}
