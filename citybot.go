// Package citybot holds citybot's domain: citizens, the messages they send
// and receive on chat platforms, the cases those messages open, the tags the
// classifier or an officer put on them, and the sentinel errors every layer
// shares.
//
// It imports the standard library only. Adapters (bots/...), storage
// (store), tagging (classifier), the pipeline (responder) and the console
// (web) talk to each other only in these types; cmd/citybot wires them.
package citybot

// Platform names a chat platform citybot listens on.
type Platform string

// The platforms citybot speaks.
const (
	Telegram Platform = "telegram"
	Discord  Platform = "discord"
)

// Valid reports whether p is a platform citybot knows.
func (p Platform) Valid() bool { return p == Telegram || p == Discord }

// ChatID identifies a conversation on a platform: a private chat, a group,
// a channel or a thread. It is opaque: only the platform's adapter parses it.
type ChatID string

// UserID identifies a person on a platform. Opaque, and private: it is a
// citizen's identity and never appears in logs or public output.
type UserID string

// PlatformMessageID identifies a message within its chat on a platform.
// Opaque: only the adapter parses it.
type PlatformMessageID string

// ChatKind tells private conversations from shared ones.
type ChatKind string

// The kinds of chat.
const (
	ChatPrivate ChatKind = "private" // a one-to-one chat or DM with the city's bot
	ChatGroup   ChatKind = "group"   // a group, supergroup, server channel or thread
	ChatChannel ChatKind = "channel" // a broadcast channel (the city's public posts)
)
