package grouping

import (
	"fmt"
	"strings"

	"citybot"
)

// A concept is a kind of problem ("a leak", "a fallen tree", "no
// power") with the words that name it in each language. Two reports on the
// same topic and place that name no common concept, but each some
// concept, are taken for different problems ("a pothole on Mill Lane" and
// "a fallen wire on Mill Lane").
//
// Cues are matched on folded text (lower case, no accents, punctuation as
// spaces) at the start of a word: "leak" matches "leaking"; a cue ending
// in a space is a whole word ("rat " is not "rather"); a cue of several
// words is a phrase ("nid de poule").
//
// Concepts of one Family are related ("a leak" and "no water"): reports
// naming related concepts are not taken for different problems, though
// only a common concept joins them.
type Concept struct {
	Name   string   `toml:"name"`
	Family string   `toml:"family"`
	Cues   []string `toml:"cues"`
}

// DefaultConcepts returns the built-in concepts in English, French,
// Spanish and Portuguese. Each call returns fresh slices the caller owns.
func DefaultConcepts() []Concept {
	return []Concept{
		{"leak", "water", []string{"leak", "fuite", "fuga", "vazamento", "vazando", "burst", "broke ", "broken pipe", "broken main", "main break", "eclat", "pete", "geyser", "gush", "pouring", "jaill", "water main", "conduite", "canalis", "pipe", "tuyau", "cano ", "tuberia", "rompi", "coule"}},
		{"no_water", "water", []string{"no water", "no running water", "pas d eau", "plus d eau", "sans eau", "coupure d eau", "eau coupee", "eau est coupee", "water cut", "taps dry", "tap dry", "robinet", "water pressure", "sin agua", "sem agua", "falta de agua", "falta agua"}},
		{"dirty_water", "water", []string{"brown", "marron", "dirty water", "dirty tap", "eau sale", "eau trouble", "trouble ", "jaune", "toujours sale", "agua sucia", "agua suja", "drink"}},
		{"flood", "water", []string{"flood", "inond", "under water", "sous l eau", "submer", "river overflow", "riviere deborde", "knee deep", "full of water", "pleines d eau", "pleine d eau", "inunda", "alag", "lake", "river now", "sandbag"}},
		{"sewage", "water", []string{"egout", "sewage", "sewer", "eaux usees", "drain", "caniveau", "alcantarill", "esgoto", "insalubre"}},
		{"tree", "tree", []string{"tree", "arbre", "branch", "branche", "arbol", "arvore", "galho", "rama "}},
		{"power", "power", []string{"power cut", "power ", "electric", "electri", "courant", "blackout", "black out", "dans le noir", "luz ", "apagon", "energia"}},
		{"lighting", "power", []string{"street light", "street lamp", "lamps", "lamp ", "lampadaire", "eclairage", "lumiere", "pitch dark", "pitch black", "farola", "poste de luz", "lights off", "lights out", "lights still out", "lights still off", "lights on", "the lights", "dark"}},
		{"garbage", "garbage", []string{"garbage", "rubbish", "bins", "bin ", "trash", "poubel", "ordure", "dechet", "collection", "collecte", "ramass", "picked up", "emptied", "videes", "dumping", "dumped", "depot sauvage", "gravat", "basura", "lixo", "camion", "truck", "stink", "pue "}},
		{"rats", "garbage", []string{"rat ", "rats ", "deratis", "ratas", "ratos"}},
		{"hole", "road", []string{"pothole", "nid de poule", "nids de poule", "trou", "hole", "sinkhole", "affaiss", "caved", "bache", "buraco"}},
		{"collapse", "road", []string{"collaps", "effondr", "caved in", "derrumb", "desab", "fell into", "tombe "}},
		{"fire", "fire", []string{"fire", "feu ", "incend", "flame", "burning", "burn", "brul", "pompier", "fuego", "fogo", "on fire"}},
		{"smoke", "fire", []string{"smoke", "fumee", "humo", "fumaca", "irrespirable", "coughing"}},
		{"gas", "fire", []string{"gas ", "gaz ", "gas leak", "fuite de gaz"}},
		{"wire", "power", []string{"wire", "cable", "fil electrique", "power line", "spark", "etincel", "live wire", "cabo "}},
		{"manhole", "road", []string{"manhole", "plaque d egout", "bouche d egout", "cover", "tapa de alcantarilla", "bueiro"}},
		{"traffic_light", "power", []string{"traffic light", "traffic signal", "feux", "feu rouge", "feux rouges", "signals", "stuck on red", "bloque au rouge", "semaforo"}},
		{"public_transport", "transport", []string{"bus ", "buses", "tram", "ligne ", "line ", "abribus", "shelter", "arret", "stop ", "onibus", "autobus"}},
		{"crash", "transport", []string{"crash", "accident", "collision", "choque", "batida"}},
		{"noise", "noise", []string{"noise", "noisy", "loud", "bruit", "bruyant", "music", "musique", "ruido", "barulho", "blasting", "insupportable"}},
		{"works", "noise", []string{"construction", "travaux", "chantier", "roadworks", "drilling", "obras"}},
		{"heating", "", []string{"heating", "chauffage", "radiator", "freezing", "degrees", "calefaccion", "aquecimento"}},
		{"lift", "", []string{"lift ", "elevator", "ascenseur", "ascensor", "elevador"}},
		{"playground", "", []string{"swing", "balancoire", "aire de jeux", "playground", "columpio", "balanco"}},
		{"graffiti", "", []string{"graffiti", "tag ", "tags ", "taguee", "sprayed", "pintada"}},
		{"roof", "building", []string{"roof", "toit", "techo", "telhado"}},
		{"railing", "building", []string{"railing", "rambarde", "garde corps", "footbridge", "passerelle", "barandilla"}},
		{"glass", "transport", []string{"glass", "verre", "smashed", "vandalis", "vidrio", "vidro"}},
		{"wall", "building", []string{"wall", "mur ", "brick", "brique", "pared", "parede", "muro"}},
		{"bribe", "", []string{"bribe", "pot de vin", "soborno", "propina"}},
	}
}

// conceptSet finds concepts in folded texts.
type conceptSet struct {
	// byKey indexes the cues by the first three letters of their first
	// word (all of it when shorter), so that finding concepts costs a few
	// map look-ups per word, not a search per cue.
	byKey    map[string][]conceptCue
	short    [3]bool // some cue's first word has 1 or 2 letters
	names    []string
	families []uint64   // per concept, the bits of its family (itself when none)
	cues     [][]string // per concept, each cue with a leading space
}

func newConceptSet(cs []Concept) (*conceptSet, error) {
	s := &conceptSet{}
	seen := map[string]bool{}
	for i, c := range cs {
		name := strings.TrimSpace(c.Name)
		if name == "" {
			return nil, fmt.Errorf("grouping: concept %d has no name: %w", i+1, citybot.ErrInvalid)
		}
		if seen[name] {
			return nil, fmt.Errorf("grouping: concept %q is listed twice: %w", name, citybot.ErrInvalid)
		}
		seen[name] = true
		var cues []string
		for _, cue := range c.Cues {
			f := fold(cue)
			// fold adds a space at each end; keep the trailing one only
			// when the cue asks for a whole word.
			if !strings.HasSuffix(cue, " ") {
				f = strings.TrimSuffix(f, " ")
			}
			if strings.TrimSpace(f) == "" {
				continue
			}
			cues = append(cues, f)
		}
		if len(cues) == 0 {
			return nil, fmt.Errorf("grouping: concept %q has no cue: %w", name, citybot.ErrInvalid)
		}
		s.names = append(s.names, name)
		s.cues = append(s.cues, cues)
	}
	if len(s.names) > 64 {
		return nil, fmt.Errorf("grouping: %d concepts, at most 64: %w", len(s.names), citybot.ErrInvalid)
	}
	s.byKey = map[string][]conceptCue{}
	for i, cues := range s.cues {
		for _, c := range cues {
			w := strings.Fields(c)[0]
			k := cueKey(w)
			if len(k) < 3 {
				s.short[len(k)] = true
			}
			s.byKey[k] = append(s.byKey[k], conceptCue{cue: c, concept: i})
		}
	}
	s.families = make([]uint64, len(s.names))
	for i := range s.names {
		s.families[i] = 1 << i
		for j := range s.names {
			if f := strings.TrimSpace(cs[i].Family); f != "" && f == strings.TrimSpace(cs[j].Family) {
				s.families[i] |= 1 << j
			}
		}
	}
	return s, nil
}

// related returns the concepts related to any of bits, bits included.
func (s *conceptSet) related(bits uint64) uint64 {
	out := bits
	for i := range s.families {
		if bits&(1<<i) != 0 {
			out |= s.families[i]
		}
	}
	return out
}

type conceptCue struct {
	cue     string // with its leading space
	concept int
}

func cueKey(w string) string {
	if len(w) > 3 {
		return w[:3]
	}
	return w
}

// find returns the concepts a folded text names, as a bit set.
func (s *conceptSet) find(folded string) uint64 {
	var bits uint64
	for i := 0; i+1 < len(folded); i++ {
		if folded[i] != ' ' {
			continue
		}
		end := strings.IndexByte(folded[i+1:], ' ')
		if end < 0 {
			break
		}
		w := folded[i+1 : i+1+end]
		for k := 1; k <= min(3, len(w)); k++ {
			if k < 3 && k < len(w) && !s.short[k] {
				continue
			}
			for _, c := range s.byKey[w[:k]] {
				if bits&(1<<c.concept) == 0 && strings.HasPrefix(folded[i:], c.cue) {
					bits |= 1 << c.concept
				}
			}
		}
	}
	return bits
}

// moneyCues name money asked or paid: such a report may be sensitive even
// when the classifier did not flag it.
var moneyCues = []string{" euro", " dollar", " pay", " paid", " money", " cash", " bribe", " argent", " payer", " paie", " paye", " pot de vin", " dinero", " pagar", " pago", " dinheiro", " soborno", " propina", " fcfa", " shilingi", " pesa ", " rushwa"}

func mentionsMoney(folded string) bool {
	if strings.ContainsAny(folded, "€$£") {
		return true
	}
	for _, c := range moneyCues {
		if strings.Contains(folded, c) {
			return true
		}
	}
	return false
}
