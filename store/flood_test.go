package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"
)

// One citizen flooding text gets their excess stored cut (and a text
// they repeat stored in full once), while another citizen writing at the
// same time keeps every byte; a citizen flooding commands gets at most
// three answers waiting, and another citizen's answers still queue.
func TestFloodingCitizenIsCutAlone(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, now := consoleDB(t, te)
		seq := 0
		say := func(user, text string) citybot.IntakeResult {
			t.Helper()
			seq++
			res, err := db.Ingest(ctx, citybot.Intake{
				Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID("chat-" + user), ChatKind: citybot.ChatPrivate,
					ID: citybot.PlatformMessageID(fmt.Sprint(seq)), Sender: citybot.Sender{ID: citybot.UserID(user)}, Text: text},
				Mode: citybot.CaseJoinOrOpen, Window: time.Hour,
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			*now = now.Add(100 * time.Millisecond)
			return res
		}
		stored := func(id citybot.MessageID) (int, bool) {
			var n int
			var cut bool
			if err := db.r.QueryRowContext(ctx, `SELECT octet_length(text), text_truncated FROM messages WHERE id = ?`, int64(id)).Scan(&n, &cut); err != nil {
				t.Fatal(err)
			}
			return n, cut
		}
		big := func(i int) string { return fmt.Sprintf("%d ", i) + strings.Repeat("water cut on Elm Street ", 700) } // ~16 kB
		var floodIDs []citybot.MessageID
		for i := range 10 {
			floodIDs = append(floodIDs, say("flooder", big(i)).Message)
			if i%4 == 0 { // three messages: within the budget
				r := say("neighbour", big(100+i))
				if n, cut := stored(r.Message); cut || n < 16000 {
					t.Errorf("the neighbour's message %d was cut to %d bytes", i, n)
				}
			}
		}
		full, cutN, bytes := 0, 0, 0
		for _, id := range floodIDs {
			n, cut := stored(id)
			bytes += n
			if cut {
				cutN++
				if n > floodKeep {
					t.Errorf("a cut message keeps %d bytes", n)
				}
			} else {
				full++
			}
		}
		t.Logf("flood of 10 messages of %d bytes in 1 s: %d stored whole, %d cut; %d bytes stored in all", len(big(0)), full, cutN, bytes)
		if full == 0 || cutN == 0 || full*16000 > floodBytes+16000 {
			t.Errorf("flood: %d stored in full, %d cut; want the first ~64 kB in full and the rest cut", full, cutN)
		}
		// A minute later the budget is back.
		*now = now.Add(2 * time.Minute)
		if n, cut := stored(say("flooder", big(50)).Message); cut || n < 16000 {
			t.Errorf("after the window, the citizen's text is still cut (%d bytes)", n)
		}
		// The same text again at once is stored cut.
		if _, cut := stored(say("flooder", big(50)).Message); !cut {
			t.Error("a repeated text was stored in full twice")
		}

		// Commands: at most maxPendingReplies answers wait in one chat.
		reply := func(user string, i int) int {
			n, err := db.Enqueue(ctx, citybot.OutboxItem{Kind: citybot.OutboxReply, Out: citybot.Outgoing{
				Key: fmt.Sprintf("in:%s:%d", user, i), Platform: citybot.Telegram, Chat: citybot.ChatID("chat-" + user),
				ChatKind: citybot.ChatPrivate, Text: fmt.Sprintf("answer %d", i)}})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		queued := 0
		for i := range 20 {
			queued += reply("flooder", i)
		}
		if queued != maxPendingReplies {
			t.Errorf("%d answers queued for one chat's 20 commands, want %d", queued, maxPendingReplies)
		}
		if reply("neighbour", 1) != 1 {
			t.Error("another citizen's answer was not queued")
		}
	})
}
