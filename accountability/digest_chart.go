package accountability

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"citybot"
)

// Chart colours: dark text on white, one colour per measure.
var (
	chartInk    = color.RGBA{0x22, 0x22, 0x22, 0xff}
	chartGrid   = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	chartCases  = color.RGBA{0x1f, 0x5f, 0xa8, 0xff}
	chartAnswer = color.RGBA{0xd9, 0x6c, 0x06, 0xff}
)

// ChartLabels are the words on the chart.
type ChartLabels struct {
	Title  string
	Cases  string // legend of the first bar
	Answer string // legend of the second bar
	Hours  string // unit after the answer time ("h")
}

// drawChart draws dg's chart (PNG) with the words of lang. It is the one
// call of the chart drawing: switching renderers changes this body only.
func (d *Digester) drawChart(dg citybot.Digest, lang string) ([]byte, error) {
	t := d.texts[lang]
	return renderChart(dg.Figures, func(tp string) string { return d.TopicName(lang, tp) }, ChartLabels{
		Title:  fill(t.ChartCaption, "week", string(dg.Week)),
		Cases:  t.ChartReports,
		Answer: t.ChartAnswer,
		Hours:  "h",
	})
}

// renderChart draws a bar chart of cases received and median time to a
// first answer per topic (the busiest maxChartTopics topics), as PNG. It
// uses the standard library's image packages and a built-in bitmap font.
func renderChart(f citybot.DigestFigures, topicName func(string) string, l ChartLabels) ([]byte, error) {
	const (
		width    = 900
		rowH     = 44
		top      = 70
		labelW   = 230
		valueW   = 70
		barMaxW  = width - labelW - valueW - 30
		barH     = 15
		maxItems = 10
	)
	topics := f.ByTopic[:min(len(f.ByTopic), maxItems)]
	height := top + rowH*max(len(topics), 1) + 20
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	face := basicfont.Face7x13
	text := func(x, y int, c color.Color, s string) {
		d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
		d.DrawString(asciiFold(s))
	}
	fillRect := func(x0, y0, x1, y1 int, c color.Color) {
		draw.Draw(img, image.Rect(x0, y0, x1, y1), image.NewUniform(c), image.Point{}, draw.Src)
	}
	text(20, 24, chartInk, l.Title)
	fillRect(20, 36, 32, 48, chartCases)
	text(38, 46, chartInk, l.Cases)
	lx := 38 + 7*len(asciiFold(l.Cases)) + 30
	fillRect(lx, 36, lx+12, 48, chartAnswer)
	text(lx+18, 46, chartInk, l.Answer)

	maxCases, maxAns := 1, time.Hour
	for _, t := range topics {
		maxCases = max(maxCases, t.Received)
		maxAns = max(maxAns, t.FirstAnswer.Median)
	}
	for i, t := range topics {
		y := top + i*rowH
		fillRect(labelW-5, y, labelW-4, y+rowH-6, chartGrid)
		name := topicName(t.Topic)
		if len(name) > 30 {
			name = name[:29] + "."
		}
		text(10, y+barH+4, chartInk, name)
		w := barMaxW * t.Received / maxCases
		fillRect(labelW, y, labelW+max(w, 1), y+barH, chartCases)
		text(labelW+w+6, y+barH-3, chartInk, fmt.Sprint(t.Received))
		if t.FirstAnswer.Count > 0 {
			aw := int(float64(barMaxW) * float64(t.FirstAnswer.Median) / float64(maxAns))
			fillRect(labelW, y+barH+3, labelW+max(aw, 1), y+2*barH+3, chartAnswer)
			text(labelW+aw+6, y+2*barH, chartInk, fmt.Sprintf("%.1f %s", t.FirstAnswer.Median.Hours(), l.Hours))
		}
	}
	if len(topics) == 0 {
		text(labelW, top+20, chartInk, "-")
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("responder: chart: %w", err)
	}
	return buf.Bytes(), nil
}

// asciiFold turns accented letters into plain ones for the bitmap font,
// which has ASCII only.
func asciiFold(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a", "ä", "a", "î", "i", "ï", "i",
		"ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "ç", "c", "É", "E", "È", "E", "À", "A", "Ç", "C", "œ", "oe",
		"’", "'", "—", "-", "–", "-", "·", ".", "«", "\"", "»", "\"", "“", "\"", "”", "\"", "…", "...")
	s = r.Replace(s)
	return strings.Map(func(c rune) rune {
		if c < 32 || c > 126 {
			return '?'
		}
		return c
	}, s)
}
