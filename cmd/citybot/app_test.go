package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"citybot"
)

// testPolicy is the city's policy of cfg as openApp builds it, with
// cfg's [classifier] topics (the tests that wire parts by hand use it).
func testPolicy(t testing.TB, cfg Config) *citybot.Policy {
	t.Helper()
	var topics []string
	for _, tp := range cfg.Classifier.Topics {
		topics = append(topics, tp.Name)
	}
	p, err := cityPolicy(cfg, topics)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newOpsMux is newOpsMuxToken without a metrics token.
func newOpsMux(db pinger, platforms map[string]string, reg *prometheus.Registry, logger *slog.Logger, extra map[string]http.Handler) *http.ServeMux {
	return newOpsMuxToken(db, platforms, nil, nil, reg, logger, extra, "")
}

// runTrain runs `citybot train` with an empty environment and the
// default configuration path; see runTrainEnv.
func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runTrainEnv(ctx, &env{getenv: func(string) string { return "" }, stdout: stdout, stderr: stderr}, args)
}

// runEval runs `citybot eval` with an empty environment.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runEvalEnv(ctx, &env{getenv: func(string) string { return "" }, stdout: stdout, stderr: stderr}, args)
}
