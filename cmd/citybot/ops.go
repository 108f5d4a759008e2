package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"citybot/cluster"
)

// pinger is what /healthz needs of the store.
type pinger interface {
	Ping(ctx context.Context) error
}

// instanceCounter is an optional capability of a pinger: how many citybot
// instances share the database (alive by their heartbeat), 0 when not
// known yet.
type instanceCounter interface {
	Instances() int
}

// healthTimeout bounds one /healthz database check.
const healthTimeout = 2 * time.Second

// newOpsMuxToken builds the operations HTTP routes: GET /healthz
// (reporting platforms, each platform's mode: live, sandbox or disabled;
// hearing's answer, the platforms' latest answers to askHearing, none
// when hearing is nil or answers nil; and roles' answer, each
// one-at-a-time part's role here and its leader, none when roles is nil),
// GET /metrics from reg, guarded by metricsGuard(token), and extra routes
// (the Telegram webhook and the web's) keyed by pattern.
func newOpsMuxToken(db pinger, platforms map[string]string, hearing func() map[string]hearingStatus, roles func() map[string]cluster.Status, reg *prometheus.Registry, logger *slog.Logger, extra map[string]http.Handler, token Secret) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", healthHandler(db, platforms, hearing, roles, logger))
	mux.Handle("GET /metrics", metricsGuard(token, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
		Registry:          reg,
		ErrorHandling:     promhttp.ContinueOnError, // a failing store must not hide the other metrics
		EnableOpenMetrics: true,
	})))
	for pattern, h := range extra {
		mux.Handle(pattern, h)
	}
	return mux
}

// metricsGuard keeps the metrics (queue sizes, throttling, per-platform
// counts) from the public, since /metrics shares the console's listener.
// With a token (CITYBOT_METRICS_TOKEN) a request must carry
// "Authorization: Bearer TOKEN" (compared in constant time), wherever it
// comes from. Without one, only a client on this machine is answered: a
// loopback peer whose request no proxy forwarded (no Forwarded,
// X-Forwarded-For or X-Real-IP header, which the recommended TLS proxy
// adds). Anything else gets 404, as if there were no such page.
func metricsGuard(token Secret, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token.Set() {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token.Reveal())) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !localClient(r) {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localClient reports whether r comes straight from this machine: a
// loopback peer and no header a forwarding proxy adds.
func localClient(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// healthHandler answers 200 {"status":"ok"} when the database answers a
// ping within healthTimeout, else 503 with a safe error text; the detail
// goes to the log. Both carry "platforms", each platform's mode (live,
// sandbox, disabled), so that monitoring sees a city running on emulators,
// and, once asked (at start, then every hearingEvery), "hearing": per
// platform whether the bot hears what the configuration expects ("ok",
// "problems" with what to change, or "unknown"), a readiness detail that
// does not change the status; and
// "leadership": for each part that runs on one instance at a time (by
// lease name), this instance's role ("leading", "standing by") and the
// instance that leads, read live. Standing by is healthy: another
// instance runs the part. When db counts them (instanceCounter),
// "instances" is how many citybot instances share the database, this one
// included.
func healthHandler(db pinger, platforms map[string]string, hearing func() map[string]hearingStatus, roles func() map[string]cluster.Status, logger *slog.Logger) http.Handler {
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
		if hearing != nil {
			if h := hearing(); h != nil {
				body["hearing"] = h
			}
		}
		if roles != nil {
			body["leadership"] = roles()
		}
		if ic, ok := db.(instanceCounter); ok {
			if n := ic.Instances(); n > 0 {
				body["instances"] = n
			}
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
