package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// digestBenchStart is the Monday of the first generated week.
var digestBenchStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// fillDigestData writes cases cases over weeks weeks with msgsPerCase
// inbound messages each, in one transaction with prepared statements.
// Statuses: 55% resolved (answered first), 20% answered, 25% still new;
// 10% carry a promise; 5% of the resolved were asked "Is it fixed?".
// The full-text trigger is dropped first: the digest reads no full-text
// index, and a million FTS inserts would only slow the set-up.
func fillDigestData(tb testing.TB, db *DB, cases, msgsPerCase, weeks int) {
	tb.Helper()
	ctx := context.Background()
	conn, err := db.w.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) {
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	exec(`DROP TRIGGER IF EXISTS messages_fts_ai`)
	exec(`BEGIN IMMEDIATE`)
	prep := func(q string) func(args ...any) int64 {
		st, err := conn.PrepareContext(ctx, q)
		if err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
		tb.Cleanup(func() { st.Close() })
		return func(args ...any) int64 {
			r, err := st.ExecContext(ctx, args...)
			if err != nil {
				tb.Fatalf("%s: %v", q, err)
			}
			id, _ := r.LastInsertId()
			return id
		}
	}
	citizens := max(cases/4, 1)
	insChat := prep(`INSERT INTO chats (platform, platform_chat_id, kind, created_at) VALUES (?, ?, 'private', ?)`)
	insCitizen := prep(`INSERT INTO citizens (platform, created_at) VALUES (?, ?)`)
	insCase := prep(`INSERT INTO cases (ref, status, topic, urgency, urgency_rank, platform, chat_id, citizen_id, places, expected_by,
		opened_at, updated_at, last_message_at, first_answer_at, resolved_at) VALUES (?, ?, ?, 'normal', 2, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	insMsg := prep(`INSERT INTO messages (direction, chat_id, platform_message_id, citizen_id, case_id, text, sent_at, received_at)
		VALUES ('in', ?, ?, ?, ?, ?, ?, ?)`)
	insFollow := prep(`INSERT INTO followups (case_id, asked_at, outbox_key, answer, answered_at) VALUES (?, ?, ?, ?, ?)`)
	start := ts(digestBenchStart)
	plats := []string{"telegram", "discord"}
	for i := range citizens {
		p := plats[i%2]
		insChat(p, fmt.Sprint("chat", i), start)
		insCitizen(p, start)
	}
	topics := []string{"roads", "waste", "water_sanitation", "street_lighting", "public_safety", "transport", "noise", "parks", "other"}
	streets := []string{"rue de Rivoli", "Main Street", "avenue Foch", "Oak Avenue", "quai de la Gare", "Station Road"}
	rng := rand.New(rand.NewPCG(1, 2))
	span := time.Duration(weeks) * 7 * 24 * time.Hour
	for c := range cases {
		opened := digestBenchStart.Add(time.Duration(rng.Int64N(int64(span))))
		who := c % citizens
		status := "new"
		var first, resolved, expected any
		switch x := rng.IntN(100); {
		case x < 55:
			status = "resolved"
			f := opened.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
			first, resolved = ts(f), ts(f.Add(time.Duration(rng.Int64N(int64(10*24*time.Hour)))))
		case x < 75:
			status = "answered"
			first = ts(opened.Add(time.Duration(rng.Int64N(int64(72 * time.Hour)))))
		}
		if rng.IntN(10) == 0 {
			expected = ts(opened.Add(time.Duration(rng.Int64N(int64(14 * 24 * time.Hour)))))
		}
		places := `["` + streets[rng.IntN(len(streets))] + `"]`
		id := insCase(fmt.Sprintf("R%07d", c), status, topics[rng.IntN(len(topics))], plats[who%2], who+1, who+1, places, expected,
			ts(opened), ts(opened), ts(opened), first, resolved)
		for m := range msgsPerCase {
			at := ts(opened.Add(time.Duration(m) * time.Minute))
			insMsg(who+1, fmt.Sprintf("%d-%d", c, m), who+1, id, "pothole near the school, please fix", at, at)
		}
		if status == "resolved" && rng.IntN(20) == 0 {
			answer := []string{"fixed", "not_fixed"}[rng.IntN(2)]
			insFollow(id, resolved, fmt.Sprint("fixed:", id), answer, resolved)
		}
	}
	exec(`COMMIT`)
	exec(`ANALYZE`)
}

// BenchmarkDigestFigures computes one week's figures (and nothing else)
// with 1,000,000 messages in the store: 200,000 cases of 5 messages over
// 20 weeks, so about 10,000 cases in the week. Run with
//
//	go test ./store -run '^$' -bench DigestFigures -benchtime 10x
func BenchmarkDigestFigures(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{Now: func() time.Time { return digestBenchStart.Add(30 * 7 * 24 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	began := time.Now()
	fillDigestData(b, db, 200_000, 5, 20)
	var n int
	db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages`).Scan(&n)
	b.Logf("generated %d messages in %s", n, time.Since(began).Round(time.Millisecond))
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

// TestDigestQueryPlans holds that the digest's queries read the week's
// rows through their indexes, never a scan of every case.
func TestDigestQueryPlans(t *testing.T) {
	db := openTest(t, nil)
	ctx := context.Background()
	tests := []struct {
		name, query string
		want        []string
	}{
		{"received", `SELECT topic, platform, places, first_answer_at IS NOT NULL FROM cases
			WHERE opened_at >= 'a' AND opened_at < 'b' AND status <> 'duplicate'`, []string{"COVERING INDEX cases_opened_at"}},
		{"first answers", `SELECT topic, opened_at, first_answer_at FROM cases
			WHERE first_answer_at >= 'a' AND first_answer_at < 'b' AND status <> 'duplicate'`, []string{"COVERING INDEX cases_first_answer_at"}},
		{"resolutions", `SELECT topic, opened_at, resolved_at FROM cases WHERE resolved_at >= 'a' AND resolved_at < 'b'`,
			[]string{"COVERING INDEX cases_resolved_at"}},
		{"followups", `SELECT COALESCE(SUM(answer = 'fixed'), 0) FROM followups WHERE answer <> '' AND answered_at >= 'a' AND answered_at < 'b'`,
			[]string{"INDEX followups_answered"}},
		{"promises", `SELECT COUNT(*) FROM cases WHERE expected_by >= 'a' AND expected_by < 'b' AND status <> 'duplicate'`,
			[]string{"COVERING INDEX cases_expected_by"}},
		{"still open", `SELECT (SELECT COUNT(*) FROM cases WHERE status IN ` + openStatuses + ` AND opened_at < 'b') +
			(SELECT COUNT(*) FROM cases WHERE resolved_at >= 'b' AND opened_at < 'b') +
			(SELECT COUNT(*) FROM cases WHERE status = 'closed' AND updated_at >= 'b' AND opened_at < 'b')`,
			[]string{"COVERING INDEX cases_resolved_at"}},
		{"due followups", `SELECT c.id FROM cases c WHERE c.resolved_at >= 'a' AND c.resolved_at <= 'b' AND +c.status = 'resolved'
			AND NOT EXISTS (SELECT 1 FROM followups f WHERE f.case_id = c.id) ORDER BY c.resolved_at, c.id LIMIT 100`,
			[]string{"INDEX cases_resolved_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := db.r.QueryContext(ctx, `EXPLAIN QUERY PLAN `+tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			t.Logf("%s: %s", tt.name, all)
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("plan %q lacks %q", all, w)
				}
			}
			if strings.Contains(all, "SCAN cases") && !strings.Contains(all, "USING") {
				t.Errorf("plan scans every case: %q", all)
			}
		})
	}
}

// TestDigestFiguresOnGeneratedData checks the figures against counts
// computed independently from the generated rows.
func TestDigestFiguresOnGeneratedData(t *testing.T) {
	db := openTest(t, nil)
	fillDigestData(t, db, 3000, 2, 4)
	ctx := context.Background()
	start := digestBenchStart.Add(7 * 24 * time.Hour)
	end := start.Add(7 * 24 * time.Hour)
	f, err := db.DigestFigures(ctx, start, end, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := func(q string, args ...any) int {
		var n int
		if err := db.r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	s, e := ts(start), ts(end)
	if want := count(`SELECT COUNT(*) FROM cases WHERE opened_at >= ? AND opened_at < ?`, s, e); f.Received != want || want == 0 {
		t.Errorf("received %d, want %d", f.Received, want)
	}
	if want := count(`SELECT COUNT(*) FROM cases WHERE resolved_at >= ? AND resolved_at < ?`, s, e); f.Resolved != want || f.Resolution.Count != want {
		t.Errorf("resolved %d, want %d", f.Resolved, want)
	}
	sum := 0
	for _, tf := range f.ByTopic {
		sum += tf.Received
	}
	if sum != f.Received {
		t.Errorf("topics add up to %d, not %d", sum, f.Received)
	}
	if f.FirstAnswer.Median <= 0 || f.FirstAnswer.P90 < f.FirstAnswer.Median || f.FirstAnswer.P90 > 72*time.Hour {
		t.Errorf("first answer %+v", f.FirstAnswer)
	}
	if f.PromisesKept+f.PromisesOverdue != f.PromisesDue {
		t.Errorf("promises %d + %d != %d", f.PromisesKept, f.PromisesOverdue, f.PromisesDue)
	}
}
