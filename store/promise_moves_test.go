package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"citybot"
)

// TestPromiseMovesRecordedAndBackfilled: a promised date replaced by a
// later one, by an earlier one, or cleared is recorded as a move (a date
// set again to the same day is not); a database from before migration
// 0150 gets the same moves from its audit log.
func TestPromiseMovesRecordedAndBackfilled(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	path := filepath.Join(t.TempDir(), "citybot.db")
	db, err := Open(ctx, path, Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "pothole"), "roads", citybot.UrgencyNormal), ackFor)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) *time.Time { v := time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC); return &v }
	for _, d := range []*time.Time{day(5), day(5), day(9), day(7), nil, day(12)} {
		clk.Add(time.Hour)
		if err := db.SetExpectedBy(ctx, res.Case.ID, d, "olivia"); err != nil {
			t.Fatal(err)
		}
	}
	type move struct{ from, to int }
	check := func(when string) {
		t.Helper()
		ps, err := db.Promises(ctx, *day(1), *day(31))
		if err != nil {
			t.Fatal(err)
		}
		var got []move
		for _, p := range ps {
			if p.MovedAt == nil {
				if p.ExpectedBy.Day() != 12 {
					t.Errorf("%s: current date %v", when, p.ExpectedBy)
				}
				continue
			}
			m := move{from: p.ExpectedBy.Day()}
			if !p.MovedTo.IsZero() {
				m.to = p.MovedTo.Day()
			}
			got = append(got, m)
		}
		// Ordered by the old date: 5→9, 7→cleared, 9→7.
		want := []move{{5, 9}, {7, 0}, {9, 7}}
		if len(got) != len(want) {
			t.Fatalf("%s: moves %v, want %v", when, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: moves %v, want %v", when, got, want)
			}
		}
	}
	check("recorded")
	// As if the file came from before 0150.
	for _, q := range []string{`DROP TRIGGER cases_promise_moved`, `DROP TABLE promise_moves`, `DELETE FROM schema_migrations WHERE version = 150`} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if db, err = Open(ctx, path, Options{Now: clk.Now}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check("backfilled")
}
