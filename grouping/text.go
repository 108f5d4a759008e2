package grouping

import (
	"math"
	"slices"
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

// trigrams are the character trigrams of a folded text's words (with
// the spaces around them), each packed in a uint32, sorted: a sparse
// count vector without a map.
type trigrams []uint32

func newTrigrams(folded string) trigrams {
	t := make(trigrams, 0, len(folded))
	for i := 0; i+3 <= len(folded); i++ {
		if folded[i+1] == ' ' { // a gram across two words says nothing
			continue
		}
		t = append(t, uint32(folded[i])<<16|uint32(folded[i+1])<<8|uint32(folded[i+2]))
	}
	slices.Sort(t)
	return t
}

// norm2 is the squared length of the count vector.
func (t trigrams) norm2() float64 {
	var n float64
	for i := 0; i < len(t); {
		j := i
		for j < len(t) && t[j] == t[i] {
			j++
		}
		n += float64((j - i) * (j - i))
		i = j
	}
	return n
}

// cosine is the cosine similarity of two trigram vectors, in [0,1].
func cosine(a, b trigrams) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	var dot float64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			g := a[i]
			ca, cb := 0, 0
			for i < len(a) && a[i] == g {
				i, ca = i+1, ca+1
			}
			for j < len(b) && b[j] == g {
				j, cb = j+1, cb+1
			}
			dot += float64(ca * cb)
		}
	}
	return dot / math.Sqrt(a.norm2()*b.norm2())
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
