package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakePinger is a hand-written fake of the store's Ping for the handler's
// unit test; the end-to-end tests use the real store.
type fakePinger struct{ err error }

func (f fakePinger) Ping(ctx context.Context) error { return f.err }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		status string
	}{
		{"db up", nil, http.StatusOK, "ok"},
		{"db down", errors.New("store: ping: disk I/O error /secret/path"), http.StatusServiceUnavailable, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			modes := map[string]string{"telegram": modeLive, "discord": modeSandbox}
			mux := newOpsMux(fakePinger{tt.err}, modes, newRegistry(), discardLogger(), nil)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != tt.code {
				t.Errorf("code %d, want %d", rec.Code, tt.code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var body struct {
				Status    string            `json:"status"`
				Platforms map[string]string `json:"platforms"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if body.Status != tt.status {
				t.Errorf("status %q, want %q", body.Status, tt.status)
			}
			if body.Platforms["telegram"] != modeLive || body.Platforms["discord"] != modeSandbox {
				t.Errorf("platforms %v, want telegram live, discord sandbox", body.Platforms)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("body leaks the internal error: %s", rec.Body)
			}
		})
	}
	t.Run("POST not allowed", func(t *testing.T) {
		mux := newOpsMux(fakePinger{}, nil, newRegistry(), discardLogger(), nil)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("POST", "/healthz", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST /healthz: code %d, want 405", rec.Code)
		}
	})
}

func TestMetricsRegistry(t *testing.T) {
	mux := newOpsMux(fakePinger{}, nil, newRegistry(), discardLogger(), nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	for _, w := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(rec.Body.String(), w) {
			t.Errorf("metrics do not contain %q", w)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var b strings.Builder
	l := newLogger(LogConfig{Level: "warn", Format: "json"}, &b)
	l.Info("hidden")
	l.Warn("shown", "component", "test")
	var rec map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(b.String())), &rec); err != nil {
		t.Fatalf("one JSON line expected, got %q: %v", b.String(), err)
	}
	if rec["msg"] != "shown" || rec["component"] != "test" {
		t.Errorf("got %v", rec)
	}
}

// /metrics shares the console's listener: without a token only a client
// on this machine that no proxy forwarded is answered; with a token every
// client needs it.
func TestMetricsGuard(t *testing.T) {
	const token = "s3cret-metrics-token"
	for _, tt := range []struct {
		name, remote, auth, forwarded string
		token                         Secret
		want                          int
	}{
		{name: "local, no token", remote: "127.0.0.1:40000", want: http.StatusOK},
		{name: "local IPv6, no token", remote: "[::1]:40000", want: http.StatusOK},
		{name: "remote, no token", remote: "203.0.113.9:40000", want: http.StatusNotFound},
		{name: "through a local proxy, no token", remote: "127.0.0.1:40000", forwarded: "203.0.113.9", want: http.StatusNotFound},
		{name: "token required locally too", remote: "127.0.0.1:40000", token: token, want: http.StatusUnauthorized},
		{name: "wrong token", remote: "203.0.113.9:40000", token: token, auth: "Bearer nope", want: http.StatusUnauthorized},
		{name: "token not as bearer", remote: "203.0.113.9:40000", token: token, auth: token, want: http.StatusUnauthorized},
		{name: "right token from afar", remote: "203.0.113.9:40000", token: token, auth: "Bearer " + token, want: http.StatusOK},
		{name: "right token through a proxy", remote: "127.0.0.1:40000", forwarded: "203.0.113.9", token: token, auth: "Bearer " + token, want: http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mux := newOpsMuxToken(fakePinger{}, nil, nil, nil, newRegistry(), discardLogger(), nil, tt.token)
			req := httptest.NewRequest("GET", "/metrics", nil)
			req.RemoteAddr = tt.remote
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.forwarded != "" {
				req.Header.Set("X-Forwarded-For", tt.forwarded)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("code %d, want %d", rec.Code, tt.want)
			}
			if body := rec.Body.String(); tt.want == http.StatusOK != strings.Contains(body, "go_goroutines") || strings.Contains(body, token) {
				t.Errorf("body does not match the code, or shows the token: %.200q", body)
			}
		})
	}
}
