package classifier

import (
	"math"
	"strings"
)

type cueLevel int

const (
	cueCritical cueLevel = iota
	cueHigh
	cueLow
	cueNeutral
)

// cueSet finds urgency cues in tokens. Its words come from the lexicons'
// [urgency] sections (lexicon/en.toml, …): critical, high and low cues,
// neutral (masking) phrases, outcome cues and negations. Matching ignores
// case, accents, hyphens, apostrophes and a plural s or x.
type cueSet struct {
	set       *phraseSet
	cues      []string // display text by id
	level     []cueLevel
	outcome   []bool          // by id: the cue is an outcome cue
	negations map[string]bool // stems
	marks     *markerSet      // talk and presence words (signals.go)
}

// newCueSet loads the cues of every language, level by level (every
// language's critical cues, then high, low, neutral), languages in order:
// when two languages list the same phrase, the first level wins.
func newCueSet(ls lexicons) *cueSet {
	c := &cueSet{set: newPhraseSet(), negations: map[string]bool{}, marks: newMarkerSet(ls)}
	outcome := map[string]bool{}
	ls.each(func(l *lexicon) []string { return l.Urgency.Outcome }, func(_ string, list []string) {
		for _, p := range list {
			outcome[strings.Join(phraseStems(p), " ")] = true
		}
	})
	ls.each(func(l *lexicon) []string { return l.Urgency.Negations }, func(_ string, list []string) {
		for _, p := range list {
			for _, s := range phraseStems(p) {
				c.negations[s] = true
			}
		}
	})
	add := func(lv cueLevel) func(string, []string) {
		return func(_ string, list []string) {
			for _, p := range list {
				p = strings.TrimSpace(p)
				if c.set.add(p, len(c.cues)) {
					c.cues = append(c.cues, p)
					c.level = append(c.level, lv)
					c.outcome = append(c.outcome, lv == cueCritical && outcome[strings.Join(phraseStems(p), " ")])
				}
			}
		}
	}
	ls.each(func(l *lexicon) []string { return l.Urgency.Critical }, add(cueCritical))
	ls.each(func(l *lexicon) []string { return l.Urgency.High }, add(cueHigh))
	ls.each(func(l *lexicon) []string { return l.Urgency.Low }, add(cueLow))
	ls.each(func(l *lexicon) []string { return l.Urgency.Neutral }, add(cueNeutral))
	return c
}

// isNegator reports whether a stem cancels a cue that follows closely
// ("no fire", "pas de blessé", "not injured").
func (c *cueSet) isNegator(stem string) bool { return c.negations[stem] }

// hypotheticalWindow is how many words before a critical cue, within its
// sentence, may make it hypothetical.
const hypotheticalWindow = 8

// hypothetical reports whether the critical cue starting at toks[first]
// speaks of a risk rather than a harm happening now: a modal, a condition
// or a warning comes shortly before it in the same sentence ("could lead
// to injury", "before someone gets hurt", "risque de blessure"). Such a cue
// counts as a hazard (high), and so does a near miss ("almost killed me",
// "j'ai failli être renversé"). A modal followed by "be" or "have" states
// an uncertain present ("there may be people trapped", "il pourrait y
// avoir une fuite de gaz") and leaves a cue of danger critical, but not a
// cue of harm (outcome: "someone could be hurt" is a risk).
func hypothetical(toks []token, first int, outcome bool) bool {
	for k := first - 1; k >= 0 && k >= first-hypotheticalWindow; k-- {
		switch toks[k].stem {
		case "could", "might", "may", "would", "will", "pourrait", "pourraient", "peut", "peuvent":
			if outcome || k+1 >= first {
				return true
			}
			switch toks[k+1].stem {
			case "be", "been", "have", "etre", "avoir", "y":
				// uncertain present: look further back
			default:
				return true
			}
		case "going", "gonna", "want", "before", "if", "until", "risk", "prevent", "avoid", "waiting", "lead", "almost", "nearly",
			"risque", "risquent", "avant", "si", "eviter", "faillir", "failli", "presque":
			return true
		}
		if toks[k].sentStart {
			break
		}
	}
	return false
}

func logOdds(p float64) float64 { return math.Log(max(p, 1e-9) / max(1-p, 1e-9)) }

func pOf(labels []string, p []float64, l string) float64 {
	for k, x := range labels {
		if x == l {
			return p[k]
		}
	}
	return 0
}

func clamp01(x float64) float64 {
	switch {
	case x != x: // NaN
		return 0
	case x < 0:
		return 0
	case x > 1:
		return 1
	}
	return x
}
