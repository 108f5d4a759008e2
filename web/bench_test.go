package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"citybot"
	"citybot/casework"
	"citybot/store"
)

// benchServer is a console on a synthetic store of 200,000 cases and
// 1,000,000 messages (CITYBOT_BENCH_DB keeps the file between runs) and
// an admin's session.
func benchServer(b *testing.B) (*Server, *http.Cookie) {
	b.Helper()
	ctx := context.Background()
	path := os.Getenv("CITYBOT_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.CaseView(ctx, 1); err != nil {
		if err := db.Synthesize(ctx, store.SynthOptions{Cases: 200_000, Messages: 1_000_000}); err != nil {
			b.Fatal(err)
		}
	}
	off, err := casework.NewOfficer(casework.OfficerOptions{Policy: testPolicy(b), Store: db})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Options{Policy: testPolicy(b), Store: db, Officer: off})
	if err != nil {
		b.Fatal(err)
	}
	a, err := db.AccountByName(ctx, "bench-officer")
	if err != nil {
		if a, err = db.CreateAccount(ctx, "bench-officer", citybot.RoleOfficer, "x", "bench"); err != nil {
			b.Fatal(err)
		}
	}
	tok := randomToken()
	if err := db.CreateSession(ctx, a.ID, hashToken(tok), "csrf", time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	return srv, &http.Cookie{Name: srv.cookieName(), Value: tok}
}

func benchGet(b *testing.B, srv *Server, cookie *http.Cookie, path string) {
	h := srv.Handler()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
}

// BenchmarkServeInboxFirstPage serves the whole inbox page (session,
// first 50 cases, counts per filter, rendering) as an officer, who does
// not see the sensitive topic.
func BenchmarkServeInboxFirstPage(b *testing.B) {
	srv, cookie := benchServer(b)
	benchGet(b, srv, cookie, "/inbox")
}

// BenchmarkServeInboxSearch serves an inbox page filtered by a search that
// matches one message in seven.
func BenchmarkServeInboxSearch(b *testing.B) {
	srv, cookie := benchServer(b)
	benchGet(b, srv, cookie, "/inbox?q=poubelles+haute")
}

// BenchmarkServeInboxRows serves the rows the inbox polls for.
func BenchmarkServeInboxRows(b *testing.B) {
	srv, cookie := benchServer(b)
	benchGet(b, srv, cookie, "/inbox/rows")
}

// BenchmarkServeCasePage serves a case page.
func BenchmarkServeCasePage(b *testing.B) {
	srv, cookie := benchServer(b)
	benchGet(b, srv, cookie, "/cases/123457")
}
