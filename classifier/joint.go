package classifier

// joint scores a model's topic and urgency heads in one pass: one table over
// the union of their features, each row holding both heads' weights and
// inverse document frequencies, so each feature of a message is looked up
// once.
type joint struct {
	index      *featTable
	w          []float32 // rows × (lt+lu)
	idfT, idfU []float32 // per row; 0 when the head does not know the feature
	lt, lu     int
	bt, bu     []float32
}

func newJoint(topic, urgency *head) *joint {
	j := &joint{}
	rowOf := map[uint64]int{}
	var keys []uint64
	add := func(h *head) []uint64 {
		if h == nil {
			return nil
		}
		ks := h.index.keysByRow()
		for _, k := range ks {
			if _, ok := rowOf[k]; !ok {
				rowOf[k] = len(keys)
				keys = append(keys, k)
			}
		}
		return ks
	}
	tk, uk := add(topic), add(urgency)
	if topic != nil {
		j.lt, j.bt = len(topic.labels), topic.bias
	}
	if urgency != nil {
		j.lu, j.bu = len(urgency.labels), urgency.bias
	}
	W := j.lt + j.lu
	j.w = make([]float32, len(keys)*W)
	j.idfT = make([]float32, len(keys))
	j.idfU = make([]float32, len(keys))
	for r, k := range tk {
		row := rowOf[k]
		copy(j.w[row*W:row*W+j.lt], topic.weights[r*j.lt:(r+1)*j.lt])
		j.idfT[row] = topic.idf[r]
	}
	for r, k := range uk {
		row := rowOf[k]
		copy(j.w[row*W+j.lt:row*W+W], urgency.weights[r*j.lu:(r+1)*j.lu])
		j.idfU[row] = urgency.idf[r]
	}
	j.index = newFeatTable(keys)
	return j
}

// score writes both heads' raw scores (topic into t, urgency into u, each
// of its head's length) and returns how many features each head knew.
// acc is scratch space, grown as needed and returned.
func (j *joint) score(fs []feat, t, u []float64, acc []float32) (knownT, knownU int, _ []float32) {
	W := j.lt + j.lu
	if cap(acc) < nGroups*W {
		acc = make([]float32, nGroups*W)
	}
	acc = acc[:nGroups*W]
	clear(acc)
	var ssT, ssU [nGroups]float32
	for _, f := range fs {
		row, ok := j.index.get(f.h)
		if !ok {
			continue
		}
		w := j.w[int(row)*W : int(row)*W+W]
		a := acc[int(f.g)*W : int(f.g)*W+W]
		if it := j.idfT[row]; it != 0 {
			knownT++
			x := f.v * it
			ssT[f.g] += x * x
			for k, wk := range w[:j.lt] {
				a[k] += x * wk
			}
		}
		if iu := j.idfU[row]; iu != 0 {
			knownU++
			x := f.v * iu
			ssU[f.g] += x * x
			au := a[j.lt:]
			for k, wk := range w[j.lt:] {
				au[k] += x * wk
			}
		}
	}
	for k := range j.lt {
		t[k] = float64(j.bt[k])
	}
	for k := range j.lu {
		u[k] = float64(j.bu[k])
	}
	for g := range nGroups {
		a := acc[g*W : g*W+W]
		inv := groupNorm(g, float64(ssT[g]))
		for k := range j.lt {
			t[k] += float64(a[k]) * inv
		}
		inv = groupNorm(g, float64(ssU[g]))
		for k := range j.lu {
			u[k] += float64(a[j.lt+k]) * inv
		}
	}
	return knownT, knownU, acc
}
