package accountability

import (
	"fmt"
	"strconv"
	"time"

	"citybot"
	"citybot/chart"
	"citybot/locale"
)

// chartLabels are the chart's words in lang, from the language files
// ([chart]), with durations in words as the digest says them.
func (d *Digester) chartLabels(dg citybot.Digest, lang string) chart.Labels {
	c := d.chartCatalog(lang)
	t, ok := d.texts[lang]
	if !ok {
		t = d.texts[d.languages[0]]
	}
	f := dg.Figures
	title := string(dg.Week)
	if !f.Start.IsZero() && f.End.After(f.Start) {
		last := f.End.In(d.loc).Add(-time.Second)
		n := d.now()
		if !dg.CreatedAt.IsZero() {
			n = dg.CreatedAt // a draft of the week so far names the days it covers
		}
		if n := n.In(d.loc); n.After(f.Start) && n.Before(f.End) {
			last = n
		}
		title = fill(c.Text("chart.title"), "dates", t.dates(f.Start.In(d.loc), last))
	}
	return chart.Labels{
		Title:     title,
		Reports:   c.Text("chart.reports"),
		Answer:    c.Text("chart.answer"),
		NoAnswer:  c.Text("chart.no_answer"),
		NoReports: c.Text("chart.no_reports"),
		Others:    c.Text("chart.others"),
		ListSep:   c.Text("chart.list_sep"),
		Duration:  t.duration,
		Number:    strconv.Itoa,
	}
}

// ChartPNG draws dg's chart in lang (a digest language; another falls
// back to the officials'): reports and time to a first answer by topic,
// in two panels, with the words of the language files. The same figures
// give the same image. Errors come from the font or the PNG encoder.
func (d *Digester) ChartPNG(dg citybot.Digest, lang string) ([]byte, error) {
	png, err := chart.Render(dg.Figures, func(tp string) string { return d.TopicName(lang, tp) }, d.chartLabels(dg, lang))
	if err != nil {
		return nil, fmt.Errorf("accountability: chart: %w", err)
	}
	return png, nil
}

// ChartAlt is the alternative text of dg's chart in lang: the same
// figures in words.
func (d *Digester) ChartAlt(dg citybot.Digest, lang string) string {
	c := d.chartCatalog(lang)
	alt := chart.Alt(dg.Figures, func(tp string) string { return d.TopicName(lang, tp) }, d.chartLabels(dg, lang))
	return fill(c.Text("chart.alt"), "figures", alt)
}

// chartCatalog is lang's language file, else the officials', else
// English.
func (d *Digester) chartCatalog(lang string) *locale.Catalog {
	for _, l := range []string{lang, d.languages[0], locale.Reference} {
		if c := d.locs.Catalog(l); c != nil {
			return c
		}
	}
	return nil
}

// warnChartGlyphs logs, once per digest language, a text of the chart
// that the embedded font cannot draw (a city's language in another
// script): its chart would show boxes. It never fails: the digest's text
// is unaffected.
func (d *Digester) warnChartGlyphs() {
	for _, l := range d.languages {
		c := d.chartCatalog(l)
		if c == nil {
			continue
		}
		texts := []string{c.Text("chart.title"), c.Text("chart.reports"), c.Text("chart.answer"), c.Text("chart.no_answer"), c.Text("chart.no_reports"), c.Text("chart.others")}
		for _, tp := range c.Table("chat.topics") {
			texts = append(texts, tp)
		}
		for _, s := range texts {
			if ok, r := chart.HasGlyphs(s); !ok {
				d.log.Warn("the chart's font cannot draw a letter of this language: its chart will show boxes", "lang", l, "letter", fmt.Sprintf("%U", r))
				break
			}
		}
	}
}
