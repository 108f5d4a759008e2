package main

import (
	"context"
	"errors"
	"io"
)

// TEMPORARY: the classifier branch provides train.go and eval.go with the
// real runTrain and runEval. Delete this file when merging it.

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("train: not built yet (the classifier trainer has not landed)")
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("eval: not built yet (the classifier evaluator has not landed)")
}
