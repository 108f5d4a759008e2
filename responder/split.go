package responder

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"citybot"
)

// Split cuts text into parts of at most max UTF-16 code units each (the
// unit of bots.Limits.MaxText: what Telegram and Discord count). It never
// cuts inside a rune, so never between the two halves of a surrogate
// pair, and avoids cutting before a combining mark, a variation selector
// or an emoji modifier, or after a zero-width joiner, so that a character
// drawn from several runes stays whole, nor inside a flag (a pair of
// regional indicators). It prefers to cut after a blank
// line in the second half of a part, then after a newline or a sentence's
// end in its last third, then after a space in its last fifth; otherwise
// it cuts at max. Parts keep every rune of text in order (joining them
// gives text back). max <= 0 returns text whole; empty text gives one
// empty part. A part exceeds max only when max is smaller than one rune
// (max 1 and an emoji): it then holds that one rune.
func Split(text string, max int) []string {
	if max <= 0 || citybot.UTF16Len(text) <= max {
		return []string{text}
	}
	var parts []string
	for text != "" && citybot.UTF16Len(text) > max {
		cut := cutPoint(text, max)
		parts = append(parts, text[:cut])
		text = text[cut:]
	}
	if text != "" {
		parts = append(parts, text)
	}
	return parts
}

// cutPoint returns the byte offset at which to end the next part of text,
// which is longer than max units; it is always > 0.
func cutPoint(text string, max int) int {
	// end: byte offset just after the last rune that fits in max units.
	end, units := 0, 0
	for i, r := range text {
		w := 1
		if utf16.RuneLen(r) == 2 {
			w = 2
		}
		if units+w > max {
			end = i
			break
		}
		units += w
	}
	if end == 0 {
		// max is smaller than the first rune: take it alone.
		_, size := utf8.DecodeRuneInString(text)
		return size
	}
	chunk := text[:end]
	// Preferred boundaries, best first, each searched in the end of the
	// chunk only, so that a part is not much shorter than it could be.
	if i := strings.LastIndex(chunk, "\n\n"); i >= 0 && i+2 >= len(chunk)/2 {
		return i + 2
	}
	third := len(chunk) - len(chunk)/3
	if i := strings.LastIndexByte(chunk, '\n'); i >= 0 && i+1 >= third {
		return i + 1
	}
	if i := lastSentenceEnd(chunk); i >= third {
		return i
	}
	fifth := len(chunk) - len(chunk)/5
	if i := strings.LastIndexFunc(chunk, unicode.IsSpace); i >= 0 {
		_, size := utf8.DecodeRuneInString(chunk[i:])
		if i+size >= fifth {
			return i + size
		}
	}
	return graphemeSafe(text, end)
}

// lastSentenceEnd returns the byte offset just after the space that
// follows the chunk's last sentence end (". ", "! ", "? ", "… "), or -1.
func lastSentenceEnd(chunk string) int {
	for i := len(chunk); i > 0; {
		r, size := utf8.DecodeLastRuneInString(chunk[:i])
		i -= size
		if !unicode.IsSpace(r) || i == 0 {
			continue
		}
		p, _ := utf8.DecodeLastRuneInString(chunk[:i])
		switch p {
		case '.', '!', '?', '…', '。', '！', '？':
			return i + size
		}
	}
	return -1
}

// graphemeSafe moves a cut at byte offset end of text back so that it does
// not separate a rune from the marks that modify it; when that would leave
// nothing (a run of marks longer than a part), it keeps end.
func graphemeSafe(text string, end int) int {
	for cut := end; cut > 0; {
		next, _ := utf8.DecodeRuneInString(text[cut:])
		prev, size := utf8.DecodeLastRuneInString(text[:cut])
		if !extends(next) && prev != '\u200d' && !(isRegional(prev) && isRegional(next) && oddRegionals(text[:cut])) {
			return cut
		}
		cut -= size
	}
	return end
}

// isRegional reports whether r is a regional indicator: two of them make
// a flag.
func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// oddRegionals reports whether s ends with an odd run of regional
// indicators: a cut there would split a flag.
func oddRegionals(s string) bool {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegional(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n%2 == 1
}

// extends reports whether r attaches to the rune before it: a combining
// mark, a variation selector (both category M), a zero-width joiner or an
// emoji skin-tone modifier.
func extends(r rune) bool {
	return unicode.Is(unicode.M, r) || r == '\u200d' || (r >= 0x1F3FB && r <= 0x1F3FF)
}

// SplitItem turns one outbox row into as many rows as its text needs
// within max UTF-16 code units (see Split), keyed KEY#1, KEY#2 … in
// order. Only the first part keeps the reply-to; only the last keeps the
// buttons.
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
