package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// pinger is what /healthz needs of the store.
type pinger interface {
	Ping(ctx context.Context) error
}

// outboxStats is what the outbox gauges read at scrape time: rows waiting
// (pending or being sent), rows given up, and the creation time of the
// oldest waiting row (zero when none waits).
type outboxStats func(ctx context.Context) (waiting, failed int, oldest time.Time, err error)

// healthTimeout bounds one /healthz database check.
const healthTimeout = 2 * time.Second

// newOpsMux builds the operations HTTP routes: GET /healthz, GET /metrics
// from reg, and extra routes (the Telegram webhook) keyed by pattern.
func newOpsMux(db pinger, reg *prometheus.Registry, logger *slog.Logger, extra map[string]http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthHandler(db, logger))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
		Registry:          reg,
		ErrorHandling:     promhttp.ContinueOnError, // a failing store must not hide the other metrics
		EnableOpenMetrics: true,
	}))
	for pattern, h := range extra {
		mux.Handle(pattern, h)
	}
	return mux
}

// healthHandler answers 200 {"status":"ok"} when the database answers a
// ping within healthTimeout, else 503 with a safe error text; the detail
// goes to the log.
func healthHandler(db pinger, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		body := map[string]string{"status": "ok", "database": "ok"}
		code := http.StatusOK
		if err := db.Ping(ctx); err != nil {
			logger.Warn("health check failed", "check", "database", "err", err)
			body = map[string]string{"status": "unavailable", "database": "unavailable"}
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(body)
	})
}

// newRegistry returns citybot's own Prometheus registry (never the
// global default) with the Go runtime and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// outboxCollector reports the outbox's depth and the age of its oldest
// unsent row, read from the store at scrape time.
type outboxCollector struct {
	stats   outboxStats
	now     func() time.Time
	logger  *slog.Logger
	depth   *prometheus.Desc
	failed  *prometheus.Desc
	oldest  *prometheus.Desc
	timeout time.Duration
}

func newOutboxCollector(stats outboxStats, now func() time.Time, logger *slog.Logger) *outboxCollector {
	return &outboxCollector{
		stats:   stats,
		now:     now,
		logger:  logger,
		timeout: 2 * time.Second,
		depth: prometheus.NewDesc("citybot_outbox_depth",
			"Outgoing messages waiting to be sent (pending or being sent).", nil, nil),
		failed: prometheus.NewDesc("citybot_outbox_failed",
			"Outgoing messages given up after permanent failures.", nil, nil),
		oldest: prometheus.NewDesc("citybot_outbox_oldest_age_seconds",
			"Age of the oldest outgoing message still waiting; 0 when none waits.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.depth
	ch <- c.failed
	ch <- c.oldest
}

// Collect implements prometheus.Collector. A store error is reported as
// an invalid metric, so the scrape shows it, and logged.
func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	waiting, failed, oldest, err := c.stats(ctx)
	if err != nil {
		c.logger.Warn("outbox stats failed", "err", err)
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, c.now().Sub(oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(waiting))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, float64(failed))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}
