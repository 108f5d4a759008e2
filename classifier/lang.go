package classifier

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"citybot"
)

// Languages Classify reports: the language of a lexicon file (its code,
// "es", "ar", …) or LangOther.
const (
	LangEnglish = "en"
	LangFrench  = "fr"
	LangOther   = "other"
)

// languageWords are what tells a language apart (the [language] section
// of a lexicon file): the scripts it is written in (names of Go's
// unicode.Scripts: "Latin", "Arabic") and common words of it (articles,
// pronouns, prepositions, everyday words of reports) that are rare in
// other languages. A word two languages list counts half for each.
type languageWords struct {
	Scripts []string `toml:"scripts"`
	Words   []string `toml:"words"`
}

// langDetector tells a message's language among the lexicons' languages.
type langDetector struct {
	langs   []string              // sorted
	words   map[string][]int      // folded word → indices of langs (and -1: foreign)
	scripts map[string][]int      // script name → indices of langs
	tables  []*unicode.RangeTable // the scripts of scriptNames, in order
	names   []string
	letters map[rune]bool // lower-case letters the lexicons' [language] words write
}

// newLangDetector builds the detector from the lexicons' [language]
// sections. An unknown script name is an error wrapping
// citybot.ErrInvalid.
func newLangDetector(ls lexicons) (*langDetector, error) {
	d := &langDetector{langs: ls.langs(), words: map[string][]int{}, scripts: map[string][]int{}, letters: map[rune]bool{}}
	own := map[string]bool{}
	for i, l := range d.langs {
		for _, s := range ls[l].Language.Scripts {
			t, ok := unicode.Scripts[s]
			if !ok {
				return nil, fmt.Errorf("classifier: lexicon %s: language.scripts: %q is not a Unicode script name (\"Latin\", \"Arabic\", …): %w", l, s, citybot.ErrInvalid)
			}
			if !slices.Contains(d.names, s) {
				d.names = append(d.names, s)
				d.tables = append(d.tables, t)
			}
		}
		for _, w := range ls[l].Language.Words {
			for _, r := range w {
				if unicode.IsLetter(r) {
					d.letters[unicode.ToLower(r)] = true
				}
			}
			for _, n := range phraseWords(w) {
				own[n] = true
				if !slices.Contains(d.words[n], i) {
					d.words[n] = append(d.words[n], i)
				}
			}
		}
	}
	// Candidates of a script in order of preference for ties: English,
	// French (the commonest in citybot's cities), then the others.
	order := slices.Clone(d.langs)
	slices.SortStableFunc(order, func(a, b string) int { return rank(a) - rank(b) })
	for _, l := range order {
		i := slices.Index(d.langs, l)
		for _, s := range ls[l].Language.Scripts {
			d.scripts[s] = append(d.scripts[s], i)
		}
	}
	for _, ws := range foreignStopwords {
		for _, w := range ws {
			for _, n := range phraseWords(w) {
				if !own[n] && !slices.Contains(d.words[n], -1) {
					d.words[n] = append(d.words[n], -1)
				}
			}
		}
	}
	return d, nil
}

// phraseWords returns the folded words of an entry.
func phraseWords(s string) []string {
	toks, _ := tokenize(s, nil)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.norm
	}
	return out
}

// telltale letters: one vote in half for a language (ñ in Spanish, ã in
// Portuguese, è in French).
var telltale = map[rune]string{
	'ñ': "es", '¿': "es", '¡': "es",
	'ã': "pt", 'õ': "pt",
	'è': "fr", 'ù': "fr", 'œ': "fr", 'î': "fr", 'û': "fr", 'ë': "fr", 'ï': "fr",
}

// detect returns the language of text (tokens toks) or LangOther: the
// script its letters are mostly written in decides among the languages
// written in it (Arabic script: Arabic, unless Persian or Urdu words or
// letters outvote it; a script no lexicon names: other); then the votes
// of each language's words, with telltale letters. Foreign votes are the
// words of foreignStopwords and the words holding a letter no known
// language writes (foreignLetter, less the letters of the lexicons'
// [language] words: a city's German lexicon makes ä its own); a text
// where they outvote every language (see the rule below) is other. When
// no word tells, the platform's hint ("fr", "es-419"; may be empty)
// decides, else English for a Latin text of a few letters.
func (d *langDetector) detect(text string, toks []token, hint string) string {
	lang, _ := d.detectVotes(text, toks, hint)
	return lang
}

// detectVotes is detect, and it also returns the set of languages (bit i
// for d.langs[i]) a word reader should not rule out: those whose words
// and letters got at least half the votes of the winner, or every
// language when no word told (the language then comes from the hint or
// the script alone, and may well be wrong: a short Swahili or Portuguese
// message whose words are in no list).
func (d *langDetector) detectVotes(text string, toks []token, hint string) (string, uint64) {
	if len(toks) > 400 {
		toks = toks[:400]
	}
	count := make([]int, len(d.tables))
	otherLetters := 0
	votes := make([]float64, len(d.langs))
	foreign := 0.0
	for _, t := range toks {
		odd := false // the word holds a foreign letter
		for _, r := range text[t.start:t.end] {
			if !unicode.IsLetter(r) {
				continue
			}
			if !odd && r >= 0x80 && foreignLetter(r) && !d.letters[unicode.ToLower(r)] {
				odd = true
			}
			found := false
			for i, tab := range d.tables {
				if unicode.Is(tab, r) {
					count[i]++
					found = true
					break
				}
			}
			if !found {
				otherLetters++
			}
			if l, ok := telltale[unicode.ToLower(r)]; ok {
				if i := slices.Index(d.langs, l); i >= 0 {
					votes[i] += 0.5
				}
			}
		}
		if odd {
			foreign++
		} else if ls := d.words[t.norm]; len(ls) > 0 {
			share := 1 / float64(len(ls))
			for _, i := range ls {
				if i < 0 {
					foreign += share
				} else {
					votes[i] += share
				}
			}
		}
	}
	best, letters := -1, 0
	for i, n := range count {
		if n > letters {
			best, letters = i, n
		}
	}
	if best < 0 || otherLetters > letters {
		return LangOther, ^uint64(0) // no letters, or a script no language is written in
	}
	cands := d.scripts[d.names[best]]
	winner, top := -1, 0.0
	for _, i := range cands { // in d.order: a tie goes to the first
		if votes[i] > top {
			winner, top = i, votes[i]
		}
	}
	read := ^uint64(0)
	if top > 0 {
		read = 0
		for i, v := range votes {
			if v >= top/2 && v > 0 && i < 64 {
				read |= 1 << i
			}
		}
	}
	// Foreign words outvote the best language: two of them, or one where
	// no language has a whole word of its own in a sentence of four
	// words or more ("de … op de …": Dutch, not a third of French).
	// Or, in a sentence of six words or more, one foreign word at least
	// as strong as the best language, which covers under a fifth of the
	// words ("il … sulla …": Italian, not French).
	if foreign >= 1 && foreign > top && (foreign >= 2 || top == 0 || top < 1 && len(toks) >= 4) ||
		foreign >= 1 && foreign >= top && len(toks) >= 6 && top < 0.2*float64(len(toks)) {
		return LangOther, read
	}
	if winner >= 0 {
		// A tie between two languages goes to the hinted one.
		for _, i := range cands {
			if i != winner && votes[i] == top && d.hinted(hint) == d.langs[i] {
				return d.langs[i], read
			}
		}
		return d.langs[winner], read
	}
	if h := d.hinted(hint); h != "" && slices.ContainsFunc(cands, func(i int) bool { return d.langs[i] == h }) {
		return h, read
	}
	if len(cands) == 1 {
		return d.langs[cands[0]], read
	}
	if d.names[best] == "Latin" && letters >= 2 && slices.Contains(d.langs, LangEnglish) {
		// Latin-script text with no telling word: English is the
		// commonest case.
		return LangEnglish, read
	}
	return LangOther, read
}

// rank orders languages for ties: English, French, then the others.
func rank(l string) int {
	switch l {
	case LangEnglish:
		return 0
	case LangFrench:
		return 1
	}
	return 2
}

// hinted returns the language of a platform hint ("pt-BR" → "pt") when
// the detector knows it, else "".
func (d *langDetector) hinted(hint string) string {
	h := strings.ToLower(strings.TrimSpace(hint))
	if i := strings.IndexAny(h, "-_"); i >= 0 {
		h = h[:i]
	}
	if slices.Contains(d.langs, h) {
		return h
	}
	return ""
}

// isFunctionWord tells whether a folded word is one that tells a language
// (a capitalised "The" or "Les" starts no name).
func (d *langDetector) isFunctionWord(norm string) bool { return len(d.words[norm]) > 0 }
