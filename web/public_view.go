package web

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/locale"
)

// words gives a page's texts in one language from the language files,
// English filling the gaps.
type words struct {
	cat, en *locale.Catalog
	locs    *locale.Set // every language's files, for their names
}

func wordsFor(locs *locale.Set, lang string) words {
	w := words{cat: locs.Catalog(lang), en: locs.Catalog(locale.Reference), locs: locs}
	if w.cat == nil {
		w.cat = w.en
	}
	return w
}

// t returns key's text, with its {name} placeholders filled from pairs
// (name, value, name, value…).
func (w words) t(key string, pairs ...string) string {
	s := ""
	if w.cat != nil {
		s = w.cat.Text(key)
	}
	if s == "" && w.en != nil {
		s = w.en.Text(key)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}

// duration says d in words, as the digest does: minutes under an hour,
// hours under two days, then days (one decimal under ten); never "0".
func (w words) duration(d time.Duration) string {
	switch {
	case d < time.Hour:
		return w.t("digest.minutes", "n", strconv.Itoa(max(1, int(math.Round(d.Minutes())))))
	case d < 48*time.Hour:
		return w.t("digest.hours", "n", strconv.Itoa(int(math.Round(d.Hours()))))
	}
	days := d.Hours() / 24
	n := strconv.Itoa(int(math.Round(days)))
	if days < 10 {
		n = strings.TrimSuffix(strconv.FormatFloat(math.Round(days*10)/10, 'f', 1, 64), ".0")
		if p := w.t("digest.decimal_point"); p != "" {
			n = strings.ReplaceAll(n, ".", p)
		}
	}
	return w.t("digest.days", "n", n)
}

// dates names the days from first to last as people say them ("23–29
// November").
func (w words) dates(first, last time.Time) string {
	month := func(m time.Month) string { return w.t("digest.months." + strconv.Itoa(int(m))) }
	if first.Month() == last.Month() {
		return w.t("digest.dates_same_month", "from", strconv.Itoa(first.Day()), "to", strconv.Itoa(last.Day()), "month", month(first.Month()))
	}
	return w.t("digest.dates", "from", strconv.Itoa(first.Day()), "from_month", month(first.Month()),
		"to", strconv.Itoa(last.Day()), "to_month", month(last.Month()))
}

// of writes "n of total".
func (w words) of(n, total int) string {
	return w.t("digest.of", "n", strconv.Itoa(n), "total", strconv.Itoa(total))
}

// languageName is a language code in words: the language's name in
// itself ("Kiswahili"), as the language menu shows it; "" and "other" are
// "language not known" in the reader's language.
func (w words) languageName(locs *locale.Set, code string) string {
	if code == "" || code == "other" || code == "und" {
		return w.t("equity.unknown_language")
	}
	if c := locs.Catalog(code); c != nil && c.Name() != "" {
		return c.Name()
	}
	return code
}

// equityView is the equity of response as a page shows it, every text in
// one language.
type equityView struct {
	Title, Intro          string
	Reports               string
	Answered, Wait, Flag  string
	Sections              []equitySection
	Flagged, Small, Empty string
	AnyFlagged            bool
	Publish               string // the official's choice, as the form asks it
}

type equitySection struct {
	ID, Title string
	Rows      []equityRow
}

type equityRow struct {
	Name, Reports, Answered, Wait string
	Longer                        bool
}

// equityOf builds the view of e in w's language.
func equityOf(e citybot.Equity, w words, locs *locale.Set) equityView {
	v := equityView{Title: w.t("equity.title"), Intro: w.t("equity.intro", "wait", w.duration(e.Wait)),
		Reports: w.t("equity.reports"), Answered: w.t("equity.answered"),
		Wait: w.t("equity.wait"), Flag: w.t("equity.longer"), Publish: w.t("equity.publish")}
	if e.Empty() {
		v.Empty = w.t("equity.few")
	}
	row := func(g citybot.EquityGroup, name string) equityRow {
		return equityRow{Name: name, Reports: strconv.Itoa(g.Reports), Answered: w.of(g.Answered, g.Reports), Wait: w.duration(g.Wait), Longer: g.Longer}
	}
	var flagged []string
	if len(e.ByPlace) > 0 {
		s := equitySection{ID: "eq-place", Title: w.t("equity.by_place")}
		for _, g := range e.ByPlace {
			s.Rows = append(s.Rows, row(g, g.Name))
			if g.Longer {
				flagged = append(flagged, g.Name)
			}
		}
		v.Sections = append(v.Sections, s)
	}
	if len(e.ByLanguage) > 0 {
		s := equitySection{ID: "eq-lang", Title: w.t("equity.by_language")}
		for _, g := range e.ByLanguage {
			name := w.languageName(locs, g.Name)
			s.Rows = append(s.Rows, row(g, name))
			if g.Longer {
				flagged = append(flagged, name)
			}
		}
		v.Sections = append(v.Sections, s)
	}
	if !e.Empty() {
		v.AnyFlagged = len(flagged) > 0
		if v.AnyFlagged {
			v.Flagged = w.t("equity.flagged", "list", strings.Join(flagged, w.t("chart.list_sep")))
		} else {
			v.Flagged = w.t("equity.none_flagged")
		}
	}
	if n := e.SmallPlaces + e.SmallLanguages; n > 0 {
		v.Small = w.t("equity.small", "n", strconv.Itoa(n))
	}
	return v
}

// trendRow is one week of the public page's 12-week trend.
type trendRow struct {
	Week      string // the days, as people say them
	Received  int
	WithinDay string // "9 of 13"
	Wait      string // usual wait for a first answer, or "no answer yet"
	Promises  string // "2 of 3", or "" when none was due
	Bar       int    // received, in percent of the busiest week (for the bar)
}

// publicTexts are the public pages' words in one language.
type publicTexts struct {
	words
}

// T returns a text of the language files for the templates.
func (p publicTexts) T(key string) string { return p.t(key) }

// Tf returns a text with placeholders filled (name, value, …).
func (p publicTexts) Tf(key string, pairs ...any) string {
	ss := make([]string, len(pairs))
	for i, v := range pairs {
		ss[i] = fmt.Sprint(v)
	}
	return p.t(key, ss...)
}

// Tn returns the plural text key in the form the language uses for n
// (CLDR rules), with {n} filled.
func (p publicTexts) Tn(key string, n int) string {
	s := ""
	if p.cat != nil {
		s = p.cat.Plural(key, n)
	}
	if s == "" && p.en != nil {
		s = p.en.Plural(key, n)
	}
	return strings.ReplaceAll(s, "{n}", strconv.Itoa(n))
}

// Tb returns a text for an element's content with [[…]] shown in bold;
// the text is escaped first, so a catalog can mark words but never write
// markup.
func (p publicTexts) Tb(key string) template.HTML { return bold(p.t(key)) }

// Tnb is Tn with [[…]] shown in bold (see Tb).
func (p publicTexts) Tnb(key string, n int) template.HTML { return bold(p.Tn(key, n)) }

// textEscaper escapes text for an element's content (not for an
// attribute): apostrophes stay as they are.
var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")

// bold escapes s for an element's content and turns each [[…]] in it
// into <strong>…</strong>.
func bold(s string) template.HTML {
	var b strings.Builder
	for {
		i := strings.Index(s, "[[")
		j := strings.Index(s, "]]")
		if i < 0 || j < i {
			break
		}
		b.WriteString(textEscaper.Replace(s[:i]))
		b.WriteString("<strong>" + textEscaper.Replace(s[i+2:j]) + "</strong>")
		s = s[j+2:]
	}
	b.WriteString(textEscaper.Replace(s))
	return template.HTML(b.String())
}
