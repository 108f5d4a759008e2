package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
)

// twoHandles opens two handles on one new database, as two citybot
// processes sharing it would, with one settable clock.
func twoHandles(t *testing.T, te testEngine) (*DB, *DB, *clockT) {
	t.Helper()
	clk := &clockT{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	src := te.newSource(t)
	open := func() *DB {
		db, err := te.open(context.Background(), src, Options{Now: clk.now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return open(), open(), clk
}

type clockT struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clockT) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clockT) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// One token bucket per key across processes: attempts taken on one
// handle count on the other, and when many race for the last tokens,
// exactly the burst gets through.
func TestRateTokensShared(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		a, b, clk := twoHandles(t, te)
		take := func(db *DB, key string) (bool, time.Duration) {
			t.Helper()
			ok, wait, err := db.TakeRateToken(ctx, key, 3, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return ok, wait
		}
		for i, db := range []*DB{a, b, a} {
			if ok, _ := take(db, "addr:192.0.2.1"); !ok {
				t.Fatalf("attempt %d within the burst refused", i+1)
			}
		}
		ok, wait := take(b, "addr:192.0.2.1")
		if ok || wait != 10*time.Second {
			t.Errorf("fourth attempt, on the other process: ok %v, wait %v; want refused for 10s", ok, wait)
		}
		if ok, _ := take(b, "addr:192.0.2.2"); !ok {
			t.Error("another key shares the bucket")
		}
		clk.add(4 * time.Second)
		if ok, wait := take(a, "addr:192.0.2.1"); ok || wait != 6*time.Second {
			t.Errorf("4s later: ok %v, wait %v; want refused for 6s", ok, wait)
		}
		clk.add(6 * time.Second)
		if ok, _ := take(a, "addr:192.0.2.1"); !ok {
			t.Error("one interval later: refused")
		}
		if ok, _ := take(b, "addr:192.0.2.1"); ok {
			t.Error("one interval gives back one token, not two")
		}

		// Many attempts at once on both handles: the burst, no more.
		var got atomic.Int32
		var wg sync.WaitGroup
		for i := range 24 {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() {
				ok, _, err := db.TakeRateToken(ctx, "addr:race", 5, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					got.Add(1)
				}
			})
		}
		wg.Wait()
		if got.Load() != 5 {
			t.Errorf("%d of 24 racing attempts allowed, want the burst of 5", got.Load())
		}
		if _, _, err := a.TakeRateToken(ctx, "", 1, time.Second); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("empty key: %v", err)
		}

		// Full buckets are pruned; a pruned key starts with a full burst.
		clk.add(2 * time.Hour)
		n, err := b.PruneSigninLimits(ctx)
		if err != nil || n != 2 {
			t.Errorf("prune: %d rows, %v; want the 2 full buckets (the race's, an hour a token, is not full yet)", n, err)
		}
		if ok, _ := take(a, "addr:192.0.2.1"); !ok {
			t.Error("after pruning: refused")
		}
	})
}

// Failed sign-ins are counted under each key on either process, forgotten
// after their keep time, cleared by a success; an existing account's
// count is kept for its notice and audited at ten.
func TestSigninStrikesShared(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		a, b, clk := twoHandles(t, te)
		acc, err := a.CreateAccount(ctx, "olivia", citybot.RoleOfficer, "h", "test")
		if err != nil {
			t.Fatal(err)
		}
		keys := []citybot.SigninKey{{Key: "addr:203.0.113.5", Keep: 30 * time.Minute}, {Key: "account:olivia", Keep: 2 * time.Minute}}
		for i := range 10 {
			db := a
			if i%2 == 1 {
				db = b
			}
			if err := db.RecordSigninFailure(ctx, "OLIVIA", keys); err != nil {
				t.Fatal(err)
			}
			clk.add(time.Second)
		}
		last := clk.now().Add(-time.Second)
		st, err := b.SigninStrikes(ctx, []string{"addr:203.0.113.5", "account:olivia", "addr:198.51.100.1"})
		if err != nil {
			t.Fatal(err)
		}
		want := citybot.SigninStrike{Failures: 10, Last: last}
		if len(st) != 2 || st["addr:203.0.113.5"] != want || st["account:olivia"] != want {
			t.Errorf("strikes = %+v, want 10 under both keys, last at %v", st, last)
		}
		got, err := a.AccountByName(ctx, "olivia")
		if err != nil || got.FailedLogins != 10 || !got.FailedLast.Equal(last) || !got.FailedSince.Equal(last.Add(-9*time.Second)) {
			t.Errorf("account's count: %d from %v to %v (%v)", got.FailedLogins, got.FailedSince, got.FailedLast, err)
		}
		es, err := a.Audit(ctx, accountSubject(acc.ID))
		if err != nil {
			t.Fatal(err)
		}
		guessed := 0
		for _, e := range es {
			if e.Action == "account.guessed" {
				guessed++
			}
		}
		if guessed != 1 {
			t.Errorf("account.guessed audited %d times after ten failures, want once", guessed)
		}
		// A name that is no account is counted under its keys only.
		if err := a.RecordSigninFailure(ctx, "nobody", []citybot.SigninKey{{Key: "account:nobody", Keep: time.Minute}}); err != nil {
			t.Errorf("unknown account: %v", err)
		}

		// The account key's keep time passes: forgotten, and the next
		// failure counts from one; the address key is still kept.
		clk.add(3 * time.Minute)
		st, _ = a.SigninStrikes(ctx, []string{"addr:203.0.113.5", "account:olivia"})
		if _, ok := st["account:olivia"]; ok || st["addr:203.0.113.5"].Failures != 10 {
			t.Errorf("after the account key's keep time: %+v", st)
		}
		if err := b.RecordSigninFailure(ctx, "", keys); err != nil {
			t.Fatal(err)
		}
		st, _ = a.SigninStrikes(ctx, []string{"addr:203.0.113.5", "account:olivia"})
		if st["account:olivia"].Failures != 1 || st["addr:203.0.113.5"].Failures != 11 {
			t.Errorf("after one more failure: %+v, want 1 and 11", st)
		}

		// A success clears its keys on every process.
		if err := b.ClearSigninStrikes(ctx, []string{"account:olivia"}); err != nil {
			t.Fatal(err)
		}
		st, _ = a.SigninStrikes(ctx, []string{"addr:203.0.113.5", "account:olivia"})
		if len(st) != 1 || st["addr:203.0.113.5"].Failures != 11 {
			t.Errorf("after clearing the account key: %+v", st)
		}

		// The owner dismisses the notice.
		if err := b.DismissSigninNotice(ctx, acc.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.AccountByName(ctx, "olivia"); got.FailedLogins != 0 || !got.FailedSince.IsZero() || !got.FailedLast.IsZero() {
			t.Errorf("after dismissing: %+v", got)
		}
		if err := a.DismissSigninNotice(ctx, 9999); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("dismiss for an unknown account: %v", err)
		}

		// Forgotten strikes are pruned.
		clk.add(time.Hour)
		if n, err := a.PruneSigninLimits(ctx); err != nil || n != 2 {
			t.Errorf("prune: %d rows, %v; want the address's and nobody's strikes", n, err)
		}
	})
}

// The console's shared secret is made once and is the same on every
// process.
func TestWebSecretShared(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		a, b, _ := twoHandles(t, te)
		var wg sync.WaitGroup
		secrets := make([][]byte, 6)
		for i := range secrets {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() {
				s, err := db.WebSecret(ctx, "cookies")
				if err != nil {
					t.Error(err)
				}
				secrets[i] = s
			})
		}
		wg.Wait()
		for i, s := range secrets {
			if len(s) != 32 || string(s) != string(secrets[0]) {
				t.Errorf("secret %d differs or is not 32 bytes: %x vs %x", i, s, secrets[0])
			}
		}
		other, err := b.WebSecret(ctx, "other")
		if err != nil || string(other) == string(secrets[0]) {
			t.Errorf("another name's secret: %x, %v", other, err)
		}
	})
}
