package grouping_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"citybot"
	"citybot/grouping"
	"citybot/responder"
)

// BenchmarkPipeline measures what grouping adds to the wired intake path
// at 100,000 open cases: the responder's whole pipeline for one report
// (classification, grouping's look-up and decision, the intake
// transaction with its acknowledgement) on the benchmark's file, without
// grouping and with it. Each iteration runs one report through each
// pipeline, alternately first, so that the load of a shared machine
// weighs on both alike; it reports the wall and CPU time of each
// (off-, on-ns/op, off-, on-cpu-ns/op) and what grouping adds
// (added-ns/op, added-cpu-ns/op):
//
//	go test ./grouping -run '^$' -bench Pipeline -benchtime 1000x -count 3
//
// The reports come from new citizens at the busiest street of the file;
// the store dates what they add ten days back, out of grouping's window,
// so that every run compares with the same cases (those a report joins
// gain followers, as in a surge).
func BenchmarkPipeline(b *testing.B) {
	db := benchStore(b)
	cl, opts := testCity(b)
	g, err := grouping.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	policy, err := citybot.NewPolicy(citybot.PolicyConfig{City: "Bench", Languages: []string{"en", "fr"}, DefaultLanguage: "en",
		Location: time.UTC, Topics: []string{"roads", "water_sanitation", "corruption", "other"}, SensitiveTopics: []string{"corruption"},
		EmergencyNumber: "112", MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000}})
	if err != nil {
		b.Fatal(err)
	}
	pipeline := func(on bool) *responder.Responder {
		o := responder.Options{Store: db, Classifier: cl, Policy: policy, Now: func() time.Time { return benchNow },
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		if on {
			o.Grouping, o.GroupingSource = g, db
		}
		r, err := responder.New(o)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	off, on := pipeline(false), pipeline(true)
	texts := []string{
		"There is a big pothole on Main Street near number 12, my tyre burst",
		"Water leaking from a pipe on Main Street since this morning",
		"Something strange on Main Street since this morning",
	}
	run := time.Now().UnixNano() // ids unique across runs on a kept file
	ctx := context.Background()
	var wall, cpu [2]time.Duration
	i := 0
	handle := func(k int, r *responder.Responder) {
		who := fmt.Sprintf("pipe-%d-%d-%d", k, run, i)
		m := citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(who), ChatKind: citybot.ChatPrivate,
			ID: "1", Sender: citybot.Sender{ID: citybot.UserID(who)}, Text: texts[i%len(texts)], SentAt: benchNow}
		c0, t0 := cpuTime(b), time.Now()
		if err := r.HandleMessage(ctx, m); err != nil {
			b.Fatal(err)
		}
		wall[k] += time.Since(t0)
		cpu[k] += cpuTime(b) - c0
	}
	for b.Loop() {
		i++
		if i%2 == 0 {
			handle(0, off)
			handle(1, on)
		} else {
			handle(1, on)
			handle(0, off)
		}
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(wall[0]), "off-ns/op")
	b.ReportMetric(per(wall[1]), "on-ns/op")
	b.ReportMetric(per(wall[1]-wall[0]), "added-ns/op")
	b.ReportMetric(per(cpu[0]), "off-cpu-ns/op")
	b.ReportMetric(per(cpu[1]), "on-cpu-ns/op")
	b.ReportMetric(per(cpu[1]-cpu[0]), "added-cpu-ns/op")
}
