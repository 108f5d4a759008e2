package responder_test

import (
	"bytes"
	"fmt"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/chart"
	"citybot/locale"
)

// TestChartPerLanguage: a week's chart is drawn in each digest language
// (Arabic too), phone-sized, with the days of the week in the title, and
// its alternative text carries the same figures in words.
func TestChartPerLanguage(t *testing.T) {
	rg := newDgRig(t, func(o *accountability.DigestOptions) { o.Languages = []string{"en", "fr", "ar"} })
	rg.playWeek()
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Compute(rg.ctx, weekStart, "")
	if err != nil {
		t.Fatal(err)
	}
	pngs := map[string][]byte{}
	for _, l := range []string{"en", "fr", "ar"} {
		b, err := rg.dg.ChartPNG(d, l)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() != chart.WidthPx || img.Bounds().Dy() > 2*chart.WidthPx {
			t.Fatalf("%s chart: %v %v", l, img.Bounds(), err)
		}
		pngs[l] = b
	}
	if bytes.Equal(pngs["en"], pngs["fr"]) || bytes.Equal(pngs["en"], pngs["ar"]) {
		t.Error("the charts of two languages are the same image")
	}
	if !bytes.Equal(pngs["en"], d.Chart) {
		t.Error("the digest's chart is not the officials' language's")
	}
	// playWeek: 6 road reports, 3 water; 4 roads first answered after
	// 1, 2, 3 and 4 hours (median by nearest rank: the 2nd, 2 hours),
	// one water report after 30 minutes.
	alt := rg.dg.ChartAlt(d, "en")
	for _, want := range []string{"16–22 November", "roads and pavements 6", "water and sanitation 3", "roads and pavements 2 h", "water and sanitation 30 min"} {
		if !strings.Contains(alt, want) {
			t.Errorf("alt %q lacks %q", alt, want)
		}
	}
	if fr := rg.dg.ChartAlt(d, "fr"); !strings.Contains(fr, "Graphique") || !strings.Contains(fr, "novembre") {
		t.Errorf("French alt %q", fr)
	}
}

// TestChartGlyphWarning: a city language in a script the chart's font
// lacks is reported once in the log, naming the language; the shipped
// languages, Arabic included, are not.
func TestChartGlyphWarning(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "am.toml"), []byte("[meta]\nname = \"አማርኛ\"\n\n[chat.topics]\nroads = \"መንገዶች\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	locs, err := locale.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		langs []string
		warn  bool
	}{{[]string{"en", "fr", "ar", "es", "pt", "sw"}, false}, {[]string{"en", "am"}, true}} {
		var logs bytes.Buffer
		newDgRig(t, func(o *accountability.DigestOptions) {
			o.Languages, o.Locales, o.Channels = tc.langs, locs, nil
			o.Policy = testPolicy(t, func(c *citybot.PolicyConfig) { c.Languages, c.DefaultLanguage = tc.langs, tc.langs[0] })
			o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		got := strings.Contains(logs.String(), "cannot draw") && strings.Contains(logs.String(), "lang=am")
		if got != tc.warn || strings.Count(logs.String(), "cannot draw") > 1 {
			t.Errorf("languages %v: warning %v, want %v:\n%s", tc.langs, got, tc.warn, logs.String())
		}
	}
}

// TestOfficialsNoticeEquity: the draft's announcement to the officials'
// chat names the districts and languages waiting at least twice as long
// as the city, and says the choice to publish is made in the console.
func TestOfficialsNoticeEquity(t *testing.T) {
	rg := newDgRig(t, nil)
	// Five reports in English answered after 1 hour, five in French
	// after 6 hours (city median, nearest rank of 10: 1 h; French
	// flagged).
	for i := range 10 {
		text, wait := "the street light is broken", time.Hour
		if i >= 5 {
			text, wait = "le lampadaire est cassé", 6*time.Hour
		}
		at := weekStart.Add(time.Duration(9+i) * time.Hour)
		c := rg.report(at, fmt.Sprint("eq", i), text)
		rg.answer(at.Add(wait), c, "The lamp team is on its way.")
	}
	rg.clock.Set(weekStart.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Draft(rg.ctx, weekStart, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	if e := d.Figures.Equity; e.Wait != time.Hour || len(e.ByLanguage) != 2 {
		t.Fatalf("equity %+v", e)
	}
	notice, err := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:r1:officials:notice")
	if err != nil || len(notice) != 1 {
		t.Fatalf("notice: %d rows, %v", len(notice), err)
	}
	for _, want := range []string{"Wait at least twice as long as the city: Français.", "where you choose whether they are published"} {
		if !strings.Contains(notice[0].Out.Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, notice[0].Out.Text)
		}
	}
}
