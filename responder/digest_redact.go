package responder

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
// name, long digit runs). It is safe for concurrent use.
type Redactor struct {
	house []*regexp.Regexp // house numbers: the number is masked, the street kept
	rules []*regexp.Regexp
	title *regexp.Regexp
}

// Mask replaces each piece of personal data.
const Mask = "[…]"

// NewRedactor returns a Redactor with the built-in rules.
func NewRedactor() *Redactor {
	return &Redactor{
		rules: []*regexp.Regexp{
			// e-mail addresses, also written "name (at) domain"
			regexp.MustCompile(`[\p{L}0-9._%+\-]+@[\p{L}0-9\-]+(?:\.[\p{L}0-9\-]+)+`),
			regexp.MustCompile(`(?i)\S+\s*[(\[]\s*at\s*[)\]]\s*\S+`),
			// web links
			regexp.MustCompile(`(?i)\b(?:https?://|www\.)\S+`),
			// @handles and mentions
			regexp.MustCompile(`@[\p{L}0-9_.]{2,}`),
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
		title: regexp.MustCompile(`\b(?:Mr|Mrs|Ms|Miss|Dr|M|Mme|Mlle|Madame|Monsieur|Mister|Sir|Dame)\.?\s+(?:\p{Lu}[\p{L}'\-]+)(?:\s+\p{Lu}[\p{L}'\-]+)?`),
	}
}

// Redact returns text without personal data: spans (byte ranges into
// text, as the classifier gives them; invalid ones are ignored) and every
// word of avoid (case-insensitive, whole words of three letters or more)
// are masked, then the rules apply.
func (r *Redactor) Redact(text string, spans []citybot.PersonalSpan, avoid []string) string {
	text = maskSpans(text, spans)
	text = maskWords(text, avoid)
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
