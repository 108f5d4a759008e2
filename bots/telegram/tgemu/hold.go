package tgemu

import (
	"net/http"
	"strings"
	"sync"
)

// hold withholds the answers to the bot's messages that match, once the
// emulator took them (see Server.HoldAnswers).
type hold struct {
	substr  string
	held    chan int
	release chan struct{}
}

// HoldAnswers withholds the answer to every sendMessage whose text holds
// substr, after the emulator took the message (stored it, counted it):
// the call waits until release is called or the client goes away, as
// when the network or the bot's process dies between Telegram taking a
// message and the bot hearing of it. held receives the message id of each
// message held (it is buffered; a slow reader misses none of the first
// 64). Only one hold is active; a new one replaces it.
func (s *Server) HoldAnswers(substr string) (held <-chan int, release func()) {
	h := &hold{substr: substr, held: make(chan int, 64), release: make(chan struct{})}
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

// holdAnswer waits, when the answer of a successful call is a message that
// matches the active hold, for its release; it reports false when the
// client went away meanwhile (nothing is to be written).
func (s *Server) holdAnswer(r *http.Request, method string, result any) bool {
	if method != "sendMessage" {
		return true
	}
	s.holdMu.Lock()
	h := s.hold
	s.holdMu.Unlock()
	m, ok := result.(apiMessage)
	if h == nil || !ok || !strings.Contains(m.Text, h.substr) {
		return true
	}
	select {
	case h.held <- m.MessageID:
	default:
	}
	select {
	case <-h.release:
		return true
	case <-r.Context().Done():
		return false
	}
}
