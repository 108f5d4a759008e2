package accountability_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
	"citybot/store"
)

// BenchmarkSurgeSweep: one surge check (the last hour and the same hour
// of the past 8 weeks, counted per topic and place) on a real SQLite file
// of 100,000 cases (one every 2 minutes over 139 days), beside the
// store's intake of one message in the same file, as a ratio:
//
//	go test ./accountability -run '^$' -bench BenchmarkSurgeSweep -count 3
func BenchmarkSurgeSweep(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2025, 3, 15, 10, 30, 0, 0, time.UTC) // within the synthetic data's span
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Synthesize(ctx, store.SynthOptions{Cases: 100_000, Messages: 200_000}); err != nil {
		b.Fatal(err)
	}
	p, err := citybot.NewPolicy(citybot.PolicyConfig{City: "Bench", Languages: []string{"en", "fr"}, DefaultLanguage: "en",
		Location: time.UTC, Topics: []string{"roads", "other"}, MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000}})
	if err != nil {
		b.Fatal(err)
	}
	s, err := accountability.NewSurger(accountability.SurgeOptions{Store: db, Policy: p, Now: func() time.Time { return now },
		Alerts: accountability.AlertOptions{Chats: []accountability.AlertChat{{Platform: citybot.Telegram, Chat: "-1"}}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sweep", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Sweep(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ingest", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			in := citybot.Intake{Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("b", i)),
				ChatKind: citybot.ChatPrivate, ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint("b", i))}, Text: "pothole"},
				Classification: &citybot.Classification{Topic: citybot.Scored{Label: "roads", Confidence: 0.8}, Urgency: citybot.UrgencyNormal, Language: "en"},
				Mode:           citybot.CaseJoinOrOpen, Window: time.Minute}
			if _, err := db.Ingest(ctx, in, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
