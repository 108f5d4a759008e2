package classifier

import (
	"cmp"
	"math"
	"slices"
)

// feat is one distinct hashed feature of a message: its sublinear term
// frequency (1 + ln tf) and its group. A model head multiplies the term
// frequency by the feature's inverse document frequency and scales each
// group of the message's known features to unit L2 norm (TF-IDF as
// scikit-learn's TfidfVectorizer with sublinear_tf computes it, one
// vectorizer per group).
type feat struct {
	h uint64
	v float32
	g uint8 // groupWord or groupChar
}

// Feature groups: words and word pairs; character n-grams; signals
// (signals.go). The first two are each scaled to unit norm; signals keep
// their TF-IDF value, so one signal weighs the same in any message.
const (
	groupWord   = 0
	groupChar   = 1
	groupSignal = 2
	nGroups     = 3
)

// groupNorm returns the factor that scales group g of a message whose
// sum of squares in that group is ss.
func groupNorm(g int, ss float64) float64 {
	if g == groupSignal || ss <= 0 {
		return 1
	}
	return 1 / math.Sqrt(ss)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	// maxFeatureTokens bounds the tokens that make features.
	maxFeatureTokens = 400
	// maxGramRunes: longer words (URLs, hashes, noise) give no character
	// n-grams, only their word feature.
	maxGramRunes = 30
	// Character n-grams of each word padded with a boundary mark on each
	// side (scikit-learn's char_wb): sizes minGram to maxGram runes.
	minGram = 2
	maxGram = 5
)

func hashByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// wordHash is the feature hash of a word (its stem).
func wordHash(stem string) uint64 { return hashString(hashByte(fnvOffset, 'w'), stem) }

// featurize appends to dst[:0] the distinct features of toks, sorted by
// hash: words (stems; a number is "#num"), pairs of neighbouring words, and
// the character n-grams (2 to 5 runes, any script) of each word within its
// boundaries. It is the same for every language: nothing in it is
// English-specific.
func featurize(toks []token, dst []feat) []feat {
	dst = dst[:0]
	if len(toks) > maxFeatureTokens {
		toks = toks[:maxFeatureTokens]
	}
	prev := ""
	var starts [maxGramRunes + 3]int // rune offsets in "<norm>"
	for i := range toks {
		t := &toks[i]
		w := t.stem
		if t.letters == 0 {
			w = "#num"
		}
		dst = append(dst, feat{h: wordHash(w), v: 1, g: groupWord})
		if prev != "" {
			h := hashString(hashByte(fnvOffset, 'b'), prev)
			h = hashString(hashByte(h, ' '), w)
			dst = append(dst, feat{h: h, v: 1, g: groupWord})
		}
		prev = w
		n := t.norm
		if t.letters == 0 {
			continue
		}
		// rune boundaries of "<" + n + ">": starts[k] is where rune k
		// begins in n, offset by the leading mark.
		R := 0
		tooLong := false
		for off := range n {
			if R == maxGramRunes {
				tooLong = true
				break
			}
			starts[R] = off
			R++
		}
		if tooLong || R == 0 {
			continue
		}
		starts[R] = len(n)
		// position p in the padded word: 0 is '<', 1..R are runes, R+1 is '>'
		P := R + 2
		for size := minGram; size <= maxGram; size++ {
			for s := 0; s+size <= P; s++ {
				h := hashByte(fnvOffset, byte('0'+size))
				e := s + size // exclusive
				if s == 0 {
					h = hashByte(h, '<')
				}
				lo, hi := max(s, 1), min(e, R+1) // rune positions inside n
				if lo < hi {
					h = hashString(h, n[starts[lo-1]:starts[hi-1]])
				}
				if e == P {
					h = hashByte(h, '>')
				}
				dst = append(dst, feat{h: h, v: 1, g: groupChar})
			}
		}
	}
	if len(dst) == 0 {
		return dst
	}
	slices.SortFunc(dst, func(a, b feat) int { return cmp.Compare(a.h, b.h) })
	out := dst[:1]
	for _, f := range dst[1:] {
		if last := &out[len(out)-1]; last.h == f.h {
			last.v++
			continue
		}
		out = append(out, f)
	}
	for i := range out {
		if out[i].v > 1 {
			out[i].v = float32(1 + math.Log(float64(out[i].v)))
		}
	}
	return out
}
