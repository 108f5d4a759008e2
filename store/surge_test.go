package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
)

// TestClaimCriticalFirst: rows about a critical case are claimed before
// older rows; a chat's own order still holds; OutboxHeads reads the same
// rows ClaimOutbox would claim without claiming them, and ClaimOutboxIDs
// claims only rows still pending.
func TestClaimCriticalFirst(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		for i := range 5 {
			if _, err := db.Ingest(ctx, report(msg(fmt.Sprint("c", i), "1", fmt.Sprint("u", i), "pothole"), "roads", citybot.UrgencyNormal), ackFor); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Millisecond)
		}
		crit, err := db.Ingest(ctx, report(msg("c9", "1", "u9", "gas leak"), "safety", citybot.UrgencyCritical), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		// A second row in c0, behind its acknowledgement.
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: "c0#2", Platform: citybot.Telegram, Chat: "c0", Text: "x"}}); err != nil {
			t.Fatal(err)
		}
		heads, err := db.OutboxHeads(ctx, tgOnly, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(heads) != 3 || heads[0].Case != crit.Case.ID || heads[1].Out.Chat != "c0" || heads[2].Out.Chat != "c1" {
			t.Fatalf("heads = %+v, want the critical case's ack first, then c0, c1", heads)
		}
		if heads[0].State != citybot.OutboxPending {
			t.Errorf("OutboxHeads claimed: %s", heads[0].State)
		}
		got, err := db.ClaimOutboxIDs(ctx, testInstance, []citybot.OutboxID{heads[0].ID, heads[2].ID})
		if err != nil || len(got) != 2 || got[0].ID != heads[0].ID || got[1].State != citybot.OutboxSending {
			t.Fatalf("ClaimOutboxIDs = %+v, %v", got, err)
		}
		if again, err := db.ClaimOutboxIDs(ctx, testInstance, []citybot.OutboxID{heads[0].ID}); err != nil || len(again) != 0 {
			t.Fatalf("claiming a row in sending again = %+v, %v", again, err)
		}
		rest, err := claimOutbox(ctx, db, tgOnly, 10)
		if err != nil {
			t.Fatal(err)
		}
		var chats []string
		for _, it := range rest {
			chats = append(chats, string(it.Out.Chat))
		}
		if strings.Join(chats, ",") != "c0,c2,c3,c4" {
			t.Errorf("ClaimOutbox = %v, want the heads c0 (its first row), c2, c3, c4", chats)
		}
	})
}

// TestWALBounded: a writer committing without pause while readers keep a
// snapshot open most of the time (as the dispatcher and health checks
// do) must not grow the WAL past the limit by more than what one
// checkpoint interval writes; without the truncating checkpoint the WAL
// only ever grows.
func TestWALBounded(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wal.db")
	const limit = 2 << 20
	db, err := Open(ctx, path, Options{CheckpointInterval: 20 * time.Millisecond, WALLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 { // readers
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.OutboxStats(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var peak int64
	text := strings.Repeat("a long reply to a citizen ", 100)
	for i := range 3000 {
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: fmt.Sprint("k", i), Platform: citybot.Telegram,
			Chat: citybot.ChatID(fmt.Sprint("c", i%50)), Text: text}}); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(path + "-wal"); err == nil {
			peak = max(peak, st.Size())
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("WAL peak %d bytes (limit %d), %d truncations, %d busy", peak, limit, db.WALTruncations(), db.walBusy.Load())
	if db.WALTruncations() == 0 {
		t.Error("the WAL was never truncated")
	}
	// Unbounded, this WAL reaches about 95 MB; bounded it stays near
	// the limit plus what is written while a checkpoint waits its turn
	// on a busy machine (about 12 MB seen on two shared cores).
	if peak > 16*limit {
		t.Errorf("WAL peaked at %d bytes, limit %d", peak, limit)
	}
	var sizeLimit int64
	if err := db.w.QueryRowContext(ctx, `PRAGMA journal_size_limit`).Scan(&sizeLimit); err != nil || sizeLimit != limit {
		t.Errorf("writer journal_size_limit = %d, %v", sizeLimit, err)
	}
}

// TestRepeatedRepliesCoalesce: a citizen repeating a command in their
// private chat gets its answer once: an answer the same as one still
// waiting is not queued again; a reply being sent, a different answer,
// and replies in a group (to different people) are.
func TestRepeatedRepliesCoalesce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		reply := func(key, chat string, kind citybot.ChatKind, text string) citybot.OutboxItem {
			return citybot.OutboxItem{Kind: citybot.OutboxReply,
				Out: citybot.Outgoing{Key: key, Platform: citybot.Telegram, Chat: citybot.ChatID(chat), ChatKind: kind, Text: text}}
		}
		if _, err := db.Enqueue(ctx, reply("r0", "7", citybot.ChatPrivate, "Case A: received.")); err != nil {
			t.Fatal(err)
		}
		sending, err := claimOutbox(ctx, db, tgOnly, 10)
		if err != nil || len(sending) != 1 {
			t.Fatalf("claim = %+v, %v", sending, err)
		}
		for i := 1; i <= 50; i++ {
			if _, err := db.Enqueue(ctx, reply(fmt.Sprint("r", i), "7", citybot.ChatPrivate, "Case A: received.")); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Enqueue(ctx, reply(fmt.Sprint("g", i), "-5", citybot.ChatGroup, "Case A: received.")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Enqueue(ctx, reply("help", "7", citybot.ChatPrivate, "Send /status.")); err != nil {
			t.Fatal(err)
		}
		var keys []string
		items, err := db.OutboxItems(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		groups := 0
		for _, it := range items {
			if it.Out.Chat == "7" {
				keys = append(keys, it.Out.Key)
			} else {
				groups++
			}
		}
		if strings.Join(keys, ",") != "r0,r1,help" {
			t.Errorf("private chat rows %v, want r0 (being sent), r1 (waiting: the repeats r2… not queued), help", keys)
		}
		if groups != 50 {
			t.Errorf("%d group replies kept, want all 50", groups)
		}
	})
}
