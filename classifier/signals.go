package classifier

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// signals are what a message says about itself besides its words: the
// urgency cues it holds, and whether it reads as a report of a danger
// present now that needs someone (first person, a request, "now" or
// "here", a present-tense description, an address) or as talk about
// danger (a forwarded post, a link, a hashtag, a news report, sympathy,
// an official notice, another time, a hypothetical, a joke, a question).
// They decide whether a critical cue makes a message critical (critical),
// and they are features of the learnt heads (appendSignals), so the
// urgency head weighs them from data. Their words are the lexicons'
// [urgency] lists (markerSet).
type signals struct {
	crit, risk, high, low []string // cues found (not negated)

	firstPerson, request, now, still, present, address, question bool
	forward, link, mention, hashtag, news, sympathy, pastTime    bool
	notice, hypothetical, joke                                   bool
	casualties                                                   bool // a count of victims: "3 dead", "kills 12", "4 morts"
	words                                                        int
}

// Kinds of marker words (the lexicons' [urgency] lists of talk and
// presence), as bits: a word two lists hold counts for both.
const (
	mkNews uint16 = 1 << iota
	mkSympathy
	mkNotice
	mkOtherTime
	mkHypothetical
	mkJoke
	mkFirst
	mkRequest
	mkNow
	mkStill
	mkPresent
)

// markerSet finds the words that tell talk about a danger from a report of
// one: phrases by kind, and single stems that play a part in a pattern
// (counts, victims, time units, durations, street and home words,
// possessives).
type markerSet struct {
	set                                                           *phraseSet
	kinds                                                         []uint16       // by phrase id
	ids                                                           map[string]int // phrase stems (space-joined) → id
	counts, casualties, timeUnits, durations, places, possessives map[string]bool
}

// newMarkerSet loads the marker words of every language.
func newMarkerSet(ls lexicons) *markerSet {
	m := &markerSet{set: newPhraseSet(), ids: map[string]int{}}
	phrases := func(kind uint16) func(string, []string) {
		return func(_ string, list []string) {
			for _, p := range list {
				key := strings.Join(phraseStems(p), " ")
				if key == "" {
					continue
				}
				id, ok := m.ids[key]
				if !ok {
					id = len(m.kinds)
					m.ids[key] = id
					m.kinds = append(m.kinds, 0)
					m.set.add(p, id)
				}
				m.kinds[id] |= kind
			}
		}
	}
	ls.each(func(l *lexicon) []string { return l.Urgency.News }, phrases(mkNews))
	ls.each(func(l *lexicon) []string { return l.Urgency.Sympathy }, phrases(mkSympathy))
	ls.each(func(l *lexicon) []string { return l.Urgency.Notice }, phrases(mkNotice))
	ls.each(func(l *lexicon) []string { return l.Urgency.OtherTime }, phrases(mkOtherTime))
	ls.each(func(l *lexicon) []string { return l.Urgency.Hypothetical }, phrases(mkHypothetical))
	ls.each(func(l *lexicon) []string { return l.Urgency.Joke }, phrases(mkJoke))
	ls.each(func(l *lexicon) []string { return l.Urgency.FirstPerson }, phrases(mkFirst))
	ls.each(func(l *lexicon) []string { return l.Urgency.Request }, phrases(mkRequest))
	ls.each(func(l *lexicon) []string { return l.Urgency.Now }, phrases(mkNow))
	ls.each(func(l *lexicon) []string { return l.Urgency.Still }, phrases(mkStill))
	ls.each(func(l *lexicon) []string { return l.Urgency.Present }, phrases(mkPresent))
	words := func(get func(*lexicon) []string) map[string]bool {
		out := map[string]bool{}
		ls.each(get, func(_ string, list []string) {
			for _, p := range list {
				if st := phraseStems(p); len(st) > 0 {
					out[strings.Join(st, " ")] = true
				}
			}
		})
		return out
	}
	m.counts = words(func(l *lexicon) []string { return l.Urgency.Counts })
	m.casualties = words(func(l *lexicon) []string { return l.Urgency.Casualties })
	m.timeUnits = words(func(l *lexicon) []string { return l.Urgency.TimeUnits })
	m.durations = words(func(l *lexicon) []string { return l.Urgency.Durations })
	m.places = words(func(l *lexicon) []string { return l.Urgency.Places })
	m.possessives = words(func(l *lexicon) []string { return l.Urgency.Possessives })
	return m
}

// scanSignals reads the signals of a message from its tokens and text.
func scanSignals(cs *cueSet, text string, toks []token, scratch []match) signals {
	var s signals
	s.words = len(toks)
	ms := cs.set.find(toks, scratch)
	for _, m := range ms {
		lv := cs.level[m.id]
		if lv == cueNeutral {
			continue
		}
		negated := false
		for k := m.first - 1; k >= 0 && k >= m.first-3; k-- {
			if cs.isNegator(toks[k].stem) {
				negated = true
				break
			}
			if k > 0 && toks[k].sentStart {
				break
			}
		}
		if negated {
			continue
		}
		cue := cs.cues[m.id]
		if lv == cueCritical && hypothetical(toks, m.first, cs.outcome[m.id]) {
			// "before someone gets hurt": a hazard, not a harm
			s.risk = appendUnique(s.risk, cue+" (risk)")
			continue
		}
		switch lv {
		case cueCritical:
			s.crit = appendUnique(s.crit, cue)
		case cueHigh:
			s.high = appendUnique(s.high, cue)
		case cueLow:
			s.low = appendUnique(s.low, cue)
		}
	}
	mk := cs.marks
	var kinds uint16
	for _, m := range mk.set.find(toks, ms[:0]) {
		k := mk.kinds[m.id]
		if k&mkOtherTime != 0 && m.first > 0 && mk.durations[toks[m.first-1].stem] {
			k &^= mkOtherTime // "since yesterday", "depuis hier": still now
		}
		kinds |= k
	}
	s.news, s.sympathy, s.notice = kinds&mkNews != 0, kinds&mkSympathy != 0, kinds&mkNotice != 0
	s.pastTime, s.hypothetical, s.joke = kinds&mkOtherTime != 0, kinds&mkHypothetical != 0, kinds&mkJoke != 0
	s.firstPerson, s.request, s.now = kinds&mkFirst != 0, kinds&mkRequest != 0, kinds&mkNow != 0
	s.still, s.present = kinds&mkStill != 0, kinds&mkPresent != 0
	for i := range toks {
		t := &toks[i]
		if t.letters == 0 && len(t.norm) == 4 && (strings.HasPrefix(t.norm, "18") || strings.HasPrefix(t.norm, "19") || strings.HasPrefix(t.norm, "20")) {
			s.pastTime = true // a year: history, not now
		}
		if mk.timeUnits[t.stem] && i > 0 && mk.isCount(&toks[i-1]) && (i < 2 || !mk.durations[toks[i-2].stem]) {
			// "10 years since", "il y a dix ans", "hace dos años"; not
			// "for 3 days", "depuis deux jours"
			s.pastTime = true
		}
		if mk.places[t.stem] && (i > 0 && toks[i-1].digits > 0 || i+1 < len(toks) && toks[i+1].digits > 0 ||
			i > 0 && mk.possessives[toks[i-1].stem] || i+1 < len(toks) && mk.possessives[toks[i+1].stem]) {
			// "12 rue …", "Oak Street 5", "our building", "nyumba yetu"
			s.address = true
		}
		if t.norm == "rt" || t.norm == "via" {
			s.forward = true
		}
	}
	for i := range toks {
		if !mk.isCount(&toks[i]) {
			continue
		}
		for k := max(0, i-2); k <= min(len(toks)-1, i+2); k++ {
			if k != i && mk.casualties[toks[k].stem] {
				s.casualties = true
			}
		}
	}
	s.link = strings.Contains(text, "http") || strings.Contains(text, "www.")
	s.mention = strings.Contains(text, "@")
	s.forward = s.forward && s.mention || strings.HasPrefix(strings.TrimSpace(text), "RT ")
	s.question = strings.ContainsAny(text, "?¿؟")
	s.hashtag = hasHashtag(text)
	return s
}

// hasHashtag reports whether text holds a hashtag: '#' followed by a
// letter ("#yycflood", not "apt #3").
func hasHashtag(text string) bool {
	for i := strings.IndexByte(text, '#'); i >= 0; {
		r, _ := utf8.DecodeRuneInString(text[i+1:])
		if unicode.IsLetter(r) {
			return true
		}
		j := strings.IndexByte(text[i+1:], '#')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// isCount reports whether a token counts people or time: a number, or a
// number word of a lexicon's counts list.
func (m *markerSet) isCount(t *token) bool {
	return t.letters == 0 && t.digits > 0 || m.counts[t.stem]
}

// talk reports whether the message reads as talk about a danger rather
// than a report of one: a forwarded post, a link, a hashtag, a news
// report, sympathy, an official notice or appeal, another time than now,
// a hypothetical, a joke, a question from no one there, or a headline
// counting victims ("Flash flooding kills 12", "4 morts") with no
// present-tense verb and no one there now.
func (s *signals) talk() bool {
	return s.forward || s.link || s.hashtag || s.news || s.sympathy || s.notice ||
		s.pastTime || s.hypothetical || s.joke ||
		s.question && !s.firstPerson && !s.request ||
		s.casualties && !s.present && !s.presence()
}

// chatter reports whether the message is talk about a danger (talk) that
// no strong presence outweighs.
func (s *signals) chatter() bool {
	return s.talk() && !s.strongPresence()
}

// strongPresence reports whether the message says someone is where the
// danger is, now, strongly enough to outweigh a marker of talk ("RT
// @x: we are trapped on the roof at 12 Mill Lane, send help"): first
// person or an address, and a request or "now" ("please send help now"
// alone is an appeal anyone makes; "last year the flood destroyed our
// street" is a memory); a question needs "now" ("Who do I need to
// contact?" asks about a procedure).
func (s *signals) strongPresence() bool {
	return (s.firstPerson || s.address) && (s.request && !s.question || s.now)
}

// presence reports whether the message reads as someone reporting a
// danger where they are, now: first person, a request, "now"/"here" or an
// address. (A present-tense verb is too common in news to count.)
func (s *signals) presence() bool {
	return s.firstPerson || s.request || s.now || s.still || s.address
}

// critical reports whether a critical cue makes the message critical: a
// cue alone does not; the message must not read as chatter, and a long
// one (news-like) must read as a present danger (chosen on the chatter
// and emergency test sets in testdata, on disaster_en.csv's news and on
// newport_en.csv; see README).
func (s *signals) critical() bool {
	return len(s.crit) > 0 && !s.chatter() && (s.words <= shortReport || s.presence())
}

// pastWords: an English message of more than this many words that would
// be critical, with no request and no "now", is not critical when prose's
// part-of-speech tagger finds only past-tense verbs in it (an event told,
// as news tells it; rankUrgency). Shorter ones ("Two kids
// were hurt when the wall collapsed") are left critical.
const pastWords = 12

// needsTense reports whether the tense of the message's verbs can change
// its level (see pastWords).
func (s *signals) needsTense(lang string) bool {
	return lang == LangEnglish && s.critical() && s.words > pastWords && !s.request && !s.now
}

// shortReport: a message of at most this many words with a critical cue
// and no chatter marker reads as a report ("Gas leak in the basement of
// the school") even without first person or present tense.
const shortReport = 20

// Signal feature names, hashed into the signal group.
var signalNames = [...]string{
	"crit", "crit2", "risk", "high", "low", "p1", "req", "now", "present", "addr", "q",
	"fwd", "link", "at", "news", "sym", "past", "notice", "hypo", "casualties",
	"short", "medium", "long", "crit+presence", "crit+chatter", "critical",
	"hashtag", "joke", "still", "strong",
}

var signalHashes = func() [len(signalNames)]uint64 {
	var out [len(signalNames)]uint64
	for i, n := range signalNames {
		out[i] = hashString(hashByte(fnvOffset, 's'), n)
	}
	return out
}()

// appendSignals appends s as features (each worth 1, in groupSignal).
func appendSignals(dst []feat, s *signals) []feat {
	on := [len(signalNames)]bool{
		len(s.crit) > 0, len(s.crit) > 1, len(s.risk) > 0, len(s.high) > 0, len(s.low) > 0,
		s.firstPerson, s.request, s.now, s.present, s.address, s.question,
		s.forward, s.link, s.mention, s.news, s.sympathy, s.pastTime, s.notice, s.hypothetical, s.casualties,
		s.words <= 10, s.words > 10 && s.words <= 30, s.words > 30,
		len(s.crit) > 0 && s.presence(), len(s.crit) > 0 && s.chatter(), s.critical(),
		s.hashtag, s.joke, s.still, s.strongPresence(),
	}
	for i, b := range on {
		if b {
			dst = append(dst, feat{h: signalHashes[i], v: 1, g: groupSignal})
		}
	}
	return dst
}
