package tgemu

import "encoding/json"

// The JSON shapes below follow the Telegram Bot API. They are the
// emulator's own, with omitempty where Telegram omits a field, so the
// emulator does not echo a client library's quirks back at it.

// User is a Telegram user or bot, as the Bot API shows it.
type User struct {
	ID           int64  `json:"id"`
	IsBot        bool   `json:"is_bot"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name,omitempty"`
	Username     string `json:"username,omitempty"`
	LanguageCode string `json:"language_code,omitempty"`
}

type apiUser struct {
	User
	CanJoinGroups           bool `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages bool `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   bool `json:"supports_inline_queries,omitempty"`
}

type apiChat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Title     string `json:"title,omitempty"`
	Username  string `json:"username,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

type apiEntity struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
	User   *User  `json:"user,omitempty"` // a text_mention's person
}

type apiPhotoSize struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int    `json:"file_size,omitempty"`
}

type apiFile struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Duration     int    `json:"duration,omitempty"`
	Width        int    `json:"width,omitempty"`
	Height       int    `json:"height,omitempty"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int    `json:"file_size,omitempty"`
}

type apiLocation struct {
	Longitude float64 `json:"longitude"`
	Latitude  float64 `json:"latitude"`
}

type apiButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

type apiKeyboard struct {
	InlineKeyboard [][]apiButton `json:"inline_keyboard"`
}

type apiMessage struct {
	MessageID       int            `json:"message_id"`
	From            *User          `json:"from,omitempty"`
	Date            int64          `json:"date"`
	Chat            apiChat        `json:"chat"`
	ReplyToMessage  *apiMessage    `json:"reply_to_message,omitempty"`
	EditDate        int64          `json:"edit_date,omitempty"`
	Text            string         `json:"text,omitempty"`
	Entities        []apiEntity    `json:"entities,omitempty"`
	Photo           []apiPhotoSize `json:"photo,omitempty"`
	Voice           *apiFile       `json:"voice,omitempty"`
	Video           *apiFile       `json:"video,omitempty"`
	Document        *apiFile       `json:"document,omitempty"`
	Caption         string         `json:"caption,omitempty"`
	CaptionEntities []apiEntity    `json:"caption_entities,omitempty"`
	Location        *apiLocation   `json:"location,omitempty"`
	ReplyMarkup     *apiKeyboard   `json:"reply_markup,omitempty"`
}

type apiCallbackQuery struct {
	ID           string      `json:"id"`
	From         User        `json:"from"`
	Message      *apiMessage `json:"message,omitempty"`
	ChatInstance string      `json:"chat_instance"`
	Data         string      `json:"data,omitempty"`
}

// update is one queued update. Exactly one of the payload fields is set;
// raw carries hand-made JSON for kinds the emulator does not model.
type update struct {
	ID            int
	Kind          string // "message", "edited_message", "callback_query", or a raw kind
	Message       *apiMessage
	CallbackQuery *apiCallbackQuery
	Raw           json.RawMessage
}

func (u update) MarshalJSON() ([]byte, error) {
	m := map[string]any{"update_id": u.ID}
	switch {
	case u.Message != nil:
		m[u.Kind] = u.Message
	case u.CallbackQuery != nil:
		m[u.Kind] = u.CallbackQuery
	case u.Raw != nil:
		m[u.Kind] = u.Raw
	}
	return json.Marshal(m)
}

type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *responseParams `json:"parameters,omitempty"`
}

type responseParams struct {
	RetryAfter      int   `json:"retry_after,omitempty"`
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
}

type webhookInfo struct {
	URL                  string   `json:"url"`
	HasCustomCertificate bool     `json:"has_custom_certificate"`
	PendingUpdateCount   int      `json:"pending_update_count"`
	LastErrorDate        int64    `json:"last_error_date,omitempty"`
	LastErrorMessage     string   `json:"last_error_message,omitempty"`
	MaxConnections       int      `json:"max_connections,omitempty"`
	AllowedUpdates       []string `json:"allowed_updates,omitempty"`
}
