package accountability

import (
	"strings"

	"citybot"
)

// equityNote is the paragraph the officials' draft announcement ends
// with when the week has equity figures: the groups waiting at least
// twice as long as the city (or that none does), and where to choose
// whether they are published. "" when no district or language has
// enough reports to be shown.
func (d *Digester) equityNote(dg citybot.Digest, lang string) string {
	e := dg.Figures.Equity
	if e.Empty() {
		return ""
	}
	c := d.chartCatalog(lang)
	if c == nil {
		return ""
	}
	var names []string
	for _, g := range e.ByPlace {
		if g.Longer {
			names = append(names, g.Name)
		}
	}
	for _, g := range e.ByLanguage {
		if g.Longer {
			names = append(names, d.languageName(g.Name, c.Text("equity.unknown_language")))
		}
	}
	flagged := c.Text("equity.none_flagged")
	if len(names) > 0 {
		flagged = fill(c.Text("equity.flagged"), "list", strings.Join(names, c.Text("chart.list_sep")))
	}
	return "\n\n" + fill(c.Text("equity.note"), "flagged", flagged)
}

// languageName is a language code as its own file names it
// ("Kiswahili"), unknown for "" and "other".
func (d *Digester) languageName(code, unknown string) string {
	if code == "" || code == "other" {
		return unknown
	}
	if c := d.locs.Catalog(code); c != nil && c.Name() != "" {
		return c.Name()
	}
	return code
}
