package grouping

import (
	"testing"
	"time"

	"citybot"
)

func TestFollowUpCase(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	open := func(id citybot.CaseID, last time.Duration) citybot.OwnCase {
		return citybot.OwnCase{ID: id, Status: citybot.StatusAcknowledged, LastMessageAt: ago(last)}
	}
	follower := func(id citybot.CaseID, last time.Duration, main citybot.CaseStatus) citybot.OwnCase {
		return citybot.OwnCase{ID: id, Status: citybot.StatusDuplicate, LastMessageAt: ago(last), Main: 1, MainStatus: main}
	}
	replied := func(c citybot.OwnCase) citybot.OwnCase { c.RepliedTo = true; return c }
	closed := func(c citybot.OwnCase) citybot.OwnCase { c.Status = citybot.StatusResolved; return c }
	const w = 30 * time.Minute
	tests := []struct {
		name   string
		own    []citybot.OwnCase
		window time.Duration
		want   citybot.CaseID
	}{
		{"none", nil, w, 0},
		{"the latest open case within the window", []citybot.OwnCase{open(2, 20*time.Minute), open(3, 5*time.Minute)}, w, 3},
		{"too old", []citybot.OwnCase{open(2, 31*time.Minute)}, w, 0},
		{"just within", []citybot.OwnCase{open(2, 30*time.Minute)}, w, 2},
		{"a reply, however old", []citybot.OwnCase{open(3, time.Minute), replied(open(2, 48*time.Hour))}, w, 2},
		{"a reply to a resolved case opens a new one", []citybot.OwnCase{replied(closed(open(2, time.Minute)))}, w, 0},
		{"a follower of an open case", []citybot.OwnCase{follower(4, time.Minute, citybot.StatusInProgress)}, w, 4},
		{"a follower of a resolved case", []citybot.OwnCase{follower(4, time.Minute, citybot.StatusResolved)}, w, 0},
		{"a follower whose case is unknown", []citybot.OwnCase{{ID: 4, Status: citybot.StatusDuplicate, LastMessageAt: ago(time.Minute)}}, w, 0},
		{"no window: replies only", []citybot.OwnCase{open(2, time.Minute)}, 0, 0},
		{"no window, a reply", []citybot.OwnCase{replied(open(2, time.Minute))}, 0, 2},
		{"a tie goes to the newest case", []citybot.OwnCase{open(5, time.Minute), open(6, time.Minute)}, w, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FollowUpCase(tt.own, now, tt.window); got != tt.want {
				t.Errorf("FollowUpCase = %d, want %d", got, tt.want)
			}
		})
	}
}
