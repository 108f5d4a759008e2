package store

import (
	"context"
	"database/sql"
	"testing"

	"citybot"
)

// With every export connection taken (anonymous CSV exports running),
// the health check and the console still read at once on their own
// connections, while one more export waits for a connection to come back.
func TestHealthAndConsoleNotStarvedByExports(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, err := te.open(ctx, te.newSource(t), Options{ExportConns: 2, ReadConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		// Exports hold both export connections.
		var held []*sql.Conn
		for range 2 {
			c, err := db.xr.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
		}
		waiting := make(chan error, 1)
		go func() {
			_, err := db.PublicCases(ctx, citybot.PublicCaseQuery{Limit: 10})
			waiting <- err
		}()
		// The health check and the console answer meanwhile (were they on
		// the export pool, they would wait as the third export does, and
		// the test would never end).
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("ping while exports hold their pool: %v", err)
		}
		if _, _, err := db.InboxPage(ctx, citybot.InboxQuery{}); err != nil {
			t.Fatalf("console read while exports hold their pool: %v", err)
		}
		select {
		case err := <-waiting:
			t.Fatalf("a third export found a connection while both were held (%v): the export pool is not bounded", err)
		default:
		}
		for _, c := range held {
			c.Close()
		}
		if err := <-waiting; err != nil {
			t.Fatalf("the waiting export, once a connection came back: %v", err)
		}
	})
}
