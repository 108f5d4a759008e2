package dcemu

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// HoldAnswers withholds the answer to every message the bot posts whose
// content holds substr, after the emulator took it (stored it, counted
// it): the call waits until release is called or the client goes away,
// as when the network or the bot's process dies between Discord taking a
// message and the bot hearing of it. held receives the id of each
// message held (it is buffered; a slow reader misses none of the first
// 64). Only one hold is active; a new one replaces it.
func (s *Server) HoldAnswers(substr string) (held <-chan string, release func()) {
	return s.holds.Hold(substr)
}

// holding wraps a handler of the bot's posts: a successful answer about
// a message that matches the active hold waits for its release.
func (s *Server) holding(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.holds.Active() {
			next(w, r)
			return
		}
		rec := &recorder{header: http.Header{}, code: http.StatusOK}
		next(rec, r)
		var m struct {
			ID      string `json:"id"`
			Content string `json:"content"`
		}
		if rec.code == http.StatusOK && json.Unmarshal(rec.body.Bytes(), &m) == nil && !s.holds.Wait(r.Context(), m.Content, m.ID) {
			return
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
