package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
	"citybot/bots"
)

var _ bots.PhotoSender = (*Bot)(nil)

// MaxCaption is the longest photo caption Telegram accepts, in UTF-16
// code units (as MaxText).
const MaxCaption = 1024

// SendPhoto uploads png (at most 10 MB) as a photo named name with
// out.Text as its caption (plain text, at most MaxCaption UTF-16 code units; may be
// empty), threaded under out.ReplyTo and with out.Buttons, through
// sendPhoto as multipart/form-data. Its errors are those of Send, plus
// citybot.ErrInvalid for an empty or oversized image or caption.
func (b *Bot) SendPhoto(ctx context.Context, out citybot.Outgoing, name string, png []byte) (citybot.Sent, error) {
	if len(png) == 0 || len(png) > 10<<20 {
		return citybot.Sent{}, fmt.Errorf("telegram: send photo: %w: the image must have 1 byte to 10 MB", citybot.ErrInvalid)
	}
	blank := strings.TrimSpace(out.Text) == ""
	probe := out
	if blank {
		probe.Text = "-" // prepare checks the chat and buttons; an empty caption is fine
	}
	chat, caption, kb, err := b.prepare(probe)
	if err != nil {
		return citybot.Sent{}, fmt.Errorf("telegram: send photo: %w", err)
	}
	if blank {
		caption = ""
	}
	if citybot.UTF16Len(caption) > MaxCaption {
		return citybot.Sent{}, fmt.Errorf("telegram: send photo: %w: caption over %d characters", citybot.ErrInvalid, MaxCaption)
	}
	if name == "" {
		name = "image.png"
	}
	cfg := tgbotapi.NewPhoto(chat, tgbotapi.FileBytes{Name: name, Bytes: png})
	cfg.Caption = caption
	if err := setReply(&cfg.BaseChat, out, kb); err != nil {
		return citybot.Sent{}, fmt.Errorf("telegram: send photo: %w", err)
	}
	return b.deliver(ctx, "send photo", out.Key, chat, out.ChatKind, cfg, withUploadCode)
}

// withUploadCode restores the HTTP status of an upload's error:
// tgbotapi v5.5.1 leaves Error.Code at 0 for multipart requests
// (UploadFiles), so it is read back from the description's prefix, as
// the Bot API writes it.
func withUploadCode(err error) error {
	var te *tgbotapi.Error
	if !errors.As(err, &te) || te.Code != 0 {
		return err
	}
	c := *te
	for prefix, code := range map[string]int{
		"Bad Request": http.StatusBadRequest, "Forbidden": http.StatusForbidden, "Unauthorized": http.StatusUnauthorized,
		"Not Found": http.StatusNotFound, "Too Many Requests": http.StatusTooManyRequests,
	} {
		if strings.HasPrefix(c.Message, prefix) {
			c.Code = code
		}
	}
	if c.Code == 0 {
		c.Code = http.StatusInternalServerError
	}
	return &c
}
