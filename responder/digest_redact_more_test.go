package responder_test

import (
	"strings"
	"testing"

	"citybot/accountability"
)

// What the review found the digest kept: phone numbers and e-mail
// addresses spelled out in words (English and French), @handles, names
// in other scripts after a title, door codes.
func TestRedactorSpelledOutAndOtherScripts(t *testing.T) {
	r := accountability.NewRedactor()
	for _, tt := range []struct {
		in    string
		gone  []string
		stays []string
	}{
		{"call me on zero six one two three four five six seven eight", []string{"one two", "seven eight"}, []string{"call me on"}},
		{"mon numéro : zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit merci", []string{"douze", "trente", "soixante"}, []string{"mon numéro", "merci"}},
		{"appelez le six trois deux un neuf huit", []string{"six trois", "neuf huit"}, []string{"appelez le"}},
		{"text 06 twelve 34 fifty six 78", []string{"twelve", "fifty six"}, []string{"text"}},
		{"write to jean dot dupont at example dot com today", []string{"dupont", "example"}, []string{"write to", "today"}},
		{"écrivez à marie arobase exemple point fr", []string{"marie", "exemple"}, []string{"écrivez à"}},
		{"mail jean (at) example (dot) org", []string{"jean", "example"}, []string{"mail"}},
		{"ask @ jdupont or ＠marie_77 on telegram, or t.me/jdupont", []string{"jdupont", "marie_77"}, []string{"ask", "on telegram"}},
		{"my Discord is jdupont#1234", []string{"jdupont#1234"}, []string{"my Discord is"}},
		{"la voisine Mme Иванова jette ses ordures", []string{"Иванова"}, []string{"la voisine Mme", "jette ses ordures"}},
		{"Mr 王伟 blocks the lane", []string{"王伟"}, []string{"Mr", "blocks the lane"}},
		{"господин Петров never fixes it", []string{"Петров"}, []string{"never fixes it"}},
		{"the door code 1234A is broken", []string{"1234A"}, []string{"door code", "is broken"}},
		{"digicode: B12, 3e étage", []string{"B12"}, []string{"digicode", "étage"}},
		{"code d'entrée 12A4, le hall est sale", []string{"12A4"}, []string{"code d'entrée", "le hall est sale"}},
		{"code 4590 then second floor", []string{"4590"}, []string{"code", "second floor"}},
		// Ordinary words stay.
		{"one or two lamps are out on the third street", nil, []string{"one or two lamps are out on the third street"}},
		{"meet at the park at noon", nil, []string{"meet at the park at noon"}},
		{"the code of the building is unclear", nil, []string{"the code of the building is unclear"}},
	} {
		got := r.Redact(tt.in, nil, nil)
		for _, g := range tt.gone {
			if strings.Contains(strings.ToLower(got), strings.ToLower(g)) {
				t.Errorf("Redact(%q) = %q: %q left", tt.in, got, g)
			}
		}
		for _, s := range tt.stays {
			if !strings.Contains(got, s) {
				t.Errorf("Redact(%q) = %q: %q lost", tt.in, got, s)
			}
		}
	}
}
