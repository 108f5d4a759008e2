package bots

import (
	"context"

	"citybot"
)

// FileFetcher is an optional capability: downloading the file of a
// citizen's attachment (its FileID as the adapter set it), at most max
// bytes. A file larger than max (also citybot.ErrTooLarge), or one the
// platform no longer has, is refused with an error wrapping
// citybot.ErrPermanent; other errors
// (timeouts, 5xx) may succeed later. The returned bytes are the caller's.
// Errors never carry a bot token.
type FileFetcher interface {
	FetchFile(ctx context.Context, a citybot.Attachment, max int64) ([]byte, error)
}
