package classifier

// phraseSet finds phrases (sequences of stems) in a token list.
type phraseSet struct {
	byFirst map[string][]phrase
}

type phrase struct {
	stems []string
	id    int // caller's id: a topic, a cue, a place
}

// match is one phrase found in a token list.
type match struct {
	id         int
	first, end int // token range [first, end)
}

func newPhraseSet() *phraseSet { return &phraseSet{byFirst: map[string][]phrase{}} }

// add registers text under id; it returns false when text has no word.
func (s *phraseSet) add(text string, id int) bool {
	stems := phraseStems(text)
	if len(stems) == 0 {
		return false
	}
	s.byFirst[stems[0]] = append(s.byFirst[stems[0]], phrase{stems: stems, id: id})
	return true
}

// find appends to dst every phrase occurrence in toks, longest first at
// each position, and skips past a match so phrases do not overlap.
func (s *phraseSet) find(toks []token, dst []match) []match {
	for i := 0; i < len(toks); {
		best := -1
		bestLen := 0
		for _, p := range s.byFirst[toks[i].stem] {
			n := len(p.stems)
			if n <= bestLen || i+n > len(toks) {
				continue
			}
			ok := true
			for k := 1; k < n; k++ {
				if toks[i+k].stem != p.stems[k] {
					ok = false
					break
				}
			}
			if ok {
				best, bestLen = p.id, n
			}
		}
		if best >= 0 {
			dst = append(dst, match{id: best, first: i, end: i + bestLen})
			i += bestLen
			continue
		}
		i++
	}
	return dst
}
