package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/internal/storetest"
	"citybot/store"
)

// blockingStore is the real store whose PublicCases waits until release
// is closed, as a long export on a busy database does.
type blockingStore struct {
	*store.DB
	entered chan struct{}
	release chan struct{}
}

func (b *blockingStore) PublicCasesEach(ctx context.Context, q citybot.PublicCaseQuery, fn func(citybot.PublicCase) error) error {
	b.entered <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return b.DB.PublicCasesEach(ctx, q, fn)
}

// Anonymous CSV exports cannot pile up on the store's read connections:
// past the limit one is answered 503 at once; and one export covers at
// most a year.
func TestCSVExportLimited(t *testing.T) {
	db := storetest.SQLite(t, store.Options{})
	dg, err := accountability.NewDigester(accountability.DigestOptions{Policy: testPolicy(t), Store: db})
	if err != nil {
		t.Fatal(err)
	}
	bs := &blockingStore{DB: db, entered: make(chan struct{}, 8), release: make(chan struct{})}
	pub, err := NewPublic(PublicOptions{Policy: testPolicy(t), Store: bs, Figures: dg, MaxExports: 1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(pub.handler)
	t.Cleanup(ts.Close)

	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(ts.URL + "/public/cases.csv")
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-bs.entered // the first export holds the store

	client := &http.Client{Timeout: 3 * time.Second}
	start := time.Now()
	resp, err := client.Get(ts.URL + "/public/cases.csv")
	if err != nil {
		close(bs.release)
		t.Fatalf("second export while the first runs: %v (it waited instead of being refused)", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || time.Since(start) > time.Second {
		t.Errorf("second export: status %d, Retry-After %q after %v; want 503 at once", resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start))
	}
	close(bs.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("first export: status %d", code)
	}
	// The slot is free again.
	resp, err = client.Get(ts.URL + "/public/cases.csv?from=2026-01-01&to=2026-03-01")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("export after the first ended: %v %v", err, resp)
	}
	resp.Body.Close()
	<-bs.entered
	// A range of ten years is refused.
	resp, err = client.Get(ts.URL + "/public/cases.csv?from=2016-01-01&to=2026-01-01")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("ten-year export: status %d, want 400", resp.StatusCode)
	}
}
