package responder_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
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
func figuresWeek(t *testing.T, zone string) (*dgRig, citybot.Digest) {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	rg := newDgRig(t, func(o *accountability.DigestOptions) { o.Location = loc })
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
	return rg, d
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
			_, d := figuresWeek(t, tc.zone)
			f := d.Figures
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

// The texts say the figures over every case, name weeks as people say
// them, say "first week" once instead of "(0 the week before)" on every
// line, and leave zero lines out.
func TestDigestTextNoZeroLines(t *testing.T) {
	rg, d := figuresWeek(t, "Europe/Paris")
	at := func(week int) citybot.Digest {
		t.Helper()
		dg, err := rg.dg.Compute(rg.ctx, weekStart.Add(time.Duration(week*7*24+12)*time.Hour), "")
		if err != nil {
			t.Fatal(err)
		}
		return dg
	}
	w46, w48, w49 := at(-1), at(1), at(2)
	zero := regexp.MustCompile(`(?m)(:\s*0\D*$|: 0 |\b0 the week before|\b0 la semaine)`)
	for _, tc := range []struct {
		name, text string
		want       []string
		firstWeek  bool
	}{
		{"W47 en", d.Texts["en"], []string{"Testville listening report, 16–22 November\n", "\nReceived: 5 reports.\n", "• Roads and pavements: 1\n",
			"Answered by the city: 3 of 5.", "Answered within an hour: 1 of 5; within a day: 2 of 5.", "Resolved this week: 2.\n",
			"Still open at the end of the week: 2.", "Promised dates this week: 1 kept out of 4.", "Promised dates missed: 3."}, true},
		{"W47 fr", d.Texts["fr"], []string{"Testville : bilan de l'écoute citoyenne, du 16 au 22 novembre\n", "Reçus : 5 signalements.\n",
			"Réponse en moins d'une heure : 1 sur 5 ; en moins d'un jour : 2 sur 5."}, true},
		{"W46 en (nothing at all)", w46.Texts["en"], []string{"9–15 November", "No report was received this week.", "No promised date fell this week."}, true},
		// W48: 5 reports the week before, none now; c4 and c5 still open.
		{"W48 en", w48.Texts["en"], []string{"23–29 November", "No report was received this week.", "Resolved this week: 0 (2 the week before).",
			"Still open at the end of the week: 2."}, false},
		{"W49 en", w49.Texts["en"], []string{"Testville listening report, 30 November – 6 December\n"}, false},
		{"W49 fr", w49.Texts["fr"], []string{"du 30 novembre au 6 décembre\n"}, false},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.text, w) {
				t.Errorf("%s lacks %q:\n%s", tc.name, w, tc.text)
			}
		}
		marker, want := "First week", 0
		if strings.HasSuffix(tc.name, "fr") {
			marker = "Première semaine"
		}
		if tc.firstWeek {
			want = 1
		}
		if n := strings.Count(tc.text, marker); n != want {
			t.Errorf("%s says first week %d times:\n%s", tc.name, n, tc.text)
		}
		if strings.Contains(tc.text, "Received: 0") || zero.MatchString(strings.ReplaceAll(tc.text, "Resolved this week: 0 (2 the week before).", "")) {
			t.Errorf("%s has a zero line:\n%s", tc.name, tc.text)
		}
	}
}
