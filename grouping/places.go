package grouping

import (
	"fmt"
	"slices"
	"strings"

	"citybot"
)

// Place is one entry of the city's gazetteer as grouping reads it: its
// name and the other names citizens use for it (the [classifier] places).
type Place struct {
	Name    string   `toml:"name"`
	Aliases []string `toml:"aliases"`
}

// genericPlaceWord reports whether a folded word only says what kind of
// place follows or links words ("rue", "street", "de la"): "Rue Victor
// Hugo" and "Victor Hugo street" are the same street.
func genericPlaceWord(w string) bool {
	switch w {
	case "rue", "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "bd", "blvd", "lane", "ln",
		"quai", "square", "sq", "chemin", "allee", "impasse", "route", "way", "drive", "dr", "court", "ct",
		"the", "de", "la", "le", "les", "du", "des", "l", "d", "of", "calle", "rua", "avenida", "da", "do", "del", "el":
		return true
	}
	return false
}

// placeKey is a place name reduced to the words that tell it apart.
func placeKey(name string) string {
	ws := words(fold(name))
	kept := ws[:0]
	for _, w := range ws {
		if !genericPlaceWord(w) {
			kept = append(kept, w)
		}
	}
	if len(kept) == 0 {
		return strings.Join(ws, " ")
	}
	return strings.Join(kept, " ")
}

// places knows the city's gazetteer: which names are one place, the
// phrases that name each place in a text, and which places are near.
type places struct {
	canon   map[string]string   // key of a name or alias → key of the entry's name
	phrases map[string][]string // key of an entry → folded names, " name "
	near    map[string]map[string]bool
	byWord  map[string][]phraseEntry // first word of a phrase → the phrases
	names   map[string][]string      // key of an entry → its name and aliases as written
}

type phraseEntry struct{ phrase, key string }

func newPlaces(gaz []Place, near [][]string) (*places, error) {
	p := &places{canon: map[string]string{}, phrases: map[string][]string{}, near: map[string]map[string]bool{}, byWord: map[string][]phraseEntry{}, names: map[string][]string{}}
	for i, e := range gaz {
		if strings.TrimSpace(e.Name) == "" {
			return nil, fmt.Errorf("grouping: place %d has no name: %w", i+1, citybot.ErrInvalid)
		}
		id := placeKey(e.Name)
		for _, n := range append([]string{e.Name}, e.Aliases...) {
			if n = strings.TrimSpace(n); n != "" && !slices.Contains(p.names[id], n) {
				p.names[id] = append(p.names[id], n)
			}
			k := placeKey(n)
			if k == "" {
				continue
			}
			if _, taken := p.canon[k]; !taken {
				p.canon[k] = id
			}
			if f := fold(n); strings.TrimSpace(f) != "" && !slices.Contains(p.phrases[id], f) {
				p.phrases[id] = append(p.phrases[id], f)
				first := strings.Fields(f)[0]
				p.byWord[first] = append(p.byWord[first], phraseEntry{phrase: f, key: id})
			}
		}
	}
	for i, group := range near {
		var keys []string
		for _, n := range group {
			k := p.key(n)
			if k == "" {
				return nil, fmt.Errorf("grouping: near group %d has an empty place: %w", i+1, citybot.ErrInvalid)
			}
			keys = append(keys, k)
		}
		for _, a := range keys {
			for _, b := range keys {
				if a == b {
					continue
				}
				if p.near[a] == nil {
					p.near[a] = map[string]bool{}
				}
				p.near[a][b] = true
			}
		}
	}
	return p, nil
}

// key is the place's key: its gazetteer entry's when it is one.
func (p *places) key(name string) string {
	k := placeKey(name)
	if c, ok := p.canon[k]; ok {
		return c
	}
	return k
}

// maxQueryNames bounds the place names one candidate query sends.
const maxQueryNames = 16

// queryNames are the names a case may store for the places of a report
// (as written, and every name of a gazetteer place and of the places near
// it), for the store's look-up by place.
func (p *places) queryNames(written []string, refs []placeRef) []string {
	var out []string
	add := func(n string) {
		if len(out) < maxQueryNames && n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, n := range written {
		add(strings.TrimSpace(n))
	}
	for _, r := range refs {
		for _, n := range p.names[r.key] {
			add(n)
		}
	}
	for _, r := range refs {
		for k := range p.near[r.key] {
			for _, n := range p.names[k] {
				add(n)
			}
		}
	}
	return out
}

// placeRef is a place of a report or case: its key and the phrases that
// name it in a text.
type placeRef struct {
	key     string
	phrases []string
}

func (p *places) refs(names []string) []placeRef {
	var out []placeRef
	for _, n := range names {
		k := p.key(n)
		if k == "" {
			continue
		}
		dup := false
		for _, r := range out {
			if r.key == k {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		ph := p.phrases[k]
		if ph == nil {
			// "Kingsway and Oak Street" names two streets of the
			// gazetteer: they are its places.
			if inner := p.within(fold(n)); len(inner) > 0 {
				for _, ik := range inner {
					if !slices.ContainsFunc(out, func(r placeRef) bool { return r.key == ik }) {
						out = append(out, placeRef{key: ik, phrases: p.phrases[ik]})
					}
				}
				continue
			}
			ph = []string{fold(n)}
			// "victor hugo" names "Rue Victor Hugo" in "victor hugo
			// street"; a single word ("marche") is too common.
			if strings.Contains(k, " ") {
				ph = append(ph, " "+k+" ")
			}
		}
		out = append(out, placeRef{key: k, phrases: ph})
	}
	return out
}

// within returns the gazetteer places a folded text names, by key, in
// the order they come. It costs a map look-up per word, whatever the
// gazetteer's size.
func (p *places) within(folded string) []string {
	var out []string
	for i := 0; i < len(folded); i++ {
		if folded[i] != ' ' || i+1 == len(folded) {
			continue
		}
		j := strings.IndexByte(folded[i+1:], ' ')
		if j < 0 {
			break
		}
		for _, e := range p.byWord[folded[i+1:i+1+j]] {
			if strings.HasPrefix(folded[i:], e.phrase) && !slices.Contains(out, e.key) {
				out = append(out, e.key)
			}
		}
	}
	return out
}

// mentions reports whether a folded text names the place.
func (r placeRef) mentions(folded string) bool {
	for _, ph := range r.phrases {
		if strings.Contains(folded, ph) {
			return true
		}
	}
	return false
}

// placeRelation is how two sets of places relate.
type placeRelation int

const (
	placeUnknown  placeRelation = iota // one side names no place
	placeConflict                      // both name places, none the same or near
	placeNear                          // a place of one is near a place of the other
	placeSame                          // they name the same place
)

// relate compares a report's places and text with a case's places and
// texts. A place that one side names in its text counts even when the
// classifier did not tag it there.
func (p *places) relate(rp []placeRef, rText string, cp []placeRef, cTexts []string) placeRelation {
	for _, a := range rp {
		for _, b := range cp {
			if a.key == b.key {
				return placeSame
			}
		}
	}
	for _, a := range rp {
		for _, t := range cTexts {
			if a.mentions(t) {
				return placeSame
			}
		}
	}
	for _, b := range cp {
		if b.mentions(rText) {
			return placeSame
		}
	}
	for _, a := range rp {
		for _, b := range cp {
			if p.near[a.key][b.key] {
				return placeNear
			}
		}
	}
	if len(rp) == 0 || len(cp) == 0 {
		return placeUnknown
	}
	return placeConflict
}
