package classifier

// joint scores a model's topic and urgency heads in one pass: one table over
// the union of their features, each row holding both heads' weights, so
// each feature of a message is looked up once.
type joint struct {
	index  *featTable
	w      []float32 // rows × (lt+lu)
	has    []uint8   // per row: 1 = the topic head knows it, 2 = urgency
	lt, lu int
	bt, bu []float32
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
	j.has = make([]uint8, len(keys))
	for r, k := range tk {
		row := rowOf[k]
		copy(j.w[row*W:row*W+j.lt], topic.weights[r*j.lt:(r+1)*j.lt])
		j.has[row] |= 1
	}
	for r, k := range uk {
		row := rowOf[k]
		copy(j.w[row*W+j.lt:row*W+W], urgency.weights[r*j.lu:(r+1)*j.lu])
		j.has[row] |= 2
	}
	j.index = newFeatTable(keys)
	return j
}

// score writes both heads' raw scores (topic into t, urgency into u, each
// of its head's length) and returns how many features each head knew.
func (j *joint) score(fs []feat, t, u []float64) (knownT, knownU int) {
	W := j.lt + j.lu
	acc := make([]float32, W)
	copy(acc, j.bt)
	copy(acc[j.lt:], j.bu)
	for _, f := range fs {
		row, ok := j.index.get(f.h)
		if !ok {
			continue
		}
		if j.has[row]&1 != 0 {
			knownT++
		}
		if j.has[row]&2 != 0 {
			knownU++
		}
		w := j.w[int(row)*W : int(row)*W+W]
		v := f.v
		for k := range w {
			acc[k] += v * w[k]
		}
	}
	for k := range j.lt {
		t[k] = float64(acc[k])
	}
	for k := range j.lu {
		u[k] = float64(acc[j.lt+k])
	}
	return knownT, knownU
}
