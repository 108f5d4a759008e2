package grouping

import (
	"time"

	"citybot"
)

// FollowUpCase decides which of a citizen's own cases in a chat their new
// message follows up, or 0 for none (the message is then a new report,
// which grouping may join to another citizen's case). own are the
// citizen's cases in that chat as the store loads them (any order); now is
// when the message arrived; window is how long after a case's latest
// message a new one still follows it up (<= 0: only replies do).
//
// The rules, in order:
//   - a reply to a message of a case that is still live (open, or a
//     follower of an open case) follows that case up, however old;
//   - else the live case whose latest message is the most recent, when
//     it came within window (the newest case on a tie).
//
// A case closed, resolved or merged into a case no longer open takes no
// follow-up: the message opens a new case.
func FollowUpCase(own []citybot.OwnCase, now time.Time, window time.Duration) citybot.CaseID {
	for _, c := range own {
		if c.RepliedTo && c.Live() {
			return c.ID
		}
	}
	if window <= 0 {
		return 0
	}
	var best *citybot.OwnCase
	for i := range own {
		c := &own[i]
		if !c.Live() || now.Sub(c.LastMessageAt) > window {
			continue
		}
		if best == nil || c.LastMessageAt.After(best.LastMessageAt) ||
			(c.LastMessageAt.Equal(best.LastMessageAt) && c.ID > best.ID) {
			best = c
		}
	}
	if best == nil {
		return 0
	}
	return best.ID
}
