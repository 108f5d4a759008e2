package store

import (
	"context"
	"errors"
	"testing"

	"citybot"
)

func TestCaseSuggestions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		open := func(user string, sensitive bool) citybot.CaseID {
			t.Helper()
			in := report(msg("chat-"+user, "1", user, "Water everywhere on Main Street"), "water_sanitation", citybot.UrgencyNormal)
			in.Sensitive = sensitive
			res, err := db.Ingest(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			return res.Case.ID
		}
		main, second, third, bribe, closed := open("u1", false), open("u2", false), open("u3", false), open("u4", true), open("u5", false)
		if _, err := db.SetCaseStatus(ctx, closed, citybot.StatusChange{To: citybot.StatusClosed, Actor: "alice", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		n, err := db.AddCaseSuggestions(ctx, []citybot.CaseSuggestion{
			{Case: second, Like: main, Score: 3.5, Signals: 5},
			{Case: third, Like: main, Score: 4.1, Signals: 4},
			{Case: third, Like: second, Score: 2},
			{Case: bribe, Like: main, Score: 9},  // sensitive: skipped
			{Case: closed, Like: main, Score: 9}, // closed: skipped
			{Case: 9999, Like: main, Score: 9},   // missing: skipped
			{Case: second, Like: main, Score: 1}, // again: skipped
		})
		if err != nil || n != 3 {
			t.Fatalf("added %d, %v; want 3", n, err)
		}
		if _, err := db.AddCaseSuggestions(ctx, []citybot.CaseSuggestion{{Case: main, Like: main}}); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("a case like itself: err = %v", err)
		}
		got, err := db.CaseSuggestions(ctx, main)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Case != third || got[1].Case != second || got[1].Signals != 5 || got[1].LikeRef == "" || got[1].CaseRef == "" || got[0].At.IsZero() {
			t.Fatalf("suggestions of the main case %+v", got)
		}
		if got, _ := db.CaseSuggestions(ctx, third); len(got) != 2 || got[0].Like != main || got[1].Like != second {
			t.Errorf("suggestions of the third case %+v", got)
		}
		counts, err := db.SuggestionCounts(ctx, []citybot.CaseID{main, second, third, 9999})
		if err != nil {
			t.Fatal(err)
		}
		if counts[main] != 2 || counts[second] != 1 || counts[third] != 0 || len(counts) != 2 {
			t.Errorf("counts %v", counts)
		}

		// Dismissed: no longer shown, audited, not suggested again.
		if err := db.DismissCaseSuggestion(ctx, third, main, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := db.DismissCaseSuggestion(ctx, third, main, "alice"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("second dismissal: err = %v", err)
		}
		if n, err := db.AddCaseSuggestions(ctx, []citybot.CaseSuggestion{{Case: third, Like: main, Score: 5}}); err != nil || n != 0 {
			t.Errorf("a dismissed pair suggested again: %d, %v", n, err)
		}
		if got, _ := db.CaseSuggestions(ctx, main); len(got) != 1 || got[0].Case != second {
			t.Errorf("after dismissal %+v", got)
		}
		entries, err := db.Audit(ctx, caseSubject(third))
		if err != nil {
			t.Fatal(err)
		}
		if countAction(entries, "case.suggestion_dismiss") != 1 {
			t.Errorf("audit %+v", entries)
		}

		// A case that becomes sensitive drops out of every list.
		if got, _ := db.CaseSuggestions(ctx, second); len(got) != 2 {
			t.Fatalf("suggestions of the second case %+v", got)
		}
		follow := report(msg("chat-u3", "2", "u3", "and the inspector wants cash"), "water_sanitation", citybot.UrgencyNormal)
		follow.Sensitive = true
		if res, err := db.Ingest(ctx, follow, nil); err != nil || res.Case.ID != third || !res.Case.Sensitive {
			t.Fatalf("follow-up %+v, %v", res.Case, err)
		}
		if got, _ := db.CaseSuggestions(ctx, second); len(got) != 1 || got[0].Case != second || got[0].Like != main {
			t.Errorf("after the third case became sensitive %+v", got)
		}

		// Merged: the duplicate drops out of every list.
		if _, err := db.SetCaseStatus(ctx, second, citybot.StatusChange{To: citybot.StatusDuplicate, Actor: "alice", DuplicateOf: main}); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.CaseSuggestions(ctx, main); len(got) != 0 {
			t.Errorf("after merge %+v", got)
		}
		if counts, _ := db.SuggestionCounts(ctx, []citybot.CaseID{main}); counts[main] != 0 {
			t.Errorf("count after merge %v", counts)
		}
	})
}
