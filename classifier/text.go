package classifier

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one word of a message: a run of letters and digits. Apostrophes,
// hyphens, punctuation, spaces, symbols, invalid bytes and HTML tags
// separate tokens.
type token struct {
	start, end int    // byte offsets in the text; on rune boundaries
	norm       string // lower case, accents folded
	stem       string // norm without a plural s or x
	capital    bool   // first rune is upper case
	allCaps    bool   // every letter is upper case (and there are ≥ 2)
	sentStart  bool   // first token of a sentence
	letters    int    // number of letter runes
	digits     int    // number of digit runes
	latin      bool   // every letter is Latin script
}

// prefix returns the longest prefix of s of at most n bytes that does not
// cut a rune in two.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// tokenize splits text into tokens. It appends to toks (which may be nil)
// and returns it with the number of letters that are not Latin script.
func tokenize(text string, toks []token) ([]token, int) {
	nonLatin := 0
	sentStart := true
	var b strings.Builder
	i := 0
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == '<' && i+1 < len(text) && (isASCIILetter(text[i+1]) || text[i+1] == '/' || text[i+1] == '!') {
			// Skip an HTML tag: its name and attributes are not words;
			// neither is the content of a script or style element.
			if j := strings.IndexByte(text[i:], '>'); j > 0 && j < 2048 {
				tag := strings.ToLower(text[i+1 : i+1+min(j-1, 6)])
				i += j + 1
				for _, el := range []string{"script", "style"} {
					if strings.HasPrefix(tag, el) {
						i = closingTag(text, i, el)
					}
				}
				continue
			}
		}
		if r == utf8.RuneError && size <= 1 || !isWordRune(r) {
			switch r {
			case '.', '!', '?', '\n', ';':
				sentStart = true
			}
			i += size
			continue
		}
		// A word starts at i.
		tok := token{start: i, sentStart: sentStart, latin: true}
		sentStart = false
		b.Reset()
		upper := 0
		first := true
		for i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && size <= 1 || !isWordRune(r) {
				break
			}
			if unicode.IsLetter(r) {
				tok.letters++
				if unicode.IsUpper(r) {
					upper++
					if first {
						tok.capital = true
					}
				}
				if r >= 0x250 && !unicode.Is(unicode.Latin, r) {
					tok.latin = false
					nonLatin++
				}
			} else if unicode.IsDigit(r) {
				tok.digits++
			}
			first = false
			foldRune(&b, r)
			i += size
		}
		tok.end = i
		tok.allCaps = upper >= 2 && upper == tok.letters
		tok.norm = b.String()
		tok.stem = stem(tok.norm)
		toks = append(toks, tok)
	}
	return toks, nonLatin
}

// closingTag returns the offset of the "</el" that closes an element whose
// content starts at i, or len(text) when it is never closed (as browsers
// do). It runs in time linear in the distance scanned.
func closingTag(text string, i int, el string) int {
	for k := i; k+2+len(el) <= len(text); k++ {
		if text[k] == '<' && text[k+1] == '/' && strings.EqualFold(text[k+2:k+2+len(el)], el) {
			return k
		}
	}
	return len(text)
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// foldRune writes r lower-cased with Latin accents removed.
func foldRune(b *strings.Builder, r rune) {
	if r < 0x80 {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		b.WriteByte(byte(r))
		return
	}
	if unicode.Is(unicode.Mn, r) {
		return // combining accent
	}
	r = unicode.ToLower(r)
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å':
		r = 'a'
	case 'ç':
		r = 'c'
	case 'è', 'é', 'ê', 'ë':
		r = 'e'
	case 'ì', 'í', 'î', 'ï':
		r = 'i'
	case 'ñ':
		r = 'n'
	case 'ò', 'ó', 'ô', 'õ', 'ö':
		r = 'o'
	case 'ù', 'ú', 'û', 'ü':
		r = 'u'
	case 'ý', 'ÿ':
		r = 'y'
	case 'œ':
		b.WriteString("oe")
		return
	case 'æ':
		b.WriteString("ae")
		return
	case 'ß':
		b.WriteString("ss")
		return
	}
	b.WriteRune(r)
}

// fold lower-cases s and removes Latin accents.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		foldRune(&b, r)
	}
	return b.String()
}

// stem removes a plural s or x from a folded word of four letters or more.
func stem(w string) string {
	if len(w) >= 4 {
		switch w[len(w)-1] {
		case 's':
			if w[len(w)-2] != 's' {
				return w[:len(w)-1]
			}
		case 'x':
			return w[:len(w)-1]
		}
	}
	return w
}

// phraseStems tokenizes a keyword or place name into its stems.
func phraseStems(s string) []string {
	toks, _ := tokenize(s, nil)
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		out = append(out, t.stem)
	}
	return out
}
