package citybot

import "unicode/utf16"

// UTF16Len returns the length of s in UTF-16 code units, the unit in which
// Telegram and Discord count a message's text (bots.Limits.MaxText): a
// rune outside the Basic Multilingual Plane (most emoji) counts 2, any
// other rune 1. Each byte of invalid UTF-8 counts 1, as the U+FFFD an
// adapter replaces it with.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if utf16.RuneLen(r) == 2 {
			n += 2
		} else {
			n++
		}
	}
	return n
}
