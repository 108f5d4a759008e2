// Package chart draws the weekly digest's chart: reports received and
// median time to a first answer per topic, in two panels, sized for a
// phone screen, with gonum.org/v1/plot and an embedded font (font/chart.ttf:
// Noto Sans and Noto Sans Arabic, SIL Open Font License, font/OFL.txt)
// that draws every shipped language: Latin with accents, and Arabic,
// shaped by Shape (contextual forms, right-to-left order). Labels come
// from the caller, already in the reader's language; Alt gives the same
// figures in words for the image's alternative text.
package chart

import (
	"bytes"
	_ "embed"
	"fmt"
	"image/color"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font/opentype"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"citybot"
)

//go:embed font/chart.ttf
var fontData []byte

// Typeface is the name the embedded font is known by.
const Typeface = "CitybotChartSans"

var (
	fontOnce sync.Once
	fonts    *font.Cache
	parsed   *opentype.Font
	fontErr  error
)

// loadFont parses the embedded font once.
func loadFont() (*font.Cache, error) {
	fontOnce.Do(func() {
		parsed, fontErr = opentype.Parse(fontData)
		if fontErr != nil {
			fontErr = fmt.Errorf("chart: font: %w", fontErr)
			return
		}
		fonts = font.NewCache(font.Collection{{Font: font.Font{Typeface: Typeface}, Face: parsed}})
	})
	return fonts, fontErr
}

// HasGlyphs reports whether the embedded font draws every rune of s as
// Shape leaves it (spaces and marks aside), and the first rune it lacks.
func HasGlyphs(s string) (bool, rune) {
	if _, err := loadFont(); err != nil {
		return false, 0
	}
	face, err := opentype.NewFace(parsed, &opentype.FaceOptions{Size: 12, DPI: 72})
	if err != nil {
		return false, 0
	}
	defer face.Close()
	for _, r := range Shape(s) {
		if r == ' ' || r == '\n' || transparent(r) {
			continue
		}
		if _, ok := face.GlyphAdvance(r); !ok {
			return false, r
		}
	}
	return true, 0
}

// Labels are the chart's words, in one language. Title, Reports and
// Answer are required; Duration says a time in words ("3 hours"); Number
// writes a count (nil: digits as Go prints them).
type Labels struct {
	Title    string // above both panels ("23–29 November")
	Reports  string // the counts panel ("Reports received")
	Answer   string // the times panel ("Median time to a first answer")
	NoAnswer string // the times panel when no topic was answered
	// NoReports is the counts panel when nothing was received.
	NoReports string
	Duration  func(time.Duration) string
	Number    func(int) string
	// Others names the topics after the busiest MaxTopics, counted
	// together ("other topics").
	Others string
	// ListSep separates the items of a list in Alt ("": ", ").
	ListSep string
}

// MaxTopics is how many topics the chart names; the rest are counted
// together under Labels.Others.
const MaxTopics = 8

// Size of the image: a phone screen's width (360 points) at three pixels
// per point.
const (
	widthPt = 360
	dpi     = 216
	// WidthPx is the image's width in pixels.
	WidthPx = widthPt * dpi / 72
)

// Chart colours: dark text on white, one colour per measure, both with a
// contrast of at least 4.5:1 on white.
var (
	ink        = color.RGBA{0x22, 0x22, 0x22, 0xff}
	casesColor = color.RGBA{0x1f, 0x5f, 0xa8, 0xff}
	timeColor  = color.RGBA{0xb3, 0x4e, 0x00, 0xff}
)

// row is one bar of a panel.
type row struct {
	name  string
	value float64
	label string
}

// rows returns the counts and times rows of f: the busiest topics, then
// the others together; times only for topics with a first answer.
func rows(f citybot.DigestFigures, topic func(string) string, l Labels) (counts, times []row) {
	num := l.Number
	if num == nil {
		num = func(n int) string { return fmt.Sprint(n) }
	}
	dur := l.Duration
	if dur == nil {
		dur = func(d time.Duration) string { return d.Round(time.Minute).String() }
	}
	others := 0
	for _, t := range f.ByTopic {
		if t.Received == 0 {
			continue
		}
		if len(counts) >= MaxTopics {
			others += t.Received
			continue
		}
		name := topic(t.Topic)
		counts = append(counts, row{name, float64(t.Received), num(t.Received)})
		if t.FirstAnswer.Count > 0 {
			times = append(times, row{name, t.FirstAnswer.Median.Hours(), dur(t.FirstAnswer.Median)})
		}
	}
	if others > 0 && l.Others != "" {
		counts = append(counts, row{l.Others, float64(others), num(others)})
	}
	return counts, times
}

// Alt returns the chart's figures in words, for the image's alternative
// text: "Title. Reports received: Roads 12, Water 5. Median time to a
// first answer: Roads 3 hours." (in the labels' language).
func Alt(f citybot.DigestFigures, topic func(string) string, l Labels) string {
	counts, times := rows(f, topic, l)
	sep := l.ListSep
	if sep == "" {
		sep = ", "
	}
	list := func(rs []row, empty string) string {
		if len(rs) == 0 {
			return strings.TrimRight(empty, ".。 ")
		}
		items := make([]string, len(rs))
		for i, r := range rs {
			items[i] = r.name + " " + r.label
		}
		return strings.Join(items, sep)
	}
	return strings.TrimRight(l.Title, ". ") + ". " +
		l.Reports + ": " + list(counts, l.NoReports) + ". " +
		l.Answer + ": " + list(times, l.NoAnswer) + "."
}

// Render draws f's chart as PNG: the title, then reports received per
// topic (the busiest MaxTopics, then the others together), then the
// median time to a first answer of the topics answered, each bar with its
// figure in words. topic names a topic in the labels' language. The image
// is 1080 pixels wide, as tall as the topics need. Errors come from the
// font or the encoder.
func Render(f citybot.DigestFigures, topic func(string) string, l Labels) ([]byte, error) {
	cache, err := loadFont()
	if err != nil {
		return nil, err
	}
	hdlr := text.Plain{Fonts: cache}
	style := func(size vg.Length, c color.Color) text.Style {
		return text.Style{Color: c, Font: font.Font{Typeface: Typeface, Size: size}, Handler: hdlr,
			XAlign: draw.XLeft, YAlign: draw.YBottom}
	}
	counts, times := rows(f, topic, l)
	titleStyle, headStyle := style(titleSize, ink), style(headSize, ink)
	titleLines := wrap(l.Title, titleStyle, widthPt-2*margin)
	countsHead := wrap(l.Reports, headStyle, widthPt-2*margin)
	timesHead := wrap(l.Answer, headStyle, widthPt-2*margin)
	titleH := 10 + lineH(titleSize)*vg.Length(len(titleLines))
	countsH := panelHeight(len(countsHead), len(counts))
	timesH := panelHeight(len(timesHead), len(times))
	height := titleH + countsH + gap + timesH + margin
	c := vgimg.NewWith(vgimg.UseWH(widthPt, height), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)

	// Title, on as many lines as it needs.
	titleStyle.XAlign = draw.XCenter
	for i, line := range titleLines {
		putDir(dc, titleStyle, direction(l.Title), vg.Point{X: widthPt / 2, Y: height - 6 - lineH(titleSize)*(vg.Length(i)+0.5)}, line)
	}
	top := height - titleH
	panel(dc, style, countsHead, counts, casesColor, top, l.NoReports)
	top -= countsH + gap
	panel(dc, style, timesHead, times, timeColor, top, l.NoAnswer)

	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart: png: %w", err)
	}
	return buf.Bytes(), nil
}

// Sizes, in points on a 360-point-wide image: as a phone shows text.
const (
	titleSize = vg.Length(15)
	headSize  = vg.Length(13)
	labelSize = vg.Length(12)
	rowH      = vg.Length(30)
	gap       = vg.Length(16)
	margin    = vg.Length(8)
)

// lineH is the height of a line of text of size.
func lineH(size vg.Length) vg.Length { return size * 1.35 }

// panelHeight is the height of a panel with its heading's lines and n
// bars (one row for the empty text when n is 0).
func panelHeight(headLines, n int) vg.Length {
	return lineH(headSize)*vg.Length(headLines) + 6 + rowH*vg.Length(max(n, 1))
}

// panel draws one panel from top down: its heading's lines, then a
// labelled horizontal bar per row, scaled to the largest value, or the
// empty text when there are no rows. A right-to-left heading mirrors the
// panel: headings and names on the right, bars growing to the left.
func panel(dc draw.Canvas, style func(vg.Length, color.Color) text.Style, heading []string, rs []row, col color.Color,
	top vg.Length, empty string) {
	rtl := direction(strings.Join(heading, " "))
	// mx places x (measured from the reading side) on the image, and
	// start/end are the alignments of a text beginning or ending at it.
	mx := func(x vg.Length) vg.Length {
		if rtl {
			return widthPt - x
		}
		return x
	}
	start, end := draw.XLeft, draw.XRight
	if rtl {
		start, end = end, start
	}
	head := style(headSize, ink)
	head.XAlign = start
	for i, line := range heading {
		putDir(dc, head, rtl, vg.Point{X: mx(margin), Y: top - lineH(headSize)*(vg.Length(i)+0.5)}, line)
	}
	top -= lineH(headSize)*vg.Length(len(heading)) + 6
	lab := style(labelSize, ink)
	lab.XAlign = start
	if len(rs) == 0 {
		put(dc, lab, vg.Point{X: mx(margin), Y: top - rowH/2}, empty)
		return
	}
	// Names take up to 45% of the width, bars the rest after the figure.
	const nameMax = widthPt * 0.45
	nameW := vg.Length(0)
	for _, r := range rs {
		nameW = max(nameW, lab.Width(Shape(fitWidth(r.name, lab, nameMax))))
	}
	labelW := vg.Length(0)
	maxV := 0.0
	for _, r := range rs {
		labelW = max(labelW, lab.Width(Shape(r.label)))
		maxV = max(maxV, r.value)
	}
	x0 := margin + nameW + 6
	barMax := widthPt - x0 - labelW - 4 - margin
	for i, r := range rs {
		y := top - rowH*vg.Length(i) - rowH/2
		name := lab
		name.XAlign = end
		put(dc, name, vg.Point{X: mx(x0 - 6), Y: y}, fitWidth(r.name, lab, nameMax))
		w := vg.Length(1)
		if maxV > 0 {
			w = max(w, barMax*vg.Length(r.value/maxV))
		}
		dc.SetColor(col)
		dc.Fill(rect(min(mx(x0), mx(x0+w)), y-rowH*0.3, max(mx(x0), mx(x0+w)), y+rowH*0.3))
		put(dc, lab, vg.Point{X: mx(x0 + w + 4), Y: y}, r.label)
	}
}

// put draws s (logical order, one line) shaped, with its lower-case
// letters centred on pt.Y.
func put(dc draw.Canvas, sty text.Style, pt vg.Point, s string) {
	putDir(dc, sty, direction(s), pt, s)
}

// putDir is put for a line of a paragraph of direction rtl.
func putDir(dc draw.Canvas, sty text.Style, rtl bool, pt vg.Point, s string) {
	// Plain.Draw puts the baseline at pt.Y + height*YAlign - ascent +
	// size; YAlign is YBottom (0).
	baseline := pt.Y - 0.27*sty.Font.Size
	pt.Y = baseline + sty.FontExtents().Ascent - sty.Font.Size
	dc.FillText(sty, pt, shape(s, rtl))
}

// wrap cuts s (logical order) into lines that fit w, at spaces.
func wrap(s string, sty text.Style, w vg.Length) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		try := strings.TrimSpace(line + " " + word)
		if line != "" && sty.Width(Shape(try)) > w {
			lines = append(lines, fitWidth(line, sty, w))
			line = word
			continue
		}
		line = try
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, fitWidth(line, sty, w))
	}
	return lines
}

func rect(x0, y0, x1, y1 vg.Length) vg.Path {
	var p vg.Path
	p.Move(vg.Point{X: x0, Y: y0})
	p.Line(vg.Point{X: x1, Y: y0})
	p.Line(vg.Point{X: x1, Y: y1})
	p.Line(vg.Point{X: x0, Y: y1})
	p.Close()
	return p
}

// fitWidth cuts s (logical order) with an ellipsis so that it fits w.
func fitWidth(s string, sty text.Style, w vg.Length) string {
	if sty.Width(Shape(s)) <= w {
		return s
	}
	rs := []rune(s)
	for n := len(rs) - 1; n > 0; n-- {
		t := strings.TrimSpace(string(rs[:n])) + "…"
		if sty.Width(Shape(t)) <= w {
			return t
		}
	}
	return "…"
}
