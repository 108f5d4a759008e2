package bots

import (
	"context"

	"citybot"
)

// PhotoSender is an optional capability: sending a PNG image with a
// caption (out.Text, kept within the platform's caption limit by the
// caller). name is the file name shown to people. Errors follow Bot.Send:
// *citybot.RetryAfterError for a rate limit, citybot.ErrPermanent when
// retrying cannot help.
type PhotoSender interface {
	SendPhoto(ctx context.Context, out citybot.Outgoing, name string, png []byte) (citybot.Sent, error)
}
