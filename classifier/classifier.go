package classifier

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"citybot"
)

// Classifier tags messages. Build one with New or NewWithModel; it is
// immutable afterwards and safe for concurrent use by many goroutines.
type Classifier struct {
	opts  Options
	model *Model

	labels   []string // topics Classify may return; includes OtherTopic
	modelCol []int    // per label: column in the topic head, or -1
	otherIdx int
	eps      float64 // modelFloor

	keywords  *topicKeywords
	kwFade    []float64 // per label: how far a trusted head fades its keywords
	cues      *cueSet
	sens      *sensitiveSet
	sensModel *sensModel // nil: rules only
	intents   *intentSet
	lang      *langDetector
	gaz       *gazetteer
	pat       *patterns
	ner       *ner   // nil when disabled
	tagger    *ner   // prose's model for part-of-speech tags (urgrank.go)
	joint     *joint // topic, urgency, request and life-threat heads
	factor    bool   // the model has both binary heads of the factorised estimate

	bufs sync.Pool // *scratch
}

// scratch holds per-call buffers.
type scratch struct {
	toks           []token
	feats          []feat
	matches        []match
	logits         []float64 // topic head
	ulogits        []float64 // urgency head
	rlogits        []float64 // request head
	llogits        []float64 // life-threat head
	scores         []float64
	acc            []float32 // joint.score's accumulators
	known          [maxJointHeads]int
	knownT, knownU int
	sens           []sensHit
	sensFeats      []sensFeat
	sensWinHits    []sensHit // a window's hits (sentenceWindows)
	langRead       uint64    // the languages the detection did not rule out (detectVotes)
}

// New returns a Classifier using opts.Model, or the shipped default model
// when opts.Model is empty. A model file that lacks a topic or an urgency
// head borrows it from the default model. It returns an error wrapping
// fs.ErrNotExist for a missing model file, and citybot.ErrInvalid for a
// damaged one or invalid options. Loading takes well under a second
// (prose's tagger and recogniser are loaded once here).
func New(opts Options) (*Classifier, error) {
	m, err := LoadModel(opts.Model)
	if err != nil {
		return nil, err
	}
	return NewWithModel(opts, m)
}

// LoadModel returns the model New serves with for Options.Model = path:
// the model file at path, falling back to the shipped model for the heads
// it lacks, or the shipped model when path is empty.
func LoadModel(path string) (*Model, error) {
	def, err := DefaultModel()
	if err != nil || path == "" {
		return def, err
	}
	m, err := ReadModelFile(path)
	if err != nil {
		return nil, err
	}
	return m.WithFallback(def), nil
}

// NewWithModel returns a Classifier using m (for instance one Train just
// built from officers' corrections) and ignores opts.Model. m must not be
// nil; it is shared, not copied.
func NewWithModel(opts Options, m *Model) (*Classifier, error) {
	if m == nil {
		return nil, fmt.Errorf("classifier: new: nil model: %w", citybot.ErrInvalid)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ls, topics, err := loadLexicons(opts)
	if err != nil {
		return nil, err
	}
	opts.Topics = topics
	lang, err := newLangDetector(ls)
	if err != nil {
		return nil, err
	}
	c := &Classifier{lang: lang, opts: opts, model: m, cues: newCueSet(ls), sens: newSensitiveSet(ls), intents: newIntentSet(ls), gaz: newGazetteer(opts.Places), pat: newPatterns()}
	c.bufs.New = func() any { return &scratch{} }
	if c.sensModel, err = defaultSensModel(); err != nil {
		return nil, err
	}
	c.factor = m.request != nil && m.lifeThreat != nil
	if c.factor {
		c.joint = newJoint(m.topic, m.urgency, m.request, m.lifeThreat)
	} else {
		c.joint = newJoint(m.topic, m.urgency)
	}
	c.eps = modelFloor

	// The label space: the configured topics, else the model's labels.
	if len(opts.Topics) > 0 {
		for _, t := range opts.Topics {
			c.labels = append(c.labels, strings.TrimSpace(t.Name))
		}
	} else if m.topic != nil {
		c.labels = slices.Clone(m.topic.labels)
	}
	if !slices.Contains(c.labels, OtherTopic) {
		c.labels = append(c.labels, OtherTopic)
	}
	c.otherIdx = slices.Index(c.labels, OtherTopic)
	c.modelCol = make([]int, len(c.labels))
	for i, l := range c.labels {
		c.modelCol[i] = -1
		if m.topic != nil {
			c.modelCol[i] = slices.Index(m.topic.labels, l)
		}
	}
	// Keyword evidence per label: full for a topic the model has no
	// data for, fading as its training messages grow, because the model
	// learnt from them which words point to it (see keywordHalf); but
	// only for a trusted head (trust above ½, fully at 1): the shipped
	// head (0.4) learnt from disaster messages, not the city's.
	// A city's own head also fades the keywords of a topic it has no
	// data for by the training messages they were found in, all
	// labelled otherwise: the city's own labels say those words point
	// elsewhere ("road" in messages it files under transport).
	c.kwFade = make([]float64, len(c.labels))
	for i, col := range c.modelCol {
		var n float64
		switch {
		case col >= 0 && col < len(m.topic.counts):
			n = float64(m.topic.counts[col])
		case col < 0 && m.topic != nil:
			n = float64(m.topic.kwSeen[c.labels[i]])
		}
		c.kwFade[i] = n / (keywordHalf + n)
	}
	// Keywords: one id per distinct phrase, mapped to every topic that
	// lists it.
	c.keywords = newTopicKeywords(c.lang.langs, c.labels, opts.Topics)
	n, err := newNER()
	if err != nil {
		return nil, err
	}
	c.tagger = n
	if !opts.DisableNER {
		c.ner = n
	}
	return c, nil
}

// Model returns the model the classifier uses (shared; do not modify).
func (c *Classifier) Model() *Model { return c.model }

// Topics returns the topics Classify may return, "other" included. The
// caller owns the slice.
func (c *Classifier) Topics() []string { return slices.Clone(c.labels) }

// unknownTopicPrior is the model probability given to a configured topic
// the model was not trained on, times the probability the model does not
// give its best label; its keywords must carry it.
const unknownTopicPrior = 0.02

// keywordHalf is the number of training messages of a topic at which its
// keywords weigh half of Options.KeywordWeight (chosen by
// cross-validation, cv_test.go).
var keywordHalf = 30.0

// modelFloor is added to the model's probabilities before the logarithm,
// which bounds how strongly the model can veto keyword evidence.
const modelFloor = 1e-4

// lowConfidence is the confidence of "other" for text with nothing the
// classifier can read.
const lowConfidence = 0.1

// Classify tags text. langHint is the platform's language code for the
// sender ("fr", "en-US"; may be empty); it decides only when the text
// itself does not tell. Any string is valid: Classify reads at most
// Options.MaxBytes of it, never panics, and returns the same result for the
// same input. Spans are byte offsets into text, on rune boundaries.
func (c *Classifier) Classify(text, langHint string) (out citybot.Classification) {
	defer func() {
		if r := recover(); r != nil {
			// A bug must not take the intake down: answer "other".
			out = citybot.Classification{
				Topic:             citybot.Scored{Label: OtherTopic, Confidence: lowConfidence},
				Urgency:           citybot.UrgencyNormal,
				UrgencyConfidence: 0.25,
				UrgencyScore:      0.25,
				Language:          LangOther,
				Model:             c.model.name,
			}
		}
	}()
	sc := c.bufs.Get().(*scratch)
	defer c.bufs.Put(sc)

	text = prefix(text, c.opts.maxBytes())
	sc.toks, _ = tokenize(text, sc.toks[:0])
	toks := sc.toks
	out.Model = c.model.name
	out.Language, sc.langRead = c.lang.detectVotes(text, toks, langHint)

	sc.matches = c.keywords.find(toks, sc.langRead, sc.matches[:0])
	sig := scanSignals(c.cues, text, toks, sc.matches[len(sc.matches):])
	sc.feats = appendSignals(featurize(toks, sc.feats), &sig)
	c.scoreHeads(sc)
	c.topic(sc, &out)
	c.rankUrgency(text, sc, &sig, &out)
	c.sensitive(sc, &out)
	c.intent(text, sc, &out)
	c.placesAndPersonal(text, sc, &out)
	return out
}

func (c *Classifier) topic(sc *scratch, out *citybot.Classification) {
	L := len(c.labels)
	sc.scores = grow(sc.scores, L)
	scores := sc.scores
	known := 0
	h := c.model.topic
	if h != nil {
		known = sc.knownT
		softmax(sc.logits)
	}
	// A topic the model does not know gets a share of the probability
	// the model leaves to its other labels: keywords name it when the
	// model hesitates, not against a model sure of its answer.
	unknown := unknownTopicPrior
	trust, unknownTrust := 1.0, 1.0
	if h != nil {
		unknown *= 1 - slices.Max(sc.logits[:len(h.labels)])
		trust, unknownTrust = h.trust, h.trust
		if h.unknown > 0 {
			unknownTrust = h.unknown
		}
	}
	hits := make([]int, L)
	c.keywords.hits(sc.matches, sc.langRead, hits)
	anyHit := slices.ContainsFunc(hits, func(n int) bool { return n > 0 })
	for i := range L {
		switch col := c.modelCol[i]; {
		case h == nil:
			scores[i] = 0
		case col >= 0:
			scores[i] = trust * math.Log(sc.logits[col]+c.eps)
		default:
			scores[i] = unknownTrust * math.Log(unknown+c.eps)
		}
	}
	// Keyword evidence: β for the first keyword occurrence of a topic,
	// β/2 for each further occurrence (the same keyword repeated counts),
	// at most 2β.
	for i, n := range hits {
		if n > 0 {
			beta := c.opts.keywordWeight() * (1 - max(0, 2*trust-1)*c.kwFade[i])
			scores[i] += beta * keywordEvidence(n)
		}
	}
	if known == 0 && !anyHit {
		out.Topic = citybot.Scored{Label: OtherTopic, Confidence: lowConfidence}
		return
	}
	softmax(scores)
	order := make([]int, L)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	best := order[0]
	out.Topic = citybot.Scored{Label: c.labels[best], Confidence: clamp01(scores[best])}
	if best != c.otherIdx && scores[best] < c.opts.otherThreshold() {
		out.Topic = citybot.Scored{Label: OtherTopic, Confidence: clamp01(scores[c.otherIdx])}
	}
	for _, i := range order {
		if len(out.Alternatives) == 3 || scores[i] < 0.05 {
			break
		}
		if c.labels[i] == out.Topic.Label {
			continue
		}
		out.Alternatives = append(out.Alternatives, citybot.Scored{Label: c.labels[i], Confidence: clamp01(scores[i])})
	}
}

// scoreHeads scores sc.feats with every head of the model in one pass
// (raw scores into sc.logits, ulogits, rlogits, llogits).
func (c *Classifier) scoreHeads(sc *scratch) {
	sc.logits = grow(sc.logits, c.joint.L[0])
	sc.ulogits = grow(sc.ulogits, c.joint.L[1])
	sc.rlogits = grow(sc.rlogits, c.joint.L[2])
	sc.llogits = grow(sc.llogits, c.joint.L[3])
	sc.acc = c.joint.score(sc.feats, [][]float64{sc.logits, sc.ulogits, sc.rlogits, sc.llogits}, sc.known[:c.joint.nh], sc.acc)
	sc.knownT, sc.knownU = sc.known[0], sc.known[1]
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func (c *Classifier) placesAndPersonal(text string, sc *scratch, out *citybot.Classification) {
	toks := sc.toks
	var places []citybot.Place
	// Gazetteer first: the city's own names win.
	for _, m := range c.gaz.set.find(toks, nil) {
		e := c.gaz.entries[m.id]
		places = append(places, citybot.Place{Name: e.Name, Kind: e.Kind, Span: citybot.Span{Start: toks[m.first].start, End: toks[m.end-1].end}})
	}
	var personal []citybot.PersonalSpan
	var streets []citybot.Place
	streets, personal = findStreets(text, toks, streets, personal)
	for _, s := range streets {
		places = addPlace(places, s)
	}
	personal = findEmails(text, personal)
	personal = findPhones(text, personal)
	if plateCandidate(toks) {
		personal = c.pat.findPlates(text, personal)
	}
	personal = findCuedNames(toks, personal)

	if c.ner != nil {
		for _, e := range c.runNER(text, toks, places, personal) {
			sp := citybot.Span{Start: e.start, End: e.end}
			if spanTaken(sp, places, personal) {
				continue
			}
			switch e.label {
			case "PERSON":
				personal = append(personal, citybot.PersonalSpan{Kind: citybot.PersonName, Span: sp})
			case "GPE":
				places = addPlace(places, citybot.Place{Name: text[e.start:e.end], Kind: "place", Span: sp})
			}
		}
	}
	places = slices.DeleteFunc(places, func(p citybot.Place) bool { return !validSpan(text, p.Span) })
	slices.SortStableFunc(places, func(a, b citybot.Place) int { return a.Span.Start - b.Span.Start })
	out.Places = places

	personal = slices.DeleteFunc(personal, func(p citybot.PersonalSpan) bool { return !validSpan(text, p.Span) })
	slices.SortStableFunc(personal, func(a, b citybot.PersonalSpan) int {
		if a.Span.Start != b.Span.Start {
			return a.Span.Start - b.Span.Start
		}
		return b.Span.End - a.Span.End // longer first
	})
	// Drop spans inside an earlier one.
	kept := personal[:0]
	for _, p := range personal {
		if n := len(kept); n > 0 && kept[n-1].Span.Start <= p.Span.Start && p.Span.End <= kept[n-1].Span.End {
			continue
		}
		kept = append(kept, p)
	}
	out.PersonalData = kept
}

// addPlace appends p unless it overlaps a place already found.
func addPlace(places []citybot.Place, p citybot.Place) []citybot.Place {
	for _, q := range places {
		if overlaps(q.Span, p.Span) {
			return places
		}
	}
	return append(places, p)
}

// validSpan reports whether sp is a non-empty range of text on rune
// boundaries holding valid UTF-8.
func validSpan(text string, sp citybot.Span) bool {
	if sp.Start < 0 || sp.End > len(text) || sp.Start >= sp.End {
		return false
	}
	if !utf8.RuneStart(text[sp.Start]) || sp.End < len(text) && !utf8.RuneStart(text[sp.End]) {
		return false
	}
	return utf8.ValidString(text[sp.Start:sp.End])
}

// runNER runs prose's recogniser only where cheap cues suggest a name the
// rules did not explain: two neighbouring capitalised words inside a
// sentence ("John Carter") that are not common words (the topic model
// knows them), not a place or personal data already found. It reads a few
// words around each such pair, at most maxNERWindows windows.
func (c *Classifier) runNER(text string, toks []token, places []citybot.Place, personal []citybot.PersonalSpan) []entity {
	cand := func(i int) bool {
		t := &toks[i]
		if !t.capital || t.allCaps || !t.latin || t.letters < 2 || t.digits > 0 || c.lang.isFunctionWord(t.norm) {
			return false
		}
		return !c.commonWord(t) && !covered(t, places, personal)
	}
	var out []entity
	windows := 0
	for i := 0; i+1 < len(toks) && windows < maxNERWindows; i++ {
		if !cand(i+1) || !cand(i) || i > 0 && placePreposition(toks[i-1].stem) {
			continue
		}
		// the two words must be separated by a single space
		if toks[i+1].start-toks[i].end != 1 || text[toks[i].end] != ' ' {
			continue
		}
		first, last := max(0, i-3), min(len(toks)-1, i+4)
		start, end := toks[first].start, toks[last].end
		if end-start > maxNERBytes {
			start, end = toks[i].start, toks[i+1].end
		}
		windows++
		if utf8.ValidString(text[start:end]) {
			out = append(out, c.ner.entities(text, start, end)...)
		}
		i = last
	}
	return out
}

// placePreposition reports whether a word usually introduces a place
// ("in Port Salut", "près de Saint Michel"): capitalised words after it
// are left to the street patterns and the gazetteer, which saves prose
// calls.
func placePreposition(stem string) bool {
	switch stem {
	case "in", "at", "near", "on", "to", "into", "around", "behind", "outside", "across", "along",
		"a", "au", "aux", "dan", "sur", "pre", "vers", "quartier", "commune", "zone", "section", "camp", "village":
		return true
	}
	return false
}

// maxNERWindows bounds the prose calls per message.
const maxNERWindows = 2

// plateCandidate reports whether a token could be part of a vehicle plate
// (a short run of capitals), so the plate patterns are worth running.
func plateCandidate(toks []token) bool {
	for i := range toks {
		if toks[i].allCaps && toks[i].letters <= 4 {
			return true
		}
	}
	return false
}

// commonWord reports whether the topic model knows t as a word, so it is a
// common word rather than a name.
func (c *Classifier) commonWord(t *token) bool {
	h := c.model.topic
	if h == nil {
		return false
	}
	_, ok := h.index.get(wordHash(t.stem))
	return ok
}

func covered(t *token, places []citybot.Place, personal []citybot.PersonalSpan) bool {
	return spanTaken(citybot.Span{Start: t.start, End: t.end}, places, personal)
}

// spanTaken reports whether sp overlaps a place or personal span found.
func spanTaken(sp citybot.Span, places []citybot.Place, personal []citybot.PersonalSpan) bool {
	for _, p := range places {
		if overlaps(p.Span, sp) {
			return true
		}
	}
	for _, p := range personal {
		if overlaps(p.Span, sp) {
			return true
		}
	}
	return false
}
