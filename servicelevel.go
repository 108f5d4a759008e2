package citybot

import "time"

// ServiceLevels are the city's first-answer targets per urgency ([sla]):
// critical and high run on the wall clock, normal and low on working
// hours only (WorkStart to WorkEnd, Monday to Friday, in Location), where
// the target counts working time.
type ServiceLevels struct {
	// Targets per urgency; an urgency without one (or 0) has no target.
	Targets map[Urgency]time.Duration
	// Location is the city's time zone; nil means UTC.
	Location *time.Location
	// WorkStart and WorkEnd bound a working day, in hours of the day;
	// both 0 mean 9 to 17.
	WorkStart, WorkEnd int
}

// WorkingHoursOnly reports whether u's target counts working time only
// (normal and low); critical and high count every minute.
func WorkingHoursOnly(u Urgency) bool { return u != UrgencyCritical && u != UrgencyHigh }

// Due returns when a case of urgency u opened at opened should have its
// first answer; false when u has no target.
func (l ServiceLevels) Due(opened time.Time, u Urgency) (time.Time, bool) {
	target := l.Targets[u]
	if target <= 0 {
		return time.Time{}, false
	}
	if !WorkingHoursOnly(u) {
		return opened.Add(target), true
	}
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	ws, we := l.WorkStart, l.WorkEnd
	if ws == 0 && we == 0 {
		ws, we = 9, 17
	}
	if we <= ws {
		return opened.Add(target), true
	}
	left, t := target, opened.In(loc)
	// Ten years of days at most: a target never runs that long.
	for i := 0; i < 3660; i++ {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		start := time.Date(t.Year(), t.Month(), t.Day(), ws, 0, 0, 0, loc)
		end := time.Date(t.Year(), t.Month(), t.Day(), we, 0, 0, 0, loc)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			from := start
			if t.After(from) {
				from = t
			}
			if from.Before(end) {
				if avail := end.Sub(from); avail >= left {
					return from.Add(left).UTC(), true
				} else {
					left -= avail
				}
			}
		}
		t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
	}
	return t.UTC(), true
}

// PromiseDue returns when a promised date (Case.ExpectedBy, a day) falls
// due: at the end of that day in the city's time zone.
func (l ServiceLevels) PromiseDue(day time.Time) time.Time {
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	d := day.UTC()
	return time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc).UTC()
}
