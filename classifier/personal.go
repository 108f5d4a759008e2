package classifier

import (
	"regexp"

	"citybot"
)

// patterns are the compiled regular expressions a Classifier uses; they
// are built per Classifier (no package state) and are safe for concurrent
// use.
type patterns struct {
	plates []*regexp.Regexp
}

func newPatterns() *patterns {
	return &patterns{plates: []*regexp.Regexp{
		// France (SIV): AB-123-CD
		regexp.MustCompile(`\b[A-HJ-NP-TV-Z]{2}[- ]?[0-9]{3}[- ]?[A-HJ-NP-TV-Z]{2}\b`),
		// France (FNI): 1234 AB 75
		regexp.MustCompile(`\b[0-9]{1,4}[- ]?[A-Z]{2,3}[- ]?(?:[0-9]{2}|2A|2B)\b`),
		// North America and elsewhere: ABC 1234, ABC-123, 1ABC234
		regexp.MustCompile(`\b[A-Z]{3}[- ]?[0-9]{3,4}\b`),
		regexp.MustCompile(`\b[0-9][A-Z]{3}[0-9]{3}\b`),
	}}
}

// findEmails appends the e-mail addresses in text.
func findEmails(text string, dst []citybot.PersonalSpan) []citybot.PersonalSpan {
	isLocal := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
	}
	isDomain := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
	}
	last := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '@' || i < last {
			continue
		}
		// RFC 5321 bounds: 64 bytes of local part, 255 of domain.
		s := i
		for s > last && s > i-64 && isLocal(text[s-1]) {
			s--
		}
		e := i + 1
		for e < len(text) && e < i+256 && isDomain(text[e]) {
			e++
		}
		for e > i+1 && (text[e-1] == '.' || text[e-1] == '-') {
			e--
		}
		for s < i && text[s] == '.' {
			s++
		}
		dom := text[i+1 : e]
		dot := -1
		for k := len(dom) - 1; k >= 0; k-- {
			if dom[k] == '.' {
				dot = k
				break
			}
		}
		if s == i || dot <= 0 || len(dom)-dot-1 < 2 {
			continue
		}
		dst = append(dst, citybot.PersonalSpan{Kind: citybot.PersonEmail, Span: citybot.Span{Start: s, End: e}})
		last = e
		i = e - 1
	}
	return dst
}

// findPhones appends runs of 9 to 15 digits written as a phone number:
// digits in groups separated by single spaces, dots or hyphens, with an
// optional leading + and parentheses around a group.
func findPhones(text string, dst []citybot.PersonalSpan) []citybot.PersonalSpan {
	isAlnum := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= '0' && c <= '9' || c == '+' || c == '(') {
			continue
		}
		if i > 0 && (isAlnum(text[i-1]) || text[i-1] == '+' || text[i-1] == '(') {
			continue
		}
		j := i
		if text[j] == '+' || text[j] == '(' {
			j++
		}
		digits, end := 0, -1
		sep := false
		for j < len(text) {
			ch := text[j]
			switch {
			case ch >= '0' && ch <= '9':
				digits++
				sep = false
				j++
				end = j
				continue
			case (ch == ' ' || ch == '-' || ch == '.' || ch == ')' || ch == '(') && !sep && digits > 0:
				sep = ch != ')'
				j++
				if ch == ')' && j < len(text) && text[j] == ' ' {
					j++
					sep = true
				}
				continue
			}
			break
		}
		if end < 0 || digits < 9 || digits > 15 {
			if end > i {
				i = end - 1
			}
			continue
		}
		if end < len(text) && isAlnum(text[end]) {
			i = end - 1
			continue
		}
		dst = append(dst, citybot.PersonalSpan{Kind: citybot.PersonPhone, Span: citybot.Span{Start: i, End: end}})
		i = end - 1
	}
	return dst
}

// findPlates appends vehicle registration plates.
func (p *patterns) findPlates(text string, dst []citybot.PersonalSpan) []citybot.PersonalSpan {
	for _, re := range p.plates {
		for _, loc := range re.FindAllStringIndex(text, 8) {
			s := text[loc[0]:loc[1]]
			letters, digits := 0, 0
			for i := 0; i < len(s); i++ {
				switch c := s[i]; {
				case c >= 'A' && c <= 'Z':
					letters++
				case c >= '0' && c <= '9':
					digits++
				}
			}
			if letters < 2 || digits < 2 {
				continue
			}
			dst = append(dst, citybot.PersonalSpan{Kind: citybot.PersonPlate, Span: citybot.Span{Start: loc[0], End: loc[1]}})
		}
	}
	return dst
}

// nameCue reports whether a stem introduces a person's name: a title, or
// the end of "my name is", "je m'appelle", "named".
func titleCue(stem string) bool {
	switch stem {
	case "mr", "mrs", "ms", "miss", "mister", "dr", "doctor", "sir", "madam", "mme", "mlle", "madame", "monsieur", "mademoiselle", "docteur", "maitre", "officer", "agent":
		return true
	}
	return false
}

// findCuedNames appends person names introduced by a cue: a title ("Mr
// Smith", "Mme Dupont") or a phrase ("my name is", "je m'appelle",
// "named", "nommé", "appelé") followed by one to three capitalised words.
func findCuedNames(toks []token, dst []citybot.PersonalSpan) []citybot.PersonalSpan {
	for i := 0; i < len(toks); i++ {
		t := &toks[i]
		cue := titleCue(t.stem) && (t.capital || t.stem == "mme" || t.stem == "mlle")
		if !cue {
			switch t.stem {
			case "named", "nomme", "appele", "appelle", "called":
				cue = true
			case "is", "suis":
				cue = i >= 2 && toks[i-1].stem == "name" && (toks[i-2].stem == "my" || toks[i-2].stem == "the")
			}
		}
		if !cue || i+1 >= len(toks) {
			continue
		}
		j := i + 1
		for j < len(toks) && j <= i+3 && toks[j].capital && !toks[j].allCaps && toks[j].letters >= 2 && toks[j].digits == 0 && !toks[j].sentStart {
			j++
		}
		if j == i+1 {
			continue
		}
		dst = append(dst, citybot.PersonalSpan{Kind: citybot.PersonName, Span: citybot.Span{Start: toks[i+1].start, End: toks[j-1].end}})
		i = j - 1
	}
	return dst
}
