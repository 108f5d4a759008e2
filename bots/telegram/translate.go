package telegram

import (
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
)

// Reasons an update is skipped (logged, then confirmed).
const (
	skipNoChat     = "no chat"
	skipChannel    = "channel post"
	skipFromBot    = "sent by a bot"
	skipNoSender   = "no sender"
	skipNotForUs   = "group message not addressed to the bot"
	skipEmpty      = "no text or attachment (service message)"
	skipInlineCall = "button press on an inline message"
)

func chatID(id int64) citybot.ChatID { return citybot.ChatID(strconv.FormatInt(id, 10)) }

func msgID(id int) citybot.PlatformMessageID {
	return citybot.PlatformMessageID(strconv.Itoa(id))
}

func chatKind(c *tgbotapi.Chat) (citybot.ChatKind, bool) {
	switch c.Type {
	case "private":
		return citybot.ChatPrivate, true
	case "group", "supergroup":
		return citybot.ChatGroup, true
	case "channel":
		return citybot.ChatChannel, true
	}
	return "", false
}

func sender(u *tgbotapi.User) citybot.Sender {
	return citybot.Sender{
		ID:           citybot.UserID(strconv.FormatInt(u.ID, 10)),
		Name:         strings.TrimSpace(u.FirstName + " " + u.LastName),
		Handle:       u.UserName,
		LanguageCode: u.LanguageCode,
		IsBot:        u.IsBot,
	}
}

// message translates a message or an edited message. It returns the
// reason when the message is not for citybot.
func (b *Bot) message(m *tgbotapi.Message, edit bool) (citybot.Message, string) {
	if m.Chat == nil {
		return citybot.Message{}, skipNoChat
	}
	kind, ok := chatKind(m.Chat)
	if !ok || kind == citybot.ChatChannel {
		return citybot.Message{}, skipChannel
	}
	var from citybot.Sender
	switch {
	case m.From != nil && m.From.IsBot:
		return citybot.Message{}, skipFromBot
	case m.From != nil:
		from = sender(m.From)
	case m.SenderChat != nil:
		// An anonymous group admin or a linked channel speaking in a group.
		from = citybot.Sender{ID: citybot.UserID("chat" + strconv.FormatInt(m.SenderChat.ID, 10)), Name: m.SenderChat.Title}
	default:
		return citybot.Message{}, skipNoSender
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	out := citybot.Message{
		Platform: citybot.Telegram,
		Chat:     chatID(m.Chat.ID),
		ChatKind: kind,
		ID:       msgID(m.MessageID),
		Sender:   from,
		Text:     text,
		Edit:     edit,
		SentAt:   time.Unix(int64(m.Date), 0).UTC(),
	}
	if edit && m.EditDate != 0 {
		out.SentAt = time.Unix(int64(m.EditDate), 0).UTC()
	}
	if kind == citybot.ChatGroup {
		out.ChatTitle = m.Chat.Title
	}
	if m.ReplyToMessage != nil {
		out.ReplyTo = msgID(m.ReplyToMessage.MessageID)
	}
	cmd, args, isCmd, forOther := b.command(text)
	if isCmd {
		out.Command, out.Args = cmd, args
	}
	if kind == citybot.ChatGroup && !b.listen[m.Chat.ID] && !(isCmd || (!forOther && b.addressed(m, text))) {
		return citybot.Message{}, skipNotForUs
	}
	out.Attachments, out.Location = attachments(m)
	if strings.TrimSpace(text) == "" && len(out.Attachments) == 0 {
		return citybot.Message{}, skipEmpty
	}
	return out, ""
}

// command parses a leading /command[@bot] [args]. forOther is true for a
// command addressed to another bot (/start@OtherBot), which is not ours.
func (b *Bot) command(text string) (cmd, args string, isCmd, forOther bool) {
	name, to, args, ok := citybot.ParseCommand(text)
	if !ok {
		return "", "", false, false
	}
	if to != "" && !strings.EqualFold(to, b.self.UserName) {
		return "", "", false, true
	}
	return name, args, true, false
}

// addressed reports whether a group message speaks to the bot: it replies
// to the bot's message, mentions @bot, or text-mentions the bot's user.
func (b *Bot) addressed(m *tgbotapi.Message, text string) bool {
	if r := m.ReplyToMessage; r != nil && r.From != nil && r.From.ID == b.self.ID {
		return true
	}
	for _, ents := range [][]tgbotapi.MessageEntity{m.Entities, m.CaptionEntities} {
		for _, e := range ents {
			if e.Type == "text_mention" && e.User != nil && e.User.ID == b.self.ID {
				return true
			}
		}
	}
	return mentions(text, b.self.UserName)
}

// mentions reports whether text holds @username as a whole word, in any
// case.
func mentions(text, username string) bool {
	if username == "" {
		return false
	}
	lt, at := strings.ToLower(text), "@"+strings.ToLower(username)
	for i := 0; ; {
		j := strings.Index(lt[i:], at)
		if j < 0 {
			return false
		}
		end := i + j + len(at)
		if end == len(lt) || !isWordByte(lt[end]) {
			return true
		}
		i = end
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z'
}

// attachments lists what a message carries besides text.
func attachments(m *tgbotapi.Message) ([]citybot.Attachment, *citybot.Location) {
	var out []citybot.Attachment
	add := func(k citybot.AttachmentKind, id, mime, name string, size int) {
		out = append(out, citybot.Attachment{Kind: k, FileID: id, MIMEType: mime, Name: name, Size: int64(size)})
	}
	if n := len(m.Photo); n > 0 {
		p := m.Photo[n-1] // the largest size comes last
		add(citybot.AttachPhoto, p.FileID, "image/jpeg", "", p.FileSize)
	}
	if v := m.Voice; v != nil {
		add(citybot.AttachVoice, v.FileID, v.MimeType, "", v.FileSize)
	}
	if a := m.Audio; a != nil {
		add(citybot.AttachAudio, a.FileID, a.MimeType, a.FileName, a.FileSize)
	}
	if v := m.Video; v != nil {
		add(citybot.AttachVideo, v.FileID, v.MimeType, v.FileName, v.FileSize)
	}
	if v := m.VideoNote; v != nil {
		add(citybot.AttachVideo, v.FileID, "video/mp4", "", v.FileSize)
	}
	switch {
	case m.Animation != nil:
		a := m.Animation
		add(citybot.AttachVideo, a.FileID, a.MimeType, a.FileName, a.FileSize)
	case m.Document != nil:
		d := m.Document
		add(citybot.AttachDocument, d.FileID, d.MimeType, d.FileName, d.FileSize)
	}
	if s := m.Sticker; s != nil {
		add(citybot.AttachSticker, s.FileID, "", s.Emoji, s.FileSize)
	}
	if m.Contact != nil || m.Poll != nil || m.Dice != nil {
		add(citybot.AttachOther, "", "", "", 0)
	}
	var loc *citybot.Location
	switch {
	case m.Location != nil:
		loc = &citybot.Location{Latitude: m.Location.Latitude, Longitude: m.Location.Longitude}
	case m.Venue != nil:
		loc = &citybot.Location{Latitude: m.Venue.Location.Latitude, Longitude: m.Venue.Location.Longitude}
	}
	if loc != nil {
		add(citybot.AttachLocation, "", "", "", 0)
	}
	return out, loc
}

// action translates a button press.
func (b *Bot) action(q *tgbotapi.CallbackQuery) (citybot.Action, string) {
	if q.Message == nil || q.Message.Chat == nil {
		return citybot.Action{}, skipInlineCall
	}
	if q.From == nil {
		return citybot.Action{}, skipNoSender
	}
	kind, ok := chatKind(q.Message.Chat)
	if !ok {
		return citybot.Action{}, skipNoChat
	}
	return citybot.Action{
		Platform: citybot.Telegram,
		Chat:     chatID(q.Message.Chat.ID),
		ChatKind: kind,
		ID:       q.ID,
		Sender:   sender(q.From),
		Message:  msgID(q.Message.MessageID),
		Data:     q.Data,
	}, ""
}

// updateKind names the payload of an update for logs.
func updateKind(u *tgbotapi.Update) string {
	switch {
	case u.Message != nil:
		return "message"
	case u.EditedMessage != nil:
		return "edited_message"
	case u.CallbackQuery != nil:
		return "callback_query"
	case u.ChannelPost != nil:
		return "channel_post"
	case u.EditedChannelPost != nil:
		return "edited_channel_post"
	case u.InlineQuery != nil:
		return "inline_query"
	case u.ChosenInlineResult != nil:
		return "chosen_inline_result"
	case u.ShippingQuery != nil:
		return "shipping_query"
	case u.PreCheckoutQuery != nil:
		return "pre_checkout_query"
	case u.Poll != nil:
		return "poll"
	case u.PollAnswer != nil:
		return "poll_answer"
	case u.MyChatMember != nil:
		return "my_chat_member"
	case u.ChatMember != nil:
		return "chat_member"
	case u.ChatJoinRequest != nil:
		return "chat_join_request"
	}
	return "unknown"
}
