package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
)

// TestLeaseTakenOverWhenHolderDies: one holder at a time; the holder
// renews its lease; another takes it only once it expired (its holder
// died) or was released.
func TestLeaseTakenOverWhenHolderDies(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		src := te.newSource(t)
		open := func() *DB {
			db, err := te.open(ctx, src, Options{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		a, b := open(), open() // two processes on one database
		take := func(db *DB, holder string) bool {
			t.Helper()
			ok, err := db.TakeLease(ctx, "digest", holder, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !take(a, "host-a:1") {
			t.Fatal("a free lease was refused")
		}
		if take(b, "host-b:2") {
			t.Fatal("b took a's live lease")
		}
		start := clk.Now()
		clk.Add(8 * time.Second)
		if !take(a, "host-a:1") {
			t.Fatal("a could not renew its lease")
		}
		clk.Add(8 * time.Second) // 16 s after the take, 8 s after the renewal
		if take(b, "host-b:2") {
			t.Fatal("b took a lease its holder had renewed")
		}
		l, err := b.LeaseOf(ctx, "digest")
		if err != nil || l.Holder != "host-a:1" || !l.TakenAt.Equal(start) || !l.Expires.Equal(clk.Now().Add(2*time.Second)) {
			t.Errorf("lease %+v, %v; want a's, taken at %v, ending in 2 s", l, err, start)
		}
		// a dies: no renewal. Once the lease has expired, b takes it over.
		clk.Add(2 * time.Second)
		if !take(b, "host-b:2") {
			t.Fatal("b could not take over an expired lease")
		}
		if take(a, "host-a:1") {
			t.Fatal("a came back and took b's lease")
		}
		// A clean stop hands it over at once.
		if err := b.ReleaseLease(ctx, "digest", "host-b:2"); err != nil {
			t.Fatal(err)
		}
		if !take(a, "host-a:1") {
			t.Fatal("a could not take a released lease")
		}
		// Releasing a lease one no longer holds changes nothing.
		if err := b.ReleaseLease(ctx, "digest", "host-b:2"); err != nil {
			t.Fatal(err)
		}
		if l, err := a.LeaseOf(ctx, "digest"); err != nil || l.Holder != "host-a:1" {
			t.Errorf("after a stale release: %+v, %v", l, err)
		}
		if _, err := a.LeaseOf(ctx, "retention"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("lease never taken: %v, want ErrNotFound", err)
		}
		if _, err := a.TakeLease(ctx, "", "x", time.Second); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("empty name: %v, want ErrInvalid", err)
		}
	})
}

// TestLeaseOneHolderAtOnce: processes racing for a free lease, many
// times: exactly one gets it each time.
func TestLeaseOneHolderAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		src := te.newSource(t)
		var dbs []*DB
		for range 3 {
			db, err := te.open(ctx, src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs = append(dbs, db)
		}
		for round := range 20 {
			name := fmt.Sprint("job-", round)
			var won atomic.Int32
			var wg sync.WaitGroup
			for i, db := range dbs {
				wg.Go(func() {
					ok, err := db.TakeLease(ctx, name, fmt.Sprint("holder-", i), time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						won.Add(1)
					}
				})
			}
			wg.Wait()
			if n := won.Load(); n != 1 {
				t.Fatalf("round %d: %d holders of one lease", round, n)
			}
		}
	})
}
