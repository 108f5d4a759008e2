package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"citybot"
)

// outboxChannel is the PostgreSQL channel that every queueing of outbox
// rows notifies (migration 0231, a trigger: every write path queues
// through it, in its own transaction).
const outboxChannel = "citybot_outbox"

// Backoff of WatchOutbox's reconnections.
const (
	watchBackoffMin = 500 * time.Millisecond
	watchBackoffMax = 30 * time.Second
)

// WatchOutbox calls wake each time outbox rows are queued by any process
// on the database, until ctx ends; it blocks meanwhile and then returns
// nil. On PostgreSQL it LISTENs on a connection of its own (outside the
// pools), notified when each queueing transaction commits. Once
// listening, and again after each reconnection, it also calls wake once:
// rows may have been queued while it was not listening. A lost
// connection is opened again with a backoff (500 ms doubling to 30 s);
// the first failure of an outage and the recovery are logged, never the
// connection string. wake must not block.
//
// On SQLite it returns an error wrapping citybot.ErrNotSupported at
// once: one process uses the file, and its own writers wake its
// dispatcher in memory.
func (db *DB) WatchOutbox(ctx context.Context, wake func()) error {
	if db.eng != Postgres || db.pgcfg == nil {
		return fmt.Errorf("store: watch outbox: %w: only PostgreSQL notifies other processes", citybot.ErrNotSupported)
	}
	log := db.log.With("channel", outboxChannel)
	wait := watchBackoffMin
	lost := false
	for ctx.Err() == nil {
		err := db.listenOutbox(ctx, wake, func() {
			wait = watchBackoffMin
			if lost {
				lost = false
				log.Info("outbox wake-ups from other instances restored")
			}
		})
		if ctx.Err() != nil {
			break
		}
		if !lost {
			lost = true
			log.Warn("outbox wake-ups from other instances lost: the dispatcher polls meanwhile ([outbox] poll_interval); reconnecting",
				"err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, watchBackoffMax)
	}
	return nil
}

// listenOutbox connects, listens, calls listening then wake, and calls
// wake for each notification until the connection fails (its error,
// naming none of the connection string's parts) or ctx ends (nil).
func (db *DB) listenOutbox(ctx context.Context, wake, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, db.pgcfg.Copy())
	if err != nil {
		return redactConnErr(err, db.pgcfg)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+outboxChannel); err != nil {
		return lostErr(err)
	}
	listening()
	wake()
	token := "probe:" + rand.Text()
	heard := make(chan struct{})
	pctx, stopProbe := context.WithCancel(ctx)
	probed := make(chan struct{})
	defer func() { stopProbe(); <-probed }()
	go func() { defer close(probed); db.probeListen(pctx, token, heard) }()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return lostErr(err)
		}
		if n.Payload == token {
			if heard != nil {
				close(heard)
				heard = nil
			}
			continue
		}
		wake()
	}
}

// listenProbeTimeout is how long a new listening connection may take to
// hear its own probe before WatchOutbox warns.
const listenProbeTimeout = 10 * time.Second

// probeListen notifies the outbox channel with token from the writers'
// connection and warns, in words, when the listening connection has not
// heard it (closed heard) within listenProbeTimeout: a pooler in
// transaction mode (PgBouncer) lets LISTEN succeed and passes on no
// notification, and the dispatchers would silently wait for their poll.
func (db *DB) probeListen(ctx context.Context, token string, heard <-chan struct{}) {
	channel, timeout := db.listenProbe.channel, db.listenProbe.timeout
	if channel == "" {
		channel = outboxChannel
	}
	if timeout <= 0 {
		timeout = listenProbeTimeout
	}
	if _, err := db.w.ExecContext(ctx, `SELECT pg_notify(?, ?)`, channel, token); err != nil {
		if ctx.Err() == nil {
			db.log.Warn("outbox wake-ups: could not send the listener's probe", "err", mapErr(err))
		}
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-heard:
		db.log.Debug("outbox wake-ups: the listener heard its probe")
	case <-ctx.Done():
	case <-t.C:
		db.log.Warn("outbox wake-ups: the listening connection did not hear its own probe within " + timeout.String() +
			": a pooler in transaction mode (PgBouncer) lets LISTEN through and passes on no notification; connect citybot" +
			" to PostgreSQL directly or through a pooler in session mode. Meanwhile the dispatcher polls ([outbox] poll_interval)")
	}
}

// lostErr is a failure of the listening connection once connected, in
// words that name none of the connection string's parts.
func lostErr(err error) error {
	msg := "the connection was lost"
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg = fmt.Sprintf("the server ended it (SQLSTATE %s)", pe.Code)
	}
	return &secretError{msg: "listen on PostgreSQL: " + msg, err: err}
}
