package classifier

// maxJointHeads is the most heads a joint scores: topic, urgency, and the
// two binary heads of the factorised urgency estimate.
const maxJointHeads = 4

// joint scores a model's heads in one pass: one table over the union of
// their features, each row holding every head's weights and inverse
// document frequencies, so each feature of a message is looked up once.
type joint struct {
	index *featTable
	nh    int
	L     [maxJointHeads]int // labels per head (0 for a missing head)
	off   [maxJointHeads]int // column of the head's first weight in a row
	W     int                // weights per row
	w     []float32          // rows × W
	idf   []float32          // rows × nh; 0 when the head does not know the feature
	bias  [maxJointHeads][]float32
}

// newJoint builds the table of heads (at most maxJointHeads; a nil head
// scores nothing).
func newJoint(heads ...*head) *joint {
	j := &joint{nh: len(heads)}
	rowOf := map[uint64]int{}
	var keys []uint64
	byRow := make([][]uint64, len(heads))
	for i, h := range heads {
		j.off[i] = j.W
		if h == nil {
			continue
		}
		j.L[i], j.bias[i] = len(h.labels), h.bias
		j.W += len(h.labels)
		byRow[i] = h.index.keysByRow()
		for _, k := range byRow[i] {
			if _, ok := rowOf[k]; !ok {
				rowOf[k] = len(keys)
				keys = append(keys, k)
			}
		}
	}
	j.w = make([]float32, len(keys)*j.W)
	j.idf = make([]float32, len(keys)*j.nh)
	for i, h := range heads {
		if h == nil {
			continue
		}
		L := j.L[i]
		for r, k := range byRow[i] {
			row := rowOf[k]
			copy(j.w[row*j.W+j.off[i]:row*j.W+j.off[i]+L], h.weights[r*L:(r+1)*L])
			j.idf[row*j.nh+i] = h.idf[r]
		}
	}
	j.index = newFeatTable(keys)
	return j
}

// score writes each head's raw scores into outs[i] (of its head's length)
// and how many features it knew into known[i]. acc is scratch space,
// grown as needed and returned.
func (j *joint) score(fs []feat, outs [][]float64, known []int, acc []float32) []float32 {
	W, nh := j.W, j.nh
	if cap(acc) < nGroups*W {
		acc = make([]float32, nGroups*W)
	}
	acc = acc[:nGroups*W]
	clear(acc)
	var ss [maxJointHeads][nGroups]float32
	for i := range nh {
		known[i] = 0
	}
	for _, f := range fs {
		row, ok := j.index.get(f.h)
		if !ok {
			continue
		}
		w := j.w[int(row)*W : int(row)*W+W]
		a := acc[int(f.g)*W : int(f.g)*W+W]
		idf := j.idf[int(row)*nh : int(row)*nh+nh]
		for i, it := range idf {
			if it == 0 {
				continue
			}
			known[i]++
			x := f.v * it
			ss[i][f.g] += x * x
			o, L := j.off[i], j.L[i]
			ai := a[o : o+L]
			for k, wk := range w[o : o+L] {
				ai[k] += x * wk
			}
		}
	}
	for i := range nh {
		out := outs[i]
		for k := range j.L[i] {
			out[k] = float64(j.bias[i][k])
		}
		for g := range nGroups {
			a := acc[g*W+j.off[i] : g*W+j.off[i]+j.L[i]]
			inv := groupNorm(g, float64(ss[i][g]))
			for k := range j.L[i] {
				out[k] += float64(a[k]) * inv
			}
		}
	}
	return acc
}
