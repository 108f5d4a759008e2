package classifier

import (
	"strings"
	"unicode"

	"citybot"
)

// intentWords is the [intent] section of a lexicon file.
type intentWords struct {
	Thanks       []string `toml:"thanks"`
	Greetings    []string `toml:"greetings"`
	Acks         []string `toml:"acks"`
	BotQuestions []string `toml:"bot_questions"`
	Problems     []string `toml:"problems"`
	Resolved     []string `toml:"resolved"`
}

type intentCat uint8

const (
	iThanks intentCat = 1 << iota
	iGreeting
	iAck
	iBot
	iProblem
	iResolved
)

// Bounds of feedback. A message longer than maxFeedbackTokens words is a
// report; so is one with more words outside the intent phrases than its
// intent allows (a greeting followed by a sentence is a report).
const (
	maxFeedbackTokens = 20
	maxGreetingExtra  = 3  // "hello everyone", "bonjour à tous"
	maxAckExtra       = 2  // "ok then"
	maxBotExtra       = 6  // "hello, who are you exactly?"
	maxThanksExtra    = 14 // "thank you so much to the whole team for …"
)

// intentSet recognises feedback: thanks, greetings, bare acknowledgements
// and questions about the bot. Its words come from the lexicons' [intent]
// sections; entries without a letter or digit (emoji) are symbols.
type intentSet struct {
	set     *phraseSet
	masks   []intentCat // by phrase id
	symbols map[rune]intentCat
}

func newIntentSet(ls lexicons) *intentSet {
	s := &intentSet{set: newPhraseSet(), symbols: map[rune]intentCat{}}
	ids := map[string]int{}
	add := func(cat intentCat) func(string, []string) {
		return func(_ string, list []string) {
			for _, p := range list {
				key := strings.Join(phraseStems(p), " ")
				if key == "" {
					for _, r := range p {
						if isSymbolRune(r) {
							s.symbols[r] |= cat
						}
					}
					continue
				}
				if id, ok := ids[key]; ok {
					s.masks[id] |= cat
					continue
				}
				ids[key] = len(s.masks)
				s.set.add(p, len(s.masks))
				s.masks = append(s.masks, cat)
			}
		}
	}
	ls.each(func(l *lexicon) []string { return l.Intent.Thanks }, add(iThanks))
	ls.each(func(l *lexicon) []string { return l.Intent.Greetings }, add(iGreeting))
	ls.each(func(l *lexicon) []string { return l.Intent.Acks }, add(iAck))
	ls.each(func(l *lexicon) []string { return l.Intent.BotQuestions }, add(iBot))
	ls.each(func(l *lexicon) []string { return l.Intent.Problems }, add(iProblem))
	ls.each(func(l *lexicon) []string { return l.Intent.Resolved }, add(iResolved))
	return s
}

// isSymbolRune reports whether r can be an intent symbol (an emoji, a
// heart): not a letter, digit, space, punctuation or a variation selector.
func isSymbolRune(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !unicode.IsPunct(r) &&
		!unicode.Is(unicode.Mn, r) && r != 0xFE0F && r != 0x200D
}

// intent fills out.Intent: feedback only for a short message with an
// intent phrase (or only intent symbols), no problem word, no urgency cue
// of danger or hazard, not sensitive, and no topic keyword unless it
// thanks for something resolved ("thanks for fixing the pothole").
func (c *Classifier) intent(text string, sc *scratch, out *citybot.Classification) {
	out.Intent = citybot.IntentReport
	toks := sc.toks
	if len(toks) > maxFeedbackTokens || out.Sensitive {
		return
	}
	if len(toks) == 0 {
		// Emoji only: "👍", "🙏🙏".
		var all intentCat
		n := 0
		for _, r := range text {
			if !isSymbolRune(r) {
				continue
			}
			cat, ok := c.intents.symbols[r]
			if !ok {
				return
			}
			all |= cat
			n++
		}
		switch {
		case n == 0:
		case all&iThanks != 0:
			out.Intent = citybot.IntentThanks
		case all&iGreeting != 0:
			out.Intent = citybot.IntentGreeting
		case all&iAck != 0:
			out.Intent = citybot.IntentAck
		}
		return
	}
	var all intentCat
	covered := 0
	ms := c.intents.set.find(toks, sc.matches[len(sc.matches):])
	for _, m := range ms {
		all |= c.intents.masks[m.id]
		if c.intents.masks[m.id]&(iThanks|iGreeting|iAck|iBot) != 0 {
			covered += m.end - m.first
		}
	}
	if all&(iThanks|iGreeting|iAck|iBot) == 0 || all&iProblem != 0 {
		return
	}
	// Danger or hazard words make it a report ("hello, fire!").
	for _, m := range c.cues.set.find(toks, ms[len(ms):]) {
		if lv := c.cues.level[m.id]; lv == cueCritical || lv == cueHigh {
			return
		}
	}
	keywords := len(sc.matches) > 0
	extra := len(toks) - covered
	// "Will there be a tsunami? Thank you": thanks or an ok with a
	// question is a question.
	question := strings.ContainsAny(text, "?？¿")
	switch {
	case all&iBot != 0 && !keywords && extra <= maxBotExtra:
		out.Intent = citybot.IntentBotQuestion
	case all&iThanks != 0 && !question && (!keywords || all&iResolved != 0) && extra <= maxThanksExtra:
		out.Intent = citybot.IntentThanks
	case all&iGreeting != 0 && !keywords && extra <= maxGreetingExtra:
		out.Intent = citybot.IntentGreeting
	case all&iAck != 0 && !question && !keywords && extra <= maxAckExtra:
		out.Intent = citybot.IntentAck
	}
}
