package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"citybot"
	"citybot/locale"

	"github.com/bwmarrin/discordgo"
)

// ackBudget is how long the adapter tries to acknowledge an interaction;
// Discord wants the first answer within 3 s.
const ackBudget = 2500 * time.Millisecond

// Commands are the slash commands registered in the city's guild. Their
// names are the citybot.Message.Command values they produce, each one of
// citybot.CitizenCommands; the option values, in this order, become Args.
//
// langs are the choices of /language (the city's languages, each named
// in itself); none leaves the choice as free text.
func Commands(langs []Language) []*discordgo.ApplicationCommand {
	var choices []*discordgo.ApplicationCommandOptionChoice
	for _, l := range langs {
		choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: l.Name, Value: l.Code})
	}
	fr := func(s string) *map[discordgo.Locale]string { return &map[discordgo.Locale]string{discordgo.French: s} }
	return []*discordgo.ApplicationCommand{
		{
			Name: "report", Description: "Report a problem to the city", DescriptionLocalizations: fr("Signaler un problème à la ville"),
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "text", Required: true, MaxLength: 2000,
				Description: "What is wrong, and where", DescriptionLocalizations: *fr("Ce qui ne va pas, et où"),
			}},
		},
		{
			Name: "status", Description: "Where does my case stand?", DescriptionLocalizations: fr("Où en est mon dossier ?"),
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "ref", MaxLength: 16,
				Description: "Case reference, e.g. K7M4QX", DescriptionLocalizations: *fr("Référence du dossier, p. ex. K7M4QX"),
			}},
		},
		{
			Name: "language", Description: "Choose the language the city answers in", DescriptionLocalizations: fr("Choisir la langue des réponses"),
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "language", Required: true,
				Description: "Language", DescriptionLocalizations: *fr("Langue"),
				Choices: choices,
			}},
		},
		{Name: "help", Description: "How to reach the city here", DescriptionLocalizations: fr("Comment joindre la ville ici")},
		{Name: "mydata", Description: "What the city holds about me (in a private chat)", DescriptionLocalizations: fr("Ce que la ville garde sur moi (en privé)")},
		{
			Name: "forget", Description: "Erase my name and messages (in a private chat)", DescriptionLocalizations: fr("Effacer mon nom et mes messages (en privé)"),
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: "confirm",
				Description: "yes erases now; without it, I ask first", DescriptionLocalizations: *fr("yes efface tout de suite ; sans, je demande d'abord"),
				Choices: []*discordgo.ApplicationCommandOptionChoice{{Name: "yes", Value: "yes"}},
			}},
		},
	}
}

// registerCommands overwrites the guild's commands, retrying with backoff
// until it succeeds or Run stops.
func (r *runner) registerCommands(appID string) {
	defer r.wg.Done()
	if r.b.opts.GuildID == "" {
		r.log.Warn("no guild id: slash commands not registered")
		return
	}
	wait := time.Second
	for {
		err := r.b.restCall(r.hctx, func(o ...discordgo.RequestOption) error {
			_, err := r.b.rest.ApplicationCommandBulkOverwrite(appID, r.b.opts.GuildID, Commands(r.b.opts.Languages), o...)
			return err
		})
		if err == nil {
			r.log.Info("slash commands registered")
			return
		}
		r.log.Warn("register slash commands; retrying", "err", r.b.redact(err), "retry_in", wait)
		select {
		case <-r.stop:
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Minute)
	}
}

// firstSeen reports whether interaction id is new, remembering the last
// 4096 ids so that a replayed INTERACTION_CREATE is handled once.
func (r *runner) firstSeen(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[id] {
		return false
	}
	r.seen[id] = true
	r.order = append(r.order, id)
	if len(r.order) > 4096 {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

// interact answers a slash command or a button press: a deferred
// ephemeral answer at once, then the handler, then the handler's text
// (or the deferred answer removed).
func (r *runner) interact(i *discordgo.Interaction) {
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-r.stop:
		return
	}
	user := i.User
	if i.Member != nil && i.Member.User != nil {
		user = i.Member.User
	}
	if user == nil || user.Bot || (i.Type != discordgo.InteractionApplicationCommand && i.Type != discordgo.InteractionMessageComponent) {
		r.log.Debug("interaction skipped", "interaction_type", int(i.Type))
		return
	}
	if !r.firstSeen(i.ID) {
		return
	}
	ctx := r.hctx
	actx, cancel := context.WithTimeout(ctx, ackBudget)
	err := r.b.restCallFree(actx, func(o ...discordgo.RequestOption) error {
		return r.b.rest.InteractionRespond(i, &discordgo.InteractionResponse{
			Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral},
		}, o...)
	})
	cancel()
	acked := err == nil
	if err != nil {
		if restStatus(err) == http.StatusBadRequest {
			return // acknowledged already: a replay
		}
		r.log.Warn("acknowledge interaction", "err", r.b.redact(err))
	}

	locale := string(i.Locale)
	info, ierr := r.channelInfo(ctx, i.ChannelID, i.GuildID, true)
	var text string
	switch {
	case ierr != nil:
		r.log.Warn("look up interaction channel", "err", r.b.redact(ierr))
		text = r.b.say(locale, sorryText)
	case !info.listened:
		text = r.b.say(locale, notHereText)
	case i.Type == discordgo.InteractionApplicationCommand:
		msg := commandMessage(i, info, user)
		if err := r.h.HandleMessage(ctx, msg); err != nil && !errors.Is(err, citybot.ErrDuplicate) {
			r.log.Warn("hand over slash command", chatAttr(info, i.ChannelID), "command", msg.Command, "err", err)
			text = r.b.say(locale, sorryText)
		}
	default:
		data := i.MessageComponentData()
		act := citybot.Action{
			Platform: citybot.Discord, Chat: citybot.ChatID(i.ChannelID), ChatKind: info.kind,
			ID: i.ID, Sender: sender(user, i.Member, locale), Data: data.CustomID,
		}
		if i.Message != nil {
			act.Message = citybot.PlatformMessageID(i.Message.ID)
		}
		t, err := r.h.HandleAction(ctx, act)
		if err != nil {
			r.log.Warn("hand over button press", chatAttr(info, i.ChannelID), "err", err)
			t = r.b.say(locale, sorryText)
		}
		text = t
	}
	if !acked {
		return
	}
	text = clip(strings.ToValidUTF8(text, "\uFFFD"), MaxText)
	err = r.b.restCallFree(ctx, func(o ...discordgo.RequestOption) error {
		if strings.TrimSpace(text) == "" {
			return r.b.rest.InteractionResponseDelete(i, o...)
		}
		_, err := r.b.rest.InteractionResponseEdit(i, &discordgo.WebhookEdit{
			Content: &text, AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}},
		}, o...)
		return err
	})
	if err != nil {
		r.log.Warn("answer interaction", "err", r.b.redact(err))
	}
}

// commandMessage turns a slash command into a message whose id is derived
// from the interaction's, so that a redelivery is a no-op.
func commandMessage(i *discordgo.Interaction, info chanInfo, user *discordgo.User) citybot.Message {
	data := i.ApplicationCommandData()
	var args []string
	for _, o := range data.Options {
		if o == nil || o.Value == nil {
			continue
		}
		args = append(args, strings.TrimSpace(fmt.Sprint(o.Value)))
	}
	arg := strings.Join(args, " ")
	text := strings.TrimSpace("/" + data.Name + " " + arg)
	at, err := discordgo.SnowflakeTimestamp(i.ID)
	if err != nil {
		at = time.Now()
	}
	return citybot.Message{
		Platform: citybot.Discord, Chat: citybot.ChatID(i.ChannelID), ChatKind: info.kind, ChatTitle: title(info),
		ID: citybot.PlatformMessageID("i" + i.ID), Sender: sender(user, i.Member, string(i.Locale)),
		Text: text, Command: data.Name, Args: arg, SentAt: at.UTC(),
	}
}

// parseCommand splits a typed command, "/status K7M4QX", into ("status",
// "K7M4QX") as on every platform (citybot.ParseCommand): a command
// citybot does not know reaches the responder, which answers it with the
// help, as on Telegram.
func parseCommand(text string) (string, string) {
	name, _, args, ok := citybot.ParseCommand(text)
	if !ok {
		return "", ""
	}
	return name, args
}

// translate turns a Discord message into a citybot.Message.
func translate(info chanInfo, ch string, m *discordgo.Message, edit bool) citybot.Message {
	text := m.Content
	if len(text) > maxInbound {
		text = strings.ToValidUTF8(text[:maxInbound], "")
	}
	cmd, args := parseCommand(text)
	out := citybot.Message{
		Platform: citybot.Discord, Chat: citybot.ChatID(ch), ChatKind: info.kind, ChatTitle: title(info),
		ID: citybot.PlatformMessageID(m.ID), Sender: sender(m.Author, m.Member, ""),
		Text: text, Edit: edit, Command: cmd, Args: args, SentAt: m.Timestamp.UTC(),
	}
	if ref := m.MessageReference; ref != nil && ref.MessageID != "" && (ref.ChannelID == "" || ref.ChannelID == ch) {
		out.ReplyTo = citybot.PlatformMessageID(ref.MessageID)
	}
	for _, a := range m.Attachments {
		if a == nil {
			continue
		}
		att := citybot.Attachment{Kind: attachmentKind(a.ContentType, m.Flags), FileID: a.URL, MIMEType: a.ContentType, Name: a.Filename, Size: int64(a.Size)}
		if att.FileID == "" {
			att.FileID = a.ID
		}
		out.Attachments = append(out.Attachments, att)
	}
	for _, s := range m.StickerItems {
		if s != nil {
			out.Attachments = append(out.Attachments, citybot.Attachment{Kind: citybot.AttachSticker, FileID: s.ID, Name: s.Name})
		}
	}
	if out.SentAt.IsZero() {
		if at, err := discordgo.SnowflakeTimestamp(m.ID); err == nil {
			out.SentAt = at.UTC()
		}
	}
	return out
}

func title(info chanInfo) string {
	if info.kind == citybot.ChatPrivate {
		return ""
	}
	return info.title
}

func attachmentKind(contentType string, flags discordgo.MessageFlags) citybot.AttachmentKind {
	mt, _, _ := strings.Cut(contentType, ";")
	switch {
	case strings.HasPrefix(mt, "image/"):
		return citybot.AttachPhoto
	case strings.HasPrefix(mt, "audio/") && flags&discordgo.MessageFlagsIsVoiceMessage != 0:
		return citybot.AttachVoice
	case strings.HasPrefix(mt, "audio/"):
		return citybot.AttachAudio
	case strings.HasPrefix(mt, "video/"):
		return citybot.AttachVideo
	case mt == "":
		return citybot.AttachOther
	}
	return citybot.AttachDocument
}

func sender(u *discordgo.User, member *discordgo.Member, locale string) citybot.Sender {
	if u == nil {
		return citybot.Sender{}
	}
	name := u.GlobalName
	if member != nil && member.Nick != "" {
		name = member.Nick
	}
	if name == "" {
		name = u.Username
	}
	return citybot.Sender{ID: citybot.UserID(u.ID), Name: name, Handle: u.Username, LanguageCode: locale, IsBot: u.Bot}
}

// clip shortens s to at most n UTF-16 units.
func clip(s string, n int) string {
	if TextLen(s) <= n {
		return s
	}
	used := 0
	for i, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if used+w > n-1 {
			return s[:i] + "…"
		}
		used += w
	}
	return s
}

// Language is a language the city answers in: its code ("pt") and its
// name in itself ("Português").
type Language struct{ Code, Name string }

// The texts the adapter says itself, keys of the language files' [chat]
// section.
const (
	sorryText   = "sorry"
	notHereText = "not_here"
)

// say returns the text key in the language that best matches a Discord
// locale ("pt-BR", "es-ES"), English by default.
func (b *Bot) say(discordLocale, key string) string {
	set := b.opts.Locales
	if set == nil {
		set = locale.MustEmbedded()
	}
	lang := set.Match(discordLocale)
	if lang == "" {
		lang = locale.Reference
	}
	if t := set.Catalog(lang).Text("chat." + key); t != "" {
		return t
	}
	return set.Catalog(locale.Reference).Text("chat." + key)
}
