package telegram

import (
	"context"
	"fmt"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
	"citybot/bots"
)

var _ bots.DocumentSender = (*Bot)(nil)

// maxDocument is the largest file a bot may send, in bytes.
const maxDocument = 50 << 20

// SendDocument uploads f (1 byte to 50 MB) as a document with out.Text
// as its caption (plain text, at most MaxCaption UTF-16 code units; may
// be empty), threaded under out.ReplyTo and with out.Buttons, through
// sendDocument as multipart/form-data. Its errors are those of Send, plus
// citybot.ErrInvalid for an empty or oversized file or caption.
func (b *Bot) SendDocument(ctx context.Context, out citybot.Outgoing, f citybot.File) (citybot.Sent, error) {
	if len(f.Data) == 0 || len(f.Data) > maxDocument {
		return citybot.Sent{}, fmt.Errorf("telegram: send document: %w: the file must have 1 byte to 50 MB", citybot.ErrInvalid)
	}
	blank := strings.TrimSpace(out.Text) == ""
	probe := out
	if blank {
		probe.Text = "-" // prepare checks the chat and buttons; an empty caption is fine
	}
	chat, caption, kb, err := b.prepare(probe)
	if err != nil {
		return citybot.Sent{}, fmt.Errorf("telegram: send document: %w", err)
	}
	if blank {
		caption = ""
	}
	if citybot.UTF16Len(caption) > MaxCaption {
		return citybot.Sent{}, fmt.Errorf("telegram: send document: %w: caption over %d characters", citybot.ErrInvalid, MaxCaption)
	}
	name := f.Name
	if name == "" {
		name = "document"
	}
	cfg := tgbotapi.NewDocument(chat, tgbotapi.FileBytes{Name: name, Bytes: f.Data})
	cfg.Caption = caption
	if err := setReply(&cfg.BaseChat, out, kb); err != nil {
		return citybot.Sent{}, fmt.Errorf("telegram: send document: %w", err)
	}
	return b.deliver(ctx, "send document", out.Key, chat, out.ChatKind, cfg, withUploadCode)
}
