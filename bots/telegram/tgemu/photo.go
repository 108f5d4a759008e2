package tgemu

import (
	"bytes"
	"image"
	_ "image/jpeg" // photos may be JPEG
	_ "image/png"  // the digest's chart is PNG
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"unicode/utf16"
	"unicode/utf8"
)

// maxCaptionUnits is Telegram's limit on a photo's caption, in UTF-16
// code units.
const maxCaptionUnits = 1024

// fileKey is the parameter under which an uploaded file's bytes are passed
// to a method handler ("photo" → "@photo"): a name no client can send.
func fileKey(field string) string { return "@" + field }

// withFiles returns the form values of a multipart request with the
// bytes of each uploaded file added under fileKey(field). The request's
// body size is already bounded by maxRequestBody.
func withFiles(form url.Values, mf *multipart.Form) url.Values {
	if mf == nil || len(mf.File) == 0 {
		return form
	}
	out := url.Values{}
	for k, v := range form {
		out[k] = v
	}
	for field, hs := range mf.File {
		if len(hs) == 0 {
			continue
		}
		f, err := hs[0].Open()
		if err != nil {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, maxRequestBody))
		f.Close()
		if err == nil {
			out.Set(fileKey(field), string(b))
			out.Set(fileKey(field)+".name", hs[0].Filename)
		}
	}
	return out
}

// sendPhoto accepts an uploaded image (PNG or JPEG) with an optional
// caption and inline keyboard, as the Bot API does; a file_id or URL
// string is accepted as an already known photo. The photo joins the
// chat's transcript as a photo message whose text is the caption; it is
// also listed by Sent with the caption as its text.
func (s *Server) sendPhoto(p url.Values) (any, error) {
	data, uploaded := p[fileKey("photo")]
	if !uploaded && p.Get("photo") == "" {
		return nil, badRequest("there is no photo in the request")
	}
	if uploaded {
		if _, _, err := image.DecodeConfig(bytes.NewReader([]byte(data[0]))); err != nil {
			return nil, badRequest("IMAGE_PROCESS_FAILED")
		}
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
	m := SentMessage{Chat: c.api.ID, MessageID: c.lastMsg, Text: caption, Buttons: rows, At: now}
	s.sent = append(s.sent, m)
	if over := len(s.sent) - s.max.sent; over > 0 {
		s.sent = append(s.sent[:0:0], s.sent[over:]...)
	}
	e := Entry{MessageID: m.MessageID, FromBot: true, From: s.bot, Text: caption, Media: MediaPhoto, Buttons: rows, At: now}
	c.record(e, s.max.transcript)
	s.notifyLocked()
	out := s.apiMessageLocked(c, e)
	out.ReplyMarkup = kb
	return out, nil
}
