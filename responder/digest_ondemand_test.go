package responder_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
)

// A draft on demand: the week so far during the week, then a redraft
// replaces the pending draft (its old Approve button is refused), the
// schedule replaces a draft made before the week was over, and an
// approved week is never redrafted.
func TestDigestDraftOnDemand(t *testing.T) {
	rg := newDgRig(t, nil)
	rg.report(weekStart.Add(9*time.Hour), "a1", "a deep pothole on the main road, dangerous for bikes")
	rg.report(weekStart.Add(10*time.Hour), "a2", "no water in the building since this morning")

	// Tuesday: the week so far.
	rg.clock.Set(weekStart.Add(30 * time.Hour))
	d1, err := rg.dg.Redraft(rg.ctx, rg.dg.Now(), "admin1", "")
	if err != nil {
		t.Fatal(err)
	}
	if d1.Week != "2026-W47" || d1.Revision != 1 || d1.State != citybot.DigestDraft || d1.Figures.Received != 2 {
		t.Fatalf("so far: %s r%d %s received %d", d1.Week, d1.Revision, d1.State, d1.Figures.Received)
	}
	// Tuesday 17 November 06:00: the title names the days so far.
	if !strings.Contains(d1.Texts["en"], "16–17 November\n") || !strings.Contains(d1.Texts["fr"], "du 16 au 17 novembre\n") {
		t.Errorf("title of the week so far:\n%s\n%s", d1.Texts["en"], d1.Texts["fr"])
	}
	if n, _ := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:r1:officials"); len(n) < 2 {
		t.Fatalf("officials not told of the draft on demand: %d rows", len(n))
	}

	// Wednesday: one more report, then a redraft after changes.
	rg.report(weekStart.Add(50*time.Hour), "a3", "the street light on the corner is broken again")
	rg.clock.Set(weekStart.Add(51 * time.Hour))
	d2, err := rg.dg.Redraft(rg.ctx, rg.dg.Now(), "mayor", "")
	if err != nil {
		t.Fatal(err)
	}
	if d2.Revision != 2 || d2.Figures.Received != 3 {
		t.Fatalf("redraft: r%d received %d; want r2 and 3", d2.Revision, d2.Figures.Received)
	}
	old, err := rg.db.Digest(rg.ctx, d1.ID)
	if err != nil || old.State != citybot.DigestChangesRequested || old.DecidedBy != "mayor" || !strings.Contains(old.Comment, "version 2") {
		t.Fatalf("replaced draft: %s by %q %q %v", old.State, old.DecidedBy, old.Comment, err)
	}
	if _, err := rg.dg.Decide(rg.ctx, d1.ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("approving a replaced draft: %v", err)
	}

	// Monday after: the schedule replaces the partial draft by the whole
	// week, once.
	rg.report(weekStart.Add(6*24*time.Hour), "a4", "rubbish bins not emptied in the market street")
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	for range 2 {
		if err := rg.dg.DraftLastWeek(rg.ctx); err != nil {
			t.Fatal(err)
		}
	}
	all, err := rg.db.Digests(rg.ctx, 10)
	if err != nil || len(all) != 3 || all[0].Revision != 3 || all[0].DraftedBy != "scheduler" || all[0].Figures.Received != 4 {
		t.Fatalf("schedule after partial drafts: %d digests, first %+v, %v", len(all), all[0].Revision, err)
	}
	if !strings.Contains(all[0].Texts["en"], "16–22 November\n") {
		t.Errorf("title of the whole week:\n%s", all[0].Texts["en"])
	}
	// Approved: no redraft, by anyone.
	if _, err := rg.dg.Decide(rg.ctx, all[0].ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.dg.Redraft(rg.ctx, rg.dg.LastWeek(), "admin1", ""); !errors.Is(err, citybot.ErrDuplicate) {
		t.Fatalf("redraft of an approved week: %v", err)
	}
	if got := rg.dg.LastWeek(); weekOfUTC(got) != "2026-W47" {
		t.Fatalf("last week is %s", weekOfUTC(got))
	}
}

func weekOfUTC(t time.Time) citybot.Week {
	w, _, _ := citybot.WeekOf(t, time.UTC)
	return w
}
