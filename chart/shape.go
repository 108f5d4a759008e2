package chart

import (
	"slices"
	"unicode"
)

// Shape returns s ready to be drawn glyph after glyph, left to right, by a
// font without layout tables (as gonum/plot draws text): Arabic letters
// take their contextual presentation forms (isolated, initial, medial,
// final) and a lam before an alef becomes the lam-alef ligature; then the
// text is put in visual order: a paragraph whose first strong letter is
// right-to-left is drawn reversed, with runs of Latin letters and digits
// kept in reading order inside it and brackets mirrored; a left-to-right
// paragraph keeps its order, with right-to-left runs reversed inside it.
// Text without Arabic letters is returned unchanged.
func Shape(s string) string {
	return shape(s, direction(s))
}

// shape is Shape with the paragraph's direction given: a line cut from a
// right-to-left paragraph keeps its direction even when it begins with a
// Latin word or a number.
func shape(s string, rtl bool) string {
	rs := []rune(s)
	if !slices.ContainsFunc(rs, isRTL) && !rtl {
		return s
	}
	return string(visualOrder(joinForms(rs), rtl))
}

// direction reports whether s reads right to left: its first strong
// letter is (digits are weak: they set no direction).
func direction(s string) bool {
	for _, r := range s {
		if isRTL(r) {
			return true
		}
		if isLTR(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return false
}

// transparent reports whether r is an Arabic mark (harakat, superscript
// alef) that joining looks through.
func transparent(r rune) bool {
	return r >= 0x064B && r <= 0x065F || r == 0x0670
}

const (
	tatweel = 0x0640
	lam     = 0x0644
)

// joinsNext reports whether the letter r connects to a following letter.
func joinsNext(r rune) bool {
	if r == tatweel {
		return true
	}
	f, ok := arabicForms[r]
	return ok && f[2] != 0
}

// joins reports whether r connects to a preceding letter.
func joins(r rune) bool {
	_, ok := arabicForms[r]
	return ok || r == tatweel
}

// joinForms replaces Arabic letters by their presentation forms, in
// logical order.
func joinForms(rs []rune) []rune {
	out := make([]rune, 0, len(rs))
	// neighbour returns the next letter from i in direction step,
	// skipping marks, or 0.
	neighbour := func(i, step int) rune {
		for j := i + step; j >= 0 && j < len(rs); j += step {
			if !transparent(rs[j]) {
				return rs[j]
			}
		}
		return 0
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		f, ok := arabicForms[r]
		if !ok {
			out = append(out, r)
			continue
		}
		prev := neighbour(i, -1)
		afterPrev := prev != 0 && joinsNext(prev)
		if r == lam {
			if j := nextLetter(rs, i); j >= 0 {
				if lig, ok := lamAlef[rs[j]]; ok {
					// Marks between the lam and the alef go after the
					// ligature.
					if afterPrev {
						out = append(out, lig[1])
					} else {
						out = append(out, lig[0])
					}
					out = append(out, rs[i+1:j]...)
					i = j
					continue
				}
			}
		}
		next := neighbour(i, 1)
		beforeNext := f[2] != 0 && next != 0 && joins(next)
		form := f[0]
		switch {
		case afterPrev && beforeNext:
			form = f[3]
		case afterPrev:
			form = f[1]
		case beforeNext:
			form = f[2]
		}
		if form == 0 {
			form = f[0]
		}
		out = append(out, form)
	}
	return out
}

// nextLetter returns the index of the next non-mark rune after i, or -1.
func nextLetter(rs []rune, i int) int {
	for j := i + 1; j < len(rs); j++ {
		if !transparent(rs[j]) {
			return j
		}
	}
	return -1
}

// isRTL reports whether r is a right-to-left letter (Arabic, Hebrew,
// their presentation forms).
func isRTL(r rune) bool {
	switch {
	case r >= 0x0660 && r <= 0x0669, r >= 0x06F0 && r <= 0x06F9: // Arabic-Indic digits are numbers
		return false
	case r >= 0x0590 && r <= 0x08FF, r >= 0xFB1D && r <= 0xFDFF, r >= 0xFE70 && r <= 0xFEFC:
		return !transparent(r)
	}
	return false
}

// isLTR reports whether r is a left-to-right letter or a digit.
func isLTR(r rune) bool {
	return !isRTL(r) && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// mirror returns r's mirror image for brackets drawn right to left.
func mirror(r rune) rune {
	switch r {
	case '(':
		return ')'
	case ')':
		return '('
	case '[':
		return ']'
	case ']':
		return '['
	case '«':
		return '»'
	case '»':
		return '«'
	case '<':
		return '>'
	case '>':
		return '<'
	}
	return r
}

// visualOrder puts rs (one line, logical order, in a paragraph of
// direction rtl) in the order it is drawn left to right. It is the Unicode bidirectional algorithm cut to what
// chart labels hold: letters of either direction, digits and neutrals.
func visualOrder(rs []rune, rtl bool) []rune {
	// Strong direction of each rune; neutrals take the direction of the
	// runs on both sides when they agree, else the paragraph's. Number
	// separators between digits join the number.
	dir := make([]int8, len(rs)) // 1 rtl, -1 ltr, 0 neutral
	for i, r := range rs {
		switch {
		case isRTL(r) || transparent(r):
			dir[i] = 1
		case isLTR(r):
			dir[i] = -1
		}
	}
	para := int8(-1)
	if rtl {
		para = 1
	}
	for i := 0; i < len(rs); {
		if dir[i] != 0 {
			i++
			continue
		}
		j := i
		for j < len(rs) && dir[j] == 0 {
			j++
		}
		var before, after int8
		if i > 0 {
			before = dir[i-1]
		}
		if j < len(rs) {
			after = dir[j]
		}
		d := para
		if before != 0 && before == after {
			d = before
		}
		for k := i; k < j; k++ {
			dir[k] = d
		}
		i = j
	}
	out := make([]rune, 0, len(rs))
	// Reverse the runs that go against the paragraph, then the whole
	// line when it is right to left.
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && dir[j] == dir[i] {
			j++
		}
		run := slices.Clone(rs[i:j])
		if dir[i] != para {
			slices.Reverse(run)
		}
		out = append(out, run...)
		i = j
	}
	if rtl {
		slices.Reverse(out)
		for i, r := range out {
			if dir[len(rs)-1-i] == 1 {
				out[i] = mirror(r)
			}
		}
	}
	return out
}
