package citybot

import "testing"

// Citizen text published as a place: markup, a neighbour, a claim and
// invisible characters are withheld; streets are kept without house
// numbers.
func TestPublicPlace(t *testing.T) {
	for in, want := range map[string]string{
		"Evil<img/src/onerror=alert(1)>Foo Street": "",
		`Foo Street"><script>alert(1)</script>`:    "",
		"cour de Mme Dupont":                       "",
		"rue de M. Martin":                         "",
		"chez Paul rue Haute":                      "",
		"Mayor Is A Thief Street":                  "",
		"Le Maire Est Un Voleur rue":               "",
		"Main\u202eteertS Street":                  "",
		"Baker\u200b Street":                       "",
		"=HYPERLINK(\"x\") Street":                 "",
		"12 rue des Lilas":                         "rue des Lilas",
		"221B Baker Street":                        "Baker Street",
		"8a, rue X":                                "rue X",
		"12":                                       "",
		"3 bis":                                    "",
		" Place  du Marché ":                       "Place du Marché",
		"rue de la République":                     "rue de la République",
		"5th Avenue":                               "5th Avenue",
		"avenue de l'Opéra":                        "avenue de l'Opéra",
		"St. Mary's Road":                          "St. Mary's Road",
		"Jean-Jaurès":                              "",
	} {
		if got := PublicPlace(in); got != want {
			t.Errorf("PublicPlace(%q) = %q, want %q", in, got, want)
		}
	}
	p := NewPlacePolicy([]string{"Les Halles", "Gare du Nord"})
	if got := p.Public("les halles"); got != "Les Halles" {
		t.Errorf("gazetteer name: %q", got)
	}
	if got := p.Public("cour de Mme Dupont"); got != "" {
		t.Errorf("non-gazetteer neighbour: %q", got)
	}
}

func TestVisibleText(t *testing.T) {
	for in, want := range map[string]string{
		"abc\u202egpj.exe":             "abcgpj.exe",
		"a\u200bb\u2066c\u2069\u200fd": "abcd",
		"line\nnext\ttab":              "line\nnext\ttab",
		"\ufeffBOM\u00adsoft":          "BOMsoft",
		"bell\x07":                     "bell",
		"👨\u200d👩\u200d👧":              "👨\u200d👩\u200d👧",
		"می\u200cخواهم":                "می\u200cخواهم",
		"a\u200cb":                     "ab",
		"bad\xffutf8":                  "badutf8",
		"plain":                        "plain",
	} {
		if got := VisibleText(in); got != want {
			t.Errorf("VisibleText(%q) = %q, want %q", in, got, want)
		}
	}
}
