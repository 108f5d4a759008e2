package accountability

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"citybot"
)

// Redactor removes personal data from a text before it goes public: the
// classifier's personal-data spans first, then the private strings it is
// told to avoid (a citizen's name and handle, word by word), then rules
// for what a classifier may miss (e-mail addresses, phone numbers, web
// links, @handles, number plates, house numbers, titles followed by a
// name in any script, door codes, numbers and e-mail addresses spelled
// out in words in English or French, long digit runs). It is safe for
// concurrent use.
type Redactor struct {
	house []*regexp.Regexp // house numbers: the number is masked, the street kept
	codes *regexp.Regexp   // door codes: the code is masked, the word kept
	rules []*regexp.Regexp
	title *regexp.Regexp
}

// numberWords are the words a phone number is spelled out with, in the
// shipped languages (en, fr); a run of four or more of them, or of them
// and digits, is masked.
const numberWords = `zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|` +
	`sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|double|triple|` +
	`z[ée]ro|un|une|deux|trois|quatre|cinq|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingts?|` +
	`trente|quarante|cinquante|soixante|cents?`

// otherScripts are letters of scripts without capitals or other than
// Latin: after a title, a word in one of them is a name.
const otherScripts = `\p{Cyrillic}\p{Greek}\p{Arabic}\p{Hebrew}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Devanagari}\p{Armenian}\p{Georgian}\p{Thai}\p{Bengali}\p{Tamil}`

// Mask replaces each piece of personal data.
const Mask = "[…]"

// NewRedactor returns a Redactor with the built-in rules.
func NewRedactor() *Redactor {
	return &Redactor{
		rules: []*regexp.Regexp{
			// e-mail addresses, also written "name (at) domain"
			regexp.MustCompile(`[\p{L}0-9._%+\-]+[@＠][\p{L}0-9\-]+(?:\.[\p{L}0-9\-]+)+`),
			regexp.MustCompile(`(?i)\S+\s*[(\[{<]\s*(?:at|arobase)\s*[)\]}>]\s*\S+`),
			// ... or "name at example dot com", "nom arobase exemple point fr"
			regexp.MustCompile(`(?i)[\p{L}0-9._%+\-]+\s*[(\[{<]?\s*\b(?:at|arobase)\b\s*[)\]}>]?\s*[\p{L}0-9\-]+` +
				`(?:\s*[(\[{<]?\s*\b(?:dot|point)\b\s*[)\]}>]?\s*[\p{L}0-9\-]+)+`),
			// numbers spelled out ("zero six one two…", "six trois…"), also mixed with digits
			regexp.MustCompile(`(?i)\b(?:\d+|` + numberWords + `)(?:[\s,.\-/]+(?:\d+|` + numberWords + `)){3,}\b`),
			// Discord tags and Telegram links
			regexp.MustCompile(`(?i)\bt\.me/\S+`),
			regexp.MustCompile(`[\p{L}0-9_.]{2,32}#\d{4}\b`),
			// web links
			regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S+`),
			// @handles and mentions, also "@ name" and the full-width ＠
			regexp.MustCompile(`[@＠]\s?[\p{L}\p{N}_.]{2,}`),
			// phone numbers: 6+ digits with common separators, optional +country
			regexp.MustCompile(`\+?\(?\d[\d\s().\-/]{4,}\d`),
			// number plates: AB-123-CD, AB 123 CD, ABC 1234, 1ABC234
			regexp.MustCompile(`\b[A-Z]{2}[\s\-]?\d{3}[\s\-]?[A-Z]{2}\b`),
			regexp.MustCompile(`\b[A-Z]{2,3}[\s\-]?\d{3,4}\b`),
			regexp.MustCompile(`\b\d[A-Z]{3}\d{3}\b`),
			regexp.MustCompile(`\b\d{1,4}\s?[A-Z]{2,3}\s?\d{2}\b`),
			// anything left with three or more digits in a row (and a
			// letter glued to it, as in 221B)
			regexp.MustCompile(`\d[\d\s]{2,}\d[A-Za-z]?\b|\d{3,}[A-Za-z]?\b`),
		},
		house: []*regexp.Regexp{
			// house numbers before a street word: "12 rue des Lilas", "8 bis, avenue Foch"
			regexp.MustCompile(`(?i)\b\d{1,4}\s?(?:bis|ter|[a-d])?\s*,?\s+(?:rue|avenue|av\.|boulevard|bd|chemin|all[ée]e|impasse|place|quai|route|cours|street|st\.?|road|rd\.?|lane|drive|dr\.?|way|court|ct\.?|terrace|close|crescent)\b`),
			// house numbers before a street's name: "221B Baker Street", "10 Downing Street"
			regexp.MustCompile(`\b\d{1,4}[A-Za-z]?\s+(?:\p{Lu}[\p{L}'\-]+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Drive|Way|Court|Place|Terrace|Close|Crescent|Boulevard|Square|Gardens)\b`),
		},
		// door codes: "code 1234A", "digicode: B12", "door code is 4590",
		// "code d'entrée 12A4"; the code is masked, the words kept
		codes: regexp.MustCompile(`(?i)\b((?:digicode|interphone|intercom|keypad|(?:door|entry|gate|access|building|porte|portail)\s+code|code(?:\s+(?:d['’]entr[ée]e|d['’]acc[èe]s|de\s+la\s+porte|du\s+portail|de\s+l['’]immeuble|porte|portail|immeuble|d['’]immeuble))?)` +
			`(?:\s*(?:is|est|:|=|n°|no\.?|#|-))?\s*)([A-Z]?\d[0-9A-Z#*\-]{0,9}|[A-Z]{1,2}\d{1,6})\b`),
		// a title, then a name: capitalised in Latin script, any word in
		// another script ("Mme Иванова", "Mr 王伟", "господин Петров")
		title: regexp.MustCompile(`(?:\b(?:Mr|Mrs|Ms|Miss|Dr|M|Mme|Mlle|Madame|Monsieur|Mister|Sir|Dame)\.?|(?i:господин|госпожа|г-н|г-жа|κύριος|κυρία|κ\.))\s+` +
			`(?:\p{Lu}[\p{L}\p{M}'\-]+|[` + otherScripts + `][\p{L}\p{M}'\-]*)(?:\s+(?:\p{Lu}[\p{L}\p{M}'\-]+|[` + otherScripts + `][\p{L}\p{M}'\-]*))?`),
	}
}

// Redact returns text without personal data: spans (byte ranges into
// text, as the classifier gives them; invalid ones are ignored) and every
// word of avoid (case-insensitive, whole words of three letters or more)
// are masked, then the rules apply.
func (r *Redactor) Redact(text string, spans []citybot.PersonalSpan, avoid []string) string {
	text = maskSpans(text, spans)
	text = maskWords(text, avoid)
	text = r.codes.ReplaceAllString(text, "${1}"+Mask)
	text = r.title.ReplaceAllStringFunc(text, func(m string) string {
		// Keep the title, mask the name.
		if i := strings.IndexFunc(m, unicode.IsSpace); i > 0 {
			return m[:i] + " " + Mask
		}
		return Mask
	})
	for _, re := range r.house {
		text = re.ReplaceAllStringFunc(text, func(m string) string {
			if i := strings.IndexFunc(m, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }); i > 0 {
				return Mask + m[i:]
			}
			return Mask
		})
	}
	for _, re := range r.rules {
		text = re.ReplaceAllString(text, Mask)
	}
	// Merge masks that now touch.
	for strings.Contains(text, Mask+" "+Mask) {
		text = strings.ReplaceAll(text, Mask+" "+Mask, Mask)
	}
	return text
}

func maskSpans(text string, spans []citybot.PersonalSpan) string {
	sp := slices.Clone(spans)
	slices.SortFunc(sp, func(a, b citybot.PersonalSpan) int { return b.Span.Start - a.Span.Start })
	end := len(text) + 1
	for _, s := range sp {
		st, en := s.Span.Start, s.Span.End
		if st < 0 || en > len(text) || st >= en || en > end {
			continue
		}
		if !utf8.RuneStart(text[st]) || (en < len(text) && !utf8.RuneStart(text[en])) {
			continue
		}
		text = text[:st] + Mask + text[en:]
		end = st
	}
	return text
}

// maskWords masks every whole-word occurrence of the words of avoid.
func maskWords(text string, avoid []string) string {
	var words []string
	for _, a := range avoid {
		for _, w := range strings.FieldsFunc(a, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if utf8.RuneCountInString(w) >= 3 {
				words = append(words, regexp.QuoteMeta(w))
			}
		}
	}
	if len(words) == 0 {
		return text
	}
	re, err := regexp.Compile(`(?i)(^|[^\p{L}\p{N}])(?:` + strings.Join(words, "|") + `)([^\p{L}\p{N}]|$)`)
	if err != nil {
		return text
	}
	// Matches may share a separator: repeat until stable.
	for i := 0; i < 4; i++ {
		next := re.ReplaceAllString(text, "${1}"+Mask+"${2}")
		if next == text {
			break
		}
		text = next
	}
	return text
}

// excerpt cuts s to at most n runes at a word boundary, adding "…", and
// puts it on one line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	rs := []rune(s)[:n]
	cut := string(rs)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}
