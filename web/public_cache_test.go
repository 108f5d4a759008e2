package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"citybot"
)

// countingFigures is a hand-written PublicFigures that counts the periods
// asked for.
type countingFigures struct {
	mu    sync.Mutex
	calls int
}

func (c *countingFigures) Figures(_ context.Context, start, end time.Time) (citybot.DigestFigures, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	return citybot.DigestFigures{Start: start, End: end, Received: 1}, nil
}

func (c *countingFigures) TopicName(_, topic string) string { return topic }

func (c *countingFigures) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.calls
	c.calls = 0
	return n
}

// emptyPublicStore is a hand-written PublicStore with no digest and no case.
type emptyPublicStore struct{}

func (emptyPublicStore) Digests(context.Context, int, ...citybot.DigestState) ([]citybot.Digest, error) {
	return nil, nil
}
func (emptyPublicStore) ApprovedDigest(context.Context, citybot.Week) (citybot.Digest, error) {
	return citybot.Digest{}, citybot.ErrNotFound
}
func (emptyPublicStore) PublicCases(context.Context, citybot.PublicCaseQuery) ([]citybot.PublicCase, error) {
	return nil, nil
}
func (emptyPublicStore) PublicCasesEach(context.Context, citybot.PublicCaseQuery, func(citybot.PublicCase) error) error {
	return nil
}

// TestPublicTrendCache: the 11 weeks that are over are computed once per
// 10 minutes; the live 7 days and the week so far on every request.
func TestPublicTrendCache(t *testing.T) {
	figs := &countingFigures{}
	now := time.Date(2026, 11, 19, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p, err := NewPublic(PublicOptions{Policy: testPolicy(t), Store: emptyPublicStore{}, Figures: figs, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	get := func() {
		t.Helper()
		rec := httptest.NewRecorder()
		p.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/public/", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /public/: %d", rec.Code)
		}
	}
	for i, want := range []int{1 + 12, 1 + 1, 1 + 1} {
		get()
		if n := figs.count(); n != want {
			t.Errorf("request %d computed %d periods, want %d", i, n, want)
		}
		mu.Lock()
		now = now.Add(4 * time.Minute)
		mu.Unlock()
	}
	get() // 12 minutes after the first: the past weeks again
	if n := figs.count(); n != 13 {
		t.Errorf("after 12 minutes: %d periods, want 13", n)
	}
}
