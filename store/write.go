package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// maxBatch bounds how many writes one transaction commits together.
// On PostgreSQL, each job's savepoint that writes is a subtransaction
// whose id the server keeps until the commit, in a cache of 64 per
// session; past it, every other session's snapshots must look up
// pg_subtrans ("suboverflowed"), which slows the whole server. So a batch
// there holds pgMaxBatch jobs, leaving room for the savepoints a job may
// take itself (undoable).
const (
	maxBatch   = 64
	pgMaxBatch = 48
)

// pgBegin starts a write batch on PostgreSQL: a READ COMMITTED
// transaction that first takes the writers' advisory lock
// (pgWriteLockKey), released by its COMMIT or ROLLBACK, so that the
// batches of every process on the database run one at a time, as BEGIN
// IMMEDIATE makes SQLite's do. The store's writes read then write (a
// citizen's open case, a chat or identity seen before, a message already
// stored, grouping's target): two processes running them at once under
// READ COMMITTED would open two cases for one citizen, or fail on a
// unique key. Both statements go in one round trip (pgx sends a query
// without arguments in the simple protocol, which runs several).
//
// READ COMMITTED is named, not left to the server's
// default_transaction_isolation: under REPEATABLE READ or SERIALIZABLE
// the transaction's snapshot is taken by the lock's SELECT, before it
// waits, and the batch would not see what the batch it waited for
// committed (two cases for one citizen again, or serialization failures).
//
// Readers never take the lock; nor does any statement outside a write
// batch, so a batch waits only for another process's batch.
const pgBegin = `BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(7163384747000820823)` // pgWriteLockKey

// pgWriteLockKey is the advisory lock key of the write batches: an
// arbitrary constant ("citybotW" read as a 64-bit integer), which other
// advisory locks of the store must not use.
const pgWriteLockKey int64 = 0x63697479_626f7457

// writeJob is one caller's write, waiting to be committed in a batch.
type writeJob struct {
	ctx    context.Context
	fn     func(ctx context.Context, tx querier) error
	urgent bool // see writeUrgent
	err    error
	done   chan struct{}
}

// write runs fn in a write transaction and returns once it is committed
// (nil) or rolled back (fn's error, or the commit's).
//
// Writes are committed in groups: callers queue their job; the first to
// take the write lock becomes the leader, runs every queued job in one
// BEGIN IMMEDIATE transaction (on PostgreSQL, BEGIN and the writers'
// advisory lock: see pgBegin), each inside its own SAVEPOINT (a job that
// fails is rolled back alone), commits once and wakes the others. Under
// load one commit serves many messages; alone, a write costs what a plain
// transaction does. fn may run on another caller's goroutine and must not
// block. fn gets a context that carries the caller's values but is never
// cancelled: a write, once started, runs to its end (they are short), and
// statements on an uncancellable context cost no watcher goroutine, which
// matters at a thousand messages a second.
func (db *DB) write(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	return db.enqueueWrite(ctx, fn, false)
}

// writeUrgent is write for a job that must not wait behind the queue: it
// goes ahead of every non-urgent job waiting, a batch running when it
// arrives commits after the job it is running and gives the rest back to
// the queue, and the next batch holds urgent jobs only. So it waits for
// at most one other job and two commits. It is for recording that a
// message was delivered (MarkSent): until that commit, a crash makes the
// message go out again at restart.
func (db *DB) writeUrgent(ctx context.Context, fn func(ctx context.Context, tx querier) error) error {
	return db.enqueueWrite(ctx, fn, true)
}

func (db *DB) enqueueWrite(ctx context.Context, fn func(ctx context.Context, tx querier) error, urgent bool) error {
	j := &writeJob{ctx: ctx, fn: fn, urgent: urgent, done: make(chan struct{})}
	db.qmu.Lock()
	if urgent {
		// After the urgent jobs already waiting, before the others.
		i := 0
		for i < len(db.queue) && db.queue[i].urgent {
			i++
		}
		db.queue = slices.Insert(db.queue, i, j)
		db.urgentWaiting.Add(1)
	} else {
		db.queue = append(db.queue, j)
	}
	db.qmu.Unlock()
	select {
	case db.wlock <- struct{}{}:
	case <-j.done:
		return j.err
	case <-ctx.Done():
		if db.unqueue(j) {
			return ctx.Err()
		}
		// A leader took it: it runs it, or, cut short by an urgent
		// write, gives it back to the queue, where it needs a leader
		// (its run then fails on the cancelled ctx).
		select {
		case <-j.done:
			return j.err
		case db.wlock <- struct{}{}:
		}
	}
	defer func() { <-db.wlock }()
	for {
		db.qmu.Lock()
		n := min(len(db.queue), db.maxBatch)
		if n > 0 && db.queue[0].urgent {
			// Urgent jobs alone: a short batch commits soonest.
			u := 1
			for u < n && db.queue[u].urgent {
				u++
			}
			n = u
			db.urgentWaiting.Add(-int32(u))
		}
		batch := append([]*writeJob(nil), db.queue[:n]...)
		db.queue = db.queue[n:]
		db.qmu.Unlock()
		if len(batch) == 0 {
			break
		}
		db.runBatch(batch)
		select {
		case <-j.done:
			return j.err
		default: // our job is further in the queue: lead another batch
		}
	}
	<-j.done // a previous leader ran it
	return j.err
}

// unqueue removes a job that no leader has taken yet.
func (db *DB) unqueue(j *writeJob) bool {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	for i, q := range db.queue {
		if q == j {
			db.queue = append(db.queue[:i], db.queue[i+1:]...)
			if j.urgent {
				db.urgentWaiting.Add(-1)
			}
			return true
		}
	}
	return false
}

// requeue puts jobs a batch did not run (never urgent ones) back in the
// queue, after the urgent jobs and before the others, in their order.
func (db *DB) requeue(jobs []*writeJob) {
	db.qmu.Lock()
	defer db.qmu.Unlock()
	i := 0
	for i < len(db.queue) && db.queue[i].urgent {
		i++
	}
	db.queue = slices.Insert(db.queue, i, jobs...)
}

// runBatch runs jobs in one transaction and completes every job it runs.
// When an urgent job is queued meanwhile, it stops after the job it is
// running, commits, and gives the jobs it did not start back to the queue
// (see writeUrgent).
func (db *DB) runBatch(batch []*writeJob) {
	finish := func(err error) {
		for _, j := range batch {
			if j.err == nil {
				j.err = err
			}
			close(j.done)
		}
	}
	// The batch runs on a dedicated connection with explicit BEGIN and
	// COMMIT and uncancellable contexts: database/sql's Tx and a
	// cancellable context would start a goroutine per statement.
	bg := context.Background()
	conn, err := db.w.Conn(bg)
	if err != nil {
		finish(err)
		return
	}
	defer conn.Close()
	var q querier = conn
	begin := `BEGIN IMMEDIATE`
	if db.eng == Postgres {
		q, begin = pgQuerier{conn}, pgBegin
	}
	if _, err := conn.ExecContext(bg, begin); err != nil {
		// On PostgreSQL the BEGIN may have passed and the lock failed:
		// end that transaction, or the next batch would run in it.
		conn.ExecContext(bg, `ROLLBACK`)
		finish(err)
		return
	}
	abort := func(err error) {
		conn.ExecContext(bg, `ROLLBACK`)
		finish(err)
	}
	if len(batch) == 1 {
		// Alone: no savepoint needed (nor its journal of every page the
		// job touches); a failure rolls back the whole transaction.
		j := batch[0]
		if j.err = j.ctx.Err(); j.err == nil {
			j.err = runJob(j, q)
		}
		if j.err != nil {
			abort(nil)
			return
		}
		if _, err := conn.ExecContext(bg, `COMMIT`); err != nil {
			abort(fmt.Errorf("commit: %w", err))
			return
		}
		finish(nil)
		return
	}
	ok := 0
	// On PostgreSQL, where each statement is a round trip, a job's
	// RELEASE goes with the next job's SAVEPOINT, and the last one's is
	// left to COMMIT (which releases every savepoint): one round trip per
	// job fewer. SQLite runs them in process, each as it comes.
	release := ""
	for i, j := range batch {
		// Batches hold urgent jobs only or none (urgent jobs wait at the
		// queue's head and are taken alone), and only the latter are cut.
		if i > 0 && !j.urgent && db.urgentWaiting.Load() > 0 {
			db.requeue(batch[i:])
			batch = batch[:i] // finish and abort complete the jobs run only
			break
		}
		if err := j.ctx.Err(); err != nil {
			j.err = err
			continue
		}
		sp := "job" + strconv.Itoa(i)
		if _, err := conn.ExecContext(bg, release+`SAVEPOINT `+sp); err != nil {
			abort(err)
			return
		}
		release = ""
		if j.err = runJob(j, q); j.err != nil {
			// Undo this job alone. If SQLite already rolled the whole
			// transaction back (I/O error, full disk), this fails and
			// the batch fails with it.
			if _, err := conn.ExecContext(bg, `ROLLBACK TO `+sp); err != nil {
				abort(errors.Join(j.err, err))
				return
			}
		} else {
			ok++
		}
		if db.eng == Postgres {
			release = `RELEASE ` + sp + `; `
			continue
		}
		if _, err := conn.ExecContext(bg, `RELEASE `+sp); err != nil {
			abort(err)
			return
		}
	}
	if ok == 0 {
		abort(nil)
		return
	}
	if _, err := conn.ExecContext(bg, `COMMIT`); err != nil {
		for _, j := range batch {
			if j.err == nil {
				j.err = fmt.Errorf("commit: %w", err)
			}
		}
		abort(nil)
		return
	}
	finish(nil)
}

// runJob runs one job's function, turning a panic into its error so that
// one caller's bug cannot take down the others' writes.
func runJob(j *writeJob, conn querier) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: write panicked: %v", p)
		}
	}()
	return j.fn(context.WithoutCancel(j.ctx), conn)
}
