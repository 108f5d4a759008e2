package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestSensitiveFlagPersistsAndPropagates: a sensitive follow-up makes its
// pothole case sensitive, durably (after a reopen); the flag hides the
// case from public output, inbox searches of readers who may not see it,
// the digest's places and examples; clearing it is audited and needs a
// reason.
func TestSensitiveFlagPersistsAndPropagates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		path := te.newSource(t)
		clk := newClock()
		db, err := te.open(ctx, path, Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { db.Close() }()

		first, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "pothole on Main Street"), "roads", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		if first.Case == nil || first.Case.Sensitive {
			t.Fatalf("a pothole case opened sensitive: %+v", first.Case)
		}
		clk.Add(time.Minute)
		in := report(msg("c1", "2", "u1", "the inspector wants 300 cash to fix it"), "roads", citybot.UrgencyNormal)
		in.Sensitive, in.SensitiveCues = true, []string{"cash", "inspector"}
		follow, err := db.Ingest(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if follow.NewCase || follow.Case == nil || follow.Case.ID != first.Case.ID {
			t.Fatalf("the follow-up did not join the case: %+v", follow)
		}
		if !follow.BecameSensitive || !follow.Case.Sensitive {
			t.Fatalf("the follow-up did not make the case sensitive: %+v", follow)
		}
		// A redelivery changes nothing and says nothing new.
		again, err := db.Ingest(ctx, in, nil)
		if err != nil || !again.Duplicate || again.BecameSensitive {
			t.Fatalf("redelivery: %+v %v", again, err)
		}
		// A second sensitive message keeps the flag without a second event.
		clk.Add(time.Minute)
		in3 := report(msg("c1", "3", "u1", "and he said so again"), "roads", citybot.UrgencyNormal)
		in3.Sensitive, in3.SensitiveCues = true, []string{"cash", "again"}
		third, err := db.Ingest(ctx, in3, nil)
		if err != nil || third.BecameSensitive || !third.Case.Sensitive {
			t.Fatalf("second sensitive message: %+v %v", third, err)
		}

		// Durable: reopen the file.
		db.Close()
		if db, err = te.open(ctx, path, Options{Now: clk.Now}); err != nil {
			t.Fatal(err)
		}
		c, err := db.Case(ctx, first.Case.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Sensitive || !slices.Equal(c.SensitiveCues, []string{"cash", "inspector", "again"}) {
			t.Fatalf("after reopen: sensitive=%v cues=%q", c.Sensitive, c.SensitiveCues)
		}
		msgs, err := db.CaseMessages(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		var marks []bool
		for _, m := range msgs {
			marks = append(marks, m.Sensitive)
		}
		if !slices.Equal(marks, []bool{false, true, true}) {
			t.Fatalf("messages' sensitive marks = %v", marks)
		}
		hist, err := db.Audit(ctx, caseSubject(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if n := countAction(hist, "case.sensitive"); n != 1 {
			t.Fatalf("%d case.sensitive audit entries, want 1", n)
		}

		// Hidden where it must be.
		pub, err := db.PublicCases(ctx, citybot.PublicCaseQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pub) != 0 {
			t.Fatalf("public cases show the sensitive case: %+v", pub)
		}
		items, _, err := db.InboxPage(ctx, citybot.InboxQuery{Search: "inspector", HideSensitive: true})
		if err != nil || len(items) != 0 {
			t.Fatalf("search without the right found %d cases (%v)", len(items), err)
		}
		counts, err := db.InboxCounts(ctx, citybot.InboxQuery{HideSensitive: true})
		if err != nil || counts.Total != 0 {
			t.Fatalf("counts without the right: %+v %v", counts, err)
		}
		items, _, err = db.InboxPage(ctx, citybot.InboxQuery{Search: "inspector"})
		if err != nil || len(items) != 1 {
			t.Fatalf("search with the right found %d cases (%v)", len(items), err)
		}

		// Clearing needs a reason, is audited, and shows the case again.
		if _, err := db.SetCaseSensitive(ctx, c.ID, false, "alice", "  "); !errors.Is(err, citybot.ErrInvalid) {
			t.Fatalf("clear without a reason: %v", err)
		}
		cleared, err := db.SetCaseSensitive(ctx, c.ID, false, "alice", "not a bribe: a fee with receipt")
		if err != nil || cleared.Sensitive || len(cleared.SensitiveCues) != 0 {
			t.Fatalf("clear: %+v %v", cleared, err)
		}
		hist, _ = db.Audit(ctx, caseSubject(c.ID))
		last := hist[len(hist)-1]
		if last.Action != "case.sensitive" || last.Actor != "alice" || !strings.Contains(last.After, "fee with receipt") {
			t.Fatalf("last audit entry %+v", last)
		}
		if pub, _ = db.PublicCases(ctx, citybot.PublicCaseQuery{}); len(pub) != 1 {
			t.Fatalf("cleared case not public: %d", len(pub))
		}
		// The configured topics' backfill leaves a case staff decided on.
		if _, err := db.CorrectCase(ctx, c.ID, "corruption", "", "alice"); err != nil {
			t.Fatal(err)
		}
		n, err := db.FlagSensitiveTopics(ctx, []string{"corruption", "police"})
		if err != nil || n != 0 {
			t.Fatalf("backfill flagged %d (%v), want 0: staff cleared it", n, err)
		}
		if _, err := db.SetCaseSensitive(ctx, 999, true, "alice", "x"); !errors.Is(err, citybot.ErrNotFound) {
			t.Fatalf("unknown case: %v", err)
		}
	})
}

// TestFlagSensitiveTopicsBackfill: cases on a configured sensitive topic
// are flagged once; the migration flags the default topic.
func TestFlagSensitiveTopicsBackfill(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		a, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "police took money"), "police", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.Ingest(ctx, report(msg("c2", "1", "u2", "pothole"), "roads", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.FlagSensitiveTopics(ctx, []string{"police"})
		if err != nil || n != 1 {
			t.Fatalf("flagged %d (%v), want 1", n, err)
		}
		ca, _ := db.Case(ctx, a.Case.ID)
		cb, _ := db.Case(ctx, b.Case.ID)
		if !ca.Sensitive || cb.Sensitive || !slices.Equal(ca.SensitiveCues, []string{"topic:police"}) {
			t.Fatalf("after backfill: %+v / %+v", ca, cb)
		}
		// The same list again does nothing (not even a scan).
		if _, err := db.SetCaseSensitive(ctx, a.Case.ID, false, "root", "checked"); err != nil {
			t.Fatal(err)
		}
		if n, err = db.FlagSensitiveTopics(ctx, []string{"police"}); err != nil || n != 0 {
			t.Fatalf("second run flagged %d (%v)", n, err)
		}
	})
}

// TestMigrationBackfillsSensitive: a database from before 0030 with a
// corruption case gets it flagged by the migration.
func TestMigrationBackfillsSensitive(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "citybot.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "bribe"), "corruption", citybot.UrgencyNormal), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.Ingest(ctx, report(msg("c2", "1", "u2", "pothole"), "roads", citybot.UrgencyNormal), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Undo 0030 by hand, as if the file came from an older citybot
	// (nor 0120, whose indexes name the flag).
	for _, q := range []string{
		`DROP INDEX cases_grouping_topic`, `DROP INDEX cases_grouping_recent`, `DELETE FROM schema_migrations WHERE version = 120`,
		`DROP INDEX messages_feedback`, `DROP INDEX cases_facets`, `DROP INDEX cases_opened_at`,
		`ALTER TABLE cases DROP COLUMN sensitive`, `ALTER TABLE cases DROP COLUMN sensitive_cues`,
		`ALTER TABLE messages DROP COLUMN sensitive`, `ALTER TABLE messages DROP COLUMN intent`,
		`CREATE INDEX cases_facets ON cases (status, urgency_rank, topic, platform, language)`,
		`CREATE INDEX cases_opened_at ON cases (opened_at, status, topic, platform, first_answer_at, places)`,
		`DELETE FROM schema_migrations WHERE version = 30`,
	} {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	if db, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Case(ctx, res.Case.ID)
	if err != nil {
		t.Fatal(err)
	}
	o, err := db.Case(ctx, other.Case.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Sensitive || o.Sensitive {
		t.Fatalf("after migration: corruption sensitive=%v, roads sensitive=%v", c.Sensitive, o.Sensitive)
	}
	ms, err := db.CaseMessages(ctx, c.ID)
	if err != nil || len(ms) != 1 || !ms[0].Sensitive {
		t.Fatalf("message not marked: %+v %v", ms, err)
	}
}

func countAction(es []citybot.AuditEntry, action string) int {
	n := 0
	for _, e := range es {
		if e.Action == action {
			n++
		}
	}
	return n
}

// TestFeedbackJoinsLatestCase: thanks joins the citizen's most recent case
// in the chat whatever its status, changes nothing in it, adds no tags,
// and is counted as thanks, not as a report.
func TestFeedbackJoinsLatestCase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		start := clk.Now()
		res, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "pothole"), "roads", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []citybot.CaseStatus{citybot.StatusInProgress, citybot.StatusResolved} {
			if _, err := db.SetCaseStatus(ctx, res.Case.ID, citybot.StatusChange{To: st, Actor: "bob"}); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := db.Case(ctx, res.Case.ID)
		tagsBefore, _ := db.CaseTags(ctx, res.Case.ID)
		clk.Add(2 * time.Hour)
		thanks := func(chat, id, user string) citybot.IntakeResult {
			t.Helper()
			m := msg(chat, id, user, "Merci beaucoup pour la réparation")
			r, err := db.Ingest(ctx, citybot.Intake{Message: m, Mode: citybot.CaseFeedback, Intent: citybot.IntentThanks,
				Classification: &citybot.Classification{Topic: citybot.Scored{Label: "other"}, Language: "fr", Intent: citybot.IntentThanks}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		got := thanks("c1", "2", "u1")
		if got.NewCase || got.Case == nil || got.Case.ID != res.Case.ID {
			t.Fatalf("thanks did not join the resolved case: %+v", got)
		}
		after, _ := db.Case(ctx, res.Case.ID)
		tagsAfter, _ := db.CaseTags(ctx, res.Case.ID)
		if after.Status != citybot.StatusResolved || !after.UpdatedAt.Equal(before.UpdatedAt) || len(tagsAfter) != len(tagsBefore) {
			t.Fatalf("thanks changed the case: %+v, tags %d→%d", after, len(tagsBefore), len(tagsAfter))
		}
		conv, err := db.Conversation(ctx, res.Case.ID)
		if err != nil {
			t.Fatal(err)
		}
		var intents []citybot.Intent
		for _, e := range conv {
			if e.Direction == "in" {
				intents = append(intents, e.Intent)
			}
		}
		if !slices.Equal(intents, []citybot.Intent{"", citybot.IntentThanks}) {
			t.Fatalf("conversation intents %q", intents)
		}
		// Without any case: stored, no case.
		if none := thanks("c9", "1", "u9"); none.Case != nil || none.NewCase {
			t.Fatalf("thanks with no case: %+v", none)
		}
		// Redelivered: nothing twice.
		if again := thanks("c1", "2", "u1"); !again.Duplicate {
			t.Fatalf("redelivery not seen: %+v", again)
		}
		thanks("c1", "3", "u1") // the same citizen again
		f, err := db.DigestFigures(ctx, start, clk.Now().Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Received != 1 || f.Thanks != 2 {
			t.Fatalf("figures: received %d (want 1), thanks %d (want 2 citizens)", f.Received, f.Thanks)
		}
	})
}

// TestDigestLeavesSensitiveCasesOut: sensitive cases count in the
// figures but give no place and no example.
func TestDigestLeavesSensitiveCasesOut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		start := clk.Now()
		var ids []citybot.CaseID
		for i := range 4 {
			in := report(msg(fmt.Sprint("c", i), "1", fmt.Sprint("u", i), "pothole on Main Street"), "roads", citybot.UrgencyNormal)
			in.Sensitive = i%2 == 1
			res, err := db.Ingest(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Case.ID)
			clk.Add(time.Minute)
			if _, err := db.AnswerCase(ctx, res.Case.ID, "bob", "fixed", func(v citybot.CaseView) ([]citybot.OutboxItem, error) {
				return []citybot.OutboxItem{{Case: v.Case.ID, Out: citybot.Outgoing{Key: fmt.Sprint("a", i), Platform: citybot.Telegram, Chat: v.Case.Chat, Text: "fixed"}}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SetCaseStatus(ctx, res.Case.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "bob"}); err != nil {
				t.Fatal(err)
			}
		}
		end := clk.Now().Add(time.Hour)
		f, err := db.DigestFigures(ctx, start, end, nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Received != 4 || len(f.ByPlace) != 1 || f.ByPlace[0].Count != 2 {
			t.Fatalf("received %d (want 4), places %+v (want Main Street ×2)", f.Received, f.ByPlace)
		}
		ex, err := db.DigestExamples(ctx, start, end, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []citybot.CaseID
		for _, e := range ex {
			got = append(got, e.Case)
		}
		if !slices.Equal(got, []citybot.CaseID{ids[0], ids[2]}) {
			t.Fatalf("examples from cases %v, want %v", got, []citybot.CaseID{ids[0], ids[2]})
		}
		due, err := db.DueFollowups(ctx, end, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 2 || due[0].Case.Sensitive || due[1].Case.Sensitive {
			t.Fatalf("follow-ups %+v: want the two plain cases", due)
		}
	})
}

// TestMergeCarriesTheFlag: merging a sensitive case into another makes
// the surviving case sensitive.
func TestMergeCarriesTheFlag(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		in := report(msg("c1", "1", "u1", "cash for the permit"), "administration_permits", citybot.UrgencyNormal)
		in.Sensitive, in.SensitiveCues = true, []string{"cash"}
		dup, err := db.Ingest(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		into, err := db.Ingest(ctx, report(msg("c2", "1", "u2", "permit desk closed"), "administration_permits", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		if into.Case.Sensitive {
			t.Fatal("the plain case opened sensitive")
		}
		if err := db.MergeCases(ctx, dup.Case.ID, into.Case.ID, "bob", nil); err != nil {
			t.Fatal(err)
		}
		c, err := db.Case(ctx, into.Case.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Sensitive || !slices.Contains(c.SensitiveCues, "cash") {
			t.Fatalf("after the merge: %+v", c)
		}
	})
}
