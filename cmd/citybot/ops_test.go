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
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
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
