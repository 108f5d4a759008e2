package classifier

import (
	"math"
	"slices"
	"strings"
)

// kwEntry is one topic a keyword points to and the languages whose lists
// name it for that topic (bit i for the lexicons' i-th language, as
// langDetector.detectVotes numbers them).
type kwEntry struct {
	topic int    // index in the label list the keywords were built for
	langs uint64 // languages that list the keyword for the topic
}

// topicKeywords finds the topics' keywords in a message.
//
// A topic's keywords are evidence only in the languages a message is read
// in: its detected language, the languages the detection did not rule out
// (detectVotes), and English and French (alwaysLangs), which cities mix
// into every language, as the [sensitive] lists are read. Portuguese
// "propina" (a bribe: corruption) is a Spanish tip, and the Swahili list
// of one topic must not move an English message. A keyword listed under a
// language that has no lexicon (a city's config may list "de" keywords
// without a de.toml) cannot be told by the detection and applies to
// every message.
type topicKeywords struct {
	set     *phraseSet
	entries [][]kwEntry // keyword id → the topics it points to
	always  uint64      // languages read in every message
}

// newTopicKeywords registers the topics' keywords, one id per distinct
// phrase, for the labels (a topic not among them is skipped); langs are
// the lexicons' languages in detectVotes' order.
func newTopicKeywords(langs, labels []string, topics []Topic) *topicKeywords {
	bits := map[string]uint64{}
	for i, l := range langs {
		if i < 64 {
			bits[l] = 1 << i
		}
	}
	k := &topicKeywords{set: newPhraseSet()}
	for _, l := range alwaysLangs {
		k.always |= bits[l]
	}
	ids := map[string]int{}
	for _, t := range topics {
		ti := slices.Index(labels, strings.TrimSpace(t.Name))
		if ti < 0 {
			continue
		}
		for _, lang := range sortedKeys(t.Keywords) {
			lb, ok := bits[strings.ToLower(strings.TrimSpace(lang))]
			if !ok {
				lb = ^uint64(0)
			}
			for _, w := range t.Keywords[lang] {
				key := strings.Join(phraseStems(w), " ")
				if key == "" {
					continue
				}
				id, ok := ids[key]
				if !ok {
					id = len(k.entries)
					ids[key] = id
					k.entries = append(k.entries, nil)
					k.set.add(w, id)
				}
				j := slices.IndexFunc(k.entries[id], func(e kwEntry) bool { return e.topic == ti })
				if j < 0 {
					k.entries[id] = append(k.entries[id], kwEntry{topic: ti})
					j = len(k.entries[id]) - 1
				}
				k.entries[id][j].langs |= lb
			}
		}
	}
	return k
}

// find appends to dst the keywords of toks that some topic lists in a
// language the message is read in (notRuledOut, from detectVotes, and
// alwaysLangs): the others are no evidence of anything, and do not count
// as a topic word elsewhere (intent) either.
func (k *topicKeywords) find(toks []token, notRuledOut uint64, dst []match) []match {
	n := len(dst)
	dst = k.set.find(toks, dst)
	read := k.always | notRuledOut
	kept := dst[:n]
	for _, m := range dst[n:] {
		if slices.ContainsFunc(k.entries[m.id], func(e kwEntry) bool { return e.langs&read != 0 }) {
			kept = append(kept, m)
		}
	}
	return kept
}

// hits counts into hits (one per label, cleared first) the keyword
// occurrences of matches per topic, in the languages read.
func (k *topicKeywords) hits(matches []match, notRuledOut uint64, hits []int) {
	clear(hits)
	read := k.always | notRuledOut
	for _, m := range matches {
		for _, e := range k.entries[m.id] {
			if e.langs&read != 0 {
				hits[e.topic]++
			}
		}
	}
}

// keywordEvidence is how much n occurrences of a topic's keywords say for
// it, in units of one keyword: 1 for the first, ½ for each further one
// (the same keyword repeated counts), at most 2.
func keywordEvidence(n int) float64 {
	if n <= 0 {
		return 0
	}
	return math.Min(1+0.5*float64(n-1), 2)
}
