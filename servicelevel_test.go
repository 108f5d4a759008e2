package citybot

import (
	"testing"
	"time"
)

func TestServiceLevelsDue(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database")
	}
	l := ServiceLevels{Targets: map[Urgency]time.Duration{UrgencyCritical: 30 * time.Minute, UrgencyHigh: 4 * time.Hour,
		UrgencyNormal: 16 * time.Hour, UrgencyLow: 8 * time.Hour}}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		l      ServiceLevels
		opened string
		u      Urgency
		want   string
	}{
		{"critical on a Friday evening: the wall clock", l, "2026-12-04T18:00:00Z", UrgencyCritical, "2026-12-04T18:30:00Z"},
		{"high over the weekend: the wall clock", l, "2026-12-05T22:00:00Z", UrgencyHigh, "2026-12-06T02:00:00Z"},
		{"normal from Friday 16:00 skips the weekend", l, "2026-12-04T16:00:00Z", UrgencyNormal, "2026-12-08T16:00:00Z"},
		{"low opened on a Saturday starts on Monday", l, "2026-12-05T10:00:00Z", UrgencyLow, "2026-12-07T17:00:00Z"},
		{"normal opened at night starts at 9", l, "2026-12-08T03:00:00Z", UrgencyNormal, "2026-12-09T17:00:00Z"},
		{"working hours in the city's time zone", ServiceLevels{Targets: l.Targets, Location: paris}, "2026-12-07T07:00:00Z", UrgencyLow, "2026-12-07T16:00:00Z"},
		{"other working hours", ServiceLevels{Targets: l.Targets, WorkStart: 8, WorkEnd: 12}, "2026-12-07T11:00:00Z", UrgencyLow, "2026-12-09T11:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.l.Due(at(tt.opened), tt.u)
			if !ok || !got.Equal(at(tt.want)) {
				t.Errorf("Due(%s, %s) = %s, %v; want %s", tt.opened, tt.u, got.Format(time.RFC3339), ok, tt.want)
			}
		})
	}
	if _, ok := (ServiceLevels{}).Due(at("2026-12-07T07:00:00Z"), UrgencyNormal); ok {
		t.Error("an urgency without a target has a due time")
	}
	if got := (ServiceLevels{Location: paris}).PromiseDue(at("2026-12-07T00:00:00Z")); !got.Equal(at("2026-12-07T23:00:00Z")) {
		t.Errorf("promise of 7 December in Paris due at %s, want 23:00 UTC", got)
	}
}
