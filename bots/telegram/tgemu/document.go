package tgemu

import (
	"net/http"
	"net/url"
	"unicode/utf16"
	"unicode/utf8"
)

// sendDocument accepts an uploaded file (1 byte to 50 MB) with an
// optional caption and inline keyboard, as the Bot API does; a file_id
// or URL string is refused (the emulator knows no earlier files). The
// document joins the chat's transcript as a document message whose text
// is the caption; Sent lists it with its file (SentMessage.Document).
func (s *Server) sendDocument(p url.Values) (any, error) {
	data, uploaded := p[fileKey("document")]
	if !uploaded {
		if p.Get("document") != "" {
			return nil, badRequest("wrong file identifier/HTTP URL specified")
		}
		return nil, badRequest("there is no document in the request")
	}
	if len(data[0]) == 0 {
		return nil, badRequest("file must be non-empty")
	}
	caption := p.Get("caption")
	if !utf8.ValidString(caption) {
		return nil, badRequest("caption must be encoded in UTF-8")
	}
	if len(utf16.Encode([]rune(caption))) > maxCaptionUnits {
		return nil, badRequest("message caption is too long")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.chatIDLocked(p)
	if err != nil {
		return nil, err
	}
	kb, rows, err := parseKeyboard(p)
	if err != nil {
		return nil, err
	}
	if c.blocked {
		return nil, &apiError{code: http.StatusForbidden, desc: "Forbidden: bot was blocked by the user"}
	}
	if err := s.rateLocked(c); err != nil {
		return nil, err
	}
	now := s.now()
	c.lastMsg++
	doc := &Document{Name: p.Get(fileKey("document") + ".name"), Data: []byte(data[0])}
	m := SentMessage{Chat: c.api.ID, MessageID: c.lastMsg, Text: caption, Buttons: rows, At: now, Document: doc}
	s.sent = append(s.sent, m)
	if over := len(s.sent) - s.max.sent; over > 0 {
		s.sent = append(s.sent[:0:0], s.sent[over:]...)
	}
	e := Entry{MessageID: m.MessageID, FromBot: true, From: s.bot, Text: caption, Media: MediaDocument, Buttons: rows, At: now}
	c.record(e, s.max.transcript)
	s.notifyLocked()
	out := s.apiMessageLocked(c, e)
	out.ReplyMarkup = kb
	return out, nil
}
