package responder_test

import (
	"testing"
	"time"

	"citybot"
	"citybot/responder"
)

// figuresWeek seeds week 2026-W47 (Monday 16 to Sunday 22 November) with
// five reports whose answer times and promises are known, and returns the
// rig's digest of that week drafted on Monday 23 November 08:00 UTC.
//
//	case  opened      first answer     promised  outcome
//	c1    Mon 09:00   Mon 09:30 (30m)  18 Nov    resolved Wed 18 14:00 UTC
//	c2    Mon 10:00   Mon 20:00 (10h)  18 Nov    resolved Wed 18 23:30 UTC
//	c3    Mon 11:00   Wed 11:00 (48h)  19 Nov    closed (not resolved) Thu 19 10:00
//	c4    Mon 12:00   none             20 Nov    still open
//	c5    Mon 13:00   none             30 Nov    (not due in the week)
func figuresWeek(t *testing.T, zone string) citybot.Digest {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	rg := newDgRig(t, func(o *responder.DigestOptions) { o.Location = loc })
	mon := weekStart // Monday 16 November 00:00 UTC
	at := func(day, h, m int) time.Time {
		return mon.Add(time.Duration(day*24+h)*time.Hour + time.Duration(m)*time.Minute)
	}
	var cs []citybot.Case
	for i, text := range []string{
		"a deep pothole on the main road near the school gate",
		"no water in the building since this morning, please help",
		"the street light on the corner is broken again tonight",
		"rubbish bins were not emptied in the market street",
		"a fallen tree blocks the path in the park by the lake",
	} {
		cs = append(cs, rg.report(at(0, 9+i, 0), "f"+string(rune('1'+i)), text))
	}
	rg.answer(at(0, 9, 30), cs[0], "Our road team is on it.")
	rg.answer(at(0, 20, 0), cs[1], "The water service is on it.")
	rg.clock.Set(at(1, 10, 0))
	for i, day := range []int{18, 18, 19, 20, 30} {
		d := time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC) // as the console stores a day
		if err := rg.db.SetExpectedBy(rg.ctx, cs[i].ID, &d, "olivia"); err != nil {
			t.Fatal(err)
		}
	}
	rg.answer(at(2, 11, 0), cs[2], "We looked at the light.")
	rg.status(at(2, 14, 0), cs[0], citybot.StatusResolved)
	rg.status(at(2, 23, 30), cs[1], citybot.StatusResolved)
	rg.status(at(3, 10, 0), cs[2], citybot.StatusClosed)
	rg.clock.Set(at(7, 8, 0))
	d, err := rg.dg.Compute(rg.ctx, mon.Add(12*time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Answer times are over every case received; promises are due at the end
// of the promised day in the city's zone (Abidjan is UTC, Paris UTC+1 in
// November, so c2 resolved 23:30 UTC = 00:30 in Paris on the 19th is late
// there), and a case closed without being resolved keeps no promise.
func TestDigestFiguresHoldUp(t *testing.T) {
	for _, tc := range []struct {
		zone               string
		due, kept, overdue int
	}{
		{"Africa/Abidjan", 4, 2, 2}, // c1, c2 kept; c3 closed, c4 open
		{"Europe/Paris", 4, 1, 3},   // c2 is half an hour late in Paris
	} {
		t.Run(tc.zone, func(t *testing.T) {
			f := figuresWeek(t, tc.zone).Figures
			if f.Received != 5 || f.Answered != 3 || f.AnsweredWithinHour != 1 || f.AnsweredWithinDay != 2 {
				t.Errorf("answers: received %d answered %d within an hour %d within a day %d; want 5, 3, 1, 2",
					f.Received, f.Answered, f.AnsweredWithinHour, f.AnsweredWithinDay)
			}
			if f.PromisesDue != tc.due || f.PromisesKept != tc.kept || f.PromisesOverdue != tc.overdue {
				t.Errorf("promises: due %d kept %d overdue %d; want %d, %d, %d",
					f.PromisesDue, f.PromisesKept, f.PromisesOverdue, tc.due, tc.kept, tc.overdue)
			}
		})
	}
}
