package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestDigestEquity: real SQLite, cases opened, answered as the clock
// moves; the equity figures match those worked out by hand, a hidden
// topic's place is left out of the districts (its language and wait
// counted), and house numbers never name a district.
func TestDigestEquity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		t0 := time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)
		now := t0
		db := te.openTest(t, func() time.Time { return now })
		ctx := context.Background()
		h := time.Hour
		type rep struct {
			place, lang, topic string
			wait               time.Duration // 0: never answered
		}
		var reps []rep
		for _, w := range []time.Duration{h, h, 2 * h, 2 * h, 0} {
			reps = append(reps, rep{"4 rue du Nord", "fr", "roads", w})
		}
		for _, w := range []time.Duration{10 * h, 10 * h, 10 * h, 12 * h, 12 * h} {
			reps = append(reps, rep{"avenue du Sud", "en", "waste", w})
		}
		reps = append(reps, rep{"boulevard Voltaire", "sw", "roads", h}, rep{"boulevard Voltaire", "sw", "roads", h}, rep{"rue du Nord", "sw", "corruption", h})
		ids := make([]citybot.CaseID, len(reps))
		for i, r := range reps {
			in := report(msg(fmt.Sprint("chat", i), "m", fmt.Sprint("u", i), "a report"), r.topic, citybot.UrgencyNormal)
			in.Classification.Language = r.lang
			in.Classification.Places = []citybot.Place{{Name: r.place, Kind: "street"}}
			res, err := db.Ingest(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = res.Case.ID
		}
		for _, at := range []time.Duration{h, 2 * h, 10 * h, 12 * h} {
			now = t0.Add(at)
			for i, r := range reps {
				if r.wait == at {
					if _, err := db.SetCaseStatus(ctx, ids[i], citybot.StatusChange{To: citybot.StatusInProgress, Actor: "olivia"}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		now = t0.Add(48 * h)
		f, err := db.DigestFigures(ctx, t0.Add(-h), t0.Add(24*h), []string{"corruption"})
		if err != nil {
			t.Fatal(err)
		}
		e := f.Equity
		// City: 1 1 1 1 1 2 2 10 10 10 12 12 48 → 7th of 13: 2 h.
		if e.Reports != 13 || e.Wait != 2*h || e.SmallPlaces != 1 || e.SmallLanguages != 1 {
			t.Fatalf("equity %+v", e)
		}
		// Same number of reports: by name.
		want := []citybot.EquityGroup{
			{Name: "avenue du Sud", Reports: 5, Answered: 5, Wait: 10 * h, Longer: true},
			{Name: "rue du Nord", Reports: 5, Answered: 4, Wait: 2 * h},
		}
		if len(e.ByPlace) != 2 || e.ByPlace[0] != want[0] || e.ByPlace[1] != want[1] {
			t.Errorf("by place %+v", e.ByPlace)
		}
		// sw: 1, 1, 1 h → 3 reports, fewer than 5.
		if len(e.ByLanguage) != 2 || e.ByLanguage[0].Name != "en" || !e.ByLanguage[0].Longer || e.ByLanguage[1] != (citybot.EquityGroup{Name: "fr", Reports: 5, Answered: 4, Wait: 2 * h}) {
			t.Errorf("by language %+v", e.ByLanguage)
		}
	})
}

// TestDecideDigestPublishEquity: the official's choice is kept with an
// approval, never with a send-back.
func TestDecideDigestPublishEquity(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		db := te.openTest(t, func() time.Time { return now })
		ctx := context.Background()
		for i, dec := range []citybot.DigestDecision{
			{Approve: true, Actor: "mayor", PublishEquity: true},
			{Approve: false, Actor: "mayor", Comment: "fix it", PublishEquity: true},
			{Approve: true, Actor: "mayor"},
		} {
			week := citybot.Week(fmt.Sprintf("2026-W%02d", 40+i))
			d, err := db.SaveDigestDraft(ctx, citybot.Digest{Week: week, Texts: map[string]string{"en": "x"}, DraftedBy: "scheduler"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.DecideDigest(ctx, d.ID, dec, func(citybot.Digest) ([]citybot.OutboxItem, error) { return nil, nil })
			if err != nil {
				t.Fatal(err)
			}
			again, err := db.Digest(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := dec.Approve && dec.PublishEquity
			if got.PublishEquity != want || again.PublishEquity != want {
				t.Errorf("decision %+v: publish %v, stored %v", dec, got.PublishEquity, again.PublishEquity)
			}
		}
	})
}

// TestEquityQueryPlan: the equity figures read the week's cases through
// the index on opened_at, never a scan of every case.
func TestEquityQueryPlan(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		if te.eng == Postgres {
			t.Skip("SQLite's query plans (EXPLAIN QUERY PLAN)")
		}
		db := te.openTest(t, nil)
		rows, err := db.r.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+equityQuery, "a", "b")
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
		if !strings.Contains(all, "INDEX cases_opened_at") {
			t.Errorf("plan %q does not use cases_opened_at", all)
		}
	})
}

// BenchmarkDigestEquity runs, side by side on 20,000 generated cases over
// 20 weeks (about 1,000 in the week), a week's whole figures (equity
// included) and the equity figures alone: the ratio is equity's share.
//
//	go test ./store -run '^$' -bench DigestEquity -benchtime 20x
func BenchmarkDigestEquity(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{Now: func() time.Time { return digestBenchStart.Add(30 * 7 * 24 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	fillDigestData(b, db, 20_000, 1, 20)
	start := digestBenchStart.Add(10 * 7 * 24 * time.Hour)
	end := start.Add(7 * 24 * time.Hour)
	b.Run("figures", func(b *testing.B) {
		for b.Loop() {
			if f, err := db.DigestFigures(ctx, start, end, nil); err != nil || f.Equity.Reports == 0 {
				b.Fatal(f.Equity.Reports, err)
			}
		}
	})
	b.Run("equity", func(b *testing.B) {
		for b.Loop() {
			if e, err := db.equity(ctx, start, end, nil); err != nil || e.Reports == 0 {
				b.Fatal(e.Reports, err)
			}
		}
	})
}

// TestPublishDigestEquityAfterApproval: an approved digest's figures are
// published and withdrawn later, audited; a draft is refused, an unknown
// digest is not found.
func TestPublishDigestEquityAfterApproval(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		db := te.openTest(t, func() time.Time { return now })
		ctx := context.Background()
		d, err := db.SaveDigestDraft(ctx, citybot.Digest{Week: "2026-W47", Texts: map[string]string{"en": "x"}, DraftedBy: "scheduler"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.PublishDigestEquity(ctx, d.ID, true, "mayor"); !errors.Is(err, citybot.ErrInvalid) {
			t.Fatalf("draft: %v, want ErrInvalid", err)
		}
		if _, err := db.DecideDigest(ctx, d.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}, func(citybot.Digest) ([]citybot.OutboxItem, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
		for _, publish := range []bool{true, true, false} {
			got, err := db.PublishDigestEquity(ctx, d.ID, publish, "mayor")
			if err != nil || got.PublishEquity != publish {
				t.Fatalf("publish %v: %v %v", publish, got.PublishEquity, err)
			}
			again, _ := db.Digest(ctx, d.ID)
			if again.PublishEquity != publish {
				t.Fatalf("stored %v, want %v", again.PublishEquity, publish)
			}
		}
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'digest.publish_equity'`).Scan(&n); err != nil || n != 2 {
			t.Errorf("audit rows %d (%v), want 2 (the repeated choice changes nothing)", n, err)
		}
		if _, err := db.PublishDigestEquity(ctx, 999, true, "mayor"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown digest: %v", err)
		}
	})
}
