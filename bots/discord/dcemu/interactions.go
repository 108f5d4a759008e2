package dcemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/bwmarrin/discordgo"
)

// ResponseDeadline is how long Discord waits for the first answer to an
// interaction.
const ResponseDeadline = 3 * time.Second

// Interaction is what the emulator knows of one interaction and the bot's
// answers to it.
type Interaction struct {
	ID        string
	Kind      string // "command" or "component"
	ChannelID string
	UserID    string
	Command   string // slash command name
	CustomID  string // pressed button's custom_id
	MessageID string // message whose button was pressed
	Created   time.Time

	// Acked is true once the bot answered the callback; AckType is the
	// callback type (4 reply, 5 deferred reply, 6 deferred update, 7
	// update), AckAfter the delay since Created.
	Acked     bool
	AckType   int
	AckAfter  time.Duration
	Ephemeral bool
	// Content is the visible answer: the callback's content, replaced by
	// later edits of @original. Deleted is true when @original was deleted.
	Content   string
	Edited    bool
	Deleted   bool
	Followups []string
}

// Late reports whether the first answer came after ResponseDeadline or
// not at all.
func (i Interaction) Late() bool { return !i.Acked || i.AckAfter > ResponseDeadline }

type interaction struct {
	Interaction
	token string
}

// SetLocale sets the client locale reported in the user's interactions
// (default "en-US").
func (s *Server) SetLocale(userID, locale string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[userID]; ok {
		u.Locale = locale
	}
}

// SlashCommand runs the registered guild command name as user in channel,
// with string options, and dispatches INTERACTION_CREATE. It returns the
// interaction id, or an error when the command is not registered or the
// channel or user is unknown.
func (s *Server) SlashCommand(channelID, userID, name string, options map[string]string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var cmd *discordgo.ApplicationCommand
	for i := range s.commands {
		if s.commands[i].Name == name {
			cmd = &s.commands[i]
		}
	}
	if cmd == nil {
		return "", fmt.Errorf("dcemu: slash command: /%s is not registered", name)
	}
	var opts []map[string]any
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, map[string]any{"name": k, "type": int(discordgo.ApplicationCommandOptionString), "value": options[k]})
	}
	data := map[string]any{"id": cmd.ID, "name": name, "type": 1, "options": opts}
	return s.interactLocked(channelID, userID, discordgo.InteractionApplicationCommand, data, nil, func(in *interaction) { in.Kind, in.Command = "command", name })
}

// PressButton presses the button customID under the bot's message in
// channel as user and dispatches INTERACTION_CREATE. It returns the
// interaction id, or an error when no such button exists.
func (s *Server) PressButton(channelID, userID, messageID, customID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c := s.findMessageLocked(channelID, messageID)
	if m == nil || !m.FromBot {
		return "", fmt.Errorf("dcemu: press: no bot message %s in %s", messageID, channelID)
	}
	found := false
	for _, row := range m.Buttons {
		for _, b := range row {
			found = found || b.CustomID == customID
		}
	}
	if !found {
		return "", fmt.Errorf("dcemu: press: message %s has no button %q", messageID, customID)
	}
	data := map[string]any{"custom_id": customID, "component_type": int(discordgo.ButtonComponent)}
	msg := s.messageJSONLocked(c, m, true)
	return s.interactLocked(channelID, userID, discordgo.InteractionMessageComponent, data, msg, func(in *interaction) {
		in.Kind, in.CustomID, in.MessageID = "component", customID, messageID
	})
}

func (s *Server) interactLocked(channelID, userID string, typ discordgo.InteractionType, data, msg map[string]any, fill func(*interaction)) (string, error) {
	c, ok := s.channels[channelID]
	if !ok {
		return "", fmt.Errorf("dcemu: interaction: no channel %s", channelID)
	}
	u, ok := s.users[userID]
	if !ok {
		return "", fmt.Errorf("dcemu: interaction: no user %s", userID)
	}
	locale := u.Locale
	if locale == "" {
		locale = "en-US"
	}
	in := &interaction{Interaction: Interaction{ID: s.newIDLocked(), ChannelID: channelID, UserID: userID, Created: time.Now()}, token: "itok-" + randomToken()}
	fill(in)
	payload := map[string]any{
		"id": in.ID, "application_id": s.appID, "type": int(typ), "data": data,
		"channel_id": channelID, "token": in.token, "version": 1, "locale": locale,
	}
	if c.GuildID != "" {
		payload["guild_id"] = c.GuildID
		payload["member"] = map[string]any{"user": s.userJSONLocked(u), "nick": nil, "roles": []any{}}
		payload["context"] = 0
	} else {
		payload["user"] = s.userJSONLocked(u)
		payload["context"] = 1
	}
	if msg != nil {
		payload["message"] = msg
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("dcemu: interaction: %w", err)
	}
	s.interactions[in.ID] = in
	s.byToken[in.token] = in
	s.dispatchLocked("INTERACTION_CREATE", raw, 0)
	s.notifyLocked()
	return in.ID, nil
}

// Interaction returns what is known of interaction id.
func (s *Server) Interaction(id string) (Interaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.interactions[id]
	if !ok {
		return Interaction{}, false
	}
	return copyInteraction(in), true
}

// WaitInteraction blocks until cond holds for interaction id, or ctx ends.
func (s *Server) WaitInteraction(ctx context.Context, id string, cond func(Interaction) bool) (Interaction, error) {
	var out Interaction
	err := s.wait(ctx, func() bool {
		in, ok := s.interactions[id]
		if !ok {
			return false
		}
		out = copyInteraction(in)
		return cond(out)
	})
	return out, err
}

func copyInteraction(in *interaction) Interaction {
	c := in.Interaction
	c.Followups = append([]string(nil), in.Followups...)
	return c
}

func (s *Server) interactionCallback(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Type int       `json:"type"`
		Data *sendBody `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.interactions[r.PathValue("iid")]
	if !ok || in.token != r.PathValue("itoken") {
		writeError(w, http.StatusNotFound, 10062, "Unknown interaction")
		return
	}
	if in.Acked {
		writeError(w, http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
		return
	}
	if time.Since(in.Created) > 15*time.Minute {
		writeError(w, http.StatusNotFound, 10062, "Unknown interaction")
		return
	}
	switch body.Type {
	case 4, 5, 6, 7:
	default:
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: type")
		return
	}
	if body.Type == 4 && (body.Data == nil || body.Data.Content == nil || *body.Data.Content == "") {
		writeError(w, http.StatusBadRequest, 50006, "Cannot send an empty message")
		return
	}
	in.Acked, in.AckType, in.AckAfter = true, body.Type, time.Since(in.Created)
	if body.Data != nil {
		in.Ephemeral = body.Data.Flags&int(discordgo.MessageFlagsEphemeral) != 0
		if body.Data.Content != nil {
			if utf16Len(*body.Data.Content) > 2000 {
				writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: content")
				return
			}
			in.Content = *body.Data.Content
		}
	}
	s.notifyLocked()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) interactionByToken(w http.ResponseWriter, r *http.Request) *interaction {
	in, ok := s.byToken[r.PathValue("itoken")]
	if !ok || r.PathValue("app") != s.appID {
		writeError(w, http.StatusNotFound, 10015, "Unknown Webhook")
		return nil
	}
	if !in.Acked {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return nil
	}
	return in
}

func (s *Server) webhookEdit(w http.ResponseWriter, r *http.Request) {
	var body sendBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactionByToken(w, r)
	if in == nil {
		return
	}
	if r.PathValue("mid") != "@original" || in.Deleted {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	if body.Content != nil {
		if utf16Len(*body.Content) > 2000 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: content")
			return
		}
		in.Content = *body.Content
	}
	in.Edited = true
	s.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": in.ID, "channel_id": in.ChannelID, "content": in.Content, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"author": s.userJSONLocked(&s.bot), "attachments": []any{}, "embeds": []any{}, "components": []any{}, "flags": 64,
	})
}

func (s *Server) webhookDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactionByToken(w, r)
	if in == nil {
		return
	}
	if r.PathValue("mid") != "@original" || in.Deleted {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	in.Deleted = true
	s.notifyLocked()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhookExecute(w http.ResponseWriter, r *http.Request) {
	var body sendBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactionByToken(w, r)
	if in == nil {
		return
	}
	if body.Content == nil || *body.Content == "" || utf16Len(*body.Content) > 2000 {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: content")
		return
	}
	in.Followups = append(in.Followups, *body.Content)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": s.newIDLocked(), "channel_id": in.ChannelID, "content": *body.Content, "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"author": s.userJSONLocked(&s.bot), "attachments": []any{}, "embeds": []any{}, "components": []any{},
	})
}
