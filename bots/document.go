package bots

import (
	"context"

	"citybot"
)

// DocumentSender is an optional capability: sending a file (a JSON
// document, say) as a document in the chat, with out.Text as its caption
// (kept short by the caller), and out.Buttons. Errors follow Bot.Send:
// *citybot.RetryAfterError for a rate limit, citybot.ErrPermanent when
// retrying cannot help, citybot.ErrInvalid for an empty or oversized
// file.
type DocumentSender interface {
	SendDocument(ctx context.Context, out citybot.Outgoing, f citybot.File) (citybot.Sent, error)
}
