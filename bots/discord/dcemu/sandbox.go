package dcemu

import (
	"context"
	_ "embed"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed sandbox.html
var sandboxHTML []byte

// The sandbox is a small page for a person playing citizens by hand: it
// lists the channels, threads and DMs with their messages, posts as a named
// citizen, presses the bot's buttons and runs slash commands. All text is
// rendered with textContent, never as HTML.

func (s *Server) sandboxPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(sandboxHTML)
}

type sandboxChannel struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Kind     string           `json:"kind"`
	Messages []sandboxMessage `json:"messages"`
}

type sandboxMessage struct {
	ID      string     `json:"id"`
	Author  string     `json:"author"`
	FromBot bool       `json:"from_bot"`
	Content string     `json:"content"`
	Time    string     `json:"time"`
	Buttons [][]Button `json:"buttons"`
	// Files are the documents the bot attached, downloadable from
	// /sandbox/file.
	Files []sandboxFile `json:"files,omitempty"`
}

type sandboxFile struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

func (s *Server) sandboxState(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var out []sandboxChannel
	for _, c := range s.channels {
		sc := sandboxChannel{ID: c.ID, Name: c.Name, Kind: "channel"}
		switch {
		case c.ParentID != "":
			sc.Kind = "thread"
			if p, ok := s.channels[c.ParentID]; ok {
				sc.Name = p.Name + " › " + c.Name
			}
		case c.Peer != "":
			sc.Kind = "dm"
			if u, ok := s.users[c.Peer]; ok {
				sc.Name = "DM with " + u.Name
			}
		}
		msgs := c.Messages
		if len(msgs) > 200 {
			msgs = msgs[len(msgs)-200:]
		}
		for _, m := range msgs {
			name := "?"
			if u, ok := s.users[m.AuthorID]; ok {
				name = u.Name
			}
			sm := sandboxMessage{ID: m.ID, Author: name, FromBot: m.FromBot, Content: s.shownMentionsLocked(m.Content), Time: m.Timestamp.Format("15:04:05"), Buttons: m.Buttons}
			for i, a := range m.Attachments {
				if m.FromBot && a.Data != nil {
					sm.Files = append(sm.Files, sandboxFile{Name: a.Filename,
						URL: "/sandbox/file?" + url.Values{"channel": {c.ID}, "message": {m.ID}, "n": {strconv.Itoa(i)}}.Encode()})
				}
			}
			sc.Messages = append(sc.Messages, sm)
		}
		out = append(out, sc)
	}
	cmds := make([]string, 0, len(s.commands))
	for _, c := range s.commands {
		cmds = append(cmds, c.Name)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return snowflakeLess(out[i].ID, out[j].ID) })
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"channels": out, "commands": cmds})
}

// sandboxFile downloads a file the bot attached to a message.
func (s *Server) sandboxFile(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n < 0 {
		http.Error(w, "bad file number", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	var name string
	var data []byte
	if c, ok := s.channels[q.Get("channel")]; ok {
		for _, m := range c.Messages {
			if m.ID == q.Get("message") && m.FromBot && n < len(m.Attachments) && m.Attachments[n].Data != nil {
				name, data = m.Attachments[n].Filename, m.Attachments[n].Data
			}
		}
	}
	s.mu.Unlock()
	if data == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(data)
}

// sandboxUser returns the citizen called name, creating them on first use.
func (s *Server) sandboxUser(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "citizen"
	}
	if len(name) > 64 {
		name = name[:64]
	}
	s.mu.Lock()
	for _, u := range s.users {
		if u.Name == name && !u.Bot {
			s.mu.Unlock()
			return u.ID
		}
	}
	s.mu.Unlock()
	return s.AddUser(name, false).ID
}

type sandboxRequest struct {
	User      string            `json:"user"`
	Channel   string            `json:"channel"` // channel id, or "dm"
	Content   string            `json:"content"`
	MessageID string            `json:"message_id"`
	CustomID  string            `json:"custom_id"`
	Command   string            `json:"command"`
	Options   map[string]string `json:"options"`
}

func (s *Server) sandboxDecode(w http.ResponseWriter, r *http.Request) (sandboxRequest, string, bool) {
	var req sandboxRequest
	// Only same-origin JSON: a form post from another site cannot set
	// this content type without a preflight.
	if r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "expected application/json", http.StatusUnsupportedMediaType)
		return req, "", false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return req, "", false
	}
	uid := s.sandboxUser(req.User)
	ch := req.Channel
	if ch == "dm" {
		var err error
		if ch, err = s.DMChannel(uid); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return req, "", false
		}
	}
	req.Channel = ch
	return req, uid, true
}

func (s *Server) sandboxPost(w http.ResponseWriter, r *http.Request) {
	req, uid, ok := s.sandboxDecode(w, r)
	if !ok {
		return
	}
	m, err := s.Post(req.Channel, uid, req.Content)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": m.ID})
}

func (s *Server) sandboxPress(w http.ResponseWriter, r *http.Request) {
	req, uid, ok := s.sandboxDecode(w, r)
	if !ok {
		return
	}
	id, err := s.PressButton(req.Channel, uid, req.MessageID, req.CustomID)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.writeInteractionLater(w, r, id)
}

func (s *Server) sandboxCommand(w http.ResponseWriter, r *http.Request) {
	req, uid, ok := s.sandboxDecode(w, r)
	if !ok {
		return
	}
	id, err := s.SlashCommand(req.Channel, uid, req.Command, req.Options)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.writeInteractionLater(w, r, id)
}

// writeInteractionLater waits up to the response deadline for the bot's
// answer and returns it.
func (s *Server) writeInteractionLater(w http.ResponseWriter, r *http.Request, id string) {
	ctx, cancel := context.WithTimeout(r.Context(), ResponseDeadline+2*time.Second)
	defer cancel()
	in, _ := s.WaitInteraction(ctx, id, func(in Interaction) bool { return in.Acked && (in.AckType == 4 || in.Edited || in.Deleted) })
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "acked": in.Acked, "content": in.Content, "deleted": in.Deleted})
}

// shownMentionsLocked shows each user mention ("<@id>") of content as a
// Discord client does: "@" and the user's name.
func (s *Server) shownMentionsLocked(content string) string {
	return userMention.ReplaceAllStringFunc(content, func(m string) string {
		id := userMention.FindStringSubmatch(m)[1]
		if u, ok := s.users[id]; ok {
			return "@" + u.Name
		}
		return m
	})
}
