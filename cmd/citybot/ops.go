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

// healthTimeout bounds one /healthz database check.
const healthTimeout = 2 * time.Second

// newOpsMux builds the operations HTTP routes: GET /healthz (reporting
// platforms, each platform's mode: live, sandbox or disabled), GET /metrics
// from reg, and extra routes (the Telegram webhook) keyed by pattern.
func newOpsMux(db pinger, platforms map[string]string, reg *prometheus.Registry, logger *slog.Logger, extra map[string]http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthHandler(db, platforms, logger))
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
// goes to the log. Both carry "platforms", each platform's mode (live,
// sandbox, disabled), so that monitoring sees a city running on emulators.
func healthHandler(db pinger, platforms map[string]string, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		body := map[string]any{"status": "ok", "database": "ok", "platforms": platforms}
		code := http.StatusOK
		if err := db.Ping(ctx); err != nil {
			logger.Warn("health check failed", "check", "database", "err", err)
			body = map[string]any{"status": "unavailable", "database": "unavailable", "platforms": platforms}
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
