package tgemu

import (
	"embed"
	"encoding/json"
	"hash/fnv"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed sandbox.html
var sandboxFS embed.FS

// SandboxLanguages are the language codes the sandbox page offers when
// Options.Languages is empty.
func SandboxLanguages() []string { return []string{"en", "fr", "es", "de", "ar", "uk"} }

func (s *Server) sandboxLanguages() []string {
	if len(s.langs) > 0 {
		return s.langs
	}
	return SandboxLanguages()
}

// SandboxUserID returns the Telegram user id the sandbox gives a citizen
// name: stable, so the same name is the same person across reloads.
func SandboxUserID(name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(strings.TrimSpace(name)))
	return int64(h.Sum64()%900_000_000) + 100_000_000
}

func (s *Server) routeSandbox(mux *http.ServeMux) {
	tmpl := template.Must(template.ParseFS(sandboxFS, "sandbox.html"))
	mux.HandleFunc("GET /sandbox", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		data := struct {
			BotName, BotUsername string
			Languages            []string
			GroupTitle           string
		}{s.bot.FirstName, s.bot.Username, s.sandboxLanguages(), "City Square"}
		if err := tmpl.Execute(w, data); err != nil {
			s.log.Error("sandbox page", "err", err)
		}
	})
	mux.HandleFunc("GET /sandbox/api/transcript", s.sandboxTranscript)
	mux.HandleFunc("GET /sandbox/api/file", s.sandboxFile)
	cop := http.NewCrossOriginProtection()
	mux.Handle("POST /sandbox/api/send", cop.Handler(http.HandlerFunc(s.sandboxSend)))
	mux.Handle("POST /sandbox/api/press", cop.Handler(http.HandlerFunc(s.sandboxPress)))
}

type sandboxRequest struct {
	Name      string `json:"name"`
	Lang      string `json:"lang"`
	Chat      string `json:"chat"` // "private" or "group"
	Mention   bool   `json:"mention"`
	Text      string `json:"text"`
	ReplyTo   int    `json:"reply_to"`
	MessageID int    `json:"message_id"`
	Data      string `json:"data"`
}

type sandboxEntry struct {
	ID      int        `json:"id"`
	FromBot bool       `json:"from_bot"`
	Name    string     `json:"name"`
	Text    string     `json:"text"`
	Media   string     `json:"media,omitempty"`
	ReplyTo int        `json:"reply_to,omitempty"`
	Buttons [][]Button `json:"buttons,omitempty"`
	At      string     `json:"at"`
	Edited  bool       `json:"edited,omitempty"`
	Toast   bool       `json:"toast,omitempty"`
	// File is the name of the document the bot sent, downloadable from
	// /sandbox/api/file.
	File string `json:"file,omitempty"`
}

func sandboxUser(name, lang string) (User, bool) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return User{}, false
	}
	first, last, _ := strings.Cut(name, " ")
	if len(lang) > 10 {
		lang = ""
	}
	return User{ID: SandboxUserID(name), FirstName: first, LastName: last, LanguageCode: lang}, true
}

func sandboxChat(u User, kind string) int64 {
	if kind == "group" {
		return SandboxGroupID
	}
	return u.ID
}

func (s *Server) sandboxTranscript(w http.ResponseWriter, r *http.Request) {
	u, ok := sandboxUser(r.URL.Query().Get("name"), "")
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "pick a name (1 to 64 characters)"})
		return
	}
	chatID := sandboxChat(u, r.URL.Query().Get("chat"))
	files := map[int]string{}
	for _, m := range s.Sent(chatID) {
		if m.Document != nil {
			files[m.MessageID] = m.Document.Name
		}
	}
	var out []sandboxEntry
	for _, e := range s.Transcript(chatID) {
		if e.Toast && !(chatID == u.ID) {
			continue
		}
		name := strings.TrimSpace(e.From.FirstName + " " + e.From.LastName)
		out = append(out, sandboxEntry{ID: e.MessageID, FromBot: e.FromBot, Name: name, Text: e.Text,
			Media: string(e.Media), ReplyTo: e.ReplyTo, Buttons: e.Buttons, At: e.At.UTC().Format(time.TimeOnly),
			Edited: e.Edited, Toast: e.Toast, File: files[e.MessageID]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": chatID, "entries": out})
}

// sandboxFile downloads a document the bot sent in the sandbox citizen's
// chat (name, chat and id as in the transcript).
func (s *Server) sandboxFile(w http.ResponseWriter, r *http.Request) {
	u, ok := sandboxUser(r.URL.Query().Get("name"), "")
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	if !ok || err != nil {
		http.Error(w, "pick a name and a message", http.StatusBadRequest)
		return
	}
	for _, m := range s.Sent(sandboxChat(u, r.URL.Query().Get("chat"))) {
		if m.MessageID == id && m.Document != nil {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": m.Document.Name}))
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Write(m.Document.Data)
			return
		}
	}
	http.NotFound(w, r)
}

func readSandbox(w http.ResponseWriter, r *http.Request) (sandboxRequest, User, bool) {
	var req sandboxRequest
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send JSON"})
		return req, User{}, false
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return req, User{}, false
	}
	u, ok := sandboxUser(req.Name, req.Lang)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "pick a name (1 to 64 characters)"})
		return req, User{}, false
	}
	return req, u, true
}

func (s *Server) sandboxSend(w http.ResponseWriter, r *http.Request) {
	req, u, ok := readSandbox(w, r)
	if !ok {
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "write something first"})
		return
	}
	text := req.Text
	chatID := sandboxChat(u, req.Chat)
	if chatID != u.ID && req.Mention {
		text = "@" + s.bot.Username + " " + text
	}
	p, err := s.Post(Incoming{Chat: chatID, ChatTitle: "City Square", From: u, Text: text, ReplyTo: req.ReplyTo})
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "could not send"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": p.Chat, "message_id": p.MessageID})
}

func (s *Server) sandboxPress(w http.ResponseWriter, r *http.Request) {
	req, u, ok := readSandbox(w, r)
	if !ok {
		return
	}
	chatID := sandboxChat(u, req.Chat)
	if _, err := s.Press(chatID, req.MessageID, u, req.Data); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "that button is gone"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": chatID, "pressed": strconv.Quote(req.Data)})
}
