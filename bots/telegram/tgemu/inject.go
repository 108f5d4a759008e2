package tgemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Media is the kind of file a citizen's message carries.
type Media string

// The media kinds Post can attach.
const (
	MediaNone     Media = ""
	MediaPhoto    Media = "photo"
	MediaVoice    Media = "voice"
	MediaVideo    Media = "video"
	MediaDocument Media = "document"
)

// Location is a point on the map.
type Location struct {
	Latitude  float64
	Longitude float64
}

// Entry is one line of a chat's transcript: a citizen's message, a bot
// message, or the toast a bot showed for a button press.
type Entry struct {
	MessageID int // 0 for toasts
	FromBot   bool
	From      User
	Text      string // text, or the caption of media
	Media     Media
	Location  *Location
	ReplyTo   int
	Buttons   [][]Button
	At        time.Time
	Edited    bool
	Toast     bool
}

// Incoming is a message a citizen sends.
type Incoming struct {
	// Chat is where it is sent: 0 for the private chat with From (whose
	// id is From.ID), a negative id for a group. A group is created on
	// first use; ids below -1000000000000 are supergroups.
	Chat      int64
	ChatTitle string
	From      User
	// Text is the message text, or the caption when Media is set. A text
	// starting with /command gets a bot_command entity at offset 0, and
	// each @username a mention entity, as Telegram does.
	Text    string
	ReplyTo int // message id in the same chat, or 0
	Media   Media
	// MediaData, when set, is the file's content (for a photo, its
	// largest size): getFile and the file download serve it, and the
	// update says its size.
	MediaData []byte
	Location  *Location
}

// Posted tells what an injection created.
type Posted struct {
	UpdateID   int
	Chat       int64
	MessageID  int
	CallbackID string // for Press
	// At is when the emulator took a posted message (its clock): the
	// time a citizen wrote, for measuring how long an answer took.
	At time.Time
}

// Post queues a citizen's message as a "message" update. It returns an
// error for an incoherent Incoming (no sender, a private chat that is not
// the sender's).
func (s *Server) Post(in Incoming) (Posted, error) {
	if in.From.ID <= 0 {
		return Posted{}, errors.New("tgemu: post: From.ID must be positive")
	}
	if in.Chat == 0 {
		in.Chat = in.From.ID
	}
	if in.Chat > 0 && in.Chat != in.From.ID {
		return Posted{}, errors.New("tgemu: post: a private chat's id is its user's id")
	}
	switch in.Media {
	case MediaNone, MediaPhoto, MediaVoice, MediaVideo, MediaDocument:
	default:
		return Posted{}, fmt.Errorf("tgemu: post: unknown media %q", in.Media)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chats[in.Chat] == nil && len(s.chats) >= s.max.chats {
		return Posted{}, errors.New("tgemu: post: too many chats (Options.MaxChats)")
	}
	c := s.chatLocked(in.Chat, in.ChatTitle, &in.From)
	c.lastMsg++
	e := Entry{MessageID: c.lastMsg, From: in.From, Text: in.Text, Media: in.Media, Location: in.Location,
		ReplyTo: in.ReplyTo, At: s.now()}
	if in.Media != MediaNone && in.MediaData != nil {
		s.files[FileID(e.Media, in.Chat, e.MessageID)] = slices.Clone(in.MediaData)
	}
	c.record(e, s.max.transcript)
	if in.Chat < 0 && s.privacy && !s.addressedLocked(c, in) {
		// Privacy mode: the group hears it, the bot does not.
		s.notifyLocked()
		return Posted{Chat: in.Chat, MessageID: e.MessageID, At: e.At}, nil
	}
	m := s.apiMessageLocked(c, e)
	id := s.enqueueLocked(update{Kind: "message", Message: &m})
	return Posted{UpdateID: id, Chat: in.Chat, MessageID: e.MessageID, At: e.At}, nil
}

// addressedLocked reports whether a group message reaches a bot in
// privacy mode: a command, a reply to one of the bot's messages, or a
// message naming the bot's @username.
func (s *Server) addressedLocked(c *chat, in Incoming) bool {
	if strings.HasPrefix(in.Text, "/") {
		return true
	}
	if in.ReplyTo != 0 {
		if e := c.find(in.ReplyTo); e != nil && e.FromBot {
			return true
		}
	}
	return strings.Contains(strings.ToLower(in.Text), "@"+strings.ToLower(s.bot.Username))
}

// me is getMe's answer: the bot, with what BotFather lets it do.
func (s *Server) me() apiUser {
	s.mu.Lock()
	defer s.mu.Unlock()
	return apiUser{User: s.bot, CanJoinGroups: !s.noJoin, CanReadAllGroupMessages: !s.privacy}
}

// SetPrivacy turns the bot's group privacy mode on or off, as @BotFather's
// /setprivacy does (Enable or Disable); it applies to the next getMe and
// the next group message.
func (s *Server) SetPrivacy(on bool) {
	s.mu.Lock()
	s.privacy = on
	s.notifyLocked()
	s.mu.Unlock()
}

// SetJoinGroups allows or forbids adding the bot to groups, as
// @BotFather's /setjoingroups does; it applies to the next getMe.
func (s *Server) SetJoinGroups(on bool) {
	s.mu.Lock()
	s.noJoin = !on
	s.notifyLocked()
	s.mu.Unlock()
}

// Edit changes the text (or caption) of a citizen's earlier message and
// queues an "edited_message" update. It returns an error when the message
// is not a citizen message known to the emulator.
func (s *Server) Edit(chatID int64, messageID int, text string) (Posted, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return Posted{}, errors.New("tgemu: edit: unknown chat")
	}
	e := c.find(messageID)
	if e == nil || e.FromBot {
		return Posted{}, errors.New("tgemu: edit: no such citizen message")
	}
	e.Text, e.Edited = text, true
	m := s.apiMessageLocked(c, *e)
	m.EditDate = s.now().Unix()
	id := s.enqueueLocked(update{Kind: "edited_message", Message: &m})
	return Posted{UpdateID: id, Chat: chatID, MessageID: messageID}, nil
}

// Press queues a "callback_query" update: from pressed the button with
// data under the bot's message messageID. It returns an error when that
// message has no such button.
func (s *Server) Press(chatID int64, messageID int, from User, data string) (Posted, error) {
	if from.ID <= 0 {
		return Posted{}, errors.New("tgemu: press: From.ID must be positive")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return Posted{}, errors.New("tgemu: press: unknown chat")
	}
	e := c.find(messageID)
	if e == nil || !e.FromBot || !slices.ContainsFunc(e.Buttons, func(r []Button) bool {
		return slices.ContainsFunc(r, func(b Button) bool { return b.Data == data })
	}) {
		return Posted{}, errors.New("tgemu: press: no such button")
	}
	s.nextCallback++
	qid := strconv.FormatInt(s.bot.ID, 10) + "-" + strconv.Itoa(s.nextCallback)
	s.callbacks[qid] = &callback{chat: chatID, msg: messageID}
	s.callbackOrder = append(s.callbackOrder, qid)
	if len(s.callbackOrder) > s.max.sent {
		delete(s.callbacks, s.callbackOrder[0])
		s.callbackOrder = s.callbackOrder[1:]
	}
	m := s.apiMessageLocked(c, *e)
	if kb := keyboard(e.Buttons); kb != nil {
		m.ReplyMarkup = kb
	}
	cq := apiCallbackQuery{ID: qid, From: from, Message: &m, ChatInstance: strconv.FormatInt(chatID*7919, 10), Data: data}
	id := s.enqueueLocked(update{Kind: "callback_query", CallbackQuery: &cq})
	return Posted{UpdateID: id, Chat: chatID, MessageID: messageID, CallbackID: qid}, nil
}

// PostRaw queues an update of any kind with a hand-made JSON payload, for
// kinds the emulator does not model ("poll", "my_chat_member", a kind
// Telegram may add tomorrow). It returns an error if payload is not JSON.
func (s *Server) PostRaw(kind string, payload json.RawMessage) (Posted, error) {
	if kind == "" || kind == "update_id" {
		return Posted{}, errors.New("tgemu: post raw: bad kind")
	}
	if !json.Valid(payload) {
		return Posted{}, errors.New("tgemu: post raw: payload is not JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.enqueueLocked(update{Kind: kind, Raw: slices.Clone(payload)})
	return Posted{UpdateID: id}, nil
}

// Transcript returns copies of the kept lines of a chat, oldest first.
func (s *Server) Transcript(chatID int64) []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	out := make([]Entry, len(c.transcript))
	for i, e := range c.transcript {
		e.Buttons = cloneSent(SentMessage{Buttons: e.Buttons}).Buttons
		out[i] = e
	}
	return out
}

func (c *chat) find(id int) *Entry {
	if id <= 0 {
		return nil
	}
	for i := len(c.transcript) - 1; i >= 0; i-- {
		if c.transcript[i].MessageID == id && !c.transcript[i].Toast {
			return &c.transcript[i]
		}
	}
	return nil
}

func keyboard(rows [][]Button) *apiKeyboard {
	if len(rows) == 0 {
		return nil
	}
	kb := &apiKeyboard{InlineKeyboard: make([][]apiButton, len(rows))}
	for i, r := range rows {
		for _, b := range r {
			kb.InlineKeyboard[i] = append(kb.InlineKeyboard[i], apiButton{Text: b.Text, CallbackData: b.Data})
		}
	}
	return kb
}

// apiMessageLocked renders e as the Bot API shows it, with the message it
// replies to (one level deep).
func (s *Server) apiMessageLocked(c *chat, e Entry) apiMessage {
	m := s.flatMessage(c, e)
	if e.ReplyTo != 0 {
		if r := c.find(e.ReplyTo); r != nil {
			rm := s.flatMessage(c, *r)
			m.ReplyToMessage = &rm
		}
	}
	return m
}

func (s *Server) flatMessage(c *chat, e Entry) apiMessage {
	from := e.From
	m := apiMessage{MessageID: e.MessageID, From: &from, Date: e.At.Unix(), Chat: c.api}
	ents := entities(e.Text)
	if e.Media == MediaNone {
		m.Text, m.Entities = e.Text, ents
	} else {
		m.Caption, m.CaptionEntities = e.Text, ents
	}
	fid := FileID(e.Media, c.api.ID, e.MessageID)
	size := func(def int) int {
		if data, ok := s.files[fid]; ok {
			return len(data)
		}
		return def
	}
	switch e.Media {
	case MediaPhoto:
		m.Photo = []apiPhotoSize{
			{FileID: fid + "-s", FileUniqueID: "u" + fid + "-s", Width: 90, Height: 60, FileSize: 1200},
			{FileID: fid, FileUniqueID: "u" + fid, Width: 1280, Height: 853, FileSize: size(154000)},
		}
	case MediaVoice:
		m.Voice = &apiFile{FileID: fid, FileUniqueID: "u" + fid, Duration: 7, MimeType: "audio/ogg", FileSize: size(23000)}
	case MediaVideo:
		m.Video = &apiFile{FileID: fid, FileUniqueID: "u" + fid, Duration: 12, Width: 640, Height: 360, MimeType: "video/mp4", FileSize: 900000}
	case MediaDocument:
		m.Document = &apiFile{FileID: fid, FileUniqueID: "u" + fid, FileName: "report.pdf", MimeType: "application/pdf", FileSize: 48000}
	}
	if e.Location != nil {
		m.Location = &apiLocation{Latitude: e.Location.Latitude, Longitude: e.Location.Longitude}
	}
	if e.FromBot {
		m.ReplyMarkup = keyboard(e.Buttons)
	}
	return m
}

var (
	commandRE = regexp.MustCompile(`^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,32})?`)
	mentionRE = regexp.MustCompile(`@[A-Za-z0-9_]{3,32}`)
)

// entities marks a leading /command and every @mention, with offsets and
// lengths in UTF-16 code units as Telegram counts them.
func entities(text string) []apiEntity {
	var out []apiEntity
	u16 := func(s string) int { return len(utf16.Encode([]rune(s))) }
	if loc := commandRE.FindStringIndex(text); loc != nil {
		out = append(out, apiEntity{Type: "bot_command", Offset: 0, Length: u16(text[:loc[1]])})
	}
	for _, loc := range mentionRE.FindAllStringIndex(text, 32) {
		if loc[0] > 0 && text[loc[0]-1] != ' ' && text[loc[0]-1] != '\n' {
			continue // part of a command's @bot, or an e-mail address
		}
		out = append(out, apiEntity{Type: "mention", Offset: u16(text[:loc[0]]), Length: u16(text[loc[0]:loc[1]])})
	}
	return out
}

// FileID is the file_id the emulator gives the media of a citizen's
// message.
func FileID(m Media, chat int64, msg int) string { return fmt.Sprintf("%s-%d-%d", m, chat, msg) }
