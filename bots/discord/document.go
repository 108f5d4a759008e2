package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"time"

	"github.com/bwmarrin/discordgo"

	"citybot"
	"citybot/bots"
)

var _ bots.DocumentSender = (*Bot)(nil)

// SendDocument posts f (1 byte to 8 MB, the smallest upload limit) as an
// attachment, with out.Text as the message's content (at most MaxText;
// may be empty) and out.Buttons, through ChannelMessageSendComplex
// (multipart payload_json + files[0]); its content type comes from the
// name's extension. Its errors are those of Send, plus citybot.ErrInvalid
// for an empty or oversized file.
func (b *Bot) SendDocument(ctx context.Context, out citybot.Outgoing, f citybot.File) (citybot.Sent, error) {
	if out.Platform != "" && out.Platform != citybot.Discord {
		return citybot.Sent{}, fmt.Errorf("discord: send document: platform %q: %w", out.Platform, citybot.ErrInvalid)
	}
	if len(f.Data) == 0 || len(f.Data) > 8<<20 {
		return citybot.Sent{}, fmt.Errorf("discord: send document: %w: the file must have 1 byte to 8 MB", citybot.ErrInvalid)
	}
	ch := string(out.Chat)
	if !isSnowflake(ch) {
		return citybot.Sent{}, fmt.Errorf("discord: send document: chat id is not a Discord id: %w", citybot.ErrInvalid)
	}
	probe := out
	blank := probe.Text == ""
	if blank && len(out.Buttons) == 0 {
		probe.Text = "-" // buildMessage refuses an empty message; a file alone is fine
	}
	data, err := buildMessage(probe)
	if err != nil {
		return citybot.Sent{}, fmt.Errorf("discord: send document: %w", err)
	}
	if blank {
		data.Content = ""
	}
	name := f.Name
	if name == "" {
		name = "document"
	}
	typ := mime.TypeByExtension(filepath.Ext(name))
	if typ == "" {
		typ = "application/octet-stream"
	}
	data.Files = []*discordgo.File{{Name: name, ContentType: typ, Reader: bytes.NewReader(f.Data)}}
	if isSnowflake(string(out.ReplyTo)) {
		no := false
		data.Reference = &discordgo.MessageReference{MessageID: string(out.ReplyTo), ChannelID: ch, FailIfNotExists: &no}
	}
	st, wait := b.slotFor(out.Key, ch)
	if wait > 0 {
		return citybot.Sent{}, &citybot.RetryAfterError{After: wait, Throttled: true, Err: errors.New("discord: send document: local rate limit")}
	}
	m, err := b.rest.ChannelMessageSendComplex(ch, data,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(1))
	b.limiter.release(st)
	if err != nil {
		return citybot.Sent{}, b.sendError("send document", err, ch)
	}
	at := m.Timestamp.UTC()
	if at.IsZero() {
		at = time.Now().UTC()
	}
	return citybot.Sent{ID: citybot.PlatformMessageID(m.ID), SentAt: at}, nil
}
