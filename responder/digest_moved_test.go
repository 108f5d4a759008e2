package responder_test

import (
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
)

// TestDigestPromisesMoved: week 2026-W47 (16–22 November), drafted on
// Monday 23 at 08:00 UTC. Dates are promised on Tuesday 17 at 10:00 UTC,
// then moved (times UTC; Paris is UTC+1):
//
//	case  promised  moved                     to      counts
//	c1    18 Nov    Tue 17 12:00              25 Nov  moved (before its day: not due);
//	                Mon 23 07:00              26 Nov  (moved again after the week: not this week's)
//	c2    18 Nov    Fri 20 10:00              27 Nov  moved; due 18 Nov and missed
//	c3    19 Nov    —                         —       kept (resolved Thu 19 09:00)
//	c4    20 Nov    Wed 18 09:00              19 Nov  earlier: not moved; due 19 Nov, missed (open)
//	c5    20 Nov    Fri 20 23:30 (Paris 21st)  28 Nov  moved; in Paris its day was over: due and missed
//
// Abidjan (UTC): moved 3, due 3 (c2, c3, c4), kept 1, missed 2.
// Paris: moved 3, due 4 (c2, c3, c4, c5), kept 1, missed 3.
func TestDigestPromisesMoved(t *testing.T) {
	for _, tc := range []struct {
		zone                      string
		moved, due, kept, overdue int
	}{
		{"Africa/Abidjan", 3, 3, 1, 2},
		{"Europe/Paris", 3, 4, 1, 3},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			rg := newDgRig(t, func(o *accountability.DigestOptions) { o.Location = loc })
			at := func(day, h, m int) time.Time {
				return weekStart.Add(time.Duration(day*24+h)*time.Hour + time.Duration(m)*time.Minute)
			}
			var cs []citybot.Case
			for i, text := range []string{
				"a deep pothole on the main road near the school gate",
				"no water in the building since this morning, please help",
				"the street light on the corner is broken again tonight",
				"rubbish bins were not emptied in the market street",
				"a fallen tree blocks the path in the park by the lake",
			} {
				cs = append(cs, rg.report(at(0, 9+i, 0), "m"+string(rune('1'+i)), text))
			}
			promise := func(when time.Time, c citybot.Case, day int) {
				t.Helper()
				rg.clock.Set(when)
				d := time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC) // as the console stores a day
				if err := rg.db.SetExpectedBy(rg.ctx, c.ID, &d, "olivia"); err != nil {
					t.Fatal(err)
				}
			}
			for i, day := range []int{18, 18, 19, 20, 20} {
				promise(at(1, 10, 0), cs[i], day)
			}
			promise(at(1, 12, 0), cs[0], 25)
			promise(at(2, 9, 0), cs[3], 19)
			rg.status(at(3, 9, 0), cs[2], citybot.StatusResolved)
			promise(at(4, 10, 0), cs[1], 27)
			promise(at(4, 23, 30), cs[4], 28)
			promise(at(7, 7, 0), cs[0], 26)
			rg.clock.Set(at(7, 8, 0))
			d, err := rg.dg.Compute(rg.ctx, weekStart.Add(12*time.Hour), "")
			if err != nil {
				t.Fatal(err)
			}
			f := d.Figures
			if f.PromisesMoved != tc.moved || f.PromisesDue != tc.due || f.PromisesKept != tc.kept || f.PromisesOverdue != tc.overdue {
				t.Fatalf("promises: moved %d due %d kept %d missed %d; want %d, %d, %d, %d",
					f.PromisesMoved, f.PromisesDue, f.PromisesKept, f.PromisesOverdue, tc.moved, tc.due, tc.kept, tc.overdue)
			}
			if en := d.Texts["en"]; !strings.Contains(en, "3 promised dates were moved to a later date.") {
				t.Errorf("English digest without the moved line:\n%s", en)
			}
			if fr := d.Texts["fr"]; !strings.Contains(fr, "3 dates promises ont été repoussées à plus tard.") {
				t.Errorf("French digest without the moved line:\n%s", fr)
			}
		})
	}
}
