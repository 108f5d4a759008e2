package citybot

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared by every layer. Wrap them with %w and test them
// with errors.Is.
var (
	// ErrNotFound: the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: the thing already exists (a redelivered message, a
	// second outbox row with the same key). Callers usually treat it as
	// success.
	ErrDuplicate = errors.New("duplicate")
	// ErrNotSupported: an optional capability the platform or component
	// does not offer.
	ErrNotSupported = errors.New("not supported")
	// ErrForbidden: the caller may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid: the input is malformed; retrying the same input fails
	// the same way.
	ErrInvalid = errors.New("invalid")
	// ErrPermanent: a send the platform refused for good (blocked by the
	// user, chat gone, message rejected). The outbox stops retrying it.
	ErrPermanent = errors.New("permanent failure")
	// ErrTooLarge is a file or text over a size limit (it comes with
	// ErrPermanent when retrying cannot help).
	ErrTooLarge = errors.New("too large")
)

// RetryAfterError says an operation was refused for now and may be tried
// again after the given delay: a platform's 429, or a local rate limiter
// that would not let a send through yet. The outbox reschedules the item
// without counting a failed attempt when Throttled is true.
type RetryAfterError struct {
	After time.Duration
	// Throttled is true when the refusal came from a rate limit (local
	// or remote) rather than a failure.
	Throttled bool
	Err       error
}

func (e *RetryAfterError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("retry after %s", e.After)
	}
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }
