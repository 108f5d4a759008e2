package classifier

import (
	"citybot"
)

// gazetteer finds the city's listed places.
type gazetteer struct {
	set     *phraseSet
	entries []PlaceEntry
}

func newGazetteer(places []PlaceEntry) *gazetteer {
	g := &gazetteer{set: newPhraseSet()}
	for _, p := range places {
		id := len(g.entries)
		e := p
		if e.Kind == "" {
			e.Kind = "place"
		}
		g.entries = append(g.entries, e)
		g.set.add(p.Name, id)
		for _, a := range p.Aliases {
			g.set.add(a, id)
		}
	}
	return g
}

// streetTypeEN reports whether a stem ends an English street name
// ("Main Street", "Bellevue Ave").
func streetTypeEN(stem string) bool {
	switch stem {
	case "street", "st", "avenue", "ave", "road", "rd", "boulevard", "blvd", "lane", "ln", "drive", "way", "court", "ct", "terrace", "highway", "hwy", "parkway", "pkwy", "square", "sq", "alley", "circle", "wharf":
		return true
	}
	return false
}

// streetTypeFR reports whether a stem starts a French street name ("rue
// Victor Hugo", "avenue de la République").
func streetTypeFR(stem string) bool {
	switch stem {
	case "rue", "avenue", "av", "boulevard", "bd", "chemin", "allee", "impasse", "place", "quai", "route", "cour", "passage", "square", "esplanade", "rond":
		return true
	}
	return false
}

func frConnector(stem string) bool {
	switch stem {
	case "de", "du", "des", "la", "le", "l", "d", "saint", "sainte":
		return true
	}
	return false
}

// nameWord reports whether a token can be part of a proper name.
func nameWord(t *token) bool {
	return t.capital && t.letters >= 1 && t.latin
}

// findStreets appends street names written in the usual patterns, and an
// address span when a house number precedes one.
func findStreets(text string, toks []token, places []citybot.Place, personal []citybot.PersonalSpan) ([]citybot.Place, []citybot.PersonalSpan) {
	addAddr := func(first, last int) {
		if first > 0 && toks[first-1].letters == 0 && toks[first-1].digits > 0 && toks[first-1].digits <= 5 {
			personal = append(personal, citybot.PersonalSpan{Kind: citybot.PersonAddress, Span: citybot.Span{Start: toks[first-1].start, End: toks[last].end}})
		}
	}
	for i := 0; i < len(toks); i++ {
		t := &toks[i]
		// English: Capitalised words + street type.
		if streetTypeEN(t.stem) && t.capital && i > 0 && nameWord(&toks[i-1]) && !streetTypeEN(toks[i-1].stem) {
			first := i - 1
			for first > 0 && i-first < 4 && nameWord(&toks[first-1]) && !toks[first].sentStart {
				first--
			}
			if toks[first].sentStart && first < i-1 && isCommonSentenceStart(toks[first].stem) {
				first++
			}
			places = append(places, citybot.Place{Name: text[toks[first].start:t.end], Kind: "street", Span: citybot.Span{Start: toks[first].start, End: t.end}})
			addAddr(first, i)
			continue
		}
		// French: street type + [connectors] + capitalised words.
		if streetTypeFR(t.stem) && i+1 < len(toks) {
			j := i + 1
			for j < len(toks) && j-i <= 3 && frConnector(toks[j].stem) && !toks[j].capital {
				j++
			}
			k := j
			for k < len(toks) && k-j < 4 && (nameWord(&toks[k]) || (k > j && frConnector(toks[k].stem) && k+1 < len(toks) && nameWord(&toks[k+1]))) {
				k++
			}
			if k > j && nameWord(&toks[k-1]) {
				places = append(places, citybot.Place{Name: text[t.start:toks[k-1].end], Kind: "street", Span: citybot.Span{Start: t.start, End: toks[k-1].end}})
				addAddr(i, k-1)
				i = k - 1
			}
		}
	}
	return places, personal
}

func isCommonSentenceStart(stem string) bool {
	switch stem {
	case "the", "on", "at", "in", "near", "le", "la", "sur", "dan", "dans", "pres", "a", "please", "there", "my", "our", "i":
		return true
	}
	return false
}

// overlaps reports whether two spans share a byte.
func overlaps(a, b citybot.Span) bool { return a.Start < b.End && b.Start < a.End }
