package tgemu

import "net/http"

// HoldAnswers withholds the answer to every sendMessage whose text holds
// substr, after the emulator took the message (stored it, counted it):
// the call waits until release is called or the client goes away, as
// when the network or the bot's process dies between Telegram taking a
// message and the bot hearing of it. held receives the message id of each
// message held (it is buffered; a slow reader misses none of the first
// 64). Only one hold is active; a new one replaces it.
func (s *Server) HoldAnswers(substr string) (held <-chan int, release func()) {
	return s.holds.Hold(substr)
}

// holdAnswer waits, when the answer of a successful call is a message that
// matches the active hold, for its release; it reports false when the
// client went away meanwhile (nothing is to be written).
func (s *Server) holdAnswer(r *http.Request, method string, result any) bool {
	if method != "sendMessage" {
		return true
	}
	m, ok := result.(apiMessage)
	if !ok {
		return true
	}
	return s.holds.Wait(r.Context(), m.Text, m.MessageID)
}
