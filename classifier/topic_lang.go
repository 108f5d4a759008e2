package classifier

import (
	"slices"
	"strings"
)

// kwEntry is one topic a keyword points to and the languages whose lists
// name it for that topic (bit i for the lexicons' i-th language, as
// langDetector.detectVotes numbers them).
type kwEntry struct {
	topic int    // index in Classifier.labels
	langs uint64 // languages that list the keyword for the topic
}

// buildKeywords registers the topics' keywords: one id per distinct
// phrase, mapped to every topic that lists it and, per topic, the
// languages that list it there.
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
func (c *Classifier) buildKeywords(topics []Topic) {
	bits := map[string]uint64{}
	for i, l := range c.lang.langs {
		if i < 64 {
			bits[l] = 1 << i
		}
	}
	c.kwAlways = 0
	for _, l := range alwaysLangs {
		c.kwAlways |= bits[l]
	}
	c.keywords = newPhraseSet()
	c.kwTopics = nil
	ids := map[string]int{}
	for _, t := range topics {
		ti := slices.Index(c.labels, strings.TrimSpace(t.Name))
		for _, lang := range sortedKeys(t.Keywords) {
			lb, ok := bits[strings.ToLower(strings.TrimSpace(lang))]
			if !ok {
				lb = ^uint64(0)
			}
			for _, k := range t.Keywords[lang] {
				key := strings.Join(phraseStems(k), " ")
				if key == "" {
					continue
				}
				id, ok := ids[key]
				if !ok {
					id = len(c.kwTopics)
					ids[key] = id
					c.kwTopics = append(c.kwTopics, nil)
					c.keywords.add(k, id)
				}
				j := slices.IndexFunc(c.kwTopics[id], func(e kwEntry) bool { return e.topic == ti })
				if j < 0 {
					c.kwTopics[id] = append(c.kwTopics[id], kwEntry{topic: ti})
					j = len(c.kwTopics[id]) - 1
				}
				c.kwTopics[id][j].langs |= lb
			}
		}
	}
}

// findKeywords appends to dst the topic keywords of toks that some topic
// lists in a language the message is read in (notRuledOut, from
// detectVotes, and alwaysLangs): the others are no evidence of anything,
// and must not count as a topic word elsewhere (intent) either.
func (c *Classifier) findKeywords(toks []token, notRuledOut uint64, dst []match) []match {
	n := len(dst)
	dst = c.keywords.find(toks, dst)
	read := c.kwAlways | notRuledOut
	kept := dst[:n]
	for _, m := range dst[n:] {
		if slices.ContainsFunc(c.kwTopics[m.id], func(e kwEntry) bool { return e.langs&read != 0 }) {
			kept = append(kept, m)
		}
	}
	return kept
}
