package citybot

import "time"

// SigninStrike is the count of failed sign-ins kept under one back-off
// key (a client address, an account name tried from unknown browsers,
// one browser's own key) and the time of the last. The console turns it
// into a delay; every process sharing the database sees the same count.
type SigninStrike struct {
	Failures int
	Last     time.Time
}

// SigninKey is a back-off key a failed sign-in is counted under, and how
// long its count is kept after that failure (then it starts again from
// zero).
type SigninKey struct {
	Key  string
	Keep time.Duration
}
