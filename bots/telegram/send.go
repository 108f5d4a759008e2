package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot"
	"citybot/bots"
	"citybot/bots/telegram/internal/ratelimit"
)

var (
	_ bots.Bot            = (*Bot)(nil)
	_ bots.Editor         = (*Bot)(nil)
	_ bots.PrivateChatter = (*Bot)(nil)
	_ bots.Pacer          = (*Bot)(nil)
)

// creditTTL is how long a slot taken by Reserve waits for its Send; an
// unused one then expires and stays counted until it leaves its window.
const creditTTL = 5 * time.Second

// globalPause429 is how long a 429 pauses every chat, besides the chat it
// names for its whole retry_after. Telegram's 429 does not say what it
// covers; citybot keeps to the per-chat and per-group limits itself, so
// a 429 usually means the bot as a whole sends too fast. A short pause
// for every chat stops the other sends in flight from all being refused
// in turn, without letting one chat's long retry_after stop the others.
const globalPause429 = time.Second

// credit is a send slot Reserve took for one outbox key.
type credit struct {
	chat   int64
	at     time.Time
	checks []ratelimit.Check
}

// Reserve implements bots.Pacer: it takes a send slot for out from the
// local limiter (per chat, per group, global, and the pauses 429 answers
// set), kept for the next Send of out.Key. When the global limit or a
// global pause refuses it, the wait has scope bots.PacePlatform. A row
// without a key, or with a chat Send would refuse as invalid, gets no
// slot and no wait: Send decides.
func (b *Bot) Reserve(out citybot.Outgoing) (time.Duration, bots.PaceScope) {
	chat, kind, ok := paceChat(out)
	if !ok || out.Key == "" {
		return 0, bots.PaceChat
	}
	now := b.opts.Now()
	checks := b.checks(chat, kind)
	if w := b.limiter.Wait(now, checks[1]); w > 0 {
		return w, bots.PacePlatform
	}
	if w, ok := b.limiter.Reserve(now, checks...); !ok {
		return w, bots.PaceChat
	}
	b.cmu.Lock()
	defer b.cmu.Unlock()
	for k, c := range b.credits {
		if now.Sub(c.at) >= creditTTL {
			delete(b.credits, k)
		}
	}
	if old, ok := b.credits[out.Key]; ok {
		b.limiter.Cancel(old.at, old.checks...)
	}
	b.credits[out.Key] = credit{chat: chat, at: now, checks: checks}
	return 0, bots.PaceChat
}

// Unreserve implements bots.Pacer.
func (b *Bot) Unreserve(out citybot.Outgoing) {
	b.cmu.Lock()
	c, ok := b.credits[out.Key]
	delete(b.credits, out.Key)
	b.cmu.Unlock()
	if ok {
		b.limiter.Cancel(c.at, c.checks...)
	}
}

// paceChat returns the chat out goes to: a private row's person's chat
// (their user id on Telegram), else out.Chat.
func paceChat(out citybot.Outgoing) (int64, citybot.ChatKind, bool) {
	if out.To != "" {
		id, err := strconv.ParseInt(string(out.To), 10, 64)
		return id, citybot.ChatPrivate, err == nil && id > 0
	}
	id, err := strconv.ParseInt(string(out.Chat), 10, 64)
	return id, out.ChatKind, err == nil && id != 0
}

// PrivateChat returns the private chat between the bot and user: on
// Telegram its id is the user's id. It does not call Telegram and does not
// block. Telegram lets the bot write there only after the person started
// the bot; until then Send to that chat fails with an error wrapping
// citybot.ErrPermanent. Errors wrap citybot.ErrInvalid when user is not a
// Telegram user id (a positive integer); they never contain the id.
func (b *Bot) PrivateChat(ctx context.Context, user citybot.UserID) (citybot.ChatID, error) {
	id, err := strconv.ParseInt(string(user), 10, 64)
	if err != nil || id <= 0 {
		return "", fmt.Errorf("telegram: private chat: %w: not a Telegram user id", citybot.ErrInvalid)
	}
	return chatID(id), nil
}

// Send delivers out as a plain-text message (no parse mode), threaded
// under out.ReplyTo when set (and sent anyway if that message is gone),
// with out.Buttons as an inline keyboard. It returns:
//   - an error wrapping citybot.ErrInvalid, without calling Telegram, for
//     an empty text, a text over 4096 UTF-16 code units, a bad chat or reply id, or a
//     button without label or with data outside 1..64 bytes;
//   - *citybot.RetryAfterError{Throttled: true}, without calling
//     Telegram, when the local rate limiter would have to wait, and
//     likewise when Telegram answers 429 (After = its retry_after; the
//     chat then waits that long and every other chat up to a second,
//     see globalPause429);
//   - an error wrapping citybot.ErrPermanent when Telegram refuses the
//     message for good (400, 403: blocked by the user, chat not found);
//   - another error for transient failures (5xx, network).
//
// Invalid UTF-8 in the text is replaced with U+FFFD. Errors never contain
// the token.
func (b *Bot) Send(ctx context.Context, out citybot.Outgoing) (citybot.Sent, error) {
	chat, text, kb, err := b.prepare(out)
	if err != nil {
		return citybot.Sent{}, fmt.Errorf("telegram: send: %w", err)
	}
	cfg := tgbotapi.NewMessage(chat, text)
	if err := setReply(&cfg.BaseChat, out, kb); err != nil {
		return citybot.Sent{}, fmt.Errorf("telegram: send: %w", err)
	}
	if cfg.Entities, err = mentionEntities(text, out.Mentions); err != nil {
		return citybot.Sent{}, fmt.Errorf("telegram: send: %w", err)
	}
	return b.deliver(ctx, "send", out.Key, chat, out.ChatKind, cfg, nil)
}

// Mentions reports that Send names the people in Outgoing.Mentions
// (bots.Mentioner).
func (b *Bot) Mentions() bool { return true }

// mentionEntities turns mentions into Telegram text mentions: each span
// of text links to its person, who is notified (it works for people
// without a username). Offsets are in UTF-16 units, as Telegram counts.
// Errors wrap citybot.ErrInvalid for a span outside the text, out of
// order or not at a character boundary, or a user id that is not a
// Telegram id.
func mentionEntities(text string, ms []citybot.Mention) ([]tgbotapi.MessageEntity, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	out := make([]tgbotapi.MessageEntity, 0, len(ms))
	prev := 0
	for _, m := range ms {
		if m.Start < prev || m.End <= m.Start || m.End > len(text) || !utf8.RuneStart(text[m.Start]) ||
			(m.End < len(text) && !utf8.RuneStart(text[m.End])) {
			return nil, fmt.Errorf("mention outside the text, out of order or inside a character: %w", citybot.ErrInvalid)
		}
		id, err := strconv.ParseInt(string(m.User), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("mention: user id is not a Telegram id: %w", citybot.ErrInvalid)
		}
		out = append(out, tgbotapi.MessageEntity{Type: "text_mention", Offset: citybot.UTF16Len(text[:m.Start]),
			Length: citybot.UTF16Len(text[m.Start:m.End]), User: &tgbotapi.User{ID: id}})
		prev = m.End
	}
	return out, nil
}

// setReply threads a message under out.ReplyTo and attaches its keyboard.
func setReply(bc *tgbotapi.BaseChat, out citybot.Outgoing, kb *tgbotapi.InlineKeyboardMarkup) error {
	if out.ReplyTo != "" {
		id, err := strconv.Atoi(string(out.ReplyTo))
		if err != nil || id <= 0 {
			return fmt.Errorf("reply id %q: %w", out.ReplyTo, citybot.ErrInvalid)
		}
		bc.ReplyToMessageID = id
		bc.AllowSendingWithoutReply = true
	}
	if kb != nil {
		bc.ReplyMarkup = *kb
	}
	return nil
}

// deliver makes one send call within the rate limits: it uses the slot
// Reserve took for key or reserves one (or returns
// *citybot.RetryAfterError), gives the slot back when Telegram refused the
// call, and maps errors (after fixErr, when set) without the token.
func (b *Bot) deliver(ctx context.Context, op, key string, chat int64, kind citybot.ChatKind, cfg tgbotapi.Chattable, fixErr func(error) error) (citybot.Sent, error) {
	release, err := b.reserveFor(key, chat, kind)
	if err != nil {
		return citybot.Sent{}, err
	}
	m, err := b.call(ctx, b.opts.RequestTimeout).Send(cfg)
	if err != nil {
		releaseIfRefused(err, release)
		if fixErr != nil {
			err = fixErr(err)
		}
		return citybot.Sent{}, b.sendError(op, chat, err)
	}
	at := b.opts.Now().UTC()
	if m.Date != 0 {
		at = time.Unix(int64(m.Date), 0).UTC()
	}
	return citybot.Sent{ID: msgID(m.MessageID), SentAt: at}, nil
}

// Edit replaces the text and buttons of a message the bot sent earlier.
// Its errors are those of Send.
func (b *Bot) Edit(ctx context.Context, chatRef citybot.ChatID, id citybot.PlatformMessageID, out citybot.Outgoing) error {
	out.Chat = chatRef
	chat, text, kb, err := b.prepare(out)
	if err != nil {
		return fmt.Errorf("telegram: edit: %w", err)
	}
	mid, err := strconv.Atoi(string(id))
	if err != nil || mid <= 0 {
		return fmt.Errorf("telegram: edit: message id %q: %w", id, citybot.ErrInvalid)
	}
	cfg := tgbotapi.NewEditMessageText(chat, mid, text)
	if kb != nil {
		cfg.ReplyMarkup = kb
	}
	// The slot Reserve took for an outbox row's key, or a new one.
	release, err := b.reserveFor(out.Key, chat, out.ChatKind)
	if err != nil {
		return err
	}
	if _, err := b.call(ctx, b.opts.RequestTimeout).Send(cfg); err != nil {
		releaseIfRefused(err, release)
		return b.sendError("edit", chat, err)
	}
	return nil
}

// prepare checks out and returns the chat id, the text to send and the
// keyboard, or an error wrapping citybot.ErrInvalid.
func (b *Bot) prepare(out citybot.Outgoing) (int64, string, *tgbotapi.InlineKeyboardMarkup, error) {
	chat, err := strconv.ParseInt(string(out.Chat), 10, 64)
	if err != nil || chat == 0 {
		return 0, "", nil, fmt.Errorf("chat id %q: %w", out.Chat, citybot.ErrInvalid)
	}
	text := strings.ToValidUTF8(out.Text, "\uFFFD")
	if strings.TrimSpace(text) == "" {
		return 0, "", nil, fmt.Errorf("empty text: %w", citybot.ErrInvalid)
	}
	if n := citybot.UTF16Len(text); n > MaxText {
		return 0, "", nil, fmt.Errorf("text of %d UTF-16 units is over the %d limit: %w", n, MaxText, citybot.ErrInvalid)
	}
	if len(out.Buttons) == 0 {
		return chat, text, nil, nil
	}
	rows := make([][]tgbotapi.InlineKeyboardButton, 0, len(out.Buttons))
	for _, row := range out.Buttons {
		if len(row) == 0 {
			continue
		}
		r := make([]tgbotapi.InlineKeyboardButton, 0, len(row))
		for _, btn := range row {
			if strings.TrimSpace(btn.Label) == "" || len(btn.Data) < 1 || len(btn.Data) > 64 {
				return 0, "", nil, fmt.Errorf("button %q: needs a label and 1 to 64 bytes of data: %w", btn.Label, citybot.ErrInvalid)
			}
			r = append(r, tgbotapi.NewInlineKeyboardButtonData(strings.ToValidUTF8(btn.Label, "\uFFFD"), btn.Data))
		}
		rows = append(rows, r)
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return chat, text, &kb, nil
}

func chatKey(chat int64) string { return "chat:" + strconv.FormatInt(chat, 10) }

// checks are the limits a send to chat is held to; the global one is
// second.
func (b *Bot) checks(chat int64, kind citybot.ChatKind) []ratelimit.Check {
	checks := []ratelimit.Check{
		{Key: chatKey(chat), Rule: b.shared(b.chatN)},
		{Key: "global", Rule: b.shared(b.globalN)},
	}
	if kind == citybot.ChatGroup || (kind == "" && chat < 0) {
		checks = append(checks, ratelimit.Check{Key: "group:" + strconv.FormatInt(chat, 10), Rule: b.shared(b.groupN)})
	}
	return checks
}

// reserveFor uses the slot Reserve took for key when it is for chat and
// fresh, and otherwise reserves one (see reserve).
func (b *Bot) reserveFor(key string, chat int64, kind citybot.ChatKind) (release func(), err error) {
	if key != "" {
		b.cmu.Lock()
		c, ok := b.credits[key]
		delete(b.credits, key)
		b.cmu.Unlock()
		// A stale slot, or one for another chat, stays counted: safe.
		if ok && c.chat == chat && b.opts.Now().Sub(c.at) < creditTTL {
			return func() { b.limiter.Cancel(c.at, c.checks...) }, nil
		}
	}
	return b.reserve(chat, kind)
}

// reserve takes a slot from the local limiter and returns the function
// that gives it back, or returns a throttled *citybot.RetryAfterError.
func (b *Bot) reserve(chat int64, kind citybot.ChatKind) (release func(), err error) {
	checks := b.checks(chat, kind)
	now := b.opts.Now()
	wait, ok := b.limiter.Reserve(now, checks...)
	if ok {
		return func() { b.limiter.Cancel(now, checks...) }, nil
	}
	return nil, &citybot.RetryAfterError{After: wait, Throttled: true, Err: errors.New("telegram: send: local rate limit")}
}

// releaseIfRefused gives the rate-limit slot of a failed call back when
// Telegram answered with an API error (429, 4xx, a JSON 5xx): nothing was
// sent, so it must not count against the chat's or group's limit (a group
// would otherwise wait out its minute for messages it never received). A
// transport failure or an undecodable answer (an HTML 502 from a proxy)
// keeps the slot: the message may have gone out.
func releaseIfRefused(err error, release func()) {
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		release()
	}
}

// sendError classifies a failed send or edit.
func (b *Bot) sendError(op string, chat int64, err error) error {
	var te *tgbotapi.Error
	if !errors.As(err, &te) {
		return fmt.Errorf("telegram: %s: %w", op, b.clean(err))
	}
	desc := b.redact(te.Message)
	switch {
	case te.RetryAfter > 0:
		d := time.Duration(te.RetryAfter) * time.Second
		now := b.opts.Now()
		b.limiter.Block(now, chatKey(chat), d)
		b.limiter.Block(now, "global", min(d, globalPause429))
		return &citybot.RetryAfterError{After: d, Throttled: true, Err: fmt.Errorf("telegram: %s: %s", op, desc)}
	case op == "edit" && te.Code == http.StatusBadRequest && strings.Contains(desc, "message is not modified"):
		return nil // an edit that changes nothing has nothing left to do
	case te.Code == http.StatusBadRequest || te.Code == http.StatusForbidden:
		if te.MigrateToChatID != 0 {
			desc += " (the group became a supergroup)"
		}
		return fmt.Errorf("telegram: %s: %s (%d): %w", op, desc, te.Code, citybot.ErrPermanent)
	case te.Code == http.StatusUnauthorized || te.Code == http.StatusNotFound:
		return fmt.Errorf("telegram: %s: token rejected (%d): %w", op, te.Code, citybot.ErrForbidden)
	default:
		return fmt.Errorf("telegram: %s: %s (%d)", op, desc, te.Code)
	}
}
