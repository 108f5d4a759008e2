package dcemu

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Gateway intents the emulator honours.
const (
	intentGuilds         = 1 << 0
	intentGuildMessages  = 1 << 9
	intentDirectMessages = 1 << 12
	intentMessageContent = 1 << 15
)

// gwEvent is one dispatch in a session's log.
type gwEvent struct {
	Seq  int64
	Type string
	Data json.RawMessage
}

// gwSession is a gateway session: its event log survives a dropped
// connection so that RESUME can replay what was missed.
type gwSession struct {
	id      string
	intents int
	events  []gwEvent
	conn    *gwConn // attached connection, or nil
	ended   bool    // closed cleanly or invalidated: cannot resume
	ready   bool    // READY or RESUMED has been queued on conn
}

// gwConn is one websocket connection.
type gwConn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once

	// guarded by Server.mu
	sess       *gwSession
	next       int64 // next seq to write
	resumedAt  int64 // write RESUMED after this seq, when > 0
	writerUp   bool
	closedCode int
}

func (c *gwConn) kill() {
	c.once.Do(func() { close(c.done) })
	_ = c.ws.UnderlyingConn().Close()
}

func (c *gwConn) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *gwConn) write(v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *gwConn) writeClose(code int, text string) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
}

type frame struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d,omitempty"`
	S  int64           `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

type outFrame struct {
	Op int    `json:"op"`
	D  any    `json:"d"`
	S  *int64 `json:"s,omitempty"`
	T  string `json:"t,omitempty"`
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.stats.Connections++
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		c.kill()
		s.mu.Lock()
		delete(s.conns, c)
		if g := c.sess; g != nil && g.conn == c {
			g.conn = nil
			g.ready = false
			if c.closedCode == websocket.CloseNormalClosure || c.closedCode == websocket.CloseGoingAway {
				g.ended = true
				delete(s.sessions, g.id)
			}
		}
		s.notifyLocked()
		s.mu.Unlock()
	}()

	hb := s.opts.HeartbeatInterval
	if err := c.write(outFrame{Op: 10, D: map[string]any{"heartbeat_interval": hb.Milliseconds()}}); err != nil {
		return
	}
	for {
		_ = ws.SetReadDeadline(time.Now().Add(3*hb + 5*time.Second))
		_, data, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				s.mu.Lock()
				c.closedCode = ce.Code
				s.mu.Unlock()
			}
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.writeClose(4002, "Error while decoding payload.")
			return
		}
		switch f.Op {
		case 1:
			if err := c.write(outFrame{Op: 11}); err != nil {
				return
			}
		case 2:
			var id struct {
				Token   string `json:"token"`
				Intents int    `json:"intents"`
			}
			_ = json.Unmarshal(f.D, &id)
			if id.Token != "Bot "+s.currentToken() {
				s.authFailed(c)
				return
			}
			if s.intentDenied(id.Intents) {
				c.writeClose(4014, "Disallowed intent(s).")
				return
			}
			s.identify(c, id.Intents)
		case 6:
			var rs struct {
				Token     string `json:"token"`
				SessionID string `json:"session_id"`
				Seq       int64  `json:"seq"`
			}
			_ = json.Unmarshal(f.D, &rs)
			if rs.Token != "Bot "+s.currentToken() {
				s.authFailed(c)
				return
			}
			if !s.resume(c, rs.SessionID, rs.Seq) {
				if err := c.write(outFrame{Op: 9, D: false}); err != nil {
					return
				}
			}
		default:
			// Other client opcodes (presence, voice, request members)
			// are accepted and ignored.
		}
	}
}

// intentDenied reports (and counts) whether intents ask for the Message
// Content intent while the application does not have it.
func (s *Server) intentDenied(intents int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.contentOff || intents&intentMessageContent == 0 {
		return false
	}
	s.stats.IntentDenied++
	s.notifyLocked()
	return true
}

// Application flags the emulator reports: GATEWAY_MESSAGE_CONTENT_LIMITED,
// what the developer portal's Message Content Intent switch gives a bot
// in fewer than 100 servers.
const appFlagMessageContentLimited = 1 << 19

// appFlagsLocked returns the application's flags.
func (s *Server) appFlagsLocked() int {
	if s.contentOff {
		return 0
	}
	return appFlagMessageContentLimited
}

// SetMessageContent turns the application's Message Content Intent on or
// off, as the developer portal's switch does; it applies to the next
// IDENTIFY and flags read.
func (s *Server) SetMessageContent(on bool) {
	s.mu.Lock()
	s.contentOff = !on
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) authFailed(c *gwConn) {
	s.mu.Lock()
	s.stats.AuthFailures++
	s.notifyLocked()
	s.mu.Unlock()
	c.writeClose(4004, "Authentication failed.")
}

// identify starts a new session on c and queues READY.
func (s *Server) identify(c *gwConn, intents int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Identifies++
	// A new identify ends sessions nobody is attached to.
	for id, g := range s.sessions {
		if g.conn == nil {
			g.ended = true
			delete(s.sessions, id)
		}
	}
	if old := c.sess; old != nil && old.conn == c {
		old.conn = nil
		old.ended = true
		delete(s.sessions, old.id)
	}
	g := &gwSession{id: randomToken(), intents: intents}
	s.sessions[g.id] = g
	ready := map[string]any{
		"v":                  9,
		"user":               s.userJSONLocked(&s.bot),
		"session_id":         g.id,
		"resume_gateway_url": "ws://" + s.ln.Addr().String() + "/ws",
		"guilds":             []map[string]any{{"id": s.guildID, "unavailable": true}},
		"application":        map[string]any{"id": s.appID, "flags": s.appFlagsLocked()},
		"private_channels":   []any{},
	}
	raw, _ := json.Marshal(ready)
	g.events = append(g.events, gwEvent{Seq: 1, Type: "READY", Data: raw})
	s.attachLocked(c, g, 1, 0)
	if intents&intentGuilds != 0 {
		s.appendLocked(g, "GUILD_CREATE", s.guildJSONLocked())
	}
}

// resume reattaches c to session id and replays events after seq. It
// returns false when the session cannot be resumed.
func (s *Server) resume(c *gwConn, id string, seq int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.sessions[id]
	if !ok || g.ended || g.conn != nil || seq > int64(len(g.events)) {
		return false
	}
	s.stats.Resumes++
	s.attachLocked(c, g, seq+1, int64(len(g.events)))
	return true
}

// attachLocked binds c to g; the writer sends g.events from next on, then
// RESUMED after seq resumedAt when resumedAt > 0.
func (s *Server) attachLocked(c *gwConn, g *gwSession, next, resumedAt int64) {
	g.conn = c
	g.ready = true
	c.sess = g
	c.next = next
	c.resumedAt = resumedAt
	if !c.writerUp {
		c.writerUp = true
		s.wg.Add(1)
		go s.writer(c)
	}
	c.poke()
	s.notifyLocked()
}

// writer sends queued dispatches to c in order.
func (s *Server) writer(c *gwConn) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		g := c.sess
		var batch []gwEvent
		var resumed int64 = -1
		if g != nil && g.conn == c {
			if c.next >= 1 && c.next <= int64(len(g.events)) {
				batch = append(batch, g.events[c.next-1:]...)
			}
			if c.resumedAt > 0 {
				resumed = c.resumedAt
			}
		}
		s.mu.Unlock()
		for _, e := range batch {
			seq := e.Seq
			if err := c.write(outFrame{Op: 0, D: e.Data, S: &seq, T: e.Type}); err != nil {
				c.kill()
				return
			}
			s.mu.Lock()
			if c.sess == g {
				c.next = e.Seq + 1
			}
			s.mu.Unlock()
		}
		if resumed >= 0 {
			s.mu.Lock()
			doIt := c.sess == g && c.resumedAt == resumed && c.next > resumed
			if doIt {
				c.resumedAt = 0
			}
			s.mu.Unlock()
			if doIt {
				seq := resumed
				if err := c.write(outFrame{Op: 0, D: map[string]any{}, S: &seq, T: "RESUMED"}); err != nil {
					c.kill()
					return
				}
			}
		}
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
	}
}

// appendLocked adds one dispatch to g and wakes its writer.
func (s *Server) appendLocked(g *gwSession, t string, data json.RawMessage) {
	g.events = append(g.events, gwEvent{Seq: int64(len(g.events)) + 1, Type: t, Data: data})
	if g.conn != nil {
		g.conn.poke()
	}
}

// dispatchLocked sends t to every live or resumable session whose intents
// include need (0: always).
func (s *Server) dispatchLocked(t string, data json.RawMessage, need int) {
	for _, g := range s.sessions {
		if g.ended || (need != 0 && g.intents&need == 0) {
			continue
		}
		s.appendLocked(g, t, data)
	}
}

// dispatchMessageLocked dispatches a message event, honouring the
// GUILD_MESSAGES, DIRECT_MESSAGES and MESSAGE_CONTENT intents.
func (s *Server) dispatchMessageLocked(t string, c *channel, m *Message) {
	full, _ := json.Marshal(s.messageJSONLocked(c, m, true))
	stripped, _ := json.Marshal(s.messageJSONLocked(c, m, false))
	for _, g := range s.sessions {
		if g.ended {
			continue
		}
		data := full
		if c.Type == discordgo.ChannelTypeDM {
			if g.intents&intentDirectMessages == 0 {
				continue
			}
		} else {
			if g.intents&intentGuildMessages == 0 {
				continue
			}
			if g.intents&intentMessageContent == 0 && !m.FromBot {
				data = stripped
			}
		}
		s.appendLocked(g, t, data)
	}
}

// DropGateway cuts every gateway connection without a close frame, as a
// network failure would. Sessions stay resumable.
func (s *Server) DropGateway() {
	s.mu.Lock()
	conns := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.kill()
	}
}

// Reconnect asks every connected client to reconnect (op 7); their
// sessions stay resumable.
func (s *Server) Reconnect() {
	for _, c := range s.attached() {
		_ = c.write(outFrame{Op: 7, D: nil})
	}
}

// InvalidateSession ends every session (op 9, not resumable): clients must
// identify again, and what was dispatched meanwhile is only found through
// REST history.
func (s *Server) InvalidateSession() {
	s.mu.Lock()
	var conns []*gwConn
	for id, g := range s.sessions {
		g.ended = true
		if g.conn != nil {
			conns = append(conns, g.conn)
			g.conn = nil
			g.ready = false
		}
		delete(s.sessions, id)
	}
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.write(outFrame{Op: 9, D: false})
	}
}

func (s *Server) attached() []*gwConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*gwConn
	for _, g := range s.sessions {
		if g.conn != nil {
			out = append(out, g.conn)
		}
	}
	return out
}

// JSON shapes --------------------------------------------------------------

func (s *Server) userJSONLocked(u *User) map[string]any {
	m := map[string]any{"id": u.ID, "username": u.Name, "global_name": u.Name, "discriminator": "0"}
	if u.Bot {
		m["bot"] = true
	}
	return m
}

func (s *Server) channelJSONLocked(c *channel) json.RawMessage {
	m := map[string]any{"id": c.ID, "type": int(c.Type)}
	if c.GuildID != "" {
		m["guild_id"] = c.GuildID
		m["name"] = c.Name
	}
	if c.ParentID != "" {
		m["parent_id"] = c.ParentID
	}
	if c.Peer != "" {
		if u, ok := s.users[c.Peer]; ok {
			m["recipients"] = []any{s.userJSONLocked(u)}
		}
	}
	if n := len(c.Messages); n > 0 {
		m["last_message_id"] = c.Messages[n-1].ID
	}
	raw, _ := json.Marshal(m)
	return raw
}

func (s *Server) guildJSONLocked() json.RawMessage {
	var chans, threads []json.RawMessage
	for _, c := range s.channels {
		switch {
		case c.Type == discordgo.ChannelTypeGuildText:
			chans = append(chans, s.channelJSONLocked(c))
		case c.ParentID != "":
			threads = append(threads, s.channelJSONLocked(c))
		}
	}
	raw, _ := json.Marshal(map[string]any{"id": s.guildID, "name": "City", "channels": chans, "threads": threads, "members": []any{}, "roles": []any{}})
	return raw
}

func (s *Server) messageJSONLocked(c *channel, m *Message, content bool) map[string]any {
	author := s.users[m.AuthorID]
	if author == nil {
		author = &User{ID: m.AuthorID, Name: "unknown"}
	}
	out := map[string]any{
		"id": m.ID, "channel_id": c.ID, "author": s.userJSONLocked(author),
		"content": "", "timestamp": m.Timestamp.Format(time.RFC3339Nano),
		"edited_timestamp": nil, "tts": false, "mention_everyone": false,
		"mentions": []any{}, "mention_roles": []any{}, "attachments": []any{},
		"embeds": []any{}, "pinned": false, "type": 0, "components": []any{},
	}
	if c.GuildID != "" {
		out["guild_id"] = c.GuildID
	}
	if m.Edited != nil {
		out["edited_timestamp"] = m.Edited.Format(time.RFC3339Nano)
	}
	if m.ReplyTo != "" {
		out["type"] = 19
		out["message_reference"] = map[string]any{"message_id": m.ReplyTo, "channel_id": c.ID, "guild_id": c.GuildID}
	}
	if !content {
		return out
	}
	out["content"] = m.Content
	var atts []any
	for i, a := range m.Attachments {
		id := m.ID + strconv.Itoa(i)
		path := "/attachments/" + c.ID + "/" + id + "/" + url.PathEscape(a.Filename)
		att := map[string]any{
			"id": id, "filename": a.Filename, "content_type": a.ContentType, "size": a.Size,
			"url":       "https://cdn.discordapp.invalid" + path,
			"proxy_url": "https://media.discordapp.invalid" + path,
		}
		if a.Data != nil {
			s.files[path] = a.Data
			att["size"], att["url"], att["proxy_url"] = len(a.Data), s.baseURL+path, s.baseURL+path
		}
		atts = append(atts, att)
	}
	if atts != nil {
		out["attachments"] = atts
	}
	var rows []any
	for _, row := range m.Buttons {
		var bs []any
		for _, b := range row {
			bs = append(bs, map[string]any{"type": 2, "style": 1, "label": b.Label, "custom_id": b.CustomID})
		}
		rows = append(rows, map[string]any{"type": 1, "components": bs})
	}
	if rows != nil {
		out["components"] = rows
	}
	return out
}
