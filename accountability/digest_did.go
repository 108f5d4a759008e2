package accountability

import (
	"regexp"
	"strings"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// futureAction finds the words of an answer that promises an action to
// come ("we will send a team", "une équipe interviendra jeudi") rather
// than telling what was done: such an answer is never quoted under "We
// did". A heuristic per language, erring on the side of leaving an answer
// out (a missed example costs less than a promise quoted as done).
var futureAction = map[string]*regexp.Regexp{
	"en": words(`will`, `shall`, `won't`, `going to`, `gonna`, `plan(s|ned)? to`, `scheduled`, `tomorrow`, `soon`,
		`next (week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday)`, `\pL+'ll`),
	"fr": words(`(va|vont|allons|allez|vais)\s+\pL+(er|ir|re)`, `\pL{2,}(erai|eras|era|erons|erez|eront|irai|ira|irons|iront|drai|dra|drons|dront|rai|ra|rons|ront)`,
		`demain`, `prochaine?s?`, `bientôt`, `prévue?s?`, `programmée?s?`),
	"es": words(`\pL{2,}(ré|rás|rá|remos|réis|rán)`, `(voy|vas|va|vamos|van)\s+a`, `mañana`, `próxim[oa]s?`, `pronto`),
	"pt": words(`\pL{2,}(rei|rás|rá|remos|reis|rão)`, `(vou|vais|vai|vamos|vão)\s+\pL+r`, `amanhã`, `próxim[oa]s?`, `em breve`),
	"sw": words(`(nita|uta|ata|tuta|mta|wata|ita|zita|lita|yata|kita|vita|kuta)\pL{2,}`, `kesho`, `hivi karibuni`),
	"ar": words(`سوف`, `س[يتنأ]\pL{2,}`, `غدا`, `غداً`, `قريبا`, `قريباً`),
}

// words matches any of the alternatives as whole words, letters of every
// script counting as word characters (RE2's \b knows ASCII only).
func words(alts ...string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(?:^|[^\pL\pN'’])(?:` + strings.Join(alts, "|") + `)(?:$|[^\pL\pN])`)
}

// promisesAction reports whether an officer's answer, in lang ("" or an
// unknown code: every language), promises an action to come. English is
// always checked too: officers mix it in.
func promisesAction(text, lang string) bool {
	if re, ok := futureAction[lang]; ok {
		return re.MatchString(text) || futureAction["en"].MatchString(text)
	}
	for _, re := range futureAction {
		if re.MatchString(text) {
			return true
		}
	}
	return false
}

// languageLabel is the label after a quote in quoteLang read in a digest
// in lang ("(in French)", "(en anglais)"), "" when the quote is in the
// digest's language or its language is unknown.
func languageLabel(t DigestTexts, lang, quoteLang string) string {
	quoteLang = strings.TrimSpace(quoteLang)
	if quoteLang == "" || quoteLang == "other" || quoteLang == lang || t.InLanguage == "" {
		return ""
	}
	qt, err := language.Parse(quoteLang)
	if err != nil {
		return ""
	}
	dt, err := language.Parse(lang)
	if err != nil {
		return ""
	}
	name := display.Tags(dt).Name(qt)
	if name == "" {
		return ""
	}
	return " " + fill(t.InLanguage, "language", name)
}
