package responder

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"citybot"
)

// Split cuts text into parts of at most max runes each, preferring to cut
// after a newline, then after a space, in the last fifth of a part. Parts
// keep every rune of text in order (joining them gives text back). max <= 0
// returns text whole. Empty text gives one empty part.
func Split(text string, max int) []string {
	if max <= 0 || utf8.RuneCountInString(text) <= max {
		return []string{text}
	}
	var parts []string
	for utf8.RuneCountInString(text) > max {
		// Byte offset just after the max-th rune.
		end, n := 0, 0
		for i := range text {
			if n == max {
				end = i
				break
			}
			n++
		}
		cut := end
		chunk := text[:end]
		floor := len(chunk) - len(chunk)/5
		if i := strings.LastIndexByte(chunk, '\n'); i >= 0 && i+1 >= floor {
			cut = i + 1
		} else if i := strings.LastIndexFunc(chunk, unicode.IsSpace); i >= 0 && i+1 >= floor {
			_, size := utf8.DecodeRuneInString(chunk[i:])
			cut = i + size
		}
		parts = append(parts, text[:cut])
		text = text[cut:]
	}
	return append(parts, text)
}

// SplitItem turns one outbox row into as many rows as its text needs
// within max runes, keyed KEY#1, KEY#2 … in order. Only the first part
// keeps the reply-to; only the last keeps the buttons.
func SplitItem(it citybot.OutboxItem, max int) []citybot.OutboxItem {
	parts := Split(it.Out.Text, max)
	out := make([]citybot.OutboxItem, len(parts))
	base := it.Out.Key
	for i, p := range parts {
		part := it
		part.Out.Key = fmt.Sprintf("%s#%d", base, i+1)
		part.Out.Text = p
		if i > 0 {
			part.Out.ReplyTo = ""
		}
		if i < len(parts)-1 {
			part.Out.Buttons = nil
		}
		out[i] = part
	}
	return out
}
