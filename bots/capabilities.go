package bots

import (
	"context"

	"citybot"
)

// PrivateChatter is an optional capability: finding the private chat
// between the bot and a person who wrote in a shared chat, so that
// anything personal (a case's details, a request for contact data) is
// answered there rather than in public. On Discord this opens a DM channel;
// on Telegram a user's private chat id is their user id (the person must
// have started the bot).
type PrivateChatter interface {
	// PrivateChat returns the chat to send to user privately. Errors wrap
	// citybot.ErrInvalid for a malformed id and citybot.ErrPermanent when
	// the platform refuses (the person blocks DMs); others are transient.
	PrivateChat(ctx context.Context, user citybot.UserID) (citybot.ChatID, error)
}

// Mentioner is an optional capability: Send honours
// citybot.Outgoing.Mentions, notifying each person named (Discord: a
// "<@id>" before the span, with only those users allowed to be pinged;
// Telegram: the span as a text mention). The outbox combines the
// acknowledgements waiting in a busy group into one message that names
// each reporter only on platforms whose bot implements it.
type Mentioner interface {
	// Mentions reports that Send honours Outgoing.Mentions.
	Mentions() bool
}
