package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"citybot"
)

// BenchmarkConsolePostgres runs the console's reads of the benchmarks
// above (BenchmarkConsoleInbox*, BenchmarkConsoleCasePage) on PostgreSQL:
// the same 200,000 cases and 1,000,000 messages, copied from the SQLite
// benchmark store with CopyFrom, then analyzed. CITYBOT_BENCH_PG names a
// PostgreSQL database to keep that copy in between runs (copied into
// when it holds no case); else a new one is made and dropped.
//
//	go test ./store -run '^$' -bench 'Console(InboxFirstPage|InboxSearch|Postgres)' -timeout 30m
func BenchmarkConsolePostgres(b *testing.B) {
	src := os.Getenv("CITYBOT_BENCH_PG")
	if os.Getenv(testPostgresURL) == "" && src == "" {
		b.Skip(testPostgresURL + " not set")
	}
	ctx := context.Background()
	te := testEngine{Postgres}
	if src == "" {
		src = te.newSource(b)
	}
	db, err := te.open(ctx, src, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n == 0 {
		if _, err := db.CopyFrom(ctx, benchStore(b), nil); err != nil {
			b.Fatal(err)
		}
		if _, err := db.w.ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("InboxFirstPage", func(b *testing.B) {
		q := citybot.InboxQuery{HideSensitive: true}
		for b.Loop() {
			items, _, err := db.InboxPage(ctx, q)
			if err != nil || len(items) != 50 {
				b.Fatalf("%d items, %v", len(items), err)
			}
		}
	})
	b.Run("InboxCounts", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.InboxCounts(ctx, citybot.InboxQuery{HideSensitive: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("InboxSearch", func(b *testing.B) {
		q := citybot.InboxQuery{Search: "poubelles haute"}
		for b.Loop() {
			if items, _, err := db.InboxPage(ctx, q); err != nil || len(items) == 0 {
				b.Fatalf("%d items, %v", len(items), err)
			}
		}
	})
	b.Run("CasePage", func(b *testing.B) {
		id := citybot.CaseID(123_457)
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
		}
	})
}

// BenchmarkDigestFiguresPostgres is BenchmarkDigestFigures on PostgreSQL:
// the same 200,000 cases and 1,000,000 messages, written on SQLite and
// copied with CopyFrom, then one week's figures. CITYBOT_BENCH_DIGEST_PG
// names a PostgreSQL database to keep that copy in between runs (copied
// into when it holds no case); else a new one is made and dropped.
//
//	go test ./store -run '^$' -bench 'DigestFigures' -benchtime 10x -timeout 30m
func BenchmarkDigestFiguresPostgres(b *testing.B) {
	src := os.Getenv("CITYBOT_BENCH_DIGEST_PG")
	if os.Getenv(testPostgresURL) == "" && src == "" {
		b.Skip(testPostgresURL + " not set")
	}
	ctx := context.Background()
	now := func() time.Time { return digestBenchStart.Add(30 * 7 * 24 * time.Hour) }
	te := testEngine{Postgres}
	if src == "" {
		src = te.newSource(b)
	}
	db, err := te.open(ctx, src, Options{Now: now})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM cases`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n == 0 {
		// No checkpoint while filling: truncating the WAL of a million
		// rows on a loaded machine held the fill's ANALYZE past its busy
		// timeout ("database is locked").
		lite, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{Now: now, CheckpointInterval: 24 * time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer lite.Close()
		fillDigestData(b, lite, 200_000, 5, 20)
		if _, err := db.CopyFrom(ctx, lite, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := db.w.ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	weekStart := digestBenchStart.Add(10 * 7 * 24 * time.Hour)
	b.ResetTimer()
	for range b.N {
		f, err := db.DigestFigures(ctx, weekStart, weekStart.Add(7*24*time.Hour), []string{"corruption"})
		if err != nil {
			b.Fatal(err)
		}
		if f.Received == 0 {
			b.Fatal("no case in the week")
		}
	}
}
