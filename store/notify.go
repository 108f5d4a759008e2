package store

import (
	"context"
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
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return lostErr(err)
		}
		wake()
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
