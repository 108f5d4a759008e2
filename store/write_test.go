package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
)

// order records the order in which write jobs ran.
type order struct {
	mu  sync.Mutex
	ran []string
}

func (o *order) job(name string, block <-chan struct{}) func(context.Context, querier) error {
	return func(ctx context.Context, tx querier) error {
		if block != nil {
			<-block
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		o.ran = append(o.ran, name)
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES (?, '', '')`, name)
		return err
	}
}

func (o *order) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.ran)
}

// waitQueued waits until n jobs wait in the write queue.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		db.qmu.Lock()
		q := len(db.queue)
		db.qmu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestUrgentWriteGoesFirst holds that an urgent write (MarkSent) waiting
// with others is committed first, in a batch of its own.
func TestUrgentWriteGoesFirst(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		ctx := context.Background()
		var o order
		var wg sync.WaitGroup
		db.wlock <- struct{}{} // a batch is running: everyone queues
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := db.write(ctx, o.job(fmt.Sprint("n", i), nil)); err != nil {
					t.Error(err)
				}
			}()
			waitQueued(t, db, i+1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.writeUrgent(ctx, o.job("urgent", nil)); err != nil {
				t.Error(err)
			}
		}()
		waitQueued(t, db, 6)
		<-db.wlock
		wg.Wait()
		got := o.get()
		if len(got) != 6 || got[0] != "urgent" || !slices.IsSorted(got[1:]) {
			t.Errorf("ran %v, want urgent first, then n0…n4 in order", got)
		}
	})
}

// TestUrgentWriteCutsRunningBatch holds that a batch running when an
// urgent write arrives commits after its current job and leaves the rest
// for later, so that the urgent write waits for one job, not a batch.
func TestUrgentWriteCutsRunningBatch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		ctx := context.Background()
		var o order
		var wg sync.WaitGroup
		release := make(chan struct{})
		db.wlock <- struct{}{}
		for i := range 4 {
			var block <-chan struct{}
			if i == 0 {
				block = release // the first job of the batch holds it running
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := db.write(ctx, o.job(fmt.Sprint("n", i), block)); err != nil {
					t.Error(err)
				}
			}()
			waitQueued(t, db, i+1)
		}
		<-db.wlock
		waitQueued(t, db, 0) // a leader took all four in one batch and runs n0
		done := make(chan error, 1)
		go func() { done <- db.writeUrgent(ctx, o.job("urgent", nil)) }()
		waitQueued(t, db, 1)
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got := o.get(); !slices.Equal(got, []string{"n0", "urgent", "n1", "n2", "n3"}) {
			t.Errorf("ran %v, want n0, urgent, n1, n2, n3", got)
		}
		// Every job was committed once.
		for _, k := range []string{"n0", "n1", "n2", "n3", "urgent"} {
			if _, err := db.Cursor(ctx, k); err != nil {
				t.Error(err)
			}
		}
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM cursors`).Scan(&n); err != nil || n != 5 {
			t.Errorf("%d cursors (%v), want 5", n, err)
		}
	})
}

// TestMarkSentIsUrgent holds that MarkSent uses the urgent path.
func TestMarkSentIsUrgent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		ctx := context.Background()
		if _, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "pothole"), "roads", citybot.UrgencyNormal), ackFor); err != nil {
			t.Fatal(err)
		}
		items, err := claimOutbox(ctx, db, tgOnly, 1)
		if err != nil || len(items) != 1 {
			t.Fatalf("claimed %d, %v", len(items), err)
		}
		var o order
		db.wlock <- struct{}{}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.write(ctx, o.job("ingest", nil)); err != nil {
				t.Error(err)
			}
		}()
		waitQueued(t, db, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.MarkSent(ctx, items[0].ID, citybot.Sent{ID: "s1"}); err != nil {
				t.Error(err)
			}
		}()
		waitQueued(t, db, 2)
		db.qmu.Lock()
		first := db.queue[0].urgent
		db.qmu.Unlock()
		<-db.wlock
		wg.Wait()
		if !first {
			t.Error("MarkSent queued behind an earlier write")
		}
	})
}

// TestCancelledJobGivenBackIsRun holds that a job whose caller gave up
// while the job sat in a batch that an urgent write cut short still gets a
// leader once given back to the queue: its caller returns instead of
// waiting forever.
func TestCancelledJobGivenBackIsRun(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		var o order
		db.wlock <- struct{}{} // the test leads
		ctx1, cancel := context.WithCancel(context.Background())
		defer cancel()
		res1 := make(chan error, 1)
		go func() { res1 <- db.write(ctx1, o.job("n1", nil)) }()
		waitQueued(t, db, 1)
		// Lead a batch of a blocking job and n1, as write's leader loop does.
		release := make(chan struct{})
		n0 := &writeJob{ctx: context.Background(), fn: o.job("n0", release), done: make(chan struct{})}
		db.qmu.Lock()
		batch := append([]*writeJob{n0}, db.queue...)
		db.queue = nil
		db.qmu.Unlock()
		ran := make(chan struct{})
		go func() { db.runBatch(batch); close(ran) }()
		cancel() // n1's caller gives up while n1 is in the running batch
		res2 := make(chan error, 1)
		go func() { res2 <- db.writeUrgent(context.Background(), o.job("urgent", nil)) }()
		waitQueued(t, db, 1)
		close(release)
		<-ran
		<-n0.done
		<-db.wlock // the leader's own job is done: it leaves
		for name, ch := range map[string]chan error{"urgent": res2, "n1": res1} {
			select {
			case err := <-ch:
				if name == "urgent" && err != nil {
					t.Errorf("urgent write: %v", err)
				}
				if name == "n1" && err == nil {
					t.Errorf("n1 ran although its caller gave up before it started")
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s's caller still waits: no leader for a job given back to the queue", name)
			}
		}
		if got := o.get(); !slices.Equal(got, []string{"n0", "urgent"}) {
			t.Errorf("ran %v, want n0 then urgent (n1 cancelled)", got)
		}
	})
}

// TestUrgentBatchNotCut holds that a batch of urgent writes is not cut
// short by another urgent write: they all commit, in order.
func TestUrgentBatchNotCut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		ctx := context.Background()
		var o order
		var wg sync.WaitGroup
		release := make(chan struct{})
		db.wlock <- struct{}{}
		for i := range 3 {
			var block <-chan struct{}
			if i == 0 {
				block = release
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := db.writeUrgent(ctx, o.job(fmt.Sprint("u", i), block)); err != nil {
					t.Error(err)
				}
			}()
			waitQueued(t, db, i+1)
		}
		<-db.wlock
		waitQueued(t, db, 0) // one batch of three urgent jobs runs u0
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.writeUrgent(ctx, o.job("u3", nil)); err != nil {
				t.Error(err)
			}
		}()
		waitQueued(t, db, 1)
		close(release)
		wg.Wait()
		if got := o.get(); !slices.Equal(got, []string{"u0", "u1", "u2", "u3"}) {
			t.Errorf("ran %v, want u0…u3", got)
		}
		if n := db.urgentWaiting.Load(); n != 0 {
			t.Errorf("urgentWaiting = %d after every urgent job ran, want 0", n)
		}
	})
}

// TestBatchJobFailsAlone: in a batch, a job that fails after writing (a
// unique key taken, which on PostgreSQL aborts the statement's
// transaction; or a panic) is undone alone and gets its error; the jobs
// before and after it are committed.
func TestBatchJobFailsAlone(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		ctx := context.Background()
		if err := db.SetCursor(ctx, "taken", "x"); err != nil {
			t.Fatal(err)
		}
		job := func(name string) func(context.Context, querier) error {
			return func(ctx context.Context, tx querier) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES (?, '', '')`, name); err != nil {
					return err
				}
				switch name {
				case "dup":
					_, err := tx.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES ('taken', '', '')`)
					return err
				case "panics":
					panic("a caller's bug")
				}
				return nil
			}
		}
		names := []string{"a", "dup", "b", "panics", "c"}
		errs := make([]error, len(names))
		var wg sync.WaitGroup
		db.wlock <- struct{}{} // a batch is running: all five queue, then run in one batch
		for i, name := range names {
			wg.Go(func() { errs[i] = db.write(ctx, job(name)) })
			waitQueued(t, db, i+1)
		}
		<-db.wlock
		wg.Wait()
		for i, name := range names {
			var kept int
			if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM cursors WHERE key = ?`, name).Scan(&kept); err != nil {
				t.Fatal(err)
			}
			failing := name == "dup" || name == "panics"
			switch {
			case failing && errs[i] == nil:
				t.Errorf("job %s: no error", name)
			case !failing && errs[i] != nil:
				t.Errorf("job %s: %v", name, errs[i])
			case failing && kept != 0:
				t.Errorf("job %s failed but its first write was kept", name)
			case !failing && kept != 1:
				t.Errorf("job %s: %d rows written, want 1", name, kept)
			}
		}
	})
}

// TestWriteLockKey: the batches' BEGIN takes the lock pgWriteLockKey names.
func TestWriteLockKey(t *testing.T) {
	if want := "pg_advisory_xact_lock(" + strconv.FormatInt(pgWriteLockKey, 10) + ")"; !strings.Contains(pgBegin, want) {
		t.Errorf("pgBegin %q does not take %s", pgBegin, want)
	}
}

// TestPostgresServerSettings: on a PostgreSQL database whose default
// isolation is REPEATABLE READ and whose standard_conforming_strings is
// off (a server's or a database's settings, not our test server's), a
// write batch still runs READ COMMITTED, so that it sees what the batch
// it waited for on the lock committed, and the statements with a LIKE
// pattern (OutboxItems, CandidateCases by place) and intake still parse
// and run.
func TestPostgresServerSettings(t *testing.T) {
	if os.Getenv(testPostgresURL) == "" {
		t.Skip(testPostgresURL + " not set")
	}
	ctx := context.Background()
	te := testEngine{Postgres}
	src := te.newSource(t)
	raw, err := sql.Open("pgx", src)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := raw.QueryRowContext(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `ALTER DATABASE `+name+` SET default_transaction_isolation TO 'repeatable read'`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `ALTER DATABASE `+name+` SET standard_conforming_strings TO off`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := te.open(ctx, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var def, got string
	if err := db.r.QueryRowContext(ctx, `SHOW default_transaction_isolation`).Scan(&def); err != nil || def != "repeatable read" {
		t.Fatalf("the database's default isolation = %q, %v: the test sets nothing up", def, err)
	}
	if err := db.write(ctx, func(ctx context.Context, tx querier) error {
		return tx.QueryRowContext(ctx, `SHOW transaction_isolation`).Scan(&got)
	}); err != nil {
		t.Fatal(err)
	}
	if got != "read committed" {
		t.Errorf("a write batch runs %q, want read committed", got)
	}
	if _, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "pothole on Main Street"), "roads", citybot.UrgencyNormal), ackFor); err != nil {
		t.Errorf("ingest: %v", err)
	}
	if items, err := db.OutboxItems(ctx, "a_b"); err != nil || len(items) != 0 {
		t.Errorf("outbox items of a literal prefix: %d, %v", len(items), err)
	}
	if _, err := db.CandidateCases(ctx, citybot.CandidateQuery{Topics: []string{"roads"}, Places: []string{"Main_Street"}}); err != nil {
		t.Errorf("candidates by place: %v", err)
	}
}
