package classifier

import (
	"slices"
	"strings"
	"unicode/utf8"

	"citybot"
)

// The sensitive detector raises citybot.Classification.Sensitive for a
// report of bribery, "fees" without receipt, extortion and racketeering,
// kickbacks, rigged tenders, favouritism and nepotism, embezzlement, fake
// invoices or land grabs, whatever the topic. A miss exposes a citizen, so
// it errs toward flagging; a lawful fee, tax, fine or price alone does not
// raise it.
//
// It reads the classifier's tokens (case and accents folded, a plural s/x
// dropped) once, finding every phrase of the lexicons' [sensitive]
// sections, overlaps included, and numbers that are amounts; then it
// judges every window of two sentences (a sentence and the one before it):
// the window is flagged when one of the rules below fires, or when its
// evidence score (see score and the w… weights) reaches sensThreshold.
// The rules:
//
//   - phrase: a phrase of the phrases list ("under the table", "pot de vin");
//   - official+payment: an official or office, money (a word, or a number
//     not followed by a unit such as "days") or an informal payment
//     ("envelope", "un petit quelque chose"), and a demand or payment verb or
//     an aggravation (below); not when the sentence speaks of a lawful fee
//     ("fine", "taxe", "prix") with no aggravation and no informal payment;
//   - payment+condition: a demand or payment verb, money or an informal
//     payment, and an aggravation: a condition ("only if", "pour
//     accélérer", "sinon"), a payment to a person ("give him", "lui
//     donner"), no receipt, or a service that should be free;
//   - no receipt: "sans reçu", "no receipt" (or without/no a few words
//     before a receipt word) with a payment verb or money;
//   - paying an official: an official and a payment to a person;
//   - favour: a relative or friend tied to an official ("the mayor's
//     nephew", "neveu du maire") or to a third person ("his friends"), and
//     a job, post, contract or tender;
//   - misappropriation: stealing, selling or keeping near an official (or a
//     tied relative), and public money, aid, fuel or land;
//   - fake invoice: a fake, inflated or never-done word with an invoice
//     word ("the invoices are fake", "factures de travaux jamais faits");
//   - extortion: a gang with money, an informal payment or a demand.
//
// An official rule is not applied to a window that opens the message with
// a question and has no aggravation ("do I pay in cash at the office?").
//
// The lawful frame: a taking followed by a duration is time ("it took 3
// months"); a missing ticket next to a fine that was given is the fare
// dodger's; the writer's own relative ("my daughter") is not tied to an
// official nearby; a gift in thanks with no condition, no payment to a
// person and no missing receipt is no bribe; a payment at a place ("paid
// at the counter", "on paie au service des sports") is a lawful frame.
//
// detectLevel tells a phrase (sensPhrase) from another rule (sensRule)
// and from the evidence score alone (sensEvidence): Classifier.sensitive
// lets the learned part veto the last two, each at a threshold of its own
// (sensModel.ruleVeto, sensModel.evidence): the rules give candidates,
// the model reads their frame.
//
// Each language's words apply only to messages in that language, plus
// English and French, which cities mix into every language (alwaysLangs):
// a Swahili word never moves the score of a Spanish message. A language
// the detection did not rule out (its words got at least half the votes
// of the winner's) is read too, and a message no word told the language
// of is read in every language: short Portuguese or Swahili messages are
// often detected as Spanish or English.
type sensitiveSet struct {
	set        *phraseSet
	langs      []string  // the lexicons' languages, sorted
	masks      []sensCat // by phrase id × len(langs) + language index
	texts      []string  // display text by phrase id
	notAmounts map[string]uint64
	always     uint64 // the language bits read for every message (en, fr)
	bits       map[string]uint64
}

// alwaysLangs are the languages whose words apply to every message:
// cities mix English and French words into every language.
var alwaysLangs = []string{"en", "fr"}

// langBits returns the set of languages whose words apply to a message in
// lang: lang itself and alwaysLangs.
func (s *sensitiveSet) langBits(lang string) uint64 { return s.always | s.bits[lang] }

// readBits returns the set of languages whose words apply to a message
// given the languages its detection did not rule out (bit i for the
// lexicons' i-th language in sorted order, as langDetector.detectVotes
// returns it): those and alwaysLangs.
func (s *sensitiveSet) readBits(notRuledOut uint64) uint64 { return s.always | notRuledOut }

// mask returns the categories of phrase id in the languages of allow.
func (s *sensitiveSet) mask(id int, allow uint64) sensCat {
	var m sensCat
	row := s.masks[id*len(s.langs) : (id+1)*len(s.langs)]
	for li, c := range row {
		if allow&(1<<li) != 0 {
			m |= c
		}
	}
	return m
}

type sensCat uint32

const (
	sPhrase sensCat = 1 << iota
	sOfficial
	sDemand
	sMoney
	sInformal
	sCondition
	sPossessive
	sPayee
	sNoReceipt
	sReceipt
	sWithout
	sFree
	sFee
	sRelative
	sHiring
	sTaking
	sPublic
	sGang
	sPayVerb
	sFake
	sInvoice
	sQuestion
	sPositive
	sOpen     // an open procedure: published, an interview, a price list (the model's)
	sHidden   // hidden dealing: privately, at his house, in his name (the model's)
	sDeclined // nothing was asked, or the official refused: "no money asked", "il a refusé la bouteille"
	sAmount   // a number that is no date, year or measure
)

// sensitiveWords is the [sensitive] section of a lexicon file.
type sensitiveWords struct {
	Phrases     []string `toml:"phrases"`
	Officials   []string `toml:"officials"`
	Demands     []string `toml:"demands"`
	Money       []string `toml:"money"`
	Informal    []string `toml:"informal"`
	Conditions  []string `toml:"conditions"`
	Possessives []string `toml:"possessives"`
	Payees      []string `toml:"payees"`
	PayVerbs    []string `toml:"pay_verbs"`
	NoReceipt   []string `toml:"no_receipt"`
	Receipts    []string `toml:"receipts"`
	Without     []string `toml:"without"`
	Free        []string `toml:"free"`
	Fees        []string `toml:"fees"`
	Relatives   []string `toml:"relatives"`
	Hiring      []string `toml:"hiring"`
	Taking      []string `toml:"taking"`
	PublicGoods []string `toml:"public_goods"`
	Gangs       []string `toml:"gangs"`
	Fakes       []string `toml:"fakes"`
	Invoices    []string `toml:"invoices"`
	Questions   []string `toml:"questions"`
	Positive    []string `toml:"positive"`
	Open        []string `toml:"open"`
	Hidden      []string `toml:"hidden"`
	Declined    []string `toml:"declined"`
	NotAmounts  []string `toml:"not_amounts"`
}

func newSensitiveSet(ls lexicons) *sensitiveSet {
	s := &sensitiveSet{set: newPhraseSet(), langs: ls.langs(), notAmounts: map[string]uint64{}, bits: map[string]uint64{}}
	if len(s.langs) > 64 {
		s.langs = s.langs[:64] // a bit per language; no city has 64 lexicons
	}
	for i, l := range s.langs {
		s.bits[l] = 1 << i
	}
	for _, l := range alwaysLangs {
		s.always |= s.bits[l]
	}
	nl := len(s.langs)
	ids := map[string]int{}
	add := func(cat sensCat) func(string, []string) {
		return func(lang string, list []string) {
			li := slices.Index(s.langs, lang)
			if li < 0 {
				return
			}
			for _, p := range list {
				key := strings.Join(phraseStems(p), " ")
				if key == "" {
					continue
				}
				id, ok := ids[key]
				if !ok {
					id = len(s.texts)
					ids[key] = id
					s.set.add(p, id)
					s.masks = append(s.masks, make([]sensCat, nl)...)
					s.texts = append(s.texts, strings.TrimSpace(p))
				}
				s.masks[id*nl+li] |= cat
			}
		}
	}
	for _, l := range []struct {
		cat sensCat
		get func(*lexicon) []string
	}{
		{sPhrase, func(l *lexicon) []string { return l.Sensitive.Phrases }},
		{sOfficial, func(l *lexicon) []string { return l.Sensitive.Officials }},
		{sDemand, func(l *lexicon) []string { return l.Sensitive.Demands }},
		{sMoney, func(l *lexicon) []string { return l.Sensitive.Money }},
		{sInformal, func(l *lexicon) []string { return l.Sensitive.Informal }},
		{sCondition, func(l *lexicon) []string { return l.Sensitive.Conditions }},
		{sPossessive, func(l *lexicon) []string { return l.Sensitive.Possessives }},
		{sPayee, func(l *lexicon) []string { return l.Sensitive.Payees }},
		{sPayVerb, func(l *lexicon) []string { return l.Sensitive.PayVerbs }},
		{sNoReceipt, func(l *lexicon) []string { return l.Sensitive.NoReceipt }},
		{sReceipt, func(l *lexicon) []string { return l.Sensitive.Receipts }},
		{sWithout, func(l *lexicon) []string { return l.Sensitive.Without }},
		{sFree, func(l *lexicon) []string { return l.Sensitive.Free }},
		{sFee, func(l *lexicon) []string { return l.Sensitive.Fees }},
		{sRelative, func(l *lexicon) []string { return l.Sensitive.Relatives }},
		{sHiring, func(l *lexicon) []string { return l.Sensitive.Hiring }},
		{sTaking, func(l *lexicon) []string { return l.Sensitive.Taking }},
		{sPublic, func(l *lexicon) []string { return l.Sensitive.PublicGoods }},
		{sGang, func(l *lexicon) []string { return l.Sensitive.Gangs }},
		{sFake, func(l *lexicon) []string { return l.Sensitive.Fakes }},
		{sInvoice, func(l *lexicon) []string { return l.Sensitive.Invoices }},
		{sQuestion, func(l *lexicon) []string { return l.Sensitive.Questions }},
		{sPositive, func(l *lexicon) []string { return l.Sensitive.Positive }},
		{sOpen, func(l *lexicon) []string { return l.Sensitive.Open }},
		{sHidden, func(l *lexicon) []string { return l.Sensitive.Hidden }},
		{sDeclined, func(l *lexicon) []string { return l.Sensitive.Declined }},
	} {
		ls.each(l.get, add(l.cat))
	}
	ls.each(func(l *lexicon) []string { return l.Sensitive.NotAmounts }, func(lang string, list []string) {
		for _, p := range list {
			for _, st := range phraseStems(p) {
				s.notAmounts[st] |= s.bits[lang]
			}
		}
	})
	return s
}

// sensHit is one phrase found, or an amount (id -1).
type sensHit struct {
	id         int
	first, end int
	mask       sensCat
}

// amount reports whether toks[i] is a number (or thousands written "20k")
// that may be an amount of money: not a year (1900–2099), and neither
// the word before it in its sentence nor the word after it is one of
// not_amounts ("3 days", "June 14", "5 km").
func (s *sensitiveSet) amount(toks []token, i int, allow uint64) bool {
	t := &toks[i]
	if t.digits == 0 || t.letters > 0 && !thousands(t.norm) {
		return false
	}
	if n := t.norm; len(n) == 4 && (n[:2] == "19" || n[:2] == "20") {
		return false
	}
	if !t.sentStart && i > 0 && s.notAmounts[toks[i-1].stem]&allow != 0 {
		return false
	}
	return i+1 == len(toks) || toks[i+1].sentStart || s.notAmounts[toks[i+1].stem]&allow == 0
}

// thousands reports whether a word is a number of thousands written
// with a k, as SMS write amounts: "20k", "5k".
func thousands(w string) bool {
	if len(w) < 2 || w[len(w)-1] != 'k' {
		return false
	}
	for i := 0; i < len(w)-1; i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return true
}

// duration reports whether toks[i:] opens with a number and a unit of
// not_amounts ("3 months", "2 minutes") or with a time word ("time",
// "du temps", "a long time"): after "took" or "prend" it is a time, not
// a taking.
func (s *sensitiveSet) duration(toks []token, i int, allow uint64) bool {
	if i >= len(toks) || toks[i].sentStart {
		return false
	}
	for k := i; k < len(toks) && k < i+3 && (k == i || !toks[k].sentStart); k++ {
		switch toks[k].norm {
		case "time", "temps", "ages", "forever", "while", "tiempo", "tempo", "muda", "وقت", "الوقت":
			return true
		case "du", "some", "a", "long", "un", "beaucoup", "de", "so", "too", "much", "mucho", "muito", "trop":
			continue
		}
		break
	}
	return i+1 < len(toks) && !toks[i+1].sentStart &&
		toks[i].digits > 0 && toks[i].letters == 0 && s.notAmounts[toks[i+1].stem]&allow != 0
}

// detect returns the cues that raise the flag in a message whose words
// are read in the languages of allow (langBits, readBits), or nil. hits
// is a buffer it may reuse; the grown buffer is returned.
func (s *sensitiveSet) detect(toks []token, allow uint64, hits []sensHit) ([]string, []sensHit) {
	cues, _, hits := s.detectLevel(toks, allow, hits)
	return cues, hits
}

// The strength of the rules' evidence in a message (detectLevel).
const (
	sensNone     = 0 // no rule fires, the evidence score is below sensThreshold
	sensEvidence = 1 // the evidence score reaches sensThreshold, no rule fires
	sensRule     = 2 // a rule other than a phrase fires (an official and a payment…)
	sensPhrase   = 3 // a phrase of the phrases list ("under the table")
)

// detectLevel is detect, and also returns the strength of the evidence of
// the best window: sensPhrase, sensRule, sensEvidence or sensNone (cues
// nil).
func (s *sensitiveSet) detectLevel(toks []token, allow uint64, hits []sensHit) ([]string, int, []sensHit) {
	hits = hits[:0]
	var forms [80]string // a word and its Arabic forms (arabicForms)
	for i := range toks {
		keys := append(forms[:0], toks[i].stem)
		if isArabicWord(toks[i].stem) {
			keys = arabicForms(toks[i].stem, keys)
		}
		for _, key := range keys {
			for _, p := range s.set.byFirst[key] {
				n := len(p.stems)
				if i+n > len(toks) {
					continue
				}
				ok := true
				for k := 1; k < n; k++ {
					if !stemMatches(toks[i+k].stem, p.stems[k]) {
						ok = false
						break
					}
				}
				if !ok {
					continue
				}
				m := s.mask(p.id, allow)
				if m&(sTaking|sDemand) != 0 && s.duration(toks, i+n, allow) {
					m &^= sTaking | sDemand // "it took 3 months", "ça a pris 3 mois"
				}
				if m != 0 {
					hits = append(hits, sensHit{id: p.id, first: i, end: i + n, mask: m})
				}
			}
		}
		if s.amount(toks, i, allow) {
			hits = append(hits, sensHit{id: -1, first: i, end: i + 1, mask: sAmount})
		}
	}
	if len(hits) == 0 {
		return nil, sensNone, hits
	}
	// Score every window of two sentences (a sentence and the one before
	// it); the best window decides.
	best, bestAt := 0.0, [2]int{}
	h, prevStart := 0, 0
	for a := 0; a < len(toks); {
		b := a + 1
		for b < len(toks) && !toks[b].sentStart {
			b++
		}
		h0 := h
		for h < len(hits) && hits[h].first < b {
			h++
		}
		if sc := s.score(toks, hits[prevStart:h]); sc > best {
			best, bestAt = sc, [2]int{prevStart, h}
		}
		prevStart = h0
		a = b
	}
	if best < sensThreshold {
		return nil, sensNone, hits
	}
	level := sensEvidence
	switch {
	case best >= sensPhraseScore:
		level = sensPhrase
	case best >= sensRuleScore:
		level = sensRule
	}
	return s.explain(toks, hits[bestAt[0]:bestAt[1]]), level, hits
}

// Arabic writes articles, conjunctions and prepositions as prefixes and
// object pronouns as suffixes of the word ("والموظف", "أعطيته"): the
// sensitive lexicon lists bare words, so an Arabic word also matches an
// entry of three letters or more after one of arPrefixes and one of
// arSuffixes are removed.
var (
	arPrefixes = []string{"", "ال", "وال", "فال", "بال", "كال", "لل", "و", "ف", "ب", "ل"}
	arSuffixes = []string{"", "ه", "ها", "هم", "ني", "نا", "ك"}
)

// isArabicWord reports whether w starts with a letter of the Arabic
// block (U+0600–U+06FF: a first byte 0xD8–0xDB).
func isArabicWord(w string) bool { return len(w) >= 2 && w[0] >= 0xD8 && w[0] <= 0xDB }

// arabicForms appends to dst the forms of the Arabic word w with a prefix
// and a suffix removed (not w itself), each of three letters or more.
func arabicForms(w string, dst []string) []string {
	for _, pre := range arPrefixes {
		if !strings.HasPrefix(w, pre) {
			continue
		}
		rest := w[len(pre):]
		for _, suf := range arSuffixes {
			if (pre == "" && suf == "") || !strings.HasSuffix(rest, suf) {
				continue
			}
			if f := rest[:len(rest)-len(suf)]; utf8.RuneCountInString(f) >= 3 {
				dst = append(dst, f)
			}
		}
	}
	return dst
}

// stemMatches reports whether a message's stem matches a lexicon stem:
// equal, or an Arabic word whose prefix and suffix removed give it.
func stemMatches(tok, lex string) bool {
	if tok == lex {
		return true
	}
	if !isArabicWord(tok) || utf8.RuneCountInString(lex) < 3 {
		return false
	}
	for _, pre := range arPrefixes {
		if !strings.HasPrefix(tok, pre) {
			continue
		}
		rest := tok[len(pre):]
		for _, suf := range arSuffixes {
			if strings.HasSuffix(rest, suf) && rest[:len(rest)-len(suf)] == lex {
				return true
			}
		}
	}
	return false
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Evidence weights of the sensitive score; a window scoring
// sensThreshold or more raises the flag. A phrase alone reaches it; so do
// an official, a demand and an amount ("the police asked me 50"); a
// payment with no receipt ("on nous fait payer sans reçu"); a relative
// tied to an official and a job ("they hired the mayor's nephew"). A
// lawful fee with no aggravation, a question and thanks lower the score.
const (
	sensThreshold   = 3.0
	sensRuleScore   = sensThreshold + 10 // the score of a window a rule fires on
	sensPhraseScore = sensRuleScore + 10 // the score of a window with a phrase

	wPhrase      = 3.0
	wOfficial    = 1.0
	wDemand      = 1.0
	wMoney       = 1.0 // a money word or an amount
	wMoneyAmount = 1.5 // an amount and a money word ("200 euros")
	wInformal    = 2.0 // replaces wMoney
	wCondition   = 1.5
	wPayee       = 1.5 // a payment to a person: "give him", "pay the guard"
	wNoReceipt   = 2.0
	wFree        = 1.5
	wRelative    = 1.5 // tied to an official or a third person
	wHiring      = 1.0 // with a relative; half with an official
	wTaking      = 0.5
	wTakingNear  = 1.0 // taking near an official (added)
	wPublic      = 0.5
	wGang        = 1.5
	wFake        = 1.5
	wInvoice     = 0.5
	wFee         = -1.5 // a lawful fee, price or fine, without aggravation
	wQuestion    = -1.5 // the message opens as a question
	wPositive    = -1.5 // thanks, praise
	maxWindowHit = 64   // hits read per window (bounded cost)
)

// score sums the evidence of one window's hits.
func (s *sensitiveSet) score(toks []token, hits []sensHit) float64 {
	if len(hits) > maxWindowHit {
		hits = hits[:maxWindowHit]
	}
	var all sensCat
	for _, x := range hits {
		all |= x.mask
	}
	has := func(c sensCat) bool { return all&c != 0 }
	// A fine was given ("une amende de 50 euros", "fined for no ticket"):
	// a missing ticket is the fare dodger's, not a receipt withheld.
	fined := fineGiven(toks, hits)
	payeePay, noReceipt, linkedRelative, takingNearOfficial := false, false, false, false
	for _, x := range hits {
		if x.mask&sNoReceipt != 0 && !(fined && ticketWords[toks[x.end-1].stem]) {
			noReceipt = true
		}
	}
	for i, x := range hits {
		for j, y := range hits {
			if i == j {
				continue
			}
			d := y.first - x.first
			// "give him", "lui donner", "pay the guard"; not "paie au
			// service des sports" (the office's own words say where)
			if x.mask&sPayVerb != 0 && (y.mask&sPayee != 0 && payeeAt(toks[y.first].stem, d) || y.mask&sOfficial != 0 && y.first >= x.end && y.first-x.end <= 3 && !atPlace(toks[x.end:y.first+1])) {
				payeePay = true
			}
			if x.mask&sWithout != 0 && y.mask&sReceipt != 0 && y.first >= x.end && y.first-x.end <= 3 && !withBetween(toks[x.end:y.first]) &&
				!(fined && ticketWords[toks[y.first].stem]) {
				noReceipt = true
			}
			overlap := y.first < x.end && x.first < y.end
			// "the mayor's nephew", "his cousin"; not "my daughter" next to
			// the principal (the writer's own family)
			if x.mask&sRelative != 0 && !overlap && (y.mask&sOfficial != 0 && d >= -3 && d <= 3 && !firstPersonBefore(toks, x.first) || y.mask&sPossessive != 0 && d >= -2 && d <= -1) {
				linkedRelative = true
			}
			// "the treasurer … took", "stolen by the mayor"
			if x.mask&sTaking != 0 && x.mask&sOfficial == 0 && y.mask&sOfficial != 0 && d >= -10 && d <= 4 {
				takingNearOfficial = true
			}
		}
	}
	aggravated := has(sCondition) || payeePay || noReceipt || has(sFree) || has(sInformal)
	// a lawful fee, price or fine, or a payment with a receipt or an invoice
	lawful := has(sFee) || !noReceipt && hasReceipt(toks, hits) || paidAtPlace(toks, hits)
	if has(sPhrase) {
		return sensPhraseScore
	}
	if has(sDeclined) && !has(sCondition) && !noReceipt && !has(sInformal) {
		// "he hadn't asked for anything", "personne n'a rien payé", "il a
		// refusé la bouteille": what was given was a thanks, or nothing;
		// a condition, a missing receipt or an informal payment still count
		return 0
	}
	if s.rule(has, payeePay, noReceipt, linkedRelative, takingNearOfficial, startsQuestion(hits), lawful) {
		return sensRuleScore
	}
	sc := 0.0
	add := func(ok bool, w float64) {
		if ok {
			sc += w
		}
	}
	add(has(sPhrase), wPhrase)
	add(has(sOfficial), wOfficial)
	add(has(sDemand), wDemand)
	switch {
	case has(sInformal):
		sc += wInformal
	case has(sMoney) && has(sAmount):
		sc += wMoneyAmount
	case has(sMoney) || has(sAmount):
		sc += wMoney
	}
	add(has(sCondition), wCondition)
	add(payeePay, wPayee)
	add(noReceipt, wNoReceipt)
	// "free" aggravates a payment, a demand, a taking or a contrast ("free
	// but…"); alone it is information ("the tests are free on tuesdays")
	add(has(sFree) && (has(sMoney) || has(sAmount) || has(sInformal) || has(sDemand) || has(sTaking) || contrast(toks)), wFree)
	add(linkedRelative, wRelative)
	switch {
	case has(sHiring) && has(sRelative):
		sc += wHiring
	case has(sHiring) && has(sOfficial):
		sc += wHiring / 2
	}
	add(has(sTaking), wTaking)
	add(takingNearOfficial && has(sPublic), wTakingNear)
	// public goods count unless money already did ("stole money")
	add(has(sPublic) && !(has(sMoney) && onlyMoneyPublic(hits)), wPublic)
	add(has(sGang), wGang)
	add(has(sFake), wFake)
	add(has(sInvoice), wInvoice)
	add(lawful && !aggravated, wFee)
	add(startsQuestion(hits), wQuestion)
	add(has(sPositive), wPositive)
	return sc
}

// rule applies the conjunctive rules (see the package comment of the
// sensitive detector) but the phrase to one window; any of them raises
// the flag whatever the score, unless the model vetoes it.
func (s *sensitiveSet) rule(has func(sensCat) bool, payeePay, noReceipt, linkedRelative, takingNearOfficial, question, lawful bool) bool {
	aggravated := has(sCondition) || payeePay || noReceipt || has(sFree)
	payment := has(sMoney) || has(sAmount) || has(sInformal)
	switch {
	case has(sOfficial) && (has(sInformal) || payment && (has(sDemand) || aggravated)) && !((lawful || question) && !aggravated && !has(sInformal)) &&
		!(has(sPositive) && !has(sCondition) && !payeePay && !noReceipt):
		return true // official+payment; not a gift given in thanks
	case has(sDemand) && payment && aggravated:
		return true // payment+condition
	case noReceipt && (has(sDemand) || has(sMoney) || has(sAmount)):
		return true
	case (has(sOfficial) || has(sHiring)) && payeePay && !(lawful && !has(sCondition)):
		return true // paying an official
	case linkedRelative && has(sHiring):
		return true // favour
	case (takingNearOfficial || linkedRelative && has(sTaking) || has(sGang) && has(sTaking)) && has(sPublic):
		return true // misappropriation
	case has(sFake) && has(sInvoice):
		return true // fake invoice
	case has(sGang) && (has(sMoney) || has(sInformal) || has(sDemand)):
		return true // extortion
	}
	return false
}

// payeeAt reports whether a payee d words after a payment verb is the one
// paid: after it ("give him", "pay the guard"), or, for a clitic
// pronoun, just before it ("lui donner", "je lui ai donné", "lhe dei");
// an English "them" before the verb is another verb's object ("fixed
// them and paid the fee").
func payeeAt(stem string, d int) bool {
	switch {
	case d >= 0:
		return d <= 4
	case d >= -2:
		return payeeClitics[stem]
	}
	return false
}

// payeeClitics are the payee pronouns written before the verb.
var payeeClitics = map[string]bool{"lui": true, "leur": true, "lhe": true}

// atPlace reports whether the words between a payment and an official
// say where it was paid, not to whom ("paid 30 at the counter", "payé à la
// mairie"), or that the official paid ("paid by the council", "payés par
// la mairie"): a payment at a desk or an office is no payment to a
// person.
func atPlace(between []token) bool {
	for i := range between {
		switch between[i].stem {
		case "by", "par", "por", "pela", "pelo", // the official is the payer: "paid by the council"
			"at", "online", "au", "aux", // en, fr
			"en", "em", "na", "no", // es, pt: "en la ventanilla", "na prefeitura"
			"في", "kwenye", "katika": // ar, sw
			return true
		case "a":
			if i+1 < len(between) && (between[i+1].stem == "la" || between[i+1].stem == "l") {
				return true
			}
		}
	}
	return false
}

// fineWords and ticketWords are the stems of a fine and of a travel
// ticket, in every shipped language.
var (
	fineWords   = map[string]bool{"fine": true, "amende": true, "pv": true, "contravention": true, "multa": true, "penalty": true, "faini": true, "غرامة": true}
	ticketWords = map[string]bool{"ticket": true, "billet": true, "titre": true, "boleto": true, "bilhete": true, "tiketi": true, "تذكرة": true}
)

// fineGiven reports whether a window names a fine that was given: a fine
// word that no "without" word or no-receipt phrase covers or precedes
// ("no fine", "sans amende" are the opposite).
func fineGiven(toks []token, hits []sensHit) bool {
	for _, f := range hits {
		if f.mask&sReceipt == 0 || !fineWords[toks[f.first].stem] {
			continue
		}
		negated := false
		for _, w := range hits {
			if w.mask&(sWithout|sNoReceipt) != 0 && w.first <= f.first && w.end >= f.first-1 {
				negated = true
			}
		}
		if !negated {
			return true
		}
	}
	return false
}

// firstPersonBefore reports whether the word before toks[i] is a
// first-person possessive ("my daughter", "ma fille", "notre fils").
func firstPersonBefore(toks []token, i int) bool {
	if i == 0 || toks[i].sentStart {
		return false
	}
	switch toks[i-1].stem {
	case "my", "our", "ma", "mon", "notre", "nos", "mi", "mis", "nuestro", "nuestra", "minha", "meu", "nossa", "nosso":
		return true
	}
	return false
}

// paidAtPlace reports whether a payment verb is followed within four
// words by where it was paid: "paid at the counter", "payé au guichet",
// "paid online", "paid at the bank" (not "au lieu de", instead of).
func paidAtPlace(toks []token, hits []sensHit) bool {
	for _, x := range hits {
		if x.mask&sPayVerb == 0 {
			continue
		}
		for i := x.end; i < len(toks) && i < x.end+4 && !toks[i].sentStart; i++ {
			switch toks[i].stem {
			case "au":
				if i+1 < len(toks) && toks[i+1].stem == "lieu" {
					return false
				}
				return true
			case "at", "online", "aux", "bank", "banque", "counter", "guichet", "caisse", "cashier", "ligne":
				return true
			}
		}
	}
	return false
}

// withBetween reports whether the words between a "without" word and a
// receipt say "with": "no banco, com recibo" (Portuguese "no" is "in
// the") is a payment with a receipt.
func withBetween(between []token) bool {
	for i := range between {
		switch between[i].stem {
		case "with", "avec", "com", "con", "na":
			return true
		}
	}
	return false
}

// contrast reports whether the message holds a word of contrast ("but",
// "mais").
func contrast(toks []token) bool {
	for i := range toks {
		switch toks[i].stem {
		case "but", "yet", "though", "tho", "although", "mais", "pourtant", "cependant":
			return true
		}
	}
	return false
}

// hasReceipt reports whether a receipt hit of the window is a receipt or
// an invoice proper ("got a receipt", "avec reçu"), not a paper or a
// ticket, which say less of a lawful payment.
func hasReceipt(toks []token, hits []sensHit) bool {
	for _, x := range hits {
		if x.mask&sReceipt != 0 && proofOfPayment[toks[x.first].stem] {
			return true
		}
	}
	return false
}

// proofOfPayment holds the stems of the receipt words that show a lawful
// payment (a receipt or an invoice proper, in every shipped language),
// as opposed to a paper or a ticket.
var proofOfPayment = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{
		"receipt", "invoice", // en
		"reçu", "facture", "quittance", // fr
		"recibo", "factura", "comprobante", "boleta", // es
		"comprovante", "boleto", // pt (and recibo)
		"وصل", "الوصل", "إيصال", "ايصال", "الإيصال", "الايصال", "فاتورة", "الفاتورة", // ar
		"risiti", "stakabadhi", "ankara", // sw
	} {
		for _, st := range phraseStems(w) {
			m[st] = true
		}
	}
	return m
}()

// onlyMoneyPublic reports whether every public-goods hit is also a money
// hit ("money"), so that it is not counted twice.
func onlyMoneyPublic(hits []sensHit) bool {
	for _, x := range hits {
		if x.mask&sPublic != 0 && x.mask&sMoney == 0 {
			return false
		}
	}
	return true
}

// startsQuestion reports whether a question word opens the message.
func startsQuestion(hits []sensHit) bool {
	for _, x := range hits {
		if x.mask&sQuestion != 0 && x.first == 0 {
			return true
		}
	}
	return false
}

// text is the display text of a hit: the lexicon's phrase, or the
// message's number.
func (s *sensitiveSet) text(toks []token, x sensHit) string {
	if x.id < 0 {
		return toks[x.first].norm
	}
	return s.texts[x.id]
}

// explain lists the words of the deciding window that carried evidence,
// phrases first, at most six.
func (s *sensitiveSet) explain(toks []token, hits []sensHit) []string {
	const evidence = sPhrase | sOfficial | sDemand | sMoney | sAmount | sInformal | sCondition | sPayee | sNoReceipt |
		sFree | sRelative | sHiring | sTaking | sPublic | sGang | sFake | sInvoice
	var out []string
	var spans [6][2]int // the words each cue covers: one cue per span
	for _, want := range []sensCat{sPhrase, evidence &^ sPhrase} {
		for _, x := range hits {
			if x.mask&want == 0 || len(out) == 6 || slices.Contains(spans[:len(out)], [2]int{x.first, x.end}) {
				continue
			}
			if t := s.text(toks, x); !containsStr(out, t) {
				spans[len(out)] = [2]int{x.first, x.end}
				out = append(out, t)
			}
		}
	}
	return out
}

// sensitive fills out.Sensitive and out.SensitiveCues. A message the
// classifier files under the corruption topic is sensitive too.
func (c *Classifier) sensitive(sc *scratch, out *citybot.Classification) {
	var cues []string
	var level int
	cues, level, sc.sens = c.sens.detectLevel(sc.toks, c.sens.readBits(sc.langRead), sc.sens)
	if level != sensPhrase && c.sensModel != nil {
		// The model flags what the rules miss, and vetoes a rule (but a
		// phrase) or the rules' evidence when it reads a lawful story.
		sc.sensFeats = sensFeatures(sc.toks, sc.sens, sc.sensFeats)
		p := c.sensModel.prob(sc.sensFeats)
		if p >= c.sensModel.cut(level) {
			// A message of three sentences or more must read as a report
			// in one window of two sentences too: words that lean a little
			// toward a report add up over a long lawful story, not within
			// two of its sentences.
			var best float64
			sc.sensWinHits, best = c.sensModel.bestWindow(sc.toks, sc.sens, sc.sensWinHits, &sc.sensFeats)
			p = min(p, best)
		}
		switch {
		case level == sensRule && p >= c.sensModel.ruleVeto:
		case level == sensEvidence && p >= c.sensModel.evidence:
		case p >= c.sensModel.threshold:
			cues = c.sensModel.explain(sc.toks, p)
		default:
			cues = nil
		}
	}
	if out.Topic.Label == corruptionTopic && !containsStr(cues, "topic: "+corruptionTopic) {
		cues = append(cues, "topic: "+corruptionTopic)
	}
	out.Sensitive = len(cues) > 0
	out.SensitiveCues = cues
}

// corruptionTopic is the default topic of corruption reports. Sensitive
// is a flag, not this topic: a message can be about permits and
// sensitive; but one the classifier files here is always sensitive.
const corruptionTopic = "corruption"
