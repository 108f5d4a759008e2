package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"

	"citybot"
	"citybot/locale"
)

// TestFormsDecompose checks the presentation-form tables against the
// Unicode data x/text carries: each form is its letter's compatibility
// form, and each letter that joins forward has all four.
func TestFormsDecompose(t *testing.T) {
	for base, f := range arabicForms {
		for i, r := range f {
			if r == 0 {
				continue
			}
			if got := norm.NFKC.String(string(r)); got != string(base) {
				t.Errorf("form %d of %U is %U, which decomposes to %q", i, base, r, got)
			}
		}
		if f[0] == 0 || (f[2] != 0) != (f[3] != 0) {
			t.Errorf("%U: forms %U", base, f)
		}
	}
	for alef, f := range lamAlef {
		for _, r := range f {
			if got := norm.NFKC.String(string(r)); got != string([]rune{lam, alef}) {
				t.Errorf("lam-alef %U decomposes to %q", r, got)
			}
		}
	}
}

func TestShape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Reports received", "Reports received"},
		{"Délai médian", "Délai médian"},
		// ب initial, لا final ligature, غ initial, ا final, ت isolated;
		// drawn right to left.
		{"بلاغات", "\uFE95\uFE8E\uFECF\uFEFC\uFE91"},
		// A number keeps its digits in reading order, left of the word
		// that comes before it in reading.
		{"يوم 12", "12 \uFEE1\uFEEE\uFEF3"},
		{"12 يوم", "\uFEE1\uFEEE\uFEF3 12"},
		// Brackets are mirrored, Latin words inside stay readable.
		{"الطرق (Roads)", "(Roads) \uFED5\uFEAE\uFEC4\uFEDF\uFE8D"},
		// An Arabic word inside an English line is reversed in place.
		{"Topic: بلاغ done", "Topic: \uFECD\uFEFC\uFE91 done"},
	} {
		if got := Shape(tc.in); got != tc.want {
			t.Errorf("Shape(%q) = %q %U, want %q %U", tc.in, got, []rune(got), tc.want, []rune(tc.want))
		}
	}
}

// TestShapeLineOfRTLParagraph: a line cut from an Arabic title that holds
// only a week number keeps the paragraph's direction: its full stop goes
// to the left end.
func TestShapeLineOfRTLParagraph(t *testing.T) {
	if got := shape("2026-W48.", true); got != ".2026-W48" {
		t.Errorf("shape in RTL = %q", got)
	}
	if got := Shape("2026-W48."); got != "2026-W48." {
		t.Errorf("Shape = %q", got)
	}
	if !direction("12 يوم") || direction("12 days") || direction("") {
		t.Error("direction")
	}
}

// TestShapeRoundTrip: every Arabic text of the shipped file, shaped and
// read back right to left, is the same text once normalised: no letter
// is lost or changed, only its form.
func TestShapeRoundTrip(t *testing.T) {
	ar := locale.MustEmbedded().Catalog("ar")
	for k, v := range ar.Table("chat.topics") {
		rs := []rune(Shape(v))
		for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
			rs[i], rs[j] = rs[j], rs[i]
		}
		if got, want := norm.NFKC.String(string(rs)), norm.NFKC.String(v); got != want {
			t.Errorf("%s: %q read back as %q", k, v, got)
		}
		if Shape(v) == v {
			t.Errorf("%s: %q not shaped", k, v)
		}
	}
}

// labelsOf are the chart's words in lang, from the shipped files.
func labelsOf(t testing.TB, lang string) (Labels, func(string) string) {
	t.Helper()
	c := locale.MustEmbedded().Catalog(lang)
	if c == nil {
		t.Fatalf("no %s catalog", lang)
	}
	topics := c.Table("chat.topics")
	l := Labels{
		Title:    strings.ReplaceAll(c.Text("digest.chart_caption"), "{week}", "2026-W48"),
		Reports:  c.Text("digest.chart_reports"),
		Answer:   c.Text("digest.chart_answer"),
		NoAnswer: c.Text("digest.none"),
		Duration: func(d time.Duration) string {
			return strings.ReplaceAll(c.Text("digest.hours"), "{n}", fmt.Sprint(int(d.Hours())))
		},
	}
	return l, func(tp string) string { return topics[tp] }
}

func figures() citybot.DigestFigures {
	return citybot.DigestFigures{Received: 20, ByTopic: []citybot.TopicFigures{
		{Topic: "roads", Received: 9, FirstAnswer: citybot.Durations{Count: 4, Median: 3 * time.Hour}},
		{Topic: "water_sanitation", Received: 6, FirstAnswer: citybot.Durations{Count: 2, Median: 26 * time.Hour}},
		{Topic: "street_lighting", Received: 5},
	}}
}

// notdef replaces every drawn rune of s by one the font lacks, so that
// it draws as the font's missing-glyph box.
func notdef(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' {
			return r
		}
		return 0xE000 // private use: no glyph
	}, s)
}

// drawn draws s (already shaped) with the embedded font and returns the
// image.
func drawn(t *testing.T, s string) *image.Gray {
	t.Helper()
	if _, err := loadFont(); err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(parsed, &opentype.FaceOptions{Size: 24, DPI: 72})
	if err != nil {
		t.Fatal(err)
	}
	defer face.Close()
	img := image.NewGray(image.Rect(0, 0, 40*len([]rune(s))+40, 48))
	d := font.Drawer{Dst: img, Src: image.White, Face: face, Dot: fixed.P(10, 36)}
	d.DrawString(s)
	return img
}

// TestRenderLanguages renders the chart in English, French and Arabic
// and checks that the text was drawn: the font has a glyph for every
// rune of every label as drawn, a label draws other pixels than the same
// number of missing-glyph boxes, and the chart itself changes when its
// labels are replaced by boxes.
func TestRenderLanguages(t *testing.T) {
	f := figures()
	for _, lang := range []string{"en", "fr", "ar"} {
		t.Run(lang, func(t *testing.T) {
			l, topic := labelsOf(t, lang)
			texts := []string{l.Title, l.Reports, l.Answer, l.Duration(3 * time.Hour)}
			for _, tp := range f.ByTopic {
				texts = append(texts, topic(tp.Topic))
			}
			for _, s := range texts {
				if s == "" {
					t.Fatalf("empty label in %v", texts)
				}
				if ok, r := HasGlyphs(s); !ok {
					t.Errorf("no glyph for %U in %q", r, s)
				}
				shaped := Shape(s)
				if bytes.Equal(drawn(t, shaped).Pix, drawn(t, notdef(shaped)).Pix) {
					t.Errorf("%q draws as missing-glyph boxes", s)
				}
			}
			png1, err := Render(f, topic, l)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(png1))
			if err != nil {
				t.Fatal(err)
			}
			if w := img.Bounds().Dx(); w != widthPt*dpi/72 {
				t.Errorf("width %d px", w)
			}
			boxes := Labels{Title: notdef(l.Title), Reports: notdef(l.Reports), Answer: notdef(l.Answer), Duration: func(d time.Duration) string { return notdef(l.Duration(d)) }}
			png2, err := Render(f, func(tp string) string { return notdef(topic(tp)) }, boxes)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(png1, png2) {
				t.Error("the chart with its labels is the chart with boxes")
			}
		})
	}
}

// TestNotdefDetected: the box check above can fail: a rune the font
// lacks is reported, and draws the same as the box.
func TestNotdefDetected(t *testing.T) {
	if ok, r := HasGlyphs("Roads 中"); ok || r != '中' {
		t.Errorf("HasGlyphs found a glyph for 中 (%v %U)", ok, r)
	}
	if !bytes.Equal(drawn(t, "中文").Pix, drawn(t, notdef("中文")).Pix) {
		t.Error("a missing glyph does not draw as the box")
	}
}

// TestPanels: counts and times are separate panels; a topic without a
// first answer has no time bar (never a "0 h" bar), and the alt text
// carries the same figures.
func TestPanels(t *testing.T) {
	l, topic := labelsOf(t, "en")
	counts, times := rows(figures(), topic, l)
	if len(counts) != 3 || len(times) != 2 {
		t.Fatalf("counts %v times %v", counts, times)
	}
	alt := Alt(figures(), topic, l)
	for _, want := range []string{topic("roads") + " 9", topic("street_lighting") + " 5", topic("roads") + " 3 h", l.Reports, l.Answer} {
		if !strings.Contains(alt, want) {
			t.Errorf("alt %q lacks %q", alt, want)
		}
	}
	if strings.Contains(alt, topic("street_lighting")+" 0") {
		t.Errorf("alt %q gives a time to an unanswered topic", alt)
	}
}

func TestMoreTopicsThanRoom(t *testing.T) {
	var f citybot.DigestFigures
	for i := range MaxTopics + 3 {
		f.ByTopic = append(f.ByTopic, citybot.TopicFigures{Topic: fmt.Sprint("t", i), Received: 20 - i})
	}
	l := Labels{Title: "T", Reports: "R", Answer: "A", NoAnswer: "none", Others: "others"}
	counts, _ := rows(f, func(s string) string { return s }, l)
	if len(counts) != MaxTopics+1 || counts[MaxTopics].name != "others" || counts[MaxTopics].value != 12+11+10 {
		t.Fatalf("counts %v", counts)
	}
	if _, err := Render(f, func(s string) string { return s }, l); err != nil {
		t.Fatal(err)
	}
}

// TestRightToLeftLayout: the Arabic chart is mirrored (names on the
// right, bars growing to the left), the English one is not: the leftmost
// pixel of the reports' bars is near the left edge only in Arabic.
func TestRightToLeftLayout(t *testing.T) {
	left := map[string]int{}
	for _, lang := range []string{"en", "ar"} {
		l, topic := labelsOf(t, lang)
		b, err := Render(figures(), topic, l)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		minX := img.Bounds().Dx()
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if r>>8 == uint32(casesColor.R) && g>>8 == uint32(casesColor.G) && bl>>8 == uint32(casesColor.B) {
					minX = min(minX, x)
				}
			}
		}
		left[lang] = minX
	}
	w := WidthPx
	if left["en"] < w/5 || left["ar"] > w/10 {
		t.Errorf("leftmost bar pixel: en %d, ar %d of %d", left["en"], left["ar"], w)
	}
}

// FuzzShape: any text shapes without a panic into as many runes as it
// has, minus one per lam-alef ligature, and reads back to the same
// letters.
func FuzzShape(f *testing.F) {
	for _, s := range []string{"", "بلاغات", "لا", "ل", "12 يوم (Roads)", "a\u0644\u064e\u0627b", "\u0640\u0640", "ﻻ", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Shape(s)
		if !direction(s) && !strings.ContainsFunc(s, isRTL) && out != s {
			t.Fatalf("Shape(%q) = %q changed a left-to-right text", s, out)
		}
		in := []rune(s)
		if got := len([]rune(out)); got > len(in) || got < len(in)/2 {
			t.Fatalf("Shape(%q) = %q: %d runes from %d", s, out, got, len(in))
		}
	})
}

// TestEmptyWeek: a week without reports draws both panels' words and says
// so in the alt text.
func TestEmptyWeek(t *testing.T) {
	l := Labels{Title: "16–22 November", Reports: "Reports received", Answer: "Time to a first answer", NoAnswer: "No answer yet.", NoReports: "No report this week."}
	b, err := Render(citybot.DigestFigures{}, func(s string) string { return s }, l)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	want := "16–22 November. Reports received: No report this week. Time to a first answer: No answer yet."
	if alt := Alt(citybot.DigestFigures{}, func(s string) string { return s }, l); alt != want {
		t.Errorf("alt %q, want %q", alt, want)
	}
}
