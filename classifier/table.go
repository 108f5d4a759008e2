package classifier

// featTable maps feature hashes to weight rows: an open-addressing hash
// table with linear probing, several times faster than a Go map for this
// read-only use. Built once, then only read (safe for concurrent use).
type featTable struct {
	keys []uint64 // 0 marks an empty slot; key 0 is stored as 1
	rows []int32
	mask uint64
	n    int
}

// newFeatTable indexes keys: keys[i] maps to row i.
func newFeatTable(keys []uint64) *featTable {
	size := 16
	for size < 2*len(keys) {
		size <<= 1
	}
	t := &featTable{keys: make([]uint64, size), rows: make([]int32, size), mask: uint64(size - 1), n: len(keys)}
	for i, k := range keys {
		if k == 0 {
			k = 1
		}
		s := mix(k) & t.mask
		for t.keys[s] != 0 && t.keys[s] != k {
			s = (s + 1) & t.mask
		}
		t.keys[s] = k
		t.rows[s] = int32(i)
	}
	return t
}

// mix spreads the bits of an FNV hash over the table.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	return k
}

func (t *featTable) get(k uint64) (int32, bool) {
	if k == 0 {
		k = 1
	}
	s := mix(k) & t.mask
	for {
		switch t.keys[s] {
		case k:
			return t.rows[s], true
		case 0:
			return 0, false
		}
		s = (s + 1) & t.mask
	}
}

// len returns the number of keys.
func (t *featTable) len() int { return t.n }

// sortedKeys returns the keys in row order.
func (t *featTable) keysByRow() []uint64 {
	out := make([]uint64, t.n)
	for s, k := range t.keys {
		if k != 0 {
			out[t.rows[s]] = k
		}
	}
	return out
}
