package citybot

import (
	"strings"
	"unicode"
)

// Invisible reports whether r is a character that changes how the text
// around it is displayed or read without showing itself: the bidi
// embeddings, overrides, isolates and marks (U+202A–U+202E,
// U+2066–U+2069, U+200E, U+200F, U+061C), zero-width spaces and joiners
// (U+200B–U+200D, U+2060–U+2064, U+FEFF, U+180E), soft hyphens and other
// format (Cf) characters, and the control characters other than tab
// and newline.
func Invisible(r rune) bool {
	if r == '\t' || r == '\n' {
		return false
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u180e'
}

// VisibleText returns s without its invisible characters (see Invisible),
// for every text shown in public or sent to a citizen: a right-to-left
// override cannot turn "txt.exe" into "exe.txt", nor a zero-width space
// hide a word from a filter. A zero-width joiner between two emoji, or
// a zero-width non-joiner between two letters of a script that needs
// it (Arabic, Persian, the Indic scripts), is kept, since it is part of
// how those are written; invalid UTF-8 is dropped. s is returned as is
// when it has nothing to remove.
func VisibleText(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return Invisible(r) || r == unicode.ReplacementChar }) {
		return s
	}
	rs := []rune(strings.ToValidUTF8(s, ""))
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		if !Invisible(r) {
			b.WriteRune(r)
			continue
		}
		if (r == '\u200d' || r == '\u200c') && i > 0 && i+1 < len(rs) {
			prev, next := rs[i-1], rs[i+1]
			if r == '\u200d' && emojiLike(prev) && emojiLike(next) {
				b.WriteRune(r)
				continue
			}
			if r == '\u200c' && joiningLetter(prev) && joiningLetter(next) {
				b.WriteRune(r)
				continue
			}
		}
	}
	return b.String()
}

// emojiLike is a pictographic symbol or its variation selector.
func emojiLike(r rune) bool {
	return unicode.Is(unicode.So, r) || r == '\ufe0f' || (r >= 0x1f3fb && r <= 0x1f3ff)
}

// joiningLetter is a letter or mark of a script where the zero-width
// non-joiner is spelling.
func joiningLetter(r rune) bool {
	if !unicode.IsLetter(r) && !unicode.IsMark(r) {
		return false
	}
	return unicode.In(r, unicode.Arabic, unicode.Syriac, unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi,
		unicode.Gujarati, unicode.Oriya, unicode.Tamil, unicode.Telugu, unicode.Kannada, unicode.Malayalam,
		unicode.Sinhala)
}

// streetTypes are the words that make a citizen's place text look like a
// street (English and French), lower case.
var streetTypes = map[string]bool{
	"street": true, "st": true, "road": true, "rd": true, "avenue": true, "ave": true, "av": true, "boulevard": true,
	"blvd": true, "bd": true, "lane": true, "ln": true, "drive": true, "way": true, "place": true, "pl": true,
	"square": true, "sq": true, "court": true, "ct": true, "alley": true, "close": true, "crescent": true,
	"terrace": true, "highway": true, "bridge": true, "row": true, "walk": true, "parade": true, "embankment": true,
	"rue": true, "allée": true, "allee": true, "impasse": true, "chemin": true, "route": true, "quai": true,
	"cours": true, "passage": true, "pont": true, "ruelle": true, "sentier": true, "voie": true, "esplanade": true,
	"promenade": true, "parvis": true, "rond-point": true, "faubourg": true, "cité": true, "cite": true,
}

// notInStreetNames are words that name a person ("Mme", "Mr") or make a
// sentence ("is", "est", "my"): a street-like text holding one is a
// claim or a neighbour, not an address, and is withheld.
var notInStreetNames = map[string]bool{
	// titles
	"mr": true, "mrs": true, "ms": true, "miss": true, "mister": true, "dr": true, "doctor": true, "sir": true,
	"madam": true, "lady": true, "mme": true, "mmes": true, "mlle": true, "mlles": true, "m": true, "madame": true,
	"monsieur": true, "mademoiselle": true, "messieurs": true, "docteur": true, "maître": true, "me": true,
	"chez": true, "famille": true, "family": true,
	// verbs, articles, pronouns and negations of a sentence
	"is": true, "are": true, "was": true, "were": true, "am": true, "be": true, "been": true, "has": true,
	"have": true, "had": true, "not": true, "no": true, "a": true, "an": true, "my": true, "your": true,
	"our": true, "their": true, "his": true, "her": true, "its": true, "i": true, "you": true, "he": true,
	"she": true, "they": true, "we": true, "it": true, "who": true,
	"est": true, "sont": true, "était": true, "ai": true, "as": true, "ont": true, "un": true, "une": true,
	"pas": true, "ne": true, "mon": true, "ma": true, "mes": true, "ton": true, "ta": true, "tes": true,
	"notre": true, "votre": true, "leur": true, "je": true, "tu": true, "il": true, "elle": true,
	"nous": true, "vous": true, "ils": true, "elles": true, "qui": true,
}

// PublicPlace returns a citizen's place text fit for public output, or ""
// when it must be withheld. House numbers are removed ("12 rue des
// Lilas" gives "rue des Lilas"); what is left must look like a street:
// a street word ("street", "rue", "avenue"…) and at most six other
// words, made only of letters, apostrophes and inner hyphens, with
// digits only in ordinals ("5th Avenue", "1er"); no title or personal
// word ("Mme", "chez"), no word that makes a sentence ("is", "my",
// "est"). Anything else (markup, a neighbour's name, a claim dressed as
// a street, invisible characters) is withheld. Names from the city's
// gazetteer do not need this test; see PlacePolicy.
func PublicPlace(name string) string {
	name = stripHouseNumbers(name)
	if name == "" {
		return ""
	}
	words := strings.Fields(name)
	if len(words) < 2 || len(words) > 7 {
		return ""
	}
	hasType := false
	for _, w := range words {
		if !streetWord(w) {
			return ""
		}
		// "l'Avenue", "D'Alembert", "j'ai": each part on its own.
		for _, part := range strings.FieldsFunc(strings.ToLower(strings.TrimSuffix(w, ".")), func(r rune) bool { return r == '\'' || r == '’' }) {
			if notInStreetNames[part] {
				return ""
			}
			if streetTypes[part] {
				hasType = true
			}
		}
	}
	if !hasType {
		return ""
	}
	return strings.Join(words, " ")
}

// streetWord reports whether w is made of letters, with apostrophes and
// hyphens only between letters, a final period of an abbreviation
// ("St."), or is an ordinal ("5th", "21st", "1er", "2e", "3ème").
func streetWord(w string) bool {
	rs := []rune(strings.TrimSuffix(w, "."))
	if len(rs) == 0 {
		return false
	}
	if unicode.IsDigit(rs[0]) {
		i := 0
		for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
			i++
		}
		switch strings.ToLower(string(rs[i:])) {
		case "st", "nd", "rd", "th", "er", "re", "e", "ème", "eme":
			return i <= 3
		}
		return false
	}
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r):
		case r == '-' || r == '\'' || r == '’':
			if i == 0 || i == len(rs)-1 || !unicode.IsLetter(rs[i-1]) || !unicode.IsLetter(rs[i+1]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// stripHouseNumbers removes numbers and the letter glued to them (221B,
// 8a, "bis", "ter") from a place name and tidies its spaces and commas;
// ordinals ("5th", "1er") are kept.
func stripHouseNumbers(name string) string {
	var out []string
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		if w == "" || !unicode.IsDigit([]rune(w)[0]) {
			if lw := strings.ToLower(w); (lw == "bis" || lw == "ter") && len(out) == 0 {
				continue
			}
			out = append(out, w)
			continue
		}
		if streetWord(w) {
			out = append(out, w) // an ordinal
			continue
		}
		digits := strings.TrimLeftFunc(w, unicode.IsDigit)
		if len([]rune(digits)) > 1 {
			out = append(out, w) // digits glued to a word: keep, the word test refuses it
		}
	}
	return strings.Join(out, " ")
}

// PlacePolicy decides which place names of cases may be shown in
// public: names of the city's gazetteer ([classifier] places, which the
// classifier reports under their canonical name) as they are, other
// names only when PublicPlace keeps them. The zero value has no
// gazetteer. It is safe for concurrent use once built.
type PlacePolicy struct {
	known map[string]string // lower-case name → the gazetteer's spelling
}

// NewPlacePolicy returns a policy with the gazetteer's names (aliases are
// not needed: the classifier reports the canonical name).
func NewPlacePolicy(gazetteer []string) PlacePolicy {
	p := PlacePolicy{known: map[string]string{}}
	for _, n := range gazetteer {
		if n = strings.TrimSpace(VisibleText(n)); n != "" {
			p.known[strings.ToLower(n)] = n
		}
	}
	return p
}

// Public returns name fit for public output, or "" when it is withheld.
func (p PlacePolicy) Public(name string) string {
	if n, ok := p.known[strings.ToLower(strings.TrimSpace(name))]; ok {
		return n
	}
	return PublicPlace(name)
}

// PlacesClearOfPersonalData returns the places of cl that overlap no
// personal data the classifier found in the same text (a name, phone,
// e-mail or plate; a house-number address does not count, it is the
// place itself): "cour de Mme Dupont" is a neighbour, not a place.
func PlacesClearOfPersonalData(cl *Classification) []Place {
	if cl == nil {
		return nil
	}
	var out []Place
	for _, p := range cl.Places {
		clear := true
		for _, pd := range cl.PersonalData {
			if pd.Kind != PersonAddress && pd.Span.Start < p.Span.End && p.Span.Start < pd.Span.End {
				clear = false
				break
			}
		}
		if clear {
			out = append(out, p)
		}
	}
	return out
}
