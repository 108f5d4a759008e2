package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"citybot"
)

// TestIngestGroupJoin: a report grouping joined to another citizen's case
// gets its own case merged into it in the same transaction, audited by
// "grouping"; the follower's next message follows its own case up; a
// redelivery changes nothing; a closed or sensitive target is not joined,
// and suggestions are kept for officers.
func TestIngestGroupJoin(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		first, err := db.Ingest(ctx, report(msg("chat-a", "1", "a", "Burst main on Main Street"), "water_sanitation", citybot.UrgencyHigh), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		main := first.Case.ID
		clk.Add(time.Minute)

		in := report(msg("chat-b", "1", "b", "Water everywhere on Main Street"), "water_sanitation", citybot.UrgencyHigh)
		in.Group = &citybot.GroupDecision{Join: main}
		res, err := db.Ingest(ctx, in, ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if !res.NewCase || res.Joined == nil || res.Joined.ID != main || res.Case.Status != citybot.StatusDuplicate || res.Case.DuplicateOf != main || res.Case.Ref == first.Case.Ref {
			t.Fatalf("joined report: new %v joined %+v case %+v", res.NewCase, res.Joined, res.Case)
		}
		follower := res.Case.ID
		v, err := db.CaseView(ctx, main)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Merged) != 1 || v.Merged[0].ID != follower {
			t.Fatalf("main case's followers %+v", v.Merged)
		}
		entries, err := db.Audit(ctx, caseSubject(main))
		if err != nil {
			t.Fatal(err)
		}
		if countAction(entries, "case.group_join") != 1 || entries[len(entries)-1].Actor != "grouping" {
			t.Errorf("audit of the main case %+v", entries)
		}

		// The same update again: nothing changes.
		again, err := db.Ingest(ctx, in, ackFor)
		if err != nil || !again.Duplicate {
			t.Fatalf("redelivery: %+v, %v", again, err)
		}
		if v, _ := db.CaseView(ctx, main); len(v.Merged) != 1 {
			t.Errorf("redelivery added a follower: %+v", v.Merged)
		}

		// The follower writes again within the window: their own case, not
		// a new one, and the main case is active and raised with it.
		clk.Add(5 * time.Minute)
		more := report(msg("chat-b", "2", "b", "It is getting worse"), "water_sanitation", citybot.UrgencyCritical)
		more.Group = &citybot.GroupDecision{Join: main} // ignored: a follow-up
		res2, err := db.Ingest(ctx, more, ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if res2.NewCase || res2.Case == nil || res2.Case.ID != follower || res2.Joined != nil || !res2.Escalated {
			t.Fatalf("follower's follow-up: %+v", res2)
		}
		if c, _ := db.Case(ctx, main); c.Urgency != citybot.UrgencyCritical {
			t.Errorf("main case after the follower's follow-up: urgency %s", c.Urgency)
		}
		var last string
		if err := db.r.QueryRowContext(ctx, `SELECT last_message_at FROM cases WHERE id = ?`, int64(main)).Scan(&last); err != nil || !parseTS(last).Equal(clk.Now()) {
			t.Errorf("main case's last message at %s (%v), want %v", last, err, clk.Now())
		}

		// A critical report joining a case: officers are alerted of the case
		// followed (made critical by the follower's follow-up above), never
		// of the follower.
		clk.Add(time.Minute)
		fire := report(msg("chat-f", "1", "f", "Water main burst on Main Street, a car fell in"), "water_sanitation", citybot.UrgencyCritical)
		fire.Group = &citybot.GroupDecision{Join: main}
		resf, err := db.Ingest(ctx, fire, ackFor)
		if err != nil || resf.Joined == nil {
			t.Fatalf("critical report: %+v, %v", resf, err)
		}
		due, err := db.DueAlerts(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		mainAlerts := 0
		for _, a := range due {
			switch a.Case.ID {
			case resf.Case.ID, follower:
				t.Errorf("an alert is due for the follower %s", a.Case.Ref)
			case main:
				mainAlerts++
			}
		}
		if mainAlerts != 1 {
			t.Errorf("%d alerts due for the case followed, want 1", mainAlerts)
		}

		// A sensitive report is never joined; a closed case is not joined.
		bribe := report(msg("chat-c", "1", "c", "They asked me for money to fix the main"), "water_sanitation", citybot.UrgencyNormal)
		bribe.Sensitive = true
		bribe.Group = &citybot.GroupDecision{Join: main}
		if res, err := db.Ingest(ctx, bribe, ackFor); err != nil || res.Joined != nil || res.Case.Status != citybot.StatusNew {
			t.Fatalf("sensitive report: %+v, %v", res, err)
		}
		other, err := db.Ingest(ctx, report(msg("chat-d", "1", "d", "Pothole"), "roads", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetCaseStatus(ctx, other.Case.ID, citybot.StatusChange{To: citybot.StatusClosed, Actor: "alice", Reason: "done"}); err != nil {
			t.Fatal(err)
		}
		late := report(msg("chat-e", "1", "e", "Pothole still there"), "roads", citybot.UrgencyNormal)
		late.Group = &citybot.GroupDecision{Join: other.Case.ID, Suggest: []citybot.CaseSuggestion{{Like: main, Score: 2}, {Like: other.Case.ID, Score: 1}}}
		res3, err := db.Ingest(ctx, late, ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if res3.Joined != nil || res3.Case.Status != citybot.StatusNew || res3.Suggested != 1 {
			t.Fatalf("report for a closed case: %+v", res3)
		}
		if got, _ := db.CaseSuggestions(ctx, main); len(got) != 1 || got[0].Case != res3.Case.ID {
			t.Errorf("suggestions kept %+v", got)
		}
	})
}

// TestInboxRanksFollowers: within an urgency, a case with more followers
// comes first, however recent; the count follows merges.
func TestInboxRanksFollowers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		open := func(user string, u citybot.Urgency) citybot.CaseID {
			t.Helper()
			clk.Add(time.Minute)
			res, err := db.Ingest(ctx, report(msg("chat-"+user, "1", user, "Problem on Main Street"), "roads", u), nil)
			if err != nil {
				t.Fatal(err)
			}
			return res.Case.ID
		}
		old, critical, popular := open("a", citybot.UrgencyNormal), open("b", citybot.UrgencyCritical), open("c", citybot.UrgencyNormal)
		for _, u := range []string{"d", "e"} {
			in := report(msg("chat-"+u, "1", u, "Same problem on Main Street"), "roads", citybot.UrgencyNormal)
			in.Group = &citybot.GroupDecision{Join: popular}
			if _, err := db.Ingest(ctx, in, nil); err != nil {
				t.Fatal(err)
			}
		}
		if c, _ := db.Case(ctx, popular); c.Followers != 2 {
			t.Fatalf("followers %d, want 2", c.Followers)
		}
		items, _, err := db.InboxPage(ctx, citybot.InboxQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var got []citybot.CaseID
		for _, it := range items {
			got = append(got, it.Case.ID)
		}
		if want := []citybot.CaseID{critical, popular, old}; !slices.Equal(got, want) {
			t.Errorf("inbox order %v, want %v", got, want)
		}
		// An officer merges the popular case into the old one: the old one
		// has its three reports' followers now.
		if err := db.MergeCases(ctx, popular, old, "alice", nil); err != nil {
			t.Fatal(err)
		}
		if c, _ := db.Case(ctx, old); c.Followers != 3 {
			t.Errorf("after the merge the case has %d followers, want 3", c.Followers)
		}
		if c, _ := db.Case(ctx, popular); c.Followers != 0 {
			t.Errorf("the merged case keeps %d followers", c.Followers)
		}
	})
}

// TestPublicReporters: the public count is of citizens, each once, and
// never of a sensitive case.
func TestPublicReporters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		first, err := db.Ingest(ctx, report(msg("chat-a", "1", "a", "Burst main on Main Street"), "water_sanitation", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		main := first.Case.ID
		for _, r := range []struct{ chat, user string }{{"chat-b", "b"}, {"chat-a2", "a"}, {"chat-c", "c"}} {
			clk.Add(time.Minute)
			in := report(msg(r.chat, "1", r.user, "Water everywhere on Main Street"), "water_sanitation", citybot.UrgencyNormal)
			in.Group = &citybot.GroupDecision{Join: main}
			if _, err := db.Ingest(ctx, in, nil); err != nil {
				t.Fatal(err)
			}
		}
		open := true
		got, err := db.PublicCases(ctx, citybot.PublicCaseQuery{Open: &open, MinReporters: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Ref != first.Case.Ref || got[0].Reporters != 3 {
			t.Fatalf("public cases %+v, want the main case reported by 3 citizens", got)
		}
		if _, err := db.SetCaseSensitive(ctx, main, true, "ada", "a bribe was mentioned"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.PublicCases(ctx, citybot.PublicCaseQuery{Open: &open, MinReporters: 2}); len(got) != 0 {
			t.Errorf("a sensitive case is public: %+v", got)
		}
	})
}

// TestGroupJoinAllOrNothing: when the intake transaction fails (here its
// reply), neither the join nor the suggestions are kept; the same update
// delivered again then joins once.
func TestGroupJoinAllOrNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		first, err := db.Ingest(ctx, report(msg("chat-a", "1", "a", "Burst main on Main Street"), "water_sanitation", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		other, err := db.Ingest(ctx, report(msg("chat-o", "1", "o", "Leak near Main Street"), "water_sanitation", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		in := report(msg("chat-b", "1", "b", "Water everywhere on Main Street"), "water_sanitation", citybot.UrgencyNormal)
		in.Group = &citybot.GroupDecision{Join: first.Case.ID}
		boom := errors.New("boom")
		if _, err := db.Ingest(ctx, in, func(citybot.IntakeResult) ([]citybot.OutboxItem, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the reply's", err)
		}
		if c, _ := db.Case(ctx, first.Case.ID); c.Followers != 0 {
			t.Fatalf("a failed intake left %d followers", c.Followers)
		}
		entries, err := db.Audit(ctx, caseSubject(first.Case.ID))
		if err != nil || countAction(entries, "case.group_join") != 0 {
			t.Fatalf("a failed intake audited a join: %+v, %v", entries, err)
		}
		sug := report(msg("chat-c", "1", "c", "Something on Main Street"), "water_sanitation", citybot.UrgencyNormal)
		sug.Group = &citybot.GroupDecision{Suggest: []citybot.CaseSuggestion{{Like: other.Case.ID, Score: 1}}}
		if _, err := db.Ingest(ctx, sug, func(citybot.IntakeResult) ([]citybot.OutboxItem, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if n, _ := db.SuggestionCounts(ctx, []citybot.CaseID{other.Case.ID}); n[other.Case.ID] != 0 {
			t.Fatalf("a failed intake kept a suggestion")
		}
		res, err := db.Ingest(ctx, in, ackFor)
		if err != nil || res.Joined == nil || res.Joined.ID != first.Case.ID {
			t.Fatalf("redelivery: %+v, %v", res, err)
		}
		if c, _ := db.Case(ctx, first.Case.ID); c.Followers != 1 {
			t.Errorf("followers %d, want 1", c.Followers)
		}
	})
}
