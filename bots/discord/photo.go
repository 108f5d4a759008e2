package discord

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bwmarrin/discordgo"

	"citybot"
	"citybot/bots"
)

var _ bots.PhotoSender = (*Bot)(nil)

// SendPhoto posts png (at most 8 MB, the smallest upload limit) as an
// attachment named name, with out.Text as the message's content (at most
// MaxText; may be empty) and out.Buttons, through
// ChannelMessageSendComplex (multipart payload_json + files[0]). Its
// errors are those of Send, plus citybot.ErrInvalid for an empty or
// oversized image.
func (b *Bot) SendPhoto(ctx context.Context, out citybot.Outgoing, name string, png []byte) (citybot.Sent, error) {
	if out.Platform != "" && out.Platform != citybot.Discord {
		return citybot.Sent{}, fmt.Errorf("discord: send photo: platform %q: %w", out.Platform, citybot.ErrInvalid)
	}
	if len(png) == 0 || len(png) > 8<<20 {
		return citybot.Sent{}, fmt.Errorf("discord: send photo: %w: the image must have 1 byte to 8 MB", citybot.ErrInvalid)
	}
	ch := string(out.Chat)
	if !isSnowflake(ch) {
		return citybot.Sent{}, fmt.Errorf("discord: send photo: chat id is not a Discord id: %w", citybot.ErrInvalid)
	}
	probe := out
	blank := probe.Text == ""
	if blank && len(out.Buttons) == 0 {
		probe.Text = "-" // buildMessage refuses an empty message; an image alone is fine
	}
	data, err := buildMessage(probe)
	if err != nil {
		return citybot.Sent{}, fmt.Errorf("discord: send photo: %w", err)
	}
	if blank {
		data.Content = ""
	}
	if name == "" {
		name = "image.png"
	}
	data.Files = []*discordgo.File{{Name: name, ContentType: "image/png", Reader: bytes.NewReader(png)}}
	if isSnowflake(string(out.ReplyTo)) {
		no := false
		data.Reference = &discordgo.MessageReference{MessageID: string(out.ReplyTo), ChannelID: ch, FailIfNotExists: &no}
	}
	st, wait := b.slotFor(out.Key, ch)
	if wait > 0 {
		return citybot.Sent{}, &citybot.RetryAfterError{After: wait, Throttled: true, Err: errors.New("discord: send photo: local rate limit")}
	}
	m, err := b.rest.ChannelMessageSendComplex(ch, data,
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(1))
	b.limiter.release(st)
	if err != nil {
		return citybot.Sent{}, b.sendError("send photo", err, ch)
	}
	at := m.Timestamp.UTC()
	if at.IsZero() {
		at = time.Now().UTC()
	}
	return citybot.Sent{ID: citybot.PlatformMessageID(m.ID), SentAt: at}, nil
}
