package citybot

import "time"

// Lease is who runs a scheduled job when several citybot processes share
// one database: its holder (one process), since when it holds it, and
// until when unless it renews it. Another process takes it over once it
// has expired.
type Lease struct {
	Name    string
	Holder  string
	TakenAt time.Time
	Expires time.Time
}
