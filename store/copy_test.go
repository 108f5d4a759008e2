package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"citybot"
)

// TestCopySQLiteToPostgres moves a city's SQLite database into a new
// PostgreSQL one: every table's rows, the same ids, a case merged into a
// later one, no alert or promise move recorded twice by the triggers,
// search on the copied messages, new ids after the copied ones.
func TestCopySQLiteToPostgres(t *testing.T) {
	if os.Getenv(testPostgresURL) == "" {
		t.Skip(testPostgresURL + " not set")
	}
	ctx := context.Background()
	clk := newClock()
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "city.db"), Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	var ids []citybot.CaseID
	for i, text := range []string{"Gas leak near the école, danger", "Pothole on Main Street", "Another pothole on Main Street", "Bins not emptied"} {
		u := citybot.UrgencyNormal
		if i == 0 {
			u = citybot.UrgencyCritical
		}
		res, err := lite.Ingest(ctx, report(msg(fmt.Sprint("chat-", i), "1", fmt.Sprint("u", i), text), "roads", u), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Case.ID)
		clk.Add(time.Minute)
	}
	// The older pothole is merged into the newer one: a reference to a
	// later row of the same table.
	if _, err := lite.SetCaseStatus(ctx, ids[1], citybot.StatusChange{To: citybot.StatusDuplicate, DuplicateOf: ids[2], Actor: "olivia"}); err != nil {
		t.Fatal(err)
	}
	promised := clk.Now().Add(48 * time.Hour)
	if err := lite.SetExpectedBy(ctx, ids[3], &promised, "olivia"); err != nil {
		t.Fatal(err)
	}
	later := promised.Add(48 * time.Hour)
	if err := lite.SetExpectedBy(ctx, ids[3], &later, "olivia"); err != nil {
		t.Fatal(err)
	}
	if _, err := lite.CreateAccount(ctx, "Olivia", citybot.RoleOfficer, "hash", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := lite.AddNote(ctx, ids[0], "olivia", "crew sent"); err != nil {
		t.Fatal(err)
	}
	claimed, err := claimOutbox(ctx, lite, tgOnly, 10)
	if err != nil || len(claimed) == 0 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	if err := lite.MarkSent(ctx, claimed[0].ID, citybot.Sent{ID: "900"}); err != nil {
		t.Fatal(err)
	}
	if err := lite.SetCursor(ctx, "telegram:offset", "77"); err != nil {
		t.Fatal(err)
	}
	if _, err := lite.TakeLease(ctx, "digest", "host-a:1", time.Minute); err != nil {
		t.Fatal(err)
	}

	te := testEngine{Postgres}
	pg, err := te.open(ctx, te.newSource(t), Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	var progress []string
	counts, err := pg.CopyFrom(ctx, lite, func(c TableCount) { progress = append(progress, c.Table) })
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != len(counts) {
		t.Errorf("progress told %d tables, %d copied", len(progress), len(counts))
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[c.Table] = c.Rows
	}
	for table, min := range map[string]int64{"cases": 4, "messages": 5, "alerts": 1, "promise_moves": 1, "accounts": 1, "case_notes": 1,
		"outbox": 4, "cursors": 1, "job_leases": 1, "audit_log": 1, "citizens": 4, "citizen_identities": 4} {
		var n int64
		if err := lite.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n < min || got[table] != n {
			t.Errorf("%s: %d rows in SQLite, %d copied (want at least %d in SQLite)", table, n, got[table], min)
		}
	}
	for _, id := range ids {
		a, err := lite.Case(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if id == ids[1] && a.DuplicateOf != ids[2] {
			t.Fatalf("merged case: duplicate of %v, want %v", a.DuplicateOf, ids[2])
		}
		b, err := pg.Case(ctx, id)
		if err != nil || b.Ref != a.Ref || b.Status != a.Status || b.DuplicateOf != a.DuplicateOf || !b.OpenedAt.Equal(a.OpenedAt) {
			t.Errorf("case %d: SQLite %+v\nPostgreSQL %+v, %v", id, a, b, err)
		}
	}
	if v, err := pg.Cursor(ctx, "telegram:offset"); err != nil || v != "77" {
		t.Errorf("cursor: %q, %v", v, err)
	}
	if a, err := pg.AccountByName(ctx, "olivia"); err != nil || a.Role != citybot.RoleOfficer {
		t.Errorf("account: %+v, %v", a, err)
	}
	items, _, err := pg.InboxPage(ctx, citybot.InboxQuery{Search: "ecole"})
	if err != nil || len(items) != 1 || items[0].Case.ID != ids[0] {
		t.Errorf("search on the copy: %v, %v", items, err)
	}
	// Every index is there again after the copy, the search's included.
	fresh, err := te.open(ctx, te.newSource(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	indexes := func(db *DB) []string {
		names, err := queryStrings(ctx, db.r, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`)
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	if a, b := indexes(pg), indexes(fresh); !slices.Equal(a, b) || !slices.Contains(a, "messages_fts") {
		t.Errorf("indexes after the copy:\n%v\nwant\n%v", a, b)
	}
	// New rows take ids after the copied ones.
	res, err := pg.Ingest(ctx, report(msg("chat-new", "1", "u-new", "Water cut"), "water", citybot.UrgencyNormal), ackFor)
	if err != nil || res.Case.ID <= ids[len(ids)-1] {
		t.Errorf("a new case after the copy: %+v, %v", res.Case, err)
	}
	// A database that holds rows is never copied into.
	if _, err := pg.CopyFrom(ctx, lite, nil); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("copy into a database with rows: %v, want ErrInvalid", err)
	}
	if _, err := lite.CopyFrom(ctx, pg, nil); !errors.Is(err, citybot.ErrNotSupported) {
		t.Errorf("copy into SQLite: %v, want ErrNotSupported", err)
	}
}

// BenchmarkCopyToPostgres measures migrate --from's copy of a city's
// SQLite database of 200,000 cases and 1,000,000 messages into
// PostgreSQL, every table's count checked (rows/s; the whole copy per
// iteration).
//
//	go test ./store -run '^$' -bench CopyToPostgres -benchtime 1x -timeout 30m
func BenchmarkCopyToPostgres(b *testing.B) {
	if os.Getenv(testPostgresURL) == "" {
		b.Skip(testPostgresURL + " not set")
	}
	ctx := context.Background()
	lite, err := Open(ctx, filepath.Join(b.TempDir(), "city.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer lite.Close()
	if err := lite.Synthesize(ctx, SynthOptions{Cases: 200_000, Messages: 1_000_000}); err != nil {
		b.Fatal(err)
	}
	te := testEngine{Postgres}
	b.ResetTimer()
	var rows int64
	var took time.Duration
	for range b.N {
		b.StopTimer()
		pg, err := te.open(ctx, te.newSource(b), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		counts, err := pg.CopyFrom(ctx, lite, nil)
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		for _, c := range counts {
			rows += c.Rows
		}
		b.StopTimer()
		pg.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/copy")
}
