package citybot

import (
	"cmp"
	"slices"
	"time"
)

// EquityMinGroup is the fewest reports a group (a district, a language)
// needs to be shown: smaller groups are only counted, so that no one can
// be recognised from them.
const EquityMinGroup = 5

// EquityGroup is one district's or language's figures for a period.
type EquityGroup struct {
	// Name is a place as public output shows it (house numbers removed)
	// or a language code ("" when the language is not known).
	Name     string
	Reports  int
	Answered int
	// Wait is the median time to a first answer over every report of the
	// group: a report still without one counts with the time it has
	// waited so far (until the figures were computed).
	Wait time.Duration
	// Longer is set when Wait is at least twice the city's.
	Longer bool
}

// Equity is the equity of response: reports, answered share and median
// wait for a first answer by district and by language, to show whether
// some wait longer than others. Only groups of EquityMinGroup reports or
// more are listed; the others are counted in Small*. It carries no text
// and no identity.
type Equity struct {
	Reports int           // reports received in the period
	Wait    time.Duration // the city's median wait, as EquityGroup.Wait
	// ByPlace are the districts named in reports (sensitive cases and
	// hidden topics left out), ByLanguage the reports' languages; the
	// busiest first.
	ByPlace    []EquityGroup
	ByLanguage []EquityGroup
	// SmallPlaces and SmallLanguages count the groups left out for
	// having fewer than EquityMinGroup reports.
	SmallPlaces, SmallLanguages int
}

// Flagged returns the groups that wait at least twice the city's median,
// districts first.
func (e Equity) Flagged() []EquityGroup {
	var out []EquityGroup
	for _, g := range append(append([]EquityGroup(nil), e.ByPlace...), e.ByLanguage...) {
		if g.Longer {
			out = append(out, g)
		}
	}
	return out
}

// Empty reports whether there is no group to show.
func (e Equity) Empty() bool { return len(e.ByPlace) == 0 && len(e.ByLanguage) == 0 }

// EquityOf builds the equity figures from each report's groups and wait:
// waits[i] is report i's time to a first answer (or wait so far when
// answered[i] is false), places[i] its districts, langs[i] its language.
// A report with no district counts in no district group.
func EquityOf(waits []time.Duration, answered []bool, places [][]string, langs []string) Equity {
	e := Equity{Reports: len(waits), Wait: Median(waits)}
	group := func(key func(i int) []string) (out []EquityGroup, small int) {
		byName := map[string][]int{}
		var order []string
		for i := range waits {
			for _, k := range key(i) {
				if _, ok := byName[k]; !ok {
					order = append(order, k)
				}
				byName[k] = append(byName[k], i)
			}
		}
		for _, name := range order {
			idx := byName[name]
			if len(idx) < EquityMinGroup {
				small++
				continue
			}
			g := EquityGroup{Name: name, Reports: len(idx)}
			ws := make([]time.Duration, 0, len(idx))
			for _, i := range idx {
				ws = append(ws, waits[i])
				if answered[i] {
					g.Answered++
				}
			}
			g.Wait = Median(ws)
			g.Longer = e.Wait > 0 && g.Wait >= 2*e.Wait
			out = append(out, g)
		}
		sortGroups(out)
		return out, small
	}
	e.ByPlace, e.SmallPlaces = group(func(i int) []string { return dedupe(places[i]) })
	e.ByLanguage, e.SmallLanguages = group(func(i int) []string { return []string{langs[i]} })
	return e
}

// Median returns the median of ds by the nearest-rank method (as the
// digest's figures), 0 for none. ds is not changed.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)+1)/2-1]
}

// sortGroups puts the busiest groups first, then by name.
func sortGroups(gs []EquityGroup) {
	slices.SortFunc(gs, func(a, b EquityGroup) int {
		if c := cmp.Compare(b.Reports, a.Reports); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// dedupe returns names without repeats, in order.
func dedupe(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
