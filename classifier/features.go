package classifier

import "math"

// feat is one hashed feature of a message with its weight.
type feat struct {
	h uint64
	v float32
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	// maxFeatureTokens bounds the tokens that make features.
	maxFeatureTokens = 400
)

func hashByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// Feature kinds and their weights before normalisation.
const (
	wWord   = 1.0
	wBigram = 0.7
	wChar   = 0.35
)

// featurize appends the features of toks to dst: words (stems), pairs of
// neighbouring words, and character 3- and 4-grams of each word, then scales
// the weights to unit L2 norm. Duplicates are kept; the linear model sums
// them.
func featurize(toks []token, dst []feat) []feat {
	dst = dst[:0]
	if len(toks) > maxFeatureTokens {
		toks = toks[:maxFeatureTokens]
	}
	prev := ""
	for i := range toks {
		t := &toks[i]
		w := t.stem
		if t.letters == 0 {
			w = "#num"
		}
		dst = append(dst, feat{hashString(hashByte(fnvOffset, 'w'), w), wWord})
		if prev != "" {
			h := hashString(hashByte(fnvOffset, 'b'), prev)
			h = hashString(hashByte(h, ' '), w)
			dst = append(dst, feat{h, wBigram})
		}
		prev = w
		n := t.norm
		if t.letters == 0 || len(n) > 24 {
			continue
		}
		// character n-grams of "<norm>"
		L := len(n) + 2
		at := func(k int) byte {
			switch {
			case k == 0:
				return '<'
			case k == L-1:
				return '>'
			}
			return n[k-1]
		}
		for size := 3; size <= 4; size++ {
			for s := 0; s+size <= L; s++ {
				h := hashByte(fnvOffset, byte('0'+size))
				for k := s; k < s+size; k++ {
					h = hashByte(h, at(k))
				}
				dst = append(dst, feat{h, wChar})
			}
		}
	}
	var ss float64
	for _, f := range dst {
		ss += float64(f.v) * float64(f.v)
	}
	if ss > 0 {
		inv := float32(1 / math.Sqrt(ss))
		for i := range dst {
			dst[i].v *= inv
		}
	}
	return dst
}
