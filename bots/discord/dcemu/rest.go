package dcemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/bwmarrin/discordgo"
)

// maxBody bounds request bodies (Discord's own limit is far lower for JSON).
const maxBody = 32 << 20

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /attachments/", s.serveAttachment)
	mux.HandleFunc("GET /ws/", s.serveGateway)
	mux.HandleFunc("GET /ws", s.serveGateway)
	mux.HandleFunc("GET /api/v9/gateway", s.getGateway)
	mux.HandleFunc("GET /api/v9/gateway/bot", s.authed(s.getGateway))
	mux.HandleFunc("GET /api/v9/users/@me", s.authed(s.getMe))
	mux.HandleFunc("GET /api/v9/oauth2/applications/@me", s.authed(s.getApplication))
	mux.HandleFunc("POST /api/v9/users/@me/channels", s.authed(s.createDM))
	mux.HandleFunc("GET /api/v9/channels/{cid}", s.authed(s.getChannel))
	mux.HandleFunc("GET /api/v9/channels/{cid}/messages", s.authed(s.faulty(s.getMessages)))
	mux.HandleFunc("POST /api/v9/channels/{cid}/messages", s.authed(s.faulty(s.uploads(s.holding(s.postMessage)))))
	mux.HandleFunc("GET /api/v9/channels/{cid}/messages/{mid}", s.authed(s.getMessage))
	mux.HandleFunc("PATCH /api/v9/channels/{cid}/messages/{mid}", s.authed(s.faulty(s.patchMessage)))
	mux.HandleFunc("PUT /api/v9/applications/{app}/guilds/{gid}/commands", s.authed(s.putCommands))
	mux.HandleFunc("GET /api/v9/applications/{app}/guilds/{gid}/commands", s.authed(s.getCommands))
	mux.HandleFunc("GET /api/v9/guilds/{gid}/threads/active", s.authed(s.activeThreads))
	mux.HandleFunc("POST /api/v9/interactions/{iid}/{itoken}/callback", s.counted(s.interactionCallback))
	mux.HandleFunc("PATCH /api/v9/webhooks/{app}/{itoken}/messages/{mid}", s.counted(s.webhookEdit))
	mux.HandleFunc("DELETE /api/v9/webhooks/{app}/{itoken}/messages/{mid}", s.counted(s.webhookDelete))
	mux.HandleFunc("POST /api/v9/webhooks/{app}/{itoken}", s.counted(s.webhookExecute))
	mux.HandleFunc("GET /sandbox", s.sandboxPage)
	mux.HandleFunc("GET /sandbox/state", s.sandboxState)
	mux.HandleFunc("GET /sandbox/file", s.sandboxFile)
	mux.HandleFunc("POST /sandbox/post", s.sandboxPost)
	mux.HandleFunc("POST /sandbox/press", s.sandboxPress)
	mux.HandleFunc("POST /sandbox/command", s.sandboxCommand)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"message": msg, "code": code})
}

// counted counts a request that needs no bot token (interaction tokens
// authorise themselves).
func (s *Server) counted(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Requests++
		s.notifyLocked()
		s.mu.Unlock()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r)
	}
}

// authed checks the bot token and the global rate limit.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Requests++
		if r.Header.Get("Authorization") != "Bot "+s.token {
			s.stats.Unauthorized++
			s.notifyLocked()
			s.mu.Unlock()
			writeError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
		if !s.opts.NoLimits {
			now := time.Now()
			s.globalHits = prune(s.globalHits, now.Add(-time.Second))
			if len(s.globalHits) >= s.opts.Limits.GlobalPerSecond {
				s.stats.Exceeded++
				s.stats.ExceededGlobal++
				after := s.globalHits[0].Add(time.Second).Sub(now)
				s.notifyLocked()
				s.mu.Unlock()
				w.Header().Set("X-RateLimit-Global", "true")
				w.Header().Set("X-RateLimit-Scope", "global")
				writeRateLimited(w, after, true)
				return
			}
			s.globalHits = append(s.globalHits, now)
		}
		s.notifyLocked()
		s.mu.Unlock()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r)
	}
}

func prune(ts []time.Time, before time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(before) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}

func writeRateLimited(w http.ResponseWriter, after time.Duration, global bool) {
	secs := after.Seconds()
	if secs < 0.001 {
		secs = 0.001
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
	w.Header().Set("X-RateLimit-Limit", "5")
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"message": "You are being rate limited.", "retry_after": secs, "global": global,
	})
}

// faulty injects the configured share of 429 and 5xx answers.
func (s *Server) faulty(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faults
		var roll float64
		if f.RateLimit > 0 || f.ServerError > 0 {
			// xorshift64: deterministic per seed, guarded by s.mu.
			s.rng ^= s.rng << 13
			s.rng ^= s.rng >> 7
			s.rng ^= s.rng << 17
			roll = float64(s.rng>>11) / float64(1<<53)
		}
		switch {
		case f.RateLimit > 0 && roll < f.RateLimit:
			s.stats.Injected429++
			s.notifyLocked()
			s.mu.Unlock()
			w.Header().Set("X-RateLimit-Scope", "user")
			writeRateLimited(w, f.RetryAfter, false)
			return
		case f.ServerError > 0 && roll < f.RateLimit+f.ServerError:
			s.stats.Injected5xx++
			code := http.StatusInternalServerError
			if s.stats.Injected5xx%2 == 0 {
				code = http.StatusBadGateway
			}
			s.notifyLocked()
			s.mu.Unlock()
			writeError(w, code, 0, http.StatusText(code))
			return
		}
		s.mu.Unlock()
		h(w, r)
	}
}

func (s *Server) getGateway(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"url": "ws://" + s.ln.Addr().String() + "/ws", "shards": 1,
		"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
	})
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.userJSONLocked(&s.bot)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, u)
}

// getApplication answers the bot's own application: its id, name and
// flags (whether the Message Content Intent is on).
func (s *Server) getApplication(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	app := map[string]any{
		"id": s.appID, "name": s.bot.Name, "bot_public": true, "bot_require_code_grant": false,
		"description": "", "summary": "", "verify_key": "", "flags": s.appFlagsLocked(),
		"bot": s.userJSONLocked(&s.bot),
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, app)
}

func (s *Server) createDM(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.dmChannelLocked(body.RecipientID)
	if err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	writeJSON(w, http.StatusOK, s.channelJSONLocked(s.channels[id]))
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.PathValue("cid")]
	if !ok {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	writeJSON(w, http.StatusOK, s.channelJSONLocked(c))
}

func snowflakeLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func (s *Server) getMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
		limit = n
	}
	after, before := q.Get("after"), q.Get("before")
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.PathValue("cid")]
	if !ok {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	var pick []*Message
	switch {
	case after != "":
		for _, m := range c.Messages {
			if snowflakeLess(after, m.ID) {
				pick = append(pick, m)
				if len(pick) == limit {
					break
				}
			}
		}
	default:
		for i := len(c.Messages) - 1; i >= 0 && len(pick) < limit; i-- {
			m := c.Messages[i]
			if before == "" || snowflakeLess(m.ID, before) {
				pick = append(pick, m)
			}
		}
		sort.Slice(pick, func(i, j int) bool { return snowflakeLess(pick[i].ID, pick[j].ID) })
	}
	// Discord lists newest first.
	out := make([]any, 0, len(pick))
	for i := len(pick) - 1; i >= 0; i-- {
		out = append(out, s.messageJSONLocked(c, pick[i], true))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c := s.findMessageLocked(r.PathValue("cid"), r.PathValue("mid"))
	if m == nil {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	writeJSON(w, http.StatusOK, s.messageJSONLocked(c, m, true))
}

// sendBody is what discordgo posts for a message or an interaction reply.
type sendBody struct {
	Content         *string          `json:"content"`
	Components      []componentJSON  `json:"components"`
	Flags           int              `json:"flags"`
	Nonce           string           `json:"nonce"`
	EnforceNonce    bool             `json:"enforce_nonce"`
	AllowedMentions *json.RawMessage `json:"allowed_mentions"`
	Reference       *struct {
		MessageID       string `json:"message_id"`
		FailIfNotExists *bool  `json:"fail_if_not_exists"`
	} `json:"message_reference"`
}

type componentJSON struct {
	Type       int             `json:"type"`
	Label      string          `json:"label"`
	CustomID   string          `json:"custom_id"`
	Components []componentJSON `json:"components"`
}

// buttons validates action rows the way Discord does: at most 5 rows of at
// most 5 buttons, each with a custom_id of 1–100 characters and a label of
// at most 80.
func buttons(rows []componentJSON) ([][]Button, error) {
	if len(rows) > 5 {
		return nil, fmt.Errorf("components: more than 5 rows")
	}
	var out [][]Button
	for _, row := range rows {
		if row.Type != int(discordgo.ActionsRowComponent) || len(row.Components) == 0 || len(row.Components) > 5 {
			return nil, fmt.Errorf("components: bad action row")
		}
		var bs []Button
		for _, b := range row.Components {
			if b.Type != int(discordgo.ButtonComponent) || b.CustomID == "" || len(b.CustomID) > 100 || utf16Len(b.Label) > 80 {
				return nil, fmt.Errorf("components: bad button")
			}
			bs = append(bs, Button{Label: b.Label, CustomID: b.CustomID})
		}
		out = append(out, bs)
	}
	return out, nil
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	var body sendBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	content := ""
	if body.Content != nil {
		content = *body.Content
	}
	if utf16Len(content) > 2000 {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: content: Must be 2000 or fewer in length.")
		return
	}
	bs, err := buttons(body.Components)
	if err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
		return
	}
	if strings.TrimSpace(content) == "" && len(bs) == 0 && len(uploaded(r)) == 0 {
		writeError(w, http.StatusBadRequest, 50006, "Cannot send an empty message")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cid := r.PathValue("cid")
	c, ok := s.channels[cid]
	if !ok {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	if c.Forbidden {
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	}
	if body.EnforceNonce && body.Nonce != "" {
		if len(body.Nonce) > 25 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: nonce")
			return
		}
		if prev, ok := s.nonces[body.Nonce]; ok && time.Since(prev.Timestamp) < 5*time.Minute {
			s.stats.NonceHits++
			s.notifyLocked()
			writeJSON(w, http.StatusOK, s.messageJSONLocked(s.channels[prev.ChannelID], prev, true))
			return
		}
	}
	if !s.opts.NoLimits {
		now := time.Now()
		hits := prune(s.channelHits[cid], now.Add(-s.opts.Limits.ChannelWindow))
		if len(hits) >= s.opts.Limits.ChannelMessages {
			s.stats.Exceeded++
			s.notifyLocked()
			w.Header().Set("X-RateLimit-Scope", "user")
			w.Header().Set("X-RateLimit-Bucket", "channel-"+cid)
			writeRateLimited(w, hits[0].Add(s.opts.Limits.ChannelWindow).Sub(now), false)
			return
		}
		hits = append(hits, now)
		s.channelHits[cid] = hits
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.opts.Limits.ChannelMessages))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(s.opts.Limits.ChannelMessages-len(hits)))
		w.Header().Set("X-RateLimit-Reset-After", strconv.FormatFloat(hits[0].Add(s.opts.Limits.ChannelWindow).Sub(now).Seconds(), 'f', 3, 64))
		w.Header().Set("X-RateLimit-Bucket", "channel-"+cid)
	}
	m := &Message{ID: s.newIDLocked(), ChannelID: cid, AuthorID: s.bot.ID, FromBot: true, Content: content, Buttons: bs, Timestamp: time.Now().UTC(), Attachments: uploaded(r)}
	pinged, err := pingedBy(content, body.AllowedMentions)
	if err != nil {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: allowed_mentions: "+err.Error())
		return
	}
	m.Pinged = pinged
	if body.AllowedMentions != nil {
		var am struct {
			Parse []string `json:"parse"`
		}
		_ = json.Unmarshal(*body.AllowedMentions, &am)
		m.AllowedMentions = am.Parse
		if m.AllowedMentions == nil {
			m.AllowedMentions = []string{}
		}
	}
	if body.Reference != nil && body.Reference.MessageID != "" {
		if ref, _ := s.findMessageLocked(cid, body.Reference.MessageID); ref != nil {
			m.ReplyTo = ref.ID
		} else if body.Reference.FailIfNotExists == nil || *body.Reference.FailIfNotExists {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: message_reference: Unknown message")
			return
		}
	}
	c.Messages = append(c.Messages, m)
	if body.EnforceNonce && body.Nonce != "" {
		s.nonces[body.Nonce] = m
	}
	s.dispatchMessageLocked("MESSAGE_CREATE", c, m)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, s.messageJSONLocked(c, m, true))
}

func (s *Server) patchMessage(w http.ResponseWriter, r *http.Request) {
	var body sendBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c := s.findMessageLocked(r.PathValue("cid"), r.PathValue("mid"))
	if m == nil {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	if !m.FromBot {
		writeError(w, http.StatusForbidden, 50005, "Cannot edit a message authored by another user")
		return
	}
	if body.Content != nil {
		if utf16Len(*body.Content) > 2000 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: content: Must be 2000 or fewer in length.")
			return
		}
		m.Content = *body.Content
	}
	if body.Components != nil {
		bs, err := buttons(body.Components)
		if err != nil {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
			return
		}
		m.Buttons = bs
	}
	now := time.Now().UTC()
	m.Edited = &now
	s.dispatchMessageLocked("MESSAGE_UPDATE", c, m)
	s.notifyLocked()
	writeJSON(w, http.StatusOK, s.messageJSONLocked(c, m, true))
}

func (s *Server) putCommands(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("app") != s.appID || r.PathValue("gid") != s.guildID {
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	}
	var cmds []discordgo.ApplicationCommand
	if err := json.NewDecoder(r.Body).Decode(&cmds); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	seen := map[string]bool{}
	for _, c := range cmds {
		if c.Name == "" || len(c.Name) > 32 || c.Name != strings.ToLower(c.Name) || seen[c.Name] || c.Description == "" && c.Type <= 1 {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: bad command")
			return
		}
		seen[c.Name] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range cmds {
		cmds[i].ID = s.newIDLocked()
		cmds[i].ApplicationID = s.appID
		cmds[i].GuildID = s.guildID
	}
	s.commands = cmds
	s.notifyLocked()
	writeJSON(w, http.StatusOK, cmds)
}

func (s *Server) getCommands(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := append([]discordgo.ApplicationCommand{}, s.commands...)
	writeJSON(w, http.StatusOK, cmds)
}

func (s *Server) activeThreads(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("gid") != s.guildID {
		writeError(w, http.StatusNotFound, 10004, "Unknown Guild")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	threads := []json.RawMessage{}
	for _, c := range s.channels {
		if c.ParentID != "" {
			threads = append(threads, s.channelJSONLocked(c))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"threads": threads, "members": []any{}, "has_more": false})
}

// serveAttachment serves the content of a citizen's attachment that a
// test gave (Attachment.Data), as Discord's CDN does: no token needed.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.files[r.URL.EscapedPath()]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// userMention matches a user mention written in a message's content.
var userMention = regexp.MustCompile(`<@!?([0-9]{1,20})>`)

// pingedBy returns the users a message with this content notifies under
// allowed_mentions (raw; nil: every user written), in order of first
// appearance, checking the object as Discord does: at most 100 users,
// each an id, and no users list together with "users" in parse.
func pingedBy(content string, raw *json.RawMessage) ([]string, error) {
	all := true
	var listed []string
	if raw != nil {
		var am struct {
			Parse []string `json:"parse"`
			Users []string `json:"users"`
		}
		if err := json.Unmarshal(*raw, &am); err != nil {
			return nil, errors.New("not an object")
		}
		if len(am.Users) > 100 {
			return nil, errors.New("users: Must be 100 or fewer in length")
		}
		for _, u := range am.Users {
			if _, err := strconv.ParseUint(u, 10, 64); err != nil || len(u) > 20 {
				return nil, errors.New("users: Value is not snowflake")
			}
		}
		all = slices.Contains(am.Parse, "users")
		if all && len(am.Users) > 0 {
			return nil, errors.New("parse: Mutually exclusive with users")
		}
		listed = am.Users
	}
	var out []string
	for _, sm := range userMention.FindAllStringSubmatch(content, -1) {
		id := sm[1]
		if (all || slices.Contains(listed, id)) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}
