package citybot

import (
	"strings"
	"time"
)

// Sender is the person behind an inbound message, as the platform describes
// them. Name and Handle are private: they are stored apart from the
// pseudonymous citizen and never logged or published.
type Sender struct {
	ID           UserID
	Name         string // display name
	Handle       string // @username or equivalent
	LanguageCode string // the platform's language hint (BCP 47, e.g. "fr", "en-US"); may be empty
	IsBot        bool
}

// AttachmentKind says what a message carries besides its text.
type AttachmentKind string

// Attachment kinds.
const (
	AttachPhoto    AttachmentKind = "photo"
	AttachVoice    AttachmentKind = "voice"
	AttachAudio    AttachmentKind = "audio"
	AttachVideo    AttachmentKind = "video"
	AttachDocument AttachmentKind = "document"
	AttachLocation AttachmentKind = "location"
	AttachSticker  AttachmentKind = "sticker"
	AttachOther    AttachmentKind = "other"
)

// Attachment is a file or location that came with a message. FileID is the
// platform's reference to fetch it later; citybot does not download files at
// intake.
type Attachment struct {
	Kind     AttachmentKind
	FileID   string
	MIMEType string
	Name     string
	Size     int64
	// ID is the store's id of the attachment; 0 until stored.
	ID int64
	// Kept says whether the file was fetched and kept with the case
	// (photos and voice notes); KeptReason says why not: a MediaReason
	// (rows older than the codes hold English words).
	Kept       MediaState
	KeptReason string
}

// Why a citizen's file was not kept (Attachment.KeptReason): a code and,
// after a colon, what it names. Pages say them in the reader's language.
const (
	MediaTooLarge  = "too_large"     // larger than the limit (its size in bytes)
	MediaNotPhoto  = "not_photo"     // a "photo" that is not one (the file's type)
	MediaDamaged   = "damaged_photo" // a photo that does not decode
	MediaNotSound  = "not_sound"     // a voice note that is no sound (the file's type)
	MediaGone      = "gone"          // the platform no longer has it (the platform)
	MediaGaveUp    = "gave_up"       // every try failed (the number of tries)
	MediaNoFetcher = "no_fetcher"    // no way to fetch the platform's files (the platform)
	MediaRetrying  = "retrying"      // a passing failure; tried again later
)

// MediaReason joins a reason code and its detail ("" for none) as
// Attachment.KeptReason holds them.
func MediaReason(code, detail string) string {
	if detail == "" {
		return code
	}
	return code + ":" + detail
}

// SplitMediaReason splits a KeptReason into its code and detail; code is
// "" for a reason that is no known code (older rows' words).
func SplitMediaReason(s string) (code, detail string) {
	code, detail, _ = strings.Cut(s, ":")
	switch code {
	case MediaTooLarge, MediaNotPhoto, MediaDamaged, MediaNotSound, MediaGone, MediaGaveUp, MediaNoFetcher, MediaRetrying:
		return code, detail
	}
	return "", s
}

// MediaState is where the copy of a citizen's file stands.
type MediaState string

// Media states: "" not tried (or not a kind that is kept); kept; refused
// for good (too large, not a photo or sound, gone from the platform);
// retry after a passing failure.
const (
	MediaKept    MediaState = "kept"
	MediaRefused MediaState = "refused"
	MediaRetry   MediaState = "retry"
)

// MediaJob is an attachment whose file is to be fetched and kept.
type MediaJob struct {
	Attachment Attachment // with its ID
	Platform   Platform
	Tries      int // failed tries so far
}

// Media is a kept copy of a citizen's file, location metadata removed.
type Media struct {
	AttachmentID int64
	Case         CaseID // the case of the message it came with
	Kind         AttachmentKind
	MIMEType     string // sniffed from the content, not the platform's word
	Data         []byte // the caller's
}

// Location is a point a citizen shared.
type Location struct {
	Latitude  float64
	Longitude float64
}

// Message is one inbound message from a citizen, as an adapter translated
// it. The triple (Platform, Chat, ID) identifies it: delivering the same
// triple twice must be a no-op, and delivering it with Edit set replaces the
// stored text.
type Message struct {
	Platform  Platform
	Chat      ChatID
	ChatKind  ChatKind
	ChatTitle string // group or channel title; empty for private chats
	ID        PlatformMessageID
	Sender    Sender
	// Text is the message text, or the caption of a photo or document.
	// It is untrusted: it may be empty, huge, invalid UTF-8 or hostile
	// HTML.
	Text string
	// ReplyTo is the message this one replies to, if any.
	ReplyTo PlatformMessageID
	// Edit is true when this delivery edits the earlier message ID.
	Edit bool
	// Command is a bot command without its slash, in lower case: one of
	// CitizenCommands, or another that is answered with the help, the
	// same on every platform (adapters read typed commands with
	// ParseCommand); empty for a plain message. Args is the rest.
	Command     string
	Args        string
	Attachments []Attachment
	Location    *Location
	SentAt      time.Time // when the platform says it was sent (UTC)
}

// Action is a button press or another interaction that is not a message:
// a Telegram callback query, a Discord component interaction.
type Action struct {
	Platform Platform
	Chat     ChatID
	ChatKind ChatKind
	// ID is the platform's id of the interaction, unique per press.
	ID     string
	Sender Sender
	// Message is the bot message whose button was pressed.
	Message PlatformMessageID
	// Data is the Button.Data of the pressed button.
	Data string
}

// Button is a button under an outgoing message. Data comes back in
// Action.Data when it is pressed; keep it at most 64 bytes (Telegram's
// limit).
type Button struct {
	Label string
	Data  string
}

// Outgoing is one message citybot sends. Every Outgoing is first a durable
// outbox row keyed by Key, so that a restart or retry never sends it twice.
type Outgoing struct {
	Key      string // idempotency key, unique across the outbox
	Platform Platform
	Chat     ChatID
	ChatKind ChatKind
	ReplyTo  PlatformMessageID // optional: thread the answer under this message
	Text     string            // plain text; adapters send it without markup parsing
	Buttons  [][]Button        // optional rows of buttons
	// To, when set, means "deliver privately to this person": the
	// dispatcher asks the platform's adapter for the private chat with To
	// just before sending and sends there, never to Chat (which then only
	// orders the row among the others of Chat's queue). It is a private
	// platform user id: filled by the store from the citizen's identity
	// (see OutboxItem.Private), never logged nor shown.
	To UserID
	// Edit, when set, makes the row an edit: the message with this id in
	// Chat, sent by the bot earlier, is replaced by Text and Buttons
	// (none removes them) through the bot's bots.Editor. An edit is
	// idempotent: repeating it changes nothing.
	Edit PlatformMessageID
	// File, when set, is sent as a document (a file in the chat) with
	// Text as its caption, through the bot's bots.DocumentSender.
	File *File
	// Mentions name people in Text (a combined acknowledgement in a
	// group names each reporter): the adapter makes each a mention of
	// its User, a platform user id that is never logged nor shown
	// elsewhere. Only the people listed are notified. Only the outbox's
	// combined acknowledgements carry mentions: Enqueue does not store
	// them.
	Mentions []Mention
}

// Mention names one person in an Outgoing's Text: Text[Start:End] (byte
// offsets, at rune boundaries, in order and not overlapping) is the
// span that is about them. An adapter links the span to the person
// (Telegram: a text mention) or puts its platform's mention of the person
// just before it (Discord: "<@id> "), which adds at most
// MentionOverhead(User) UTF-16 units to the text.
type Mention struct {
	User       UserID
	Start, End int
}

// MentionOverhead is the most UTF-16 units an adapter may add to a text
// for a mention of user (Discord's "<@id> ").
func MentionOverhead(user UserID) int { return len(user) + 4 }

// File is a document sent to a chat: Name is what people see (its
// extension tells its kind: ".json"), Data its bytes.
type File struct {
	Name string
	Data []byte
}

// Sent is what the platform said about a delivered Outgoing.
type Sent struct {
	ID     PlatformMessageID
	SentAt time.Time
}
