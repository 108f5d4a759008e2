// Package answerhold is the part the platform emulators share for
// withholding their answers to the bot's messages (tgemu and dcemu's
// HoldAnswers): the emulator takes a message, and its answer waits until
// the test releases it or the client goes away, as when the network or
// the bot's process dies between the platform taking a message and the
// bot hearing of it. ID is the emulator's own message id type.
package answerhold

import (
	"context"
	"strings"
	"sync"
)

// Holds is an emulator's active hold, if any. The zero value holds
// nothing; it is safe for concurrent use.
type Holds[ID any] struct {
	mu sync.Mutex
	h  *hold[ID]
}

type hold[ID any] struct {
	substr  string
	held    chan ID
	release chan struct{}
}

// Hold withholds the answer to every message whose text holds substr.
// held receives the id of each message held (it is buffered; a slow
// reader misses none of the first 64). Only one hold is active; a new one
// replaces it. release ends it; calling it again does nothing.
func (hs *Holds[ID]) Hold(substr string) (held <-chan ID, release func()) {
	h := &hold[ID]{substr: substr, held: make(chan ID, 64), release: make(chan struct{})}
	hs.mu.Lock()
	hs.h = h
	hs.mu.Unlock()
	var once sync.Once
	return h.held, func() {
		once.Do(func() {
			hs.mu.Lock()
			if hs.h == h {
				hs.h = nil
			}
			hs.mu.Unlock()
			close(h.release)
		})
	}
}

// Active reports whether a hold is active.
func (hs *Holds[ID]) Active() bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.h != nil
}

// Wait blocks, when text matches the active hold, until the hold is
// released (then it reports true) or ctx ends (false: the client went
// away, nothing is to be answered). With no matching hold it returns
// true at once.
func (hs *Holds[ID]) Wait(ctx context.Context, text string, id ID) bool {
	hs.mu.Lock()
	h := hs.h
	hs.mu.Unlock()
	if h == nil || !strings.Contains(text, h.substr) {
		return true
	}
	select {
	case h.held <- id:
	default:
	}
	select {
	case <-h.release:
		return true
	case <-ctx.Done():
		return false
	}
}
