package store

import (
	"context"
	"slices"
	"testing"

	"citybot"
)

func TestRecentMessageTexts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, _ := consoleDB(t, te)
		consoleCase(t, db, citybot.Telegram, "a", "first message", "roads", "en", citybot.UrgencyLow)
		consoleCase(t, db, citybot.Telegram, "b", "second message", "roads", "en", citybot.UrgencyLow)
		consoleCase(t, db, citybot.Discord, "c", "third message", "roads", "en", citybot.UrgencyLow)
		for _, tc := range []struct {
			limit int
			want  []string
		}{
			{0, nil},
			{2, []string{"third message", "second message"}},
			{10, []string{"third message", "second message", "first message"}},
		} {
			got, err := db.RecentMessageTexts(ctx, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("limit %d: %q, want %q", tc.limit, got, tc.want)
			}
		}
	})
}
