package dcemu

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// hold withholds the answers to the bot's posts that match, once Discord
// took them (see Server.HoldAnswers).
type hold struct {
	mu      sync.Mutex
	substr  string
	held    chan string
	release chan struct{}
}

// HoldAnswers withholds the answer to every message the bot posts whose
// content holds substr, after the emulator took it (stored it, counted
// it): the call waits until release is called or the client goes away,
// as when the network or the bot's process dies between Discord taking a
// message and the bot hearing of it. held receives the id of each
// message held (it is buffered; a slow reader misses none of the first
// 64). Only one hold is active; a new one replaces it.
func (s *Server) HoldAnswers(substr string) (held <-chan string, release func()) {
	h := &hold{substr: substr, held: make(chan string, 64), release: make(chan struct{})}
	s.holdMu.Lock()
	s.hold = h
	s.holdMu.Unlock()
	var once sync.Once
	return h.held, func() {
		once.Do(func() {
			s.holdMu.Lock()
			if s.hold == h {
				s.hold = nil
			}
			s.holdMu.Unlock()
			close(h.release)
		})
	}
}

// holding wraps a handler of the bot's posts: a successful answer about
// a message that matches the active hold waits for its release.
func (s *Server) holding(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.holdMu.Lock()
		h := s.hold
		s.holdMu.Unlock()
		if h == nil {
			next(w, r)
			return
		}
		rec := &recorder{header: http.Header{}, code: http.StatusOK}
		next(rec, r)
		var m struct {
			ID      string `json:"id"`
			Content string `json:"content"`
		}
		if rec.code == http.StatusOK && json.Unmarshal(rec.body.Bytes(), &m) == nil && strings.Contains(m.Content, h.substr) {
			select {
			case h.held <- m.ID:
			default:
			}
			select {
			case <-h.release:
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.code)
		_, _ = w.Write(rec.body.Bytes())
	}
}

// recorder keeps a handler's answer.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
