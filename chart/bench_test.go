package chart

import "testing"

// BenchmarkRender draws the chart in English and in Arabic side by side:
// the ratio is the cost of shaping Arabic.
func BenchmarkRender(b *testing.B) {
	for _, lang := range []string{"en", "ar"} {
		b.Run(lang, func(b *testing.B) {
			l, topic := labelsOf(b, lang)
			f := figures()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(f, topic, l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkShape shapes an Arabic topic name.
func BenchmarkShape(b *testing.B) {
	for b.Loop() {
		Shape("الماء والصرف الصحي (12)")
	}
}
