package classifier

import (
	"strings"
)

// signals are what a message says about itself besides its words: the
// urgency cues it holds, and whether it reads as a report of a danger
// present now that needs someone (first person, a request, "now" or
// "here", a present-tense description, an address) or as talk about
// danger (a forwarded post, a link, a news report, sympathy, an official
// notice, a past event, a hypothetical). They decide whether a critical
// cue makes a message critical (critical), and they are features of the
// learnt heads (appendSignals), so the urgency head weighs them from data.
type signals struct {
	crit, risk, high, low []string // cues found (not negated)

	firstPerson, request, now, present, address, question    bool
	forward, link, mention, news, sympathy, pastTime, notice bool
	hypothetical                                             bool
	casualties                                               bool // a count of victims: "3 dead", "kills 12", "4 morts"
	words                                                    int
}

// scanSignals reads the signals of a message from its tokens and text.
func scanSignals(cs *cueSet, text string, toks []token, scratch []match) signals {
	var s signals
	s.words = len(toks)
	for _, m := range cs.set.find(toks, scratch) {
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
	for i := range toks {
		t := &toks[i]
		if t.letters == 0 && len(t.norm) == 4 && (strings.HasPrefix(t.norm, "18") || strings.HasPrefix(t.norm, "19") || strings.HasPrefix(t.norm, "20")) {
			s.pastTime = true // a year: history, not now
		}
		switch t.norm {
		case "i", "im", "me", "my", "we", "us", "our", "ours", "myself",
			"je", "j", "moi", "mon", "ma", "mes", "nous", "notre", "nos", "chez":
			s.firstPerson = true
		case "help", "please", "pls", "plz", "send", "need", "needs", "needed", "come", "hurry", "sos", "911", "112", "999",
			"aidez", "aide", "aider", "besoin", "svp", "venez", "envoyez", "appelez", "vite", "secours":
			s.request = true
		case "now", "here", "currently", "still", "right", "immediately",
			"maintenant", "ici", "actuellement", "toujours", "encore", "immediatement", "aujourd", "hui":
			s.now = true
		case "is", "are", "am", "isn", "aren", "s", "re", "est", "sont", "suis", "sommes", "y":
			s.present = true
		case "yesterday", "ago", "last", "earlier", "tomorrow", "hier", "dernier", "derniere", "passe", "passee", "demain",
			"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
			"lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche":
			// another time than now
			s.pastTime = true
		case "reported", "reports", "reportedly", "according", "officials", "official", "authorities", "say", "said", "says",
			"breaking", "update", "updates", "news", "video", "photos", "watch", "toll", "victims", "survivors",
			"published", "documentary", "history", "anniversary", "memorial",
			"selon", "autorites", "annonce", "rapporte", "bilan", "victimes", "journal", "article", "publie", "documentaire", "anniversaire":
			s.news = true
		case "pray", "prayers", "praying", "thoughts", "condolences", "rip", "sad", "heartbreaking", "heartbroken", "tragic", "tragedy",
			"prieres", "pensees", "condoleances", "soutien", "triste", "tragique", "hommage":
			s.sympathy = true
		case "advised", "advisory", "warning", "warnings", "alert", "alerts", "evacuate", "evacuation", "residents", "issued", "drill", "closures",
			"exercise", "simulate", "simulation", "reminder", "tips", "safety",
			"avis", "alerte", "vigilance", "consignes", "prefecture", "habitants", "exercice", "rappel", "conseils":
			s.notice = true
		case "rt", "via":
			s.forward = true
		case "case", "cas", "whenever", "lorsque", "should", "devrait":
			// "in case of a fire", "en cas d'incendie", "what should we do"
			if t.norm != "case" && t.norm != "cas" || i > 0 && (toks[i-1].norm == "in" || toks[i-1].norm == "en") {
				s.hypothetical = true
			}
		case "street", "st", "road", "rd", "avenue", "ave", "lane", "drive", "boulevard", "blvd", "corner", "building", "apartment", "floor",
			"rue", "bd", "chemin", "allee", "place", "immeuble", "etage", "batiment", "appartement", "impasse", "quai":
			if i > 0 && toks[i-1].digits > 0 || i+1 < len(toks) && toks[i+1].digits > 0 || i > 0 && (toks[i-1].norm == "our" || toks[i-1].norm == "my" || toks[i-1].norm == "notre" || toks[i-1].norm == "mon") {
				s.address = true
			}
		}
	}
	for i := range toks {
		if !isCount(&toks[i]) {
			continue
		}
		for k := max(0, i-2); k <= min(len(toks)-1, i+2); k++ {
			if k != i && isCasualty(toks[k].stem) {
				s.casualties = true
			}
		}
	}
	s.link = strings.Contains(text, "http") || strings.Contains(text, "www.")
	s.mention = strings.Contains(text, "@")
	s.forward = s.forward && s.mention || strings.HasPrefix(strings.TrimSpace(text), "RT ")
	s.question = strings.Contains(text, "?")
	return s
}

// chatter reports whether the message reads as talk about a danger rather
// than a report of one: a forwarded post, a link, a news report, sympathy,
// an official notice, a past event told without a present marker, or a
// headline counting victims ("Flash flooding kills 12", "4 morts") with no
// present-tense verb and no one there now.
func (s *signals) chatter() bool {
	return s.forward || s.link || s.news || s.sympathy || s.notice ||
		s.hypothetical && !s.request || s.pastTime && !s.now && !s.request ||
		s.casualties && !s.present && !s.presence()
}

// isCount reports whether a token counts people: a number, or a number
// word in English or French.
func isCount(t *token) bool {
	if t.letters == 0 && t.digits > 0 {
		return true
	}
	switch t.norm {
	case "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty", "dozen", "dozens", "hundreds", "thousands",
		"deux", "trois", "quatre", "cinq", "sept", "huit", "neuf", "dix", "douze", "vingt", "dizaine", "dizaines", "centaines", "milliers":
		return true
	}
	return false
}

// isCasualty reports whether a stem names victims as a headline counts
// them ("3 dead", "kills 12", "leaves 2 injured", "4 morts", "3 blessés").
func isCasualty(stem string) bool {
	switch stem {
	case "dead", "death", "kill", "kills", "killed", "die", "dies", "died", "injured", "injurie", "hurt", "wounded", "victim", "casualtie",
		"mort", "blesse", "tue", "victime", "dece":
		return true
	}
	return false
}

// presence reports whether the message reads as someone reporting a
// danger where they are, now: first person, a request, "now"/"here" or an
// address. (A present-tense verb is too common in news to count.)
func (s *signals) presence() bool {
	return s.firstPerson || s.request || s.now || s.address
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
	}
	for i, b := range on {
		if b {
			dst = append(dst, feat{h: signalHashes[i], v: 1, g: groupSignal})
		}
	}
	return dst
}
