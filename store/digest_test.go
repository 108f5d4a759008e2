package store

import (
	"context"
	"testing"
	"time"

	"citybot"
)

func TestDigestPlacesNeedTwoCasesAndNoNumbers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		now := time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)
		db := te.openTest(t, func() time.Time { return now })
		ctx := context.Background()
		for i, place := range []string{"12 rue des Lilas", "rue des Lilas", "8 impasse du Secret", "Main Street"} {
			in := report(msg("chat", "m"+string(rune('a'+i)), string(rune('a'+i)), "pothole"), "roads", citybot.UrgencyNormal)
			in.Classification.Places = []citybot.Place{{Name: place, Kind: "street"}}
			if i == 3 {
				in.Classification.Topic.Label = "corruption"
			}
			if _, err := db.Ingest(ctx, in, nil); err != nil {
				t.Fatal(err)
			}
		}
		f, err := db.DigestFigures(ctx, now.Add(-24*time.Hour), now.Add(24*time.Hour), []string{"corruption"})
		if err != nil {
			t.Fatal(err)
		}
		if len(f.ByPlace) != 1 || f.ByPlace[0] != (citybot.FacetCount{Value: "rue des Lilas", Count: 2}) {
			t.Fatalf("by place %+v", f.ByPlace)
		}
		for in, want := range map[string]string{"12 rue des Lilas": "rue des Lilas", "221B Baker Street": "Baker Street", "8a, rue X": "rue X", "12": "", "3 bis": "", " Place  du Marché ": "Place du Marché"} {
			if got := citybot.PublicPlace(in); got != want {
				t.Errorf("PublicPlace(%q) = %q, want %q", in, got, want)
			}
		}
	})
}
