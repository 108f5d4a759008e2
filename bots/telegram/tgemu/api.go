package tgemu

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"citybot/bots/telegram/internal/ratelimit"
)

const (
	maxRequestBody = 16 << 20
	maxTextUnits   = 4096 // UTF-16 code units, as Telegram counts
	maxPollTimeout = 50 * time.Second
)

// apiError is a Bot API error answer.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func (e *apiError) Error() string { return e.desc }

func badRequest(desc string) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + desc}
}

func (s *Server) serveRoot(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/bot"):
		s.serveAPI(w, r)
	case strings.HasPrefix(r.URL.Path, "/file/bot"):
		s.serveFile(w, r)
	case r.URL.Path == "/":
		http.Redirect(w, r, "/sandbox", http.StatusSeeOther)
	default:
		http.NotFound(w, r)
	}
}

// params reads the request's parameters: the URL query, then a
// form-encoded, multipart or JSON body.
func params(r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxRequestBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			return nil, err
		}
		v := r.URL.Query()
		for k, x := range m {
			switch x := x.(type) {
			case string:
				v.Set(k, x)
			default:
				b, _ := json.Marshal(x)
				v.Set(k, string(b))
			}
		}
		return v, nil
	case "multipart/form-data":
		if err := r.ParseMultipartForm(maxRequestBody); err != nil {
			return nil, err
		}
		return withFiles(r.Form, r.MultipartForm), nil
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.Form, nil
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/bot")
	i := strings.LastIndex(rest, "/")
	if i < 0 {
		writeJSON(w, http.StatusNotFound, apiResponse{ErrorCode: 404, Description: "Not Found"})
		return
	}
	token, method := rest[:i], rest[i+1:]
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, apiResponse{ErrorCode: 401, Description: "Unauthorized"})
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeJSON(w, http.StatusMethodNotAllowed, apiResponse{ErrorCode: 405, Description: "Method Not Allowed"})
		return
	}
	if f := s.fault(method); f != 0 {
		switch f {
		case http.StatusTooManyRequests:
			ra := s.faultRetryAfter()
			writeJSON(w, f, apiResponse{ErrorCode: f, Description: fmt.Sprintf("Too Many Requests: retry after %d", ra),
				Parameters: &responseParams{RetryAfter: ra}})
		case http.StatusBadGateway:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f)
			_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"))
		default:
			writeJSON(w, f, apiResponse{ErrorCode: f, Description: "Internal Server Error"})
		}
		return
	}
	p, err := params(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiResponse{ErrorCode: 413, Description: "Request Entity Too Large"})
			return
		}
		writeJSON(w, http.StatusBadRequest, apiResponse{ErrorCode: 400, Description: "Bad Request: " + err.Error()})
		return
	}
	result, err := s.call(r.Context(), method, p)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{code: 500, desc: "Internal Server Error"}
		}
		resp := apiResponse{ErrorCode: ae.code, Description: ae.desc}
		if ae.retryAfter > 0 {
			resp.Parameters = &responseParams{RetryAfter: ae.retryAfter}
		}
		writeJSON(w, ae.code, resp)
		return
	}
	if !s.holdAnswer(r, method, result) {
		return
	}
	writeJSON(w, http.StatusOK, apiResponse{OK: true, Result: result})
}

// fault counts the call and draws whether to fail it: 0, 429, 500 or 502.
func (s *Server) fault(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case "getMe", "getUpdates", "sendMessage", "sendPhoto", "sendDocument", "editMessageText", "answerCallbackQuery", "setWebhook",
		"deleteWebhook", "getWebhookInfo", "sendChatAction", "deleteMessage", "logOut", "close", "getFile":
		s.stats.Calls[method]++
	default:
		s.stats.Calls["unknown"]++ // bounded: a client cannot grow the map
	}
	f := s.faults
	if f.RateLimitShare+f.ServerErrorShare+f.BadGatewayShare <= 0 {
		return 0
	}
	if len(f.Methods) == 0 {
		if method == "getMe" {
			return 0
		}
	} else if !slices.Contains(f.Methods, method) {
		return 0
	}
	x := s.rng.Float64()
	code := 0
	switch {
	case x < f.RateLimitShare:
		code = http.StatusTooManyRequests
	case x < f.RateLimitShare+f.ServerErrorShare:
		code = http.StatusInternalServerError
	case x < f.RateLimitShare+f.ServerErrorShare+f.BadGatewayShare:
		code = http.StatusBadGateway
	}
	if code != 0 {
		s.stats.InjectedFaults++
		s.notifyLocked()
	}
	return code
}

func (s *Server) faultRetryAfter() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.RetryAfter
}

func (s *Server) call(ctx context.Context, method string, p url.Values) (any, error) {
	switch method {
	case "getMe":
		return s.me(), nil
	case "getFile":
		return s.getFile(p)
	case "getUpdates":
		return s.getUpdates(ctx, p)
	case "sendMessage":
		return s.sendMessage(p)
	case "sendPhoto":
		return s.sendPhoto(p)
	case "sendDocument":
		return s.sendDocument(p)
	case "editMessageText":
		return s.editMessageText(p)
	case "answerCallbackQuery":
		return s.answerCallbackQuery(p)
	case "setWebhook":
		return s.setWebhook(p)
	case "deleteWebhook":
		return s.deleteWebhook(p)
	case "getWebhookInfo":
		return s.getWebhookInfo(), nil
	case "sendChatAction", "deleteMessage", "logOut", "close":
		return true, nil
	default:
		return nil, &apiError{code: http.StatusNotFound, desc: "Not Found"}
	}
}

// jsonField decodes an optional JSON-valued form field. Absent, empty and
// the literal null all leave v untouched.
func jsonField(p url.Values, key string, v any) error {
	raw := strings.TrimSpace(p.Get(key))
	if raw == "" || raw == "null" {
		return nil
	}
	return json.Unmarshal([]byte(raw), v)
}

func intField(p url.Values, key string) (int64, error) {
	raw := strings.TrimSpace(p.Get(key))
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, badRequest(fmt.Sprintf("invalid %s", key))
	}
	return n, nil
}

func boolField(p url.Values, key string) bool {
	b, _ := strconv.ParseBool(p.Get(key))
	return b
}

func (s *Server) getUpdates(ctx context.Context, p url.Values) (any, error) {
	offset, err := intField(p, "offset")
	if err != nil {
		return nil, err
	}
	limit, err := intField(p, "limit")
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, err := intField(p, "timeout")
	if err != nil {
		return nil, err
	}
	var allowed []string
	if err := jsonField(p, "allowed_updates", &allowed); err != nil {
		return nil, badRequest("can't parse allowed_updates JSON array")
	}
	wait := min(time.Duration(max(timeout, 0))*time.Second, maxPollTimeout)
	timer := time.NewTimer(wait)
	defer timer.Stop()

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hook.url != "" {
		return nil, &apiError{code: http.StatusConflict, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	s.pollGen++
	gen := s.pollGen
	s.notifyLocked() // wakes an older poll, which then answers 409
	switch {
	case offset > 0:
		s.confirmLocked(int(offset))
	case offset < 0:
		if keep := int(-offset); keep < len(s.pending) {
			s.pending = append(s.pending[:0:0], s.pending[len(s.pending)-keep:]...)
		}
		if len(s.pending) > 0 {
			offset = int64(s.pending[0].ID)
		}
	}
	for {
		out := make([]update, 0)
		for _, u := range s.pending {
			if int64(u.ID) < offset || (len(allowed) > 0 && !slices.Contains(allowed, u.Kind)) {
				continue
			}
			out = append(out, u)
			if len(out) == int(limit) {
				break
			}
		}
		if len(out) > 0 || wait == 0 {
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		var expired bool
		select {
		case <-ch:
		case <-timer.C:
			expired = true
		case <-ctx.Done():
			expired = true
		case <-s.stop:
			expired = true
		}
		s.mu.Lock()
		if s.pollGen != gen {
			return nil, &apiError{code: http.StatusConflict, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		if s.hook.url != "" {
			return []update{}, nil
		}
		if expired {
			return []update{}, nil
		}
	}
}

// confirmLocked forgets every update with an id below offset.
func (s *Server) confirmLocked(offset int) {
	i := 0
	for i < len(s.pending) && s.pending[i].ID < offset {
		i++
	}
	if i > 0 {
		s.pending = append(s.pending[:0:0], s.pending[i:]...)
		s.notifyLocked()
	}
}

// chatID reads chat_id: a number, or an @username the emulator does not
// know.
func (s *Server) chatIDLocked(p url.Values) (*chat, error) {
	raw := strings.TrimSpace(p.Get("chat_id"))
	if raw == "" {
		return nil, badRequest("chat_id is empty")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	c := s.chats[id]
	if c == nil {
		return nil, badRequest("chat not found")
	}
	return c, nil
}

func buttonDataOK(d string) bool { return len(d) >= 1 && len(d) <= 64 }

func parseKeyboard(p url.Values) (*apiKeyboard, [][]Button, error) {
	var kb apiKeyboard
	raw := strings.TrimSpace(p.Get("reply_markup"))
	if raw == "" || raw == "null" {
		return nil, nil, nil
	}
	if err := json.Unmarshal([]byte(raw), &kb); err != nil {
		return nil, nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if kb.InlineKeyboard == nil {
		// A reply keyboard or force_reply: accepted, not modelled.
		return nil, nil, nil
	}
	var rows [][]Button
	for _, row := range kb.InlineKeyboard {
		var r []Button
		for _, b := range row {
			if b.Text == "" {
				return nil, nil, badRequest("text buttons are unallowed in the inline keyboard")
			}
			if b.URL == "" && !buttonDataOK(b.CallbackData) {
				return nil, nil, badRequest("BUTTON_DATA_INVALID")
			}
			r = append(r, Button{Text: b.Text, Data: b.CallbackData})
		}
		rows = append(rows, r)
	}
	return &kb, rows, nil
}

// textMentions checks the entities a bot sent with a text as Telegram
// does (inside the text, in UTF-16 units; a text_mention names a user by
// id) and returns its text mentions.
func textMentions(text string, entities []apiEntity) ([]Mention, error) {
	units := len(utf16.Encode([]rune(text)))
	var out []Mention
	for _, e := range entities {
		if e.Offset < 0 || e.Length <= 0 || e.Offset+e.Length > units {
			return nil, badRequest("can't parse entities: entity beyond the end of the text")
		}
		if e.Type != "text_mention" {
			continue
		}
		if e.User == nil || e.User.ID <= 0 {
			return nil, badRequest("can't parse entities: text_mention without a user")
		}
		out = append(out, Mention{User: e.User.ID, Offset: e.Offset, Length: e.Length})
	}
	return out, nil
}

func checkText(text string) error {
	if strings.TrimSpace(text) == "" {
		return badRequest("message text is empty")
	}
	if !utf8.ValidString(text) {
		return badRequest("text must be encoded in UTF-8")
	}
	if len(utf16.Encode([]rune(text))) > maxTextUnits {
		return badRequest("message is too long")
	}
	return nil
}

// rateLocked enforces the sending limits for one send to c.
func (s *Server) rateLocked(c *chat) error {
	l := s.limits
	if l.Disabled {
		return nil
	}
	shorten := func(r ratelimit.Rule) ratelimit.Rule {
		if r.Window > l.Tolerance {
			r.Window -= l.Tolerance
		}
		return r
	}
	key := strconv.FormatInt(c.api.ID, 10)
	checks := []ratelimit.Check{
		{Key: "chat:" + key, Rule: shorten(l.PerChat)},
		{Key: "global", Rule: shorten(l.Global)},
	}
	if c.api.Type != "private" {
		checks = append(checks, ratelimit.Check{Key: "group:" + key, Rule: shorten(l.PerGroup)})
	}
	wait, ok := s.limiter.Reserve(s.now(), checks...)
	if ok {
		return nil
	}
	s.stats.RateLimited++
	s.notifyLocked()
	ra := int(math.Ceil(wait.Seconds()))
	return &apiError{code: http.StatusTooManyRequests, desc: fmt.Sprintf("Too Many Requests: retry after %d", ra), retryAfter: ra}
}

func (s *Server) sendMessage(p url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.chatIDLocked(p)
	if err != nil {
		return nil, err
	}
	text := p.Get("text")
	if err := checkText(text); err != nil {
		return nil, err
	}
	var entities []apiEntity
	if err := jsonField(p, "entities", &entities); err != nil {
		return nil, badRequest("can't parse entities JSON object")
	}
	mentions, err := textMentions(text, entities)
	if err != nil {
		return nil, err
	}
	switch pm := p.Get("parse_mode"); pm {
	case "", "HTML", "Markdown", "MarkdownV2":
	default:
		return nil, badRequest("unsupported parse_mode")
	}
	kb, rows, err := parseKeyboard(p)
	if err != nil {
		return nil, err
	}
	replyTo, err := intField(p, "reply_to_message_id")
	if err != nil {
		return nil, err
	}
	if replyTo != 0 && c.find(int(replyTo)) == nil && (replyTo < 0 || int(replyTo) > c.lastMsg) {
		if !boolField(p, "allow_sending_without_reply") {
			return nil, badRequest("replied message not found")
		}
		replyTo = 0
	}
	if c.blocked {
		return nil, &apiError{code: http.StatusForbidden, desc: "Forbidden: bot was blocked by the user"}
	}
	if err := s.rateLocked(c); err != nil {
		return nil, err
	}
	now := s.now()
	c.lastMsg++
	m := SentMessage{Chat: c.api.ID, MessageID: c.lastMsg, Text: text, ParseMode: p.Get("parse_mode"),
		ReplyTo: int(replyTo), Buttons: rows, At: now, Mentions: mentions}
	s.sent = append(s.sent, m)
	if over := len(s.sent) - s.max.sent; over > 0 {
		s.sent = append(s.sent[:0:0], s.sent[over:]...)
	}
	e := Entry{MessageID: m.MessageID, FromBot: true, From: s.bot, Text: text, ReplyTo: m.ReplyTo, Buttons: rows, At: now}
	c.record(e, s.max.transcript)
	s.notifyLocked()
	out := s.apiMessageLocked(c, e)
	out.ReplyMarkup = kb
	return out, nil
}

func (s *Server) editMessageText(p url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.Get("inline_message_id") != "" {
		return nil, badRequest("message to edit not found")
	}
	c, err := s.chatIDLocked(p)
	if err != nil {
		return nil, err
	}
	id, err := intField(p, "message_id")
	if err != nil {
		return nil, err
	}
	text := p.Get("text")
	if err := checkText(text); err != nil {
		return nil, err
	}
	kb, rows, err := parseKeyboard(p)
	if err != nil {
		return nil, err
	}
	e := c.find(int(id))
	if e == nil || !e.FromBot {
		return nil, badRequest("message to edit not found")
	}
	if e.Text == text && buttonsEqual(e.Buttons, rows) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	if err := s.rateLocked(c); err != nil {
		return nil, err
	}
	e.Text, e.Buttons, e.Edited = text, rows, true
	for i := len(s.sent) - 1; i >= 0; i-- {
		if s.sent[i].Chat == c.api.ID && s.sent[i].MessageID == int(id) {
			s.sent[i].Text, s.sent[i].Buttons = text, rows
			s.sent[i].Edits++
			break
		}
	}
	s.notifyLocked()
	out := s.apiMessageLocked(c, *e)
	out.EditDate = s.now().Unix()
	out.ReplyMarkup = kb
	return out, nil
}

func buttonsEqual(a, b [][]Button) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func (s *Server) answerCallbackQuery(p url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.Get("callback_query_id")
	cb := s.callbacks[id]
	if cb == nil || cb.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	cb.answered = true
	a := CallbackAnswer{QueryID: id, Chat: cb.chat, Text: p.Get("text"), At: s.now()}
	s.answers = append(s.answers, a)
	if over := len(s.answers) - s.max.sent; over > 0 {
		s.answers = append(s.answers[:0:0], s.answers[over:]...)
	}
	if c := s.chats[cb.chat]; c != nil && a.Text != "" {
		c.record(Entry{FromBot: true, From: s.bot, Text: a.Text, Toast: true, At: a.At}, s.max.transcript)
	}
	s.notifyLocked()
	return true, nil
}

var secretTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(p url.Values) (any, error) {
	u := strings.TrimSpace(p.Get("url"))
	secret := p.Get("secret_token")
	if secret != "" && !secretTokenRE.MatchString(secret) {
		return nil, badRequest("secret token contains unallowed characters")
	}
	var allowed []string
	if err := jsonField(p, "allowed_updates", &allowed); err != nil {
		return nil, badRequest("can't parse allowed_updates JSON array")
	}
	if u != "" {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, badRequest("bad webhook: invalid URL")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if boolField(p, "drop_pending_updates") {
		s.pending = nil
	}
	s.hook.gen++
	s.hook.url, s.hook.secret, s.hook.allowed = u, secret, allowed
	s.hook.lastErr, s.hook.lastAt = "", 0
	stopped := s.stopCtx.Err() != nil
	if u != "" && !s.hook.running && !stopped {
		s.hook.running = true
		s.wg.Add(1)
		go s.deliver()
	}
	s.notifyLocked()
	return true, nil
}

func (s *Server) deleteWebhook(p url.Values) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if boolField(p, "drop_pending_updates") {
		s.pending = nil
	}
	s.hook.gen++
	s.hook.url, s.hook.secret, s.hook.allowed = "", "", nil
	s.notifyLocked()
	return true, nil
}

func (s *Server) getWebhookInfo() webhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return webhookInfo{URL: s.hook.url, PendingUpdateCount: len(s.pending), LastErrorDate: s.hook.lastAt,
		LastErrorMessage: s.hook.lastErr, MaxConnections: 40, AllowedUpdates: s.hook.allowed}
}

// getFile answers the Bot API's getFile for a file whose content a test
// gave (Incoming.MediaData): its path under /file/bot<token>/.
func (s *Server) getFile(p url.Values) (any, error) {
	id := p.Get("file_id")
	s.mu.Lock()
	data, ok := s.files[id]
	s.mu.Unlock()
	if !ok {
		return nil, badRequest("invalid file_id")
	}
	return map[string]any{"file_id": id, "file_unique_id": "u" + id, "file_size": len(data), "file_path": "files/" + id}, nil
}

// serveFile serves a file's content at /file/bot<token>/files/<file_id>,
// as Telegram's file server does.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/file/bot")
	token, path, ok := strings.Cut(rest, "/")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1 {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	id, ok := strings.CutPrefix(path, "files/")
	s.mu.Lock()
	data, found := s.files[id]
	s.mu.Unlock()
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}
