package accountability_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
)

func rep(id int, topic string, at time.Time, places ...string) citybot.SurgeReport {
	return citybot.SurgeReport{Case: citybot.CaseID(id), Root: citybot.CaseID(id), RootRef: citybot.CaseRef(fmt.Sprintf("R-%d", id)),
		Topic: topic, Places: places, OpenedAt: at}
}

func countOf(t *testing.T, cs []accountability.SurgeCount, topic, key string) accountability.SurgeCount {
	t.Helper()
	for _, c := range cs {
		if c.Topic == topic && c.Key == key {
			return c
		}
	}
	t.Fatalf("no count for %s at %q in %+v", topic, key, cs)
	return accountability.SurgeCount{}
}

// TestCountSurgesHourOfWeek: the usual count is the mean of the same hour
// in the past weeks since the city started (a week before it is not a
// week of zero), per topic and place and per topic in the whole city,
// never below the floor; spellings of a place count as one.
func TestCountSurgesHourOfWeek(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC) // a Monday morning: the market's busy hour
	rule := accountability.SurgeRule{Factor: 3, MinCount: 5, Floor: 1, Weeks: 3}
	var current []citybot.SurgeReport
	for i := range 6 {
		place := "Market Square"
		if i%2 == 1 {
			place = "market  SQUARE"
		}
		current = append(current, rep(i+1, "waste", now.Add(-time.Duration(i)*time.Minute), place))
	}
	for i := range 6 {
		current = append(current, rep(100+i, "waste", now.Add(-time.Duration(i)*time.Minute), "Oak Street"))
	}
	week := func(n int, place string) []citybot.SurgeReport {
		out := []citybot.SurgeReport{}
		for i := range n {
			out = append(out, rep(1000+i, "waste", now.AddDate(0, 0, -7), place))
		}
		return out
	}
	// Mondays at this hour the square sees 5, then 4 reports; the third
	// week back the city had not started.
	history := [][]citybot.SurgeReport{week(5, "Market Square"), week(4, "market square"), nil}
	cs := accountability.CountSurges(rule, current, history)

	square := countOf(t, cs, "waste", "market square")
	if square.Count != 6 || square.Usual != 4.5 || square.Place != "Market Square" {
		t.Errorf("square = %d reports, usual %g, named %q; want 6, (5+4)/2, as first written", square.Count, square.Usual, square.Place)
	}
	if rule.Surging(square) {
		t.Errorf("6 reports where 4.5 are usual at this hour of the week is no surge at factor 3")
	}
	oak := countOf(t, cs, "waste", "oak street")
	if oak.Count != 6 || oak.Usual != 1 {
		t.Errorf("Oak Street = %d reports, usual %g; want 6 and the floor 1", oak.Count, oak.Usual)
	}
	if !rule.Surging(oak) {
		t.Errorf("6 reports where none are usual is a surge")
	}
	city := countOf(t, cs, "waste", accountability.CityWide)
	if city.Count != 12 || city.Usual != 4.5 {
		t.Errorf("city = %d, usual %g; want 12 and 4.5", city.Count, city.Usual)
	}
	if rule.Surging(city) {
		t.Errorf("12 against 4.5 is below 3 times")
	}
	// The same reports without any history: every key at the floor.
	for _, c := range accountability.CountSurges(rule, current, [][]citybot.SurgeReport{nil, nil, nil}) {
		if c.Usual != 1 {
			t.Errorf("%s at %q: usual %g in a new city, want the floor", c.Topic, c.Key, c.Usual)
		}
	}
}

// TestSurgingMinimum: below min_reports nothing surges, however quiet
// the hour usually is; at the minimum and the factor it does.
func TestSurgingMinimum(t *testing.T) {
	rule := accountability.SurgeRule{Factor: 3, MinCount: 5, Floor: 1}
	for _, tt := range []struct {
		count int
		usual float64
		want  bool
	}{
		{4, 0, false}, {4, 1, false}, {5, 1, true}, {5, 0.2, true}, {5, 2, false}, {6, 2, true}, {30, 10.5, false}, {32, 10.5, true},
	} {
		got := rule.Surging(accountability.SurgeCount{Count: tt.count, Usual: max(tt.usual, 1)})
		if got != tt.want {
			t.Errorf("%d reports, usual %g: surging = %v, want %v", tt.count, tt.usual, got, tt.want)
		}
	}
}

// surgeFake is a SurgeStore in memory, for the Surger's unit tests.
type surgeFake struct {
	mu        sync.Mutex
	reports   []citybot.SurgeReport
	first     time.Time
	followers map[citybot.CaseID]int
	surges    []citybot.Surge
	rows      []citybot.OutboxItem
}

func (f *surgeFake) SurgeReports(_ context.Context, from, to time.Time) ([]citybot.SurgeReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []citybot.SurgeReport
	for _, r := range f.reports {
		if !r.OpenedAt.Before(from) && r.OpenedAt.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *surgeFake) FirstCaseAt(context.Context) (time.Time, bool, error) {
	return f.first, !f.first.IsZero(), nil
}

func (f *surgeFake) FollowerCounts(_ context.Context, ids []citybot.CaseID) (map[citybot.CaseID]int, error) {
	out := map[citybot.CaseID]int{}
	for _, id := range ids {
		out[id] = max(f.followers[id], 1)
	}
	return out, nil
}

func (f *surgeFake) QuietSurges(_ context.Context, topic string, now time.Time) ([]citybot.Surge, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []citybot.Surge
	for _, s := range f.surges {
		if s.Topic == topic && s.QuietUntil.After(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *surgeFake) RecordSurge(ctx context.Context, s citybot.Surge, build func(int64) []citybot.OutboxItem) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, old := range f.surges {
		if old.QuietUntil.After(s.At) && s.Overlaps(old) {
			return false, nil
		}
	}
	f.surges = append(f.surges, s)
	f.rows = append(f.rows, build(int64(len(f.surges)))...)
	return true, nil
}

func surgePolicy(t *testing.T) *citybot.Policy {
	t.Helper()
	p, err := citybot.NewPolicy(citybot.PolicyConfig{City: "Testville", Languages: []string{"en", "fr"}, DefaultLanguage: "en",
		Location: time.UTC, Topics: []string{"water", "corruption", "other"}, SensitiveTopics: []string{"corruption"},
		MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSurgerAlertsOnce: a burst after normal weeks alerts the officers'
// chats once, with the count, the usual count, the places and the main
// case (the one most citizens follow), never a citizen; later sweeps in
// the quiet time alert nothing more even as reports keep coming; once
// the quiet time is over a burst still going alerts again. A sensitive
// topic's surge goes only to the sensitive chats, by reference.
func TestSurgerAlertsOnce(t *testing.T) {
	now := time.Date(2026, 11, 20, 19, 0, 0, 0, time.UTC)
	f := &surgeFake{first: now.AddDate(0, 0, -60), followers: map[citybot.CaseID]int{3: 4}}
	for k := 1; k <= 8; k++ { // one report at this hour in each past week
		f.reports = append(f.reports, rep(900+k, "water", now.AddDate(0, 0, -7*k).Add(-10*time.Minute), "Mill Lane"))
	}
	for i := range 7 {
		f.reports = append(f.reports, rep(i+1, "water", now.Add(-time.Duration(50-5*i)*time.Minute), "Mill Lane"))
	}
	clock := now
	officers := accountability.AlertChat{Platform: citybot.Telegram, Chat: "-100900"}
	secret := accountability.AlertChat{Platform: citybot.Discord, Chat: "555"}
	s, err := accountability.NewSurger(accountability.SurgeOptions{Store: f, Policy: surgePolicy(t), Now: func() time.Time { return clock },
		Alerts: accountability.AlertOptions{Chats: []accountability.AlertChat{officers}, SensitiveChats: []accountability.AlertChat{secret},
			ConsoleURL: "https://city.example"},
		Rule: accountability.SurgeRule{Factor: 3, MinCount: 5, Floor: 1, Weeks: 8}, Quiet: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(f.rows) != 1 {
		t.Fatalf("first sweep: %d surges, %d rows; want 1 alert in the one officers' chat", len(got), len(f.rows))
	}
	sg, row := got[0], f.rows[0]
	if sg.Count != 7 || sg.Usual != 1 || sg.Case != 3 || sg.Ref != "R-3" || !slices.Contains(sg.Places, "Mill Lane") {
		t.Errorf("surge = %+v; want 7 reports, usual 1, main case 3 (followed by 4), at Mill Lane", sg)
	}
	if row.Out.Platform != officers.Platform || row.Out.Chat != officers.Chat || row.Kind != citybot.OutboxAlert {
		t.Errorf("alert row went to %s/%s as %s", row.Out.Platform, row.Out.Chat, row.Kind)
	}
	for _, want := range []string{"7 reports", "usually 1", "Mill Lane", "R-3", "https://city.example/cases/3"} {
		if !strings.Contains(row.Out.Text, want) {
			t.Errorf("alert %q lacks %q", row.Out.Text, want)
		}
	}

	// Ten minutes later, more reports: still the same surge.
	clock = now.Add(10 * time.Minute)
	f.reports = append(f.reports, rep(50, "water", clock.Add(-time.Minute), "Mill Lane"))
	if got, err := s.Sweep(ctx); err != nil || len(got) != 0 || len(f.rows) != 1 {
		t.Fatalf("a sweep in the quiet time: %d surges, %d rows, %v; want nothing more", len(got), len(f.rows), err)
	}
	// After the quiet time the burst goes on: a new alert.
	clock = now.Add(3*time.Hour + time.Minute)
	for i := range 6 {
		f.reports = append(f.reports, rep(60+i, "water", clock.Add(-time.Duration(i+1)*time.Minute), "Mill Lane"))
	}
	if got, err := s.Sweep(ctx); err != nil || len(got) != 1 || len(f.rows) != 2 {
		t.Fatalf("after the quiet time: %d surges, %d rows, %v; want a second alert", len(got), len(f.rows), err)
	}

	// A sensitive topic: the sensitive chat only, the reference only.
	for i := range 5 {
		f.reports = append(f.reports, rep(200+i, "corruption", clock.Add(-time.Duration(i+1)*time.Minute), "City Hall"))
	}
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	last := f.rows[len(f.rows)-1]
	if len(f.rows) != 3 || last.Out.Chat != secret.Chat || strings.Contains(last.Out.Text, "City Hall") || !strings.Contains(last.Out.Text, "R-200") {
		t.Errorf("sensitive surge: %d rows, last to %s: %q; want one row to the sensitive chat, reference only", len(f.rows), last.Out.Chat, last.Out.Text)
	}
}

// TestSurgerBelowMinimum: four reports in an hour that usually has none
// alert nothing (min_reports 5).
func TestSurgerBelowMinimum(t *testing.T) {
	now := time.Date(2026, 11, 20, 19, 0, 0, 0, time.UTC)
	f := &surgeFake{first: now.AddDate(0, 0, -60)}
	for i := range 4 {
		f.reports = append(f.reports, rep(i+1, "water", now.Add(-time.Duration(i+1)*time.Minute), "Mill Lane"))
	}
	s, err := accountability.NewSurger(accountability.SurgeOptions{Store: f, Policy: surgePolicy(t), Now: func() time.Time { return now },
		Alerts: accountability.AlertOptions{Chats: []accountability.AlertChat{{Platform: citybot.Telegram, Chat: "-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Sweep(context.Background()); err != nil || len(got) != 0 || len(f.rows) != 0 {
		t.Errorf("4 reports: %d surges, %d rows, %v; want none", len(got), len(f.rows), err)
	}
	f.reports = append(f.reports, rep(5, "water", now.Add(-time.Second), "Mill Lane"))
	if got, err := s.Sweep(context.Background()); err != nil || len(got) != 1 {
		t.Errorf("the fifth report: %d surges, %v; want one", len(got), err)
	}
}

// TestSurgerSummerTime: the same hour of the week is taken on the city's
// clock: the Monday after clocks went forward, the usual count comes from
// the previous Mondays at the same local hour (an hour later in UTC), so
// a busy market hour is no surge.
func TestSurgerSummerTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	p, err := citybot.NewPolicy(citybot.PolicyConfig{City: "Testville", Languages: []string{"en"}, DefaultLanguage: "en",
		Location: paris, Topics: []string{"waste", "other"}, MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 30, 9, 30, 0, 0, paris) // Monday; summer time began on the 29th
	f := &surgeFake{first: now.AddDate(0, 0, -60)}
	id := 0
	for k := 1; k <= 4; k++ { // five reports at 9:10 every Monday, local time
		at := time.Date(2026, 3, 30-7*k, 9, 10, 0, 0, paris)
		for range 5 {
			id++
			f.reports = append(f.reports, rep(id, "waste", at.UTC(), "Market Square"))
		}
	}
	for range 6 {
		id++
		f.reports = append(f.reports, rep(id, "waste", now.Add(-20*time.Minute).UTC(), "Market Square"))
	}
	s, err := accountability.NewSurger(accountability.SurgeOptions{Store: f, Policy: p, Now: func() time.Time { return now },
		Alerts: accountability.AlertOptions{Chats: []accountability.AlertChat{{Platform: citybot.Telegram, Chat: "-1"}}},
		Rule:   accountability.SurgeRule{Factor: 3, MinCount: 5, Floor: 1, Weeks: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Sweep(context.Background()); err != nil || len(got) != 0 {
		t.Errorf("6 reports where 5 are usual at this local hour: %d surges (%+v), %v; want none", len(got), got, err)
	}
}

// TestSurgerOneBurstOneAlert: a burst first surges in the whole city
// (its reports name the street in two ways), then at the street as more
// reports come: still one alert. Another burst of the same topic at
// another street, in the quiet time, alerts on its own.
func TestSurgerOneBurstOneAlert(t *testing.T) {
	now := time.Date(2026, 11, 20, 19, 0, 0, 0, time.UTC)
	f := &surgeFake{first: now.AddDate(0, 0, -60)}
	clock := now
	s, err := accountability.NewSurger(accountability.SurgeOptions{Store: f, Policy: surgePolicy(t), Now: func() time.Time { return clock },
		Alerts: accountability.AlertOptions{Chats: []accountability.AlertChat{{Platform: citybot.Telegram, Chat: "-1"}}},
		Rule:   accountability.SurgeRule{Factor: 3, MinCount: 5, Floor: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, place := range []string{"Mill Lane", "rue du Moulin", "Mill Lane", "rue du Moulin", "Mill Lane"} {
		f.reports = append(f.reports, rep(i+1, "water", clock.Add(-time.Duration(30-i)*time.Minute), place))
	}
	if got, err := s.Sweep(ctx); err != nil || len(got) != 1 || got[0].Keys[0] != accountability.CityWide {
		t.Fatalf("first sweep: %+v, %v; want one city-wide surge", got, err)
	}
	clock = clock.Add(5 * time.Minute)
	for i := range 3 {
		f.reports = append(f.reports, rep(10+i, "water", clock.Add(-time.Minute), "Mill Lane"))
	}
	if got, err := s.Sweep(ctx); err != nil || len(got) != 0 || len(f.rows) != 1 {
		t.Fatalf("the street surging in the same burst: %+v, %v, %d rows; want no second alert", got, err, len(f.rows))
	}
	for i := range 5 {
		f.reports = append(f.reports, rep(20+i, "water", clock.Add(-time.Minute), "Oak Street"))
	}
	got, err := s.Sweep(ctx)
	if err != nil || len(got) != 1 || !slices.Equal(got[0].Places, []string{"Oak Street"}) || len(f.rows) != 2 {
		t.Fatalf("another burst at Oak Street: %+v, %v, %d rows; want its own alert", got, err, len(f.rows))
	}
}

// TestSurgerSensitiveApart: one sensitive report (a bribe tagged water)
// among a burst of ordinary water reports leaves the burst's alert
// ordinary, in the officers' chat, without counting it or naming its
// place; five sensitive water reports make a sensitive surge of their
// own, to the sensitive chat only.
func TestSurgerSensitiveApart(t *testing.T) {
	now := time.Date(2026, 11, 20, 19, 0, 0, 0, time.UTC)
	f := &surgeFake{first: now.AddDate(0, 0, -60)}
	clock := now
	officers := accountability.AlertChat{Platform: citybot.Telegram, Chat: "-100900"}
	secret := accountability.AlertChat{Platform: citybot.Discord, Chat: "555"}
	s, err := accountability.NewSurger(accountability.SurgeOptions{Store: f, Policy: surgePolicy(t), Now: func() time.Time { return clock },
		Alerts: accountability.AlertOptions{Chats: []accountability.AlertChat{officers}, SensitiveChats: []accountability.AlertChat{secret},
			ConsoleURL: "https://city.example"},
		Rule: accountability.SurgeRule{Factor: 3, MinCount: 5, Floor: 1, Weeks: 8}, Quiet: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		f.reports = append(f.reports, rep(i+1, "water", now.Add(-time.Duration(40-5*i)*time.Minute), "Mill Lane"))
	}
	bribe := rep(100, "water", now.Add(-10*time.Minute), "Mill Lane", "Secret Alley")
	bribe.Sensitive = true
	f.reports = append(f.reports, bribe)
	ctx := context.Background()
	got, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Sensitive || got[0].Count != 6 || len(f.rows) != 1 || f.rows[0].Out.Chat != officers.Chat ||
		strings.Contains(f.rows[0].Out.Text, "Secret Alley") {
		t.Fatalf("a burst with one sensitive report: %+v, rows %+v; want one ordinary alert of 6 reports in the officers' chat", got, f.rows)
	}
	for i := range 4 {
		r := rep(200+i, "water", now.Add(-time.Duration(i+1)*time.Minute), "Secret Alley")
		r.Sensitive = true
		f.reports = append(f.reports, r)
	}
	got, err = s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Sensitive || got[0].Count != 5 || len(f.rows) != 2 || f.rows[1].Out.Chat != secret.Chat {
		t.Fatalf("five sensitive reports: %+v, rows %+v; want one sensitive surge of 5 to the sensitive chat", got, f.rows)
	}
}
