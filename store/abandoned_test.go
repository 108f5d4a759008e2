package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
)

// openInstances opens n handles on one new database, each a citybot
// process, all on clk.
func openInstances(t *testing.T, te testEngine, clk *clock, n int) []*DB {
	t.Helper()
	src := te.newSource(t)
	var dbs []*DB
	for range n {
		db, err := te.open(context.Background(), src, Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// TestAbandonedOutbox: two instances (two handles, each with its
// heartbeat) claim rows; while both live, neither sees the other's rows
// in sending as abandoned and neither can settle them. Once A's heartbeat
// expires, B finds exactly A's rows, settles each once (delivery unknown,
// audited, its case left new; or requeued), never its own; and a released
// heartbeat frees the rows at once.
func TestAbandonedOutbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		dbs := openInstances(t, te, clk, 2)
		a, b := dbs[0], dbs[1]
		const ttl = 10 * time.Second
		beat(t, ttl, a, "A")
		beat(t, ttl, b, "B")
		res, err := a.Ingest(ctx, report(msg("c1", "1", "u1", "pothole on Main Street"), "roads", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		ack, err := a.OutboxItem(ctx, fmt.Sprintf("msg:%d:ack", res.Message))
		if err != nil {
			t.Fatal(err)
		}
		var items []citybot.OutboxItem
		for i := range 3 {
			items = append(items, citybot.OutboxItem{Out: citybot.Outgoing{Key: fmt.Sprint("n", i), Platform: citybot.Telegram,
				Chat: citybot.ChatID(fmt.Sprint("chat-", i)), Text: "notice"}})
		}
		if _, err := a.Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		n0, _ := a.OutboxItem(ctx, "n0")
		n1, _ := a.OutboxItem(ctx, "n1")
		n2, _ := a.OutboxItem(ctx, "n2")
		if got, err := a.ClaimOutboxIDs(ctx, "A", []citybot.OutboxID{ack.ID, n0.ID}); err != nil || len(got) != 2 || got[0].ClaimedBy != "A" {
			t.Fatalf("A claims = %+v, %v", got, err)
		}
		if got, err := b.ClaimOutboxIDs(ctx, "B", []citybot.OutboxID{n1.ID, n0.ID}); err != nil || len(got) != 1 || got[0].ID != n1.ID {
			t.Fatalf("B claims = %+v, %v (n0 is A's)", got, err)
		}
		if _, err := b.ClaimOutboxIDs(ctx, "", []citybot.OutboxID{n2.ID}); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("claim without claimer = %v, want ErrInvalid", err)
		}
		if n, err := a.LiveInstances(ctx); err != nil || n != 2 {
			t.Errorf("LiveInstances = %d, %v; want 2", n, err)
		}
		// Both live: nothing is abandoned, nothing can be settled.
		for _, x := range []struct {
			db   *DB
			self string
		}{{a, "A"}, {b, "B"}} {
			if got, err := x.db.AbandonedOutbox(ctx, tgOnly, x.self); err != nil || len(got) != 0 {
				t.Errorf("%s: abandoned while both live = %+v, %v", x.self, outboxKeys(got), err)
			}
		}
		if _, err := b.MarkDeliveryUnknown(ctx, ack.ID, "delivery unknown: test"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("MarkDeliveryUnknown of a live instance's row = %v, want ErrNotFound", err)
		}
		if err := b.RequeueAbandoned(ctx, n0.ID, "requeued: test"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("RequeueAbandoned of a live instance's row = %v, want ErrNotFound", err)
		}

		// A dies: its heartbeat is not renewed; B's is.
		clk.Add(ttl + time.Second)
		beat(t, ttl, b, "B")
		if n, err := b.LiveInstances(ctx); err != nil || n != 1 {
			t.Errorf("LiveInstances after A's death = %d, %v; want 1", n, err)
		}
		got, err := b.AbandonedOutbox(ctx, tgOnly, "B")
		if err != nil || outboxKeys(got) != ack.Out.Key+",n0" || got[0].ClaimedBy != "A" || got[1].ClaimedBy != "A" {
			t.Fatalf("B: abandoned = %+v, %v; want A's two rows", got, err)
		}
		if got, err := b.AbandonedOutbox(ctx, []citybot.Platform{citybot.Discord}, "B"); err != nil || len(got) != 0 {
			t.Errorf("abandoned Discord rows = %+v, %v", outboxKeys(got), err)
		}
		// Two instances settle the same row at once: one does.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var settled, notFound int
		for _, db := range []*DB{a, b} {
			wg.Go(func() {
				ref, err := db.MarkDeliveryUnknown(ctx, ack.ID, "delivery unknown: test")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && ref == res.Case.Ref:
					settled++
				case errors.Is(err, citybot.ErrNotFound):
					notFound++
				default:
					t.Errorf("MarkDeliveryUnknown = %q, %v", ref, err)
				}
			})
		}
		wg.Wait()
		if settled != 1 || notFound != 1 {
			t.Errorf("settled %d times, not found %d times; want once each", settled, notFound)
		}
		var audits int
		if err := b.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action = 'outbox.delivery_unknown'`).Scan(&audits); err != nil || audits != 1 {
			t.Errorf("delivery unknown audits = %d, %v; want 1", audits, err)
		}
		if c, err := b.Case(ctx, res.Case.ID); err != nil || c.Status != citybot.StatusNew {
			t.Errorf("case = %s, %v; want new", c.Status, err)
		}
		if err := b.RequeueAbandoned(ctx, n0.ID, "requeued: test"); err != nil {
			t.Fatal(err)
		}
		if err := b.RequeueAbandoned(ctx, n0.ID, "requeued: test"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("second RequeueAbandoned = %v, want ErrNotFound", err)
		}
		if it, err := b.OutboxItem(ctx, "n0"); err != nil || it.State != citybot.OutboxPending || it.ClaimedBy != "" || it.Attempts != 0 ||
			it.LastError != "requeued: test" || !it.NextAttemptAt.Equal(clk.Now()) {
			t.Errorf("requeued row = %+v, %v", it, err)
		}
		// B's own row in flight is never abandoned, to itself or to others.
		if got, err := a.AbandonedOutbox(ctx, tgOnly, "C"); err != nil || len(got) != 0 {
			t.Errorf("another instance sees %+v, %v abandoned while B lives", outboxKeys(got), err)
		}
		if it, _ := b.OutboxItem(ctx, "n1"); it.State != citybot.OutboxSending || it.ClaimedBy != "B" {
			t.Errorf("B's row = %s by %q, want sending by B", it.State, it.ClaimedBy)
		}
		// A clean stop releases the heartbeat: its rows are free at once.
		if err := b.ReleaseInstance(ctx, "B"); err != nil {
			t.Fatal(err)
		}
		if n, err := b.LiveInstances(ctx); err != nil || n != 0 {
			t.Errorf("LiveInstances after B's release = %d, %v; want 0", n, err)
		}
		if got, err := a.AbandonedOutbox(ctx, tgOnly, "C"); err != nil || outboxKeys(got) != "n1" {
			t.Errorf("after B's release, abandoned = %q, %v; want n1", outboxKeys(got), err)
		}
		// A process that takes its heartbeat back is alive again.
		beat(t, ttl, b, "B")
		if got, err := a.AbandonedOutbox(ctx, tgOnly, "C"); err != nil || len(got) != 0 {
			t.Errorf("after B's return, abandoned = %q, %v", outboxKeys(got), err)
		}
		if err := a.InstanceHeartbeat(ctx, " ", ttl); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("heartbeat without a name = %v, want ErrInvalid", err)
		}
	})
}

// outboxKeys lists the rows' keys, comma-separated.
func outboxKeys(items []citybot.OutboxItem) string {
	var ks []string
	for _, it := range items {
		ks = append(ks, it.Out.Key)
	}
	return strings.Join(ks, ",")
}

// TestInstanceHeartbeatPrunes: the heartbeats of processes killed long
// ago (ended over a day) are deleted by a living instance's heartbeat;
// one that ended recently is kept, and so are live ones.
func TestInstanceHeartbeatPrunes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		if err := db.InstanceHeartbeat(ctx, "killed-long-ago", time.Second); err != nil {
			t.Fatal(err)
		}
		clk.Add(24*time.Hour + time.Minute)
		if err := db.InstanceHeartbeat(ctx, "killed-lately", time.Second); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
		if err := db.InstanceHeartbeat(ctx, "alive", time.Minute); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]bool{"killed-long-ago": false, "killed-lately": true, "alive": true} {
			_, err := db.LeaseOf(ctx, "instance:"+name)
			if got := err == nil; got != want {
				t.Errorf("heartbeat of %s kept = %v (%v), want %v", name, got, err, want)
			}
		}
	})
}

// TestRenewingInstances: an instance counts the others whose heartbeat was
// renewed lately, not itself, and not one that stopped renewing though
// its heartbeat has not yet expired (a process killed a moment ago).
func TestRenewingInstances(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		dbs := openInstances(t, te, clk, 2)
		a, b := dbs[0], dbs[1]
		const ttl, within = 10 * time.Second, 4 * time.Second
		renewing := func(db *DB, self string) int {
			n, err := db.RenewingInstances(ctx, self, ttl, within)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		beat(t, ttl, a, "A")
		beat(t, ttl, b, "B")
		if n := renewing(a, "A"); n != 1 {
			t.Errorf("A counts %d instances renewing, want 1 (B)", n)
		}
		// B stops renewing; A goes on. Past within, B is alive by its
		// heartbeat but no longer renewing.
		clk.Add(within + time.Second)
		beat(t, ttl, a, "A")
		if n, err := a.LiveInstances(ctx); err != nil || n != 2 {
			t.Errorf("LiveInstances = %d, %v; want 2 (B's heartbeat has not expired)", n, err)
		}
		if n := renewing(a, "A"); n != 0 {
			t.Errorf("A counts %d instances renewing, want 0 (B stopped)", n)
		}
		if n := renewing(b, "B"); n != 1 {
			t.Errorf("B counts %d instances renewing, want 1 (A)", n)
		}
	})
}

// beat renews the heartbeat of the instance name on db for ttl.
func beat(t *testing.T, ttl time.Duration, db *DB, name string) {
	t.Helper()
	if err := db.InstanceHeartbeat(context.Background(), name, ttl); err != nil {
		t.Fatalf("heartbeat of %s: %v", name, err)
	}
}
