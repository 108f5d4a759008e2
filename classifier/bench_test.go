package classifier

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jdkato/prose/v2"
)

// benchTexts returns real messages from the shared data, or the golden
// set when the data is absent.
func benchTexts(b *testing.B) []string {
	b.Helper()
	if dir, err := FindSharedData("."); err == nil {
		var out []string
		for _, name := range []string{"disaster_en.csv", "newport_en.csv"} {
			tab, err := ReadTableFile(dir + "/" + name)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, tab.Column("text")...)
		}
		return out
	}
	var out []string
	b.Log("shared data not found: benchmarking on the golden set")
	for _, g := range loadGoldenB(b) {
		out = append(out, g.Text)
	}
	return out
}

func loadGoldenB(b *testing.B) []goldenCase {
	b.Helper()
	data, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		b.Fatal(err)
	}
	var cases []goldenCase
	if err := json.Unmarshal(data, &cases); err != nil {
		b.Fatal(err)
	}
	return cases
}

// cpuTime returns the CPU time this process has used (user + system, all
// threads). Throughput per CPU second is robust to other processes
// competing for the machine's cores, unlike wall-clock time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports messages per wall-clock second and per CPU second
// since cpu0.
func reportRate(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if d := cpuTime() - cpu0; d > 0 {
		b.ReportMetric(float64(b.N)/d.Seconds(), "msgs/cpu-s")
	}
}

// BenchmarkClassify measures full tagging (topic, urgency, language,
// places, personal data, prose NER when cued) on real messages, one core.
func BenchmarkClassify(b *testing.B) {
	c, err := New(DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	texts := benchTexts(b)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		c.Classify(texts[i%len(texts)], "")
	}
	reportRate(b, cpu0)
}

// BenchmarkClassifyNoNER is BenchmarkClassify with prose's NER off.
func BenchmarkClassifyNoNER(b *testing.B) {
	o := DefaultOptions()
	o.DisableNER = true
	c, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	texts := benchTexts(b)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		c.Classify(texts[i%len(texts)], "")
	}
	reportRate(b, cpu0)
}

// BenchmarkProseNaive is the naive baseline: prose.NewDocument with its
// defaults for every message (it reloads its model on each call).
func BenchmarkProseNaive(b *testing.B) {
	texts := benchTexts(b)
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		if _, err := prose.NewDocument(texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, cpu0)
}

// BenchmarkProseSharedModel runs prose's full pipeline but with its model
// loaded once and without sentence segmentation, on every message.
func BenchmarkProseSharedModel(b *testing.B) {
	texts := benchTexts(b)
	doc, err := prose.NewDocument("x", prose.WithSegmentation(false))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; b.Loop(); i++ {
		if _, err := prose.NewDocument(texts[i%len(texts)], prose.UsingModel(doc.Model), prose.WithSegmentation(false)); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, cpu0)
}

// BenchmarkLoad measures New with the shipped model (model decode and
// prose's model load), and reports the resident memory of a process
// holding the classifier.
func BenchmarkLoad(b *testing.B) {
	var c *Classifier
	cpu0 := cpuTime()
	for b.Loop() {
		var err error
		c, err = New(DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	c.Classify("warm up: pothole on Main Street, call Mr Smith", "")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MB-heap")
	if rss := vmRSS(); rss > 0 {
		b.ReportMetric(rss, "MB-rss")
	}
	runtime.KeepAlive(c)
}

// vmRSS returns the process's resident set in MB from /proc, or 0.
func vmRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkTrain40k trains a topic model on 40,000 messages made by
// repeating and perturbing the shared data. Run with -benchtime=1x.
func BenchmarkTrain40k(b *testing.B) {
	texts := benchTexts(b)
	labels := DefaultTopicNames()
	exs := make([]Example, 0, 40000)
	for i := 0; len(exs) < 40000; i++ {
		t := texts[i%len(texts)]
		// perturb: a number and a word swap, so repeats are not identical
		words := strings.Fields(t)
		if len(words) > 2 {
			j := i % (len(words) - 1)
			words[j], words[j+1] = words[j+1], words[j]
		}
		exs = append(exs, Example{Text: strings.Join(words, " ") + fmt.Sprintf(" %d", i%97), Label: labels[i%len(labels)]})
	}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Train(ctx, KindTopic, exs, TrainOptions{Topics: DefaultOptions().Topics}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(exs)), "examples")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkClassifyHostile classifies inputs built to hit worst cases of
// each scanner (16 KiB each, the default read limit), to show the cost per
// message stays bounded.
func BenchmarkClassifyHostile(b *testing.B) {
	c, err := New(DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	n := DefaultMaxBytes
	inputs := map[string]string{
		"emails":      strings.Repeat("aaaa.bbbb@cccc", n/14),
		"at signs":    strings.Repeat("@", n),
		"digits":      strings.Repeat("1 2-3.(4) ", n/10),
		"script tags": strings.Repeat("<script>", n/8),
		"tags":        strings.Repeat("<a href=x>", n/10),
		"names":       strings.Repeat("Zorblax Quuxton Mr Smith rue de la Paix AB-123-CD ", n/50),
		"capitals":    strings.Repeat("ABC DEF 123 ", n/12),
		"one word":    strings.Repeat("x", 10<<20),
		"invalid":     strings.Repeat("\xff\xc3", n/2),
		"cues":        strings.Repeat("gas leak fire no water merci ", n/29),
	}
	names := make([]string, 0, len(inputs))
	for k := range inputs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			text := inputs[name]
			for b.Loop() {
				c.Classify(text, "")
			}
		})
	}
}
