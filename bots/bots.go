// Package bots holds the contract between citybot and a chat platform: one
// small required interface, Bot, plus optional capabilities an adapter may
// implement, found by type assertion: Editor (edit a sent message),
// PrivateChatter (find a person's private chat), Mentioner (name people in
// a message, notifying them) and Spacer (the steady pace one chat's limits
// allow), among others; Telegram and Discord implement these four.
//
// Adapters (bots/telegram, bots/discord) translate platform updates into
// citybot.Message and citybot.Action, and citybot.Outgoing into API calls.
// They import no store, classifier, responder or web package, nor each
// other.
package bots

import (
	"context"

	"citybot"
)

// Handler receives what an adapter hears. Both methods must be safe for
// concurrent use.
type Handler interface {
	// HandleMessage stores m and everything it causes (case, tags, queued
	// acknowledgement) durably before it returns nil. Delivering the same
	// (Platform, Chat, ID) again is a no-op that returns nil. A non-nil
	// error means m was not stored: the adapter must not confirm it to
	// the platform, so that it is delivered again.
	HandleMessage(ctx context.Context, m citybot.Message) error
	// HandleAction handles a button press. It returns a short text to show
	// the person who pressed (a toast or ephemeral reply), possibly empty.
	HandleAction(ctx context.Context, a citybot.Action) (string, error)
}

// Bot is a running connection to one platform.
type Bot interface {
	// Platform names the platform.
	Platform() citybot.Platform
	// Run receives updates and hands them to h until ctx is cancelled,
	// then returns nil once in-flight updates are handled. It returns an
	// error only when it cannot go on (a rejected token).
	Run(ctx context.Context, h Handler) error
	// Send delivers one message. It does not split text: callers keep
	// Text within Limits().MaxText. It returns *citybot.RetryAfterError
	// when a local or remote rate limit refuses the send for now, an
	// error wrapping citybot.ErrPermanent when retrying cannot help, and
	// other errors for transient failures. Errors never contain the token.
	Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error)
	// Limits tells what the platform accepts.
	Limits() Limits
}

// Limits are a platform's message limits.
type Limits struct {
	// MaxText is the longest text one message may carry, counted in
	// UTF-16 code units as both platforms count it (Telegram: 4096;
	// Discord: 2000): a character outside the Basic Multilingual Plane,
	// such as most emoji, counts 2. citybot.UTF16Len measures a text
	// this way.
	MaxText int
}

// Cursors stores an adapter's position in a platform's update stream (a
// Telegram offset, the last Discord message id seen per channel) so that a
// restart resumes where it stopped. An adapter saves a cursor only after
// Handler.HandleMessage has returned nil for everything before it.
type Cursors interface {
	// Cursor returns the stored value for key, or "" when none is stored.
	Cursor(ctx context.Context, key string) (string, error)
	SetCursor(ctx context.Context, key, value string) error
}

// Editor is an optional capability: editing a message the bot sent.
type Editor interface {
	Edit(ctx context.Context, chat citybot.ChatID, id citybot.PlatformMessageID, out citybot.Outgoing) error
}
