package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"citybot"
)

// benchDB is one synthetic store of 200,000 cases and 1,000,000 messages
// shared by the benchmarks of a run. CITYBOT_BENCH_DB names a file to keep
// it between runs (it is created when missing).
var benchOnce struct {
	sync.Once
	db  *DB
	err error
}

func benchStore(b *testing.B) *DB {
	b.Helper()
	benchOnce.Do(func() {
		ctx := context.Background()
		path := os.Getenv("CITYBOT_BENCH_DB")
		if path == "" {
			dir, err := os.MkdirTemp("", "citybot-bench-")
			if err != nil {
				benchOnce.err = err
				return
			}
			path = filepath.Join(dir, "bench.db")
		}
		db, err := Open(ctx, path, Options{})
		if err != nil {
			benchOnce.err = err
			return
		}
		var n int
		db.r.QueryRowContext(ctx, `SELECT count(*) FROM cases`).Scan(&n)
		if n == 0 {
			benchOnce.err = db.Synthesize(ctx, SynthOptions{Cases: 200_000, Messages: 1_000_000})
		}
		benchOnce.db = db
	})
	if benchOnce.err != nil {
		b.Fatal(benchOnce.err)
	}
	return benchOnce.db
}

// explain logs SQLite's query plan of a query.
func explain(b *testing.B, db *DB, query string, args ...any) {
	b.Helper()
	rows, err := db.r.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, detail)
	}
	b.Logf("plan:\n  %s", strings.Join(lines, "\n  "))
}

func BenchmarkConsoleInboxFirstPage(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	q := citybot.InboxQuery{HideSensitive: true}
	where, args := inboxWhere(SQLite, q, true, nil)
	explain(b, db, `SELECT c.id FROM cases c INDEXED BY cases_inbox_open WHERE `+where+` ORDER BY c.urgency_rank, c.followers DESC, c.opened_at, c.id LIMIT 51`, args...)
	b.ResetTimer()
	for b.Loop() {
		items, _, err := db.InboxPage(ctx, q)
		if err != nil || len(items) != 50 {
			b.Fatalf("%d items, %v", len(items), err)
		}
	}
}

func BenchmarkConsoleInboxCounts(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	q := citybot.InboxQuery{HideSensitive: true}
	where, args := inboxWhere(SQLite, q, false, nil)
	where += " AND " + statusCondition(q, &args)
	explain(b, db, `SELECT c.status, c.urgency_rank, c.topic, c.platform, c.language, count(*) FROM cases c WHERE `+where+` GROUP BY 1, 2, 3, 4, 5`, args...)
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.InboxCounts(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConsoleInboxSearch(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	q := citybot.InboxQuery{Search: "poubelles haute"}
	where, args := inboxWhere(SQLite, q, true, nil)
	explain(b, db, `SELECT c.id FROM cases c WHERE `+where+` ORDER BY c.urgency_rank, c.followers DESC, c.opened_at, c.id LIMIT 51`, args...)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := db.InboxPage(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkConsoleCasePage(b *testing.B) {
	db := benchStore(b)
	ctx := context.Background()
	id := citybot.CaseID(123_457)
	explain(b, db, `SELECT id FROM messages WHERE case_id = ? AND direction = 'in' ORDER BY id DESC LIMIT 500`, int64(id))
	explain(b, db, `SELECT o.id FROM outbox o LEFT JOIN officer_messages om ON om.outbox_key = o.key WHERE o.case_id = ?`, int64(id))
	b.ResetTimer()
	for b.Loop() {
		v, err := db.CaseView(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Conversation(ctx, v.Case.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := db.CaseTags(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := db.CaseNotes(ctx, id); err != nil {
			b.Fatal(err)
		}
		if _, err := db.Audit(ctx, caseSubject(id)); err != nil {
			b.Fatal(err)
		}
	}
}
