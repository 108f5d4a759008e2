package responder_test

import (
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
)

// TestRemindersFollowTargets: officers are reminded of a case once it
// passes its first-answer target, then again at twice, four times… the
// target; critical runs on the wall clock (a Friday evening and the
// weekend count), normal on working hours only; an answered case is no
// longer reminded.
func TestRemindersFollowTargets(t *testing.T) {
	rg := newDgRig(t, func(o *accountability.DigestOptions) {
		o.Targets = map[citybot.Urgency]time.Duration{
			citybot.UrgencyCritical: 30 * time.Minute, citybot.UrgencyHigh: 4 * time.Hour,
			citybot.UrgencyNormal: 16 * time.Hour, citybot.UrgencyLow: 40 * time.Hour,
		}
	})
	fri := time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC) // Friday, one working hour left
	crit := rg.report(fri, "a", "gas smell in the stairwell")
	pot := rg.report(fri, "b", "pothole on the bridge")
	if crit.Urgency != citybot.UrgencyCritical || pot.Urgency != citybot.UrgencyNormal {
		t.Fatalf("urgencies %s and %s", crit.Urgency, pot.Urgency)
	}
	rows := func() []citybot.OutboxItem {
		items, err := rg.db.OutboxItems(rg.ctx, "remind:")
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	seen := 0
	check := func(at time.Time, want ...citybot.CaseRef) {
		t.Helper()
		rg.clock.Set(at)
		n, err := rg.dg.Remind(rg.ctx)
		if err != nil {
			t.Fatal(err)
		}
		items := rows()
		if n != len(want) {
			t.Fatalf("%s: reminded %d cases, want %d (%v)", at, n, len(want), want)
		}
		if len(want) == 0 {
			if len(items) != seen {
				t.Fatalf("%s: a reminder was queued for nothing", at)
			}
			return
		}
		if len(items) != seen+1 {
			t.Fatalf("%s: %d reminder rows, want %d", at, len(items), seen+1)
		}
		text := items[seen].Out.Text
		seen++
		for _, ref := range []citybot.CaseRef{crit.Ref, pot.Ref} {
			if got, exp := strings.Contains(text, string(ref)), contains(want, ref); got != exp {
				t.Fatalf("%s: reminder mentions %s: %v, want %v:\n%s", at, ref, got, exp, text)
			}
		}
	}
	check(fri.Add(29 * time.Minute))
	check(fri.Add(31*time.Minute), crit.Ref) // past its 30 min target
	check(fri.Add(45 * time.Minute))         // the next comes 60 min after it
	check(fri.Add(92*time.Minute), crit.Ref) // Friday 17:32
	check(fri.Add(20*time.Hour), crit.Ref)   // Saturday noon: critical goes on (2 h after)
	// Monday 16:30: the pothole has 8.5 working hours of its 16; the
	// critical case's 4th reminder (4 h after the 3rd) comes.
	check(fri.Add(3*24*time.Hour+30*time.Minute), crit.Ref)
	// Tuesday 16:01: 16 working hours for the pothole; the critical
	// case's 5th (8 h after the 4th) too.
	check(fri.Add(4*24*time.Hour+time.Minute), crit.Ref, pot.Ref)
	check(fri.Add(4*24*time.Hour + 30*time.Minute))
	// Answered: the pothole is never reminded again, though its second
	// reminder (32 working hours after the first) would be due by the
	// Wednesday after next.
	if _, err := rg.off.Answer(rg.ctx, pot.ID, "olivia", "We are on it.", "n1"); err != nil {
		t.Fatal(err)
	}
	check(fri.Add(12*24*time.Hour+2*time.Hour), crit.Ref) // the critical case's 6th, 16 h after the 5th
	if !strings.Contains(rows()[0].Out.Text, "past their first-answer target") {
		t.Fatalf("reminder text:\n%s", rows()[0].Out.Text)
	}
}

func contains(refs []citybot.CaseRef, ref citybot.CaseRef) bool {
	for _, r := range refs {
		if r == ref {
			return true
		}
	}
	return false
}

// TestDigestWithinTarget: the digest reports, per urgency, the first
// answers within the service level; normal counts working hours only (a
// weekend in between does not make it late).
func TestDigestWithinTarget(t *testing.T) {
	rg := newDgRig(t, func(o *accountability.DigestOptions) {
		o.Targets = map[citybot.Urgency]time.Duration{citybot.UrgencyCritical: 30 * time.Minute, citybot.UrgencyNormal: 16 * time.Hour}
	})
	fri := time.Date(2026, 11, 20, 16, 0, 0, 0, time.UTC)
	mon := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	pot := rg.report(fri, "a", "pothole on the bridge")
	fast := rg.report(mon, "b", "gas smell in the stairwell")
	slow := rg.report(mon, "c", "fire in the bin store")
	answer := func(c citybot.Case, at time.Time, nonce string) {
		t.Helper()
		rg.clock.Set(at)
		if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "We are on it.", nonce); err != nil {
			t.Fatal(err)
		}
	}
	answer(fast, mon.Add(20*time.Minute), "n1")
	answer(slow, mon.Add(time.Hour), "n2")
	answer(pot, mon.Add(6*time.Hour), "n3") // 72 h of wall clock, 8 working hours
	dg, err := rg.dg.Compute(rg.ctx, mon, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []citybot.TargetShare{{Urgency: citybot.UrgencyCritical, Answered: 2, Within: 1}, {Urgency: citybot.UrgencyNormal, Answered: 1, Within: 1}}
	if got := dg.Figures.WithinTarget; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("within target %+v, want %+v", got, want)
	}
	if !strings.Contains(dg.Texts["en"], "First answers within the service level: critical 1 of 2, normal 1 of 1.") {
		t.Fatalf("digest:\n%s", dg.Texts["en"])
	}
}

// TestRemindersForOverduePromises: once the day promised to a citizen
// ends in the city's time zone with the case still open, officers are
// reminded, then again 1, 2, 4 days after the reminder before; a new
// promised date starts over; a resolved case is not reminded; a second
// run at the same moment queues nothing.
func TestRemindersForOverduePromises(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database")
	}
	rg := newDgRig(t, func(o *accountability.DigestOptions) { o.Location = paris })
	mon := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	kept := rg.report(mon, "a", "pothole on the bridge")
	late := rg.report(mon, "b", "streetlight out on the square")
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) // promised for Tuesday
	for _, c := range []citybot.Case{kept, late} {
		if err := rg.db.SetExpectedBy(rg.ctx, c.ID, &day, "olivia"); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	check := func(at time.Time, want ...citybot.CaseRef) {
		t.Helper()
		rg.clock.Set(at)
		n, err := rg.dg.RemindPromises(rg.ctx)
		if err != nil {
			t.Fatal(err)
		}
		items, err := rg.db.OutboxItems(rg.ctx, "promise:")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(want) {
			t.Fatalf("%s: reminded %d cases, want %d", at, n, len(want))
		}
		if len(want) == 0 {
			if len(items) != seen {
				t.Fatalf("%s: a reminder was queued for nothing", at)
			}
			return
		}
		if len(items) != seen+1 {
			t.Fatalf("%s: %d reminder rows, want %d", at, len(items), seen+1)
		}
		text := items[seen].Out.Text
		seen++
		for _, ref := range []citybot.CaseRef{kept.Ref, late.Ref} {
			if got, exp := strings.Contains(text, string(ref)), contains(want, ref); got != exp {
				t.Fatalf("%s: reminder mentions %s: %v, want %v:\n%s", at, ref, got, exp, text)
			}
		}
		if !strings.Contains(text, "past the date promised") || !strings.Contains(text, "promised for 2026-11-24") {
			t.Fatalf("reminder text:\n%s", text)
		}
	}
	// Tuesday 23:30 in Paris is 22:30 UTC: the day has not ended there.
	check(time.Date(2026, 11, 24, 22, 30, 0, 0, time.UTC))
	// The case kept is resolved on time.
	if _, err := rg.off.ChangeStatus(rg.ctx, kept.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, "n1"); err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC) // midnight in Paris
	check(end.Add(time.Minute), late.Ref)
	check(end.Add(time.Minute)) // a second run: nothing twice
	check(end.Add(23 * time.Hour))
	check(end.Add(24*time.Hour+time.Minute), late.Ref) // 1 day after the first
	check(end.Add(48 * time.Hour))                     // the third comes 2 days after the second
	check(end.Add(72*time.Hour+2*time.Minute), late.Ref)
	check(end.Add(6 * 24 * time.Hour))
	check(end.Add(7*24*time.Hour+3*time.Minute), late.Ref) // 4 days after the third
	// A new promised date starts over: nothing until it ends.
	next := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	if err := rg.db.SetExpectedBy(rg.ctx, late.ID, &next, "olivia"); err != nil {
		t.Fatal(err)
	}
	check(time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC))
	rg.clock.Set(time.Date(2026, 12, 10, 23, 1, 0, 0, time.UTC))
	if n, err := rg.dg.RemindPromises(rg.ctx); err != nil || n != 1 {
		t.Fatalf("the new date's first reminder: %d, %v", n, err)
	}
}
