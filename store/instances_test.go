package store

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"citybot"
)

// TestTwoInstancesClaimEachRowOnce: two DBs on one database (two citybot
// processes) claim the outbox at once, as their dispatchers do (read the
// heads, claim them by id, mark them sent): every row is claimed by
// exactly one of them, and all are sent.
func TestTwoInstancesClaimEachRowOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		src := te.newSource(t)
		var dbs []*DB
		for range 2 {
			db, err := te.open(ctx, src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs = append(dbs, db)
		}
		const rows = 300
		var items []citybot.OutboxItem
		for i := range rows {
			// 100 chats of three rows each: claims also keep each chat's order.
			items = append(items, citybot.OutboxItem{Kind: citybot.OutboxNotice,
				Out: citybot.Outgoing{Key: fmt.Sprint("n", i), Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("chat-", i%100)), Text: "notice"}})
		}
		if _, err := dbs[0].Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		claims := map[citybot.OutboxID]int{}
		var wg sync.WaitGroup
		for w, db := range dbs {
			for range 2 { // two dispatch loops per instance
				wg.Go(func() {
					for idle := 0; idle < 3; {
						got, err := claimOutbox(ctx, db, tgOnly, 16)
						if err != nil {
							t.Errorf("instance %d: claim: %v", w, err)
							return
						}
						if len(got) == 0 {
							idle++
							continue
						}
						idle = 0
						mu.Lock()
						for _, it := range got {
							claims[it.ID]++
						}
						mu.Unlock()
						for _, it := range got {
							if err := db.MarkSent(ctx, it.ID, citybot.Sent{ID: citybot.PlatformMessageID(fmt.Sprint("s", it.ID))}); err != nil {
								t.Errorf("instance %d: MarkSent: %v", w, err)
								return
							}
						}
					}
				})
			}
		}
		wg.Wait()
		twice := 0
		for _, n := range claims {
			if n > 1 {
				twice++
			}
		}
		var sent int
		if err := dbs[0].r.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE state = 'sent'`).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		if len(claims) != rows || twice != 0 || sent != rows {
			t.Errorf("%d rows claimed (%d of them twice), %d sent; want each of %d claimed once and sent", len(claims), twice, sent, rows)
		}
	})
}
