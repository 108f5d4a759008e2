// Package pause waits for a while unless a context ends first: the
// backoffs and ticks of the long-running parts (the platform adapters'
// reconnects, the cluster's leases) share it.
package pause

import (
	"context"
	"time"
)

// For waits d or until ctx ends; it reports whether d elapsed (false:
// ctx ended first).
func For(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
