package grouping

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxTextBytes bounds how much of one text grouping reads, so that a huge
// message costs no more than a long one.
const maxTextBytes = 2 << 10

// fold lower-cases s, strips accents and turns every run of characters
// that are neither letters nor digits into one space, with a space at
// each end: " rue de la republique n 18 ". Invalid UTF-8 is read as
// spaces. The result is safe to search for " word " with strings.Contains.
func fold(s string) string {
	if len(s) > maxTextBytes {
		s = s[:maxTextBytes]
		for len(s) > 0 && !utf8.RuneStart(s[len(s)-1]) {
			s = s[:len(s)-1]
		}
		if len(s) > 0 {
			s = s[:len(s)-1] // a cut rune's lead byte
		}
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(' ')
	space := true
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		s = norm.NFD.String(strings.ToValidUTF8(s, " "))
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'ß':
			b.WriteString("ss")
			space = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
			space = false
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	if !space {
		b.WriteByte(' ')
	}
	return b.String()
}

// words splits a folded text into its words.
func words(folded string) []string { return strings.Fields(folded) }

// contains reports whether the folded text holds the folded phrase as
// whole words.
func contains(folded, phrase string) bool {
	return phrase != "" && strings.Contains(folded, phrase)
}

// numbers are the numbers of one to four digits in a folded text: house
// numbers, bus lines, floors.
func numbers(folded string) []string {
	var out []string
	for _, w := range words(folded) {
		if len(w) > 4 {
			continue
		}
		all := true
		for i := 0; i < len(w); i++ {
			if w[i] < '0' || w[i] > '9' {
				all = false
				break
			}
		}
		if all {
			out = appendNew(out, w)
		}
	}
	return out
}

// trigrams counts the character trigrams of a folded text's words (with
// the spaces around them), as a sparse vector.
type trigrams map[string]int

func newTrigrams(folded string) trigrams {
	t := trigrams{}
	for i := 0; i+3 <= len(folded); i++ {
		g := folded[i : i+3]
		if g[1] == ' ' { // a gram across two words says nothing
			continue
		}
		t[g]++
	}
	return t
}

// cosine is the cosine similarity of two trigram vectors, in [0,1].
func cosine(a, b trigrams) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	var dot, na, nb float64
	for g, x := range a {
		na += float64(x * x)
		if y, ok := b[g]; ok {
			dot += float64(x * y)
		}
	}
	for _, y := range b {
		nb += float64(y * y)
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
