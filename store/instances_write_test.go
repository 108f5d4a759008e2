package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"citybot"
)

// TestInstancesIngestAtOnce: three DBs on one database (three citybot
// processes behind one address) ingest at once the messages of the same
// citizens: each citizen's six lines spread over the three instances, the
// first line delivered twice (a webhook retried on another instance), an
// edit of the second line, and half of the citizens' reports joined by
// grouping to one main case. Whatever the interleaving: no delivery
// fails, every message is stored once, each citizen has one case (opened
// once, acknowledged once; the others follow it up), references are
// unique, and the main case counts its followers exactly.
func TestInstancesIngestAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		src := te.newSource(t)
		var dbs []*DB
		for range 3 {
			db, err := te.open(ctx, src, Options{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs = append(dbs, db)
		}
		mainRes, err := dbs[0].Ingest(ctx, report(msg("chat-main", "1", "main", "Burst main on Main Street"), "water_sanitation", citybot.UrgencyHigh), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		main := mainRes.Case.ID

		const citizens, lines = 40, 6
		type delivery struct {
			db       *DB
			citizen  int
			in       citybot.Intake
			grouped  bool
			redelive bool
		}
		var ds []delivery
		for c := range citizens {
			user, chat := fmt.Sprint("u", c), fmt.Sprint("chat-", c)
			grouped := c%2 == 0
			for l := 1; l <= lines; l++ {
				in := report(msg(chat, fmt.Sprint(l), user, fmt.Sprintf("Water everywhere on Main Street, line %d", l)), "water_sanitation", citybot.UrgencyHigh)
				if grouped {
					in.Group = &citybot.GroupDecision{Join: main}
				}
				ds = append(ds, delivery{db: dbs[(c+l)%3], citizen: c, in: in, grouped: grouped})
				if l == 1 {
					ds = append(ds, delivery{db: dbs[(c+l+1)%3], citizen: c, in: in, grouped: grouped, redelive: true})
				}
				if l == 2 {
					edit := in
					edit.Message.Edit = true
					edit.Message.Text = "Water everywhere on Main Street, line 2, edited"
					ds = append(ds, delivery{db: dbs[(c+l+2)%3], citizen: c, in: edit, grouped: grouped})
				}
			}
		}

		results := make([]citybot.IntakeResult, len(ds))
		errs := make([]error, len(ds))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, d := range ds {
			wg.Go(func() {
				<-start
				results[i], errs[i] = d.db.Ingest(ctx, d.in, ackFor)
			})
		}
		close(start)
		wg.Wait()

		opened := map[int]int{}            // citizen → deliveries that opened a case
		caseOf := map[int]citybot.CaseID{} // citizen → the case their lines went to
		failed := 0
		for i, d := range ds {
			if errs[i] != nil {
				failed++
				if failed <= 5 {
					t.Errorf("citizen %d, message %s (edit %v): %v", d.citizen, d.in.Message.ID, d.in.Message.Edit, errs[i])
				}
				continue
			}
			r := results[i]
			if r.Duplicate {
				continue
			}
			if r.Case == nil {
				t.Errorf("citizen %d, message %s: no case", d.citizen, d.in.Message.ID)
				continue
			}
			if r.NewCase {
				opened[d.citizen]++
				if d.grouped && (r.Joined == nil || r.Joined.ID != main) {
					t.Errorf("citizen %d: grouped report opened case %d, joined %+v", d.citizen, r.Case.ID, r.Joined)
				}
			}
			if have, ok := caseOf[d.citizen]; ok && have != r.Case.ID {
				t.Errorf("citizen %d: lines in cases %d and %d", d.citizen, have, r.Case.ID)
			}
			caseOf[d.citizen] = r.Case.ID
		}
		if failed > 0 {
			t.Errorf("%d of %d deliveries failed", failed, len(ds))
		}
		for c := range citizens {
			if opened[c] != 1 {
				t.Errorf("citizen %d: %d deliveries opened a case, want 1", c, opened[c])
			}
		}

		q := dbs[1].r
		var stored, distinct int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT chat_id || ':' || platform_message_id) FROM messages WHERE direction = 'in'`).Scan(&stored, &distinct); err != nil {
			t.Fatal(err)
		}
		if want := 1 + citizens*lines; stored != want || distinct != want {
			t.Errorf("%d inbound messages stored (%d distinct), want %d", stored, distinct, want)
		}
		var edited int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM messages WHERE platform_message_id = '2' AND text LIKE '%edited'`).Scan(&edited); err != nil {
			t.Fatal(err)
		}
		if edited != citizens {
			t.Errorf("%d second lines carry their edit, want %d", edited, citizens)
		}
		rows, err := q.QueryContext(ctx, `SELECT i.platform_user_id, COUNT(c.id) FROM cases c
			JOIN citizen_identities i ON i.citizen_id = c.citizen_id GROUP BY i.platform_user_id`)
		if err != nil {
			t.Fatal(err)
		}
		perCitizen := map[string]int{}
		for rows.Next() {
			var u string
			var n int
			if err := rows.Scan(&u, &n); err != nil {
				t.Fatal(err)
			}
			perCitizen[u] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for c := range citizens {
			if n := perCitizen[fmt.Sprint("u", c)]; n != 1 {
				t.Errorf("citizen %d has %d cases, want 1", c, n)
			}
		}
		var cases, refs, acks, ackedCases int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT ref) FROM cases`).Scan(&cases, &refs); err != nil {
			t.Fatal(err)
		}
		if cases != 1+citizens || refs != cases {
			t.Errorf("%d cases with %d distinct references, want %d each", cases, refs, 1+citizens)
		}
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT case_id) FROM outbox WHERE kind = 'ack'`).Scan(&acks, &ackedCases); err != nil {
			t.Fatal(err)
		}
		if acks != 1+citizens || ackedCases != acks {
			t.Errorf("%d acknowledgements queued for %d cases, want one for each of %d", acks, ackedCases, 1+citizens)
		}
		var followers, joined, drift int
		if err := q.QueryRowContext(ctx, `SELECT followers, (SELECT COUNT(*) FROM cases WHERE duplicate_of = ?1) FROM cases WHERE id = ?1`, int64(main)).Scan(&followers, &joined); err != nil {
			t.Fatal(err)
		}
		if followers != citizens/2 || joined != citizens/2 {
			t.Errorf("main case: %d followers counted, %d joined; want %d", followers, joined, citizens/2)
		}
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM cases c WHERE c.followers <> (SELECT COUNT(*) FROM cases d WHERE d.duplicate_of = c.id)`).Scan(&drift); err != nil {
			t.Fatal(err)
		}
		if drift != 0 {
			t.Errorf("%d cases count their followers wrong", drift)
		}
	})
}

// TestInstancesMigrateAtOnce: three processes starting together on a new
// database all open it; each migration is applied once.
func TestInstancesMigrateAtOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		src := te.newEmptySource(t)
		dbs := make([]*DB, 3)
		errs := make([]error, 3)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Go(func() {
				<-start
				dbs[i], errs[i] = te.open(ctx, src, Options{})
			})
		}
		close(start)
		wg.Wait()
		for i, db := range dbs {
			if errs[i] != nil {
				t.Errorf("instance %d: open: %v", i, errs[i])
				continue
			}
			t.Cleanup(func() { db.Close() })
		}
		if t.Failed() {
			return
		}
		ms, err := loadMigrations(te.eng)
		if err != nil {
			t.Fatal(err)
		}
		var n, distinct int
		if err := dbs[0].r.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || distinct != n {
			t.Errorf("%d migrations recorded (%d distinct), want %d", n, distinct, len(ms))
		}
	})
}
