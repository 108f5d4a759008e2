package classifier

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"citybot"

	"github.com/jdkato/prose/v2"
)

// The urgency ranking: one learned, calibrated score per message.
//
// A small logistic regression (the combiner) reads what the other parts
// found — the two binary heads' P(request) and P(life threat), the
// four-level urgency head's P(critical) + ½·P(high), the cue evidence
// and the chatter signals (signals.go), and, for English messages with a
// danger cue, prose's part-of-speech tags (tense, person, imperative) —
// and gives the probability that the message reports a present danger
// that needs someone now. It was fitted on out-of-fold outputs of the
// heads over disaster_en.csv (the heads' in-sample outputs would be too
// sure of themselves), with the proxy "asks for help and names a threat
// to life" as the target (see README, "Urgency ranking"). Levels are
// cut from that score by thresholds chosen on data (rankThresholds).

// rankInputs is what the combiner reads for one message.
type rankInputs struct {
	req, life, urg float64 // head probabilities; -1 when the model lacks the head
	sig            *signals
	pos            posTags
}

// posTags are what prose's part-of-speech tagger says of a message
// (tagged is false when it was not run).
type posTags struct {
	Tagged     bool
	Past       bool // has a past-tense or past-participle verb
	Present    bool // has a present-tense, base or gerund verb, or a modal
	Imperative bool // a sentence opens with a base-form verb ("Send", "Help")
	FirstNow   bool // "I"/"we" followed by a present verb or a modal
	Progress   bool // a gerund after a form of "be" ("is burning")
}

// tags runs prose's tagger (no segmentation, no entity extraction) on
// text. It never panics: a panic inside prose yields no tags.
func (n *ner) tags(text string) (out posTags) {
	defer func() {
		if r := recover(); r != nil {
			out = posTags{}
		}
	}()
	doc, err := prose.NewDocument(text, prose.UsingModel(n.model),
		prose.WithSegmentation(false), prose.WithExtraction(false))
	if err != nil {
		return posTags{}
	}
	out.Tagged = true
	toks := doc.Tokens()
	start := true // at the start of a sentence
	for i, t := range toks {
		switch t.Tag {
		case "VBD", "VBN":
			out.Past = true
		case "VB", "VBZ", "VBP", "VBG", "MD":
			out.Present = true
		}
		if start && t.Tag == "VB" {
			out.Imperative = true
		}
		if t.Tag == "PRP" && (t.Text == "I" || t.Text == "i" || t.Text == "we" || t.Text == "We") {
			for k := i + 1; k < len(toks) && k <= i+2; k++ {
				if tg := toks[k].Tag; tg == "VBP" || tg == "MD" || tg == "VBZ" {
					out.FirstNow = true
				}
			}
		}
		if t.Tag == "VBG" && i > 0 {
			switch toks[i-1].Text {
			case "is", "are", "am", "'s", "'re", "'m":
				out.Progress = true
			}
		}
		switch {
		case t.Tag == "." || t.Tag == ":" || t.Text == "!" || t.Text == "?":
			start = true
		case start && (t.Tag == "UH" || t.Tag == "," || t.Tag == "RB" || strings.EqualFold(t.Text, "please")):
			// "Please, send", "Oh god help": still at the start
		default:
			start = false
		}
	}
	return out
}

// rankLogit clamps a probability's log-odds into ±6 (a head may be very
// sure; the combiner must not be ruled by one term).
func rankLogit(p float64) float64 {
	return max(-6, min(6, logOdds(p)))
}

// Combiner features, in the order of rankWeights.
const (
	rfBias = iota
	rfReq
	rfLife
	rfUrg
	rfFact
	rfNoHeads
	rfCrit
	rfCritRule
	rfChatter
	rfPresence
	rfRequest
	rfFirst
	rfNow
	rfAddress
	rfNews
	rfForward
	rfPast
	rfHypo
	rfCasualties
	rfHigh
	rfLow
	rfRisk
	rfQuestion
	rfWords
	rfSympathy
	rfTagged
	rfPosPast
	rfPosPresent
	rfImperative
	rfFirstNow
	rfProgress
	nRankFeatures
)

// rankFeatures writes the combiner's features of in into x.
func rankFeatures(in *rankInputs, x *[nRankFeatures]float64) {
	*x = [nRankFeatures]float64{}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	s := in.sig
	x[rfBias] = 1
	if in.req >= 0 && in.life >= 0 && in.urg >= 0 {
		x[rfReq] = rankLogit(in.req)
		x[rfLife] = rankLogit(in.life)
		x[rfUrg] = rankLogit(in.urg)
		x[rfFact] = rankLogit(in.req * in.life)
	} else {
		x[rfNoHeads] = 1
	}
	x[rfCrit] = b(len(s.crit) > 0)
	x[rfCritRule] = b(s.critical())
	x[rfChatter] = b(s.chatter())
	x[rfPresence] = b(s.presence())
	x[rfRequest] = b(s.request)
	x[rfFirst] = b(s.firstPerson)
	x[rfNow] = b(s.now)
	x[rfAddress] = b(s.address)
	x[rfNews] = b(s.news)
	x[rfForward] = b(s.forward || s.link || s.mention)
	x[rfPast] = b(s.pastTime)
	x[rfHypo] = b(s.hypothetical)
	x[rfCasualties] = b(s.casualties)
	x[rfHigh] = b(len(s.high) > 0)
	x[rfLow] = b(len(s.low) > 0)
	x[rfRisk] = b(len(s.risk) > 0)
	x[rfQuestion] = b(s.question)
	x[rfWords] = math.Log1p(float64(s.words))
	x[rfSympathy] = b(s.sympathy || s.notice)
	if p := in.pos; p.Tagged {
		x[rfTagged] = 1
		x[rfPosPast] = b(p.Past && !p.Present)
		x[rfPosPresent] = b(p.Present)
		x[rfImperative] = b(p.Imperative)
		x[rfFirstNow] = b(p.FirstNow)
		x[rfProgress] = b(p.Progress)
	}
}

// rankWeights are the combiner's weights, in the order of the rf…
// constants: fitted by TestUrgencyRankCV (printed with -v; it checks
// that these are what the fit gives) on the out-of-fold outputs of the
// heads over disaster_en.csv.
var rankWeights = [nRankFeatures]float64{
	rfBias:       -2.047290726181258,
	rfReq:        0.13162700093136584,
	rfLife:       0.0867948841630323,
	rfUrg:        -0.02608947586106479,
	rfFact:       0.32811842035324057,
	rfNoHeads:    0,
	rfCrit:       0.22631505471542357,
	rfCritRule:   0.23149662801540336,
	rfChatter:    -0.11366443628275526,
	rfPresence:   0.2135080539077569,
	rfRequest:    0.2732548135459269,
	rfFirst:      0.20365476610173822,
	rfNow:        0.22463942093269135,
	rfAddress:    0.3614022283062074,
	rfNews:       -0.12153824609572327,
	rfForward:    0.0766817687429793,
	rfPast:       -0.2709641451827477,
	rfHypo:       0.18590879957906947,
	rfCasualties: 0.024816790065522586,
	rfHigh:       -0.0638363350655402,
	rfLow:        -0.13621434863083906,
	rfRisk:       0.06906634713760613,
	rfQuestion:   0.28216175582703285,
	rfWords:      0.03414643466265938,
	rfSympathy:   -0.13229278425975666,
	rfTagged:     -0.08892645237073771,
	rfPosPast:    -0.05959491457185735,
	rfPosPresent: 0.0013940521426175773,
	rfImperative: 0.07323172826336789,
	rfFirstNow:   0.03756501711823658,
	rfProgress:   0.04276457947625191,
}

// Level thresholds on the urgency score, chosen on out-of-fold scores of
// disaster_en.csv (TestUrgencyRankCV, README): critical stays rare on news
// sentences, high holds about the requests.
var rankCuts = cuts{critical: 0.5, rule: 0.3, high: 0.2, low: 0.01}

// cuts are the thresholds of the levels on the combiner's probability:
// critical on the model's word alone, critical for a message whose cue
// rules say critical (signals.critical), high, and the floor of normal.
type cuts struct {
	critical, rule, high, low float64
	// own, when set, is the level a trusted urgency head (the city's own)
	// names: it replaces the cuts on the combiner's probability.
	own citybot.Urgency
}

// rankScore returns the combiner's probability for in.
func rankScore(in *rankInputs) float64 {
	var x [nRankFeatures]float64
	rankFeatures(in, &x)
	z := 0.0
	for j, w := range rankWeights {
		z += w * x[j]
	}
	return 1 / (1 + math.Exp(-z))
}

// needsTags reports whether prose's tagger is run on a message: only
// where its tags can change the level (signals.needsTense: a long English
// message a critical cue would make critical, with no request and no
// "now"). prose tags about 500 messages per CPU second, so tagging every
// English message with a danger cue (5 % of the benchmark's) cost a
// third of the throughput and brought nothing measurable (README).
func needsTags(s *signals, lang string) bool {
	return s.needsTense(lang)
}

// rankUrgency sets out's urgency level, confidence, score and cues: the
// score is the combiner's probability that the message reports a present
// danger that needs someone now, and the level is cut from it (cuts),
// except that the cue rules set a floor or a ceiling:
//
//   - a critical cue in a message that reads as a present danger
//     (signals.critical: no chatter, short or someone there) makes it
//     critical, and its score is lifted to the critical cut, unless
//     prose tells a long English message with only past-tense verbs
//     (an event told, as news tells it);
//   - a high cue, a critical cue in a report of a danger elsewhere or
//     another time ("fire (reported)"), or a risk ("injury (risk)"),
//     makes it at least high;
//   - a low cue (thanks, a suggestion, a question) with no danger cue
//     makes it low when the combiner does not call it high or more.
//
// Lifted and lowered scores keep the model's order among themselves, so
// levels never overlap: every critical message ranks above every high
// one, and so on.
func (c *Classifier) rankUrgency(text string, sc *scratch, sig *signals, out *citybot.Classification) {
	in := rankInputs{req: -1, life: -1, urg: -1, sig: sig}
	if h := c.model.urgency; h != nil && c.factor {
		softmax(sc.ulogits)
		softmax(sc.rlogits)
		softmax(sc.llogits)
		in.urg = pOf(h.labels, sc.ulogits, "critical") + 0.5*pOf(h.labels, sc.ulogits, "high")
		in.req = pOf(c.model.request.labels, sc.rlogits, "1")
		in.life = pOf(c.model.lifeThreat.labels, sc.llogits, "1")
	}
	if needsTags(sig, out.Language) {
		if w := prefix(text, maxNERBytes); utf8.ValidString(w) {
			in.pos = c.tagger.tags(w)
		}
	}
	p := rankScore(&in)
	toldPast := sig.needsTense(out.Language) && in.pos.Tagged && in.pos.Past && !in.pos.Present
	k := rankCuts
	if h := c.model.urgency; h != nil && sc.knownU > 0 && !c.sameData() {
		// A head trained on other messages than the binary heads (the
		// city's own, or officers' corrections added to the shipped data)
		// names the level when no cue rule does, as before the combiner;
		// it may say critical only when fully trusted. The combiner,
		// fitted on heads trained together on disaster messages, orders
		// within the level.
		k.own = citybot.Urgency(h.labels[argmaxF(sc.ulogits)])
		if k.own == citybot.UrgencyCritical && h.trust < 1 {
			k.own = citybot.UrgencyHigh
		}
	}
	lv := rankLevel(p, sig, toldPast, k)
	out.Urgency, out.UrgencyScore, out.UrgencyConfidence = lv.u, clamp01(lv.score), clamp01(lv.conf)
	out.UrgencyCues = lv.cues
	if len(out.UrgencyCues) == 0 {
		out.UrgencyCues = []string{fmt.Sprintf("model: %s %.2f", lv.u, p)}
	}
}

// level is rankLevel's answer.
type level struct {
	u           citybot.Urgency
	score, conf float64
	cues        []string
}

// rankLevel cuts a level from the combiner's probability p and the cue
// rules (see rankUrgency).
func rankLevel(p float64, sig *signals, toldPast bool, k cuts) level {
	var high []string
	crit := sig.crit
	if !sig.critical() || toldPast || sig.words > shortReport && p < k.rule {
		// A critical cue alone is evidence of a hazard, not of a present
		// danger someone must answer now; in talk about danger (news,
		// sympathy, a forwarded post) not even that.
		if !sig.chatter() {
			for _, cue := range crit {
				high = appendUnique(high, cue+" (reported)")
			}
		}
		crit = nil
	}
	high = append(append(high, sig.high...), sig.risk...)
	// band keeps the score within [lo, hi): a score below is lifted just
	// above lo, one above is lowered just under hi, both in the model's
	// order.
	band := func(lo, hi float64) float64 {
		switch {
		case p < lo:
			return lo + (hi-lo)*0.01*p/lo
		case p >= hi:
			return lo + (hi-lo)*(0.98+0.01*p)
		}
		return p
	}
	own := k.own != ""
	switch {
	case len(crit) > 0 || !own && p >= k.critical || k.own == citybot.UrgencyCritical:
		conf := p
		if len(crit) > 0 {
			conf = max(p, 0.8)
		}
		return level{u: citybot.UrgencyCritical, score: band(k.critical, 1), conf: conf, cues: crit}
	case len(high) > 0 || !own && p >= k.high || k.own == citybot.UrgencyHigh:
		return level{u: citybot.UrgencyHigh, score: band(k.high, k.critical), conf: max(p/k.critical, 0.6), cues: high}
	case len(sig.low) > 0 || k.own == citybot.UrgencyLow:
		// below every normal message, in the model's order
		return level{u: citybot.UrgencyLow, score: band(0, k.low), conf: 0.6, cues: sig.low}
	}
	return level{u: citybot.UrgencyNormal, score: band(k.low, k.high), conf: max(0, 1-p/k.high)}
}

// sameData reports whether the model's urgency head was trained on the
// same examples as its binary heads (as the shipped model's and the
// cross-validation's are), the setting the combiner was fitted in.
func (c *Classifier) sameData() bool {
	m := c.model
	return c.factor && m.urgency != nil && m.urgency.trained == m.request.trained && m.urgency.trained == m.lifeThreat.trained
}
