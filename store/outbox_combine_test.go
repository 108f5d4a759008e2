package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"citybot"
)

// groupReport stores a report by user in group chat and queues its
// acknowledgement as the responder does there (a group acknowledgement
// replying to the citizen's message).
func groupReport(t *testing.T, db *DB, chat, id, user string, u citybot.Urgency, sensitive bool) citybot.IntakeResult {
	t.Helper()
	m := msg(chat, id, user, "report "+id)
	m.ChatKind = citybot.ChatGroup
	in := report(m, "roads", u)
	in.Sensitive = sensitive
	res, err := db.Ingest(context.Background(), in, func(res citybot.IntakeResult) ([]citybot.OutboxItem, error) {
		return []citybot.OutboxItem{{
			Out: citybot.Outgoing{Key: fmt.Sprintf("in:%d:ack", res.Message), Platform: m.Platform, Chat: m.Chat,
				ChatKind: citybot.ChatGroup, ReplyTo: m.ID, Text: "ack " + string(res.Case.Ref)},
			Kind: citybot.OutboxAck, Case: res.Case.ID,
		}}, nil
	})
	if err != nil || !res.NewCase {
		t.Fatalf("ingest %s: %+v, %v", id, res, err)
	}
	return res
}

// composeAll names every candidate, one line each, and records what it
// was given.
type composeAll struct {
	head   citybot.AckCandidate
	others []citybot.AckCandidate
}

func (c *composeAll) compose(head citybot.AckCandidate, others []citybot.AckCandidate) ([]citybot.OutboxID, string, []citybot.Mention) {
	c.head, c.others = head, others
	var b strings.Builder
	b.WriteString("Thank you all.\n")
	var ids []citybot.OutboxID
	var ms []citybot.Mention
	for _, a := range append([]citybot.AckCandidate{head}, others...) {
		b.WriteString("• ")
		start := b.Len()
		b.WriteString(string(a.Ref))
		ms = append(ms, citybot.Mention{User: a.User, Start: start, End: b.Len()})
		b.WriteString("\n")
		if a.Item.ID != head.Item.ID {
			ids = append(ids, a.Item.ID)
		}
	}
	return ids, b.String(), ms
}

// TestCombineAcks: the head acknowledgement of a group carries the others
// waiting there (critical first; never a sensitive case's, another
// chat's, another kind's or a row tried before); the carried rows wait in
// sending, are not left for a restart to resolve on their own, and are
// settled with the head: sent (their cases acknowledged), and the user ids
// it named forgotten.
func TestCombineAcks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		r1 := groupReport(t, db, "-100", "1", "u1", citybot.UrgencyNormal, false)
		r2 := groupReport(t, db, "-100", "2", "u2", citybot.UrgencyNormal, false)
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: "notice", Platform: citybot.Telegram, Chat: "-100",
			ChatKind: citybot.ChatGroup, Text: "a notice"}, Kind: citybot.OutboxNotice}); err != nil {
			t.Fatal(err)
		}
		r3 := groupReport(t, db, "-100", "3", "u3", citybot.UrgencyCritical, false)
		r4 := groupReport(t, db, "-100", "4", "u4", citybot.UrgencyNormal, true) // sensitive: keeps its own words
		other := groupReport(t, db, "-200", "5", "u5", citybot.UrgencyNormal, false)

		head, err := db.OutboxItem(ctx, "in:"+fmt.Sprint(r1.Message)+":ack")
		if err != nil {
			t.Fatal(err)
		}
		var c composeAll
		ok, err := db.CombineAcks(ctx, head.ID, c.compose)
		if err != nil || !ok {
			t.Fatalf("CombineAcks = %v, %v", ok, err)
		}
		if c.head.User != "u1" || c.head.Ref != r1.Case.Ref || c.head.Item.ID != head.ID || c.head.Detected != "en" {
			t.Errorf("head candidate = %+v", c.head)
		}
		var refs []citybot.CaseRef
		for _, o := range c.others {
			refs = append(refs, o.Ref)
		}
		if want := []citybot.CaseRef{r3.Case.Ref, r2.Case.Ref}; !slices.Equal(refs, want) {
			t.Errorf("others = %v, want %v (critical first; no sensitive case, no other chat)", refs, want)
		}
		if !c.others[0].Critical || c.others[1].Critical {
			t.Errorf("critical flags = %v %v", c.others[0].Critical, c.others[1].Critical)
		}

		carrier, err := db.OutboxItem(ctx, head.Out.Key)
		if err != nil {
			t.Fatal(err)
		}
		if carrier.Combined != 3 || carrier.Out.ReplyTo != "" || !strings.HasPrefix(carrier.Out.Text, "Thank you all.") ||
			len(carrier.Out.Mentions) != 3 || carrier.Out.Mentions[1].User != "u3" || carrier.State != citybot.OutboxPending {
			t.Errorf("carrier = %+v", carrier)
		}
		refOf := map[citybot.UserID]citybot.CaseRef{"u1": r1.Case.Ref, "u2": r2.Case.Ref, "u3": r3.Case.Ref}
		for _, m := range carrier.Out.Mentions {
			if got := carrier.Out.Text[m.Start:m.End]; got != string(refOf[m.User]) {
				t.Errorf("mention of %s spans %q, want %q", m.User, got, refOf[m.User])
			}
		}
		// Carried rows wait in sending and are not resolved on their own at a
		// restart; the carrier is the chat's head, and the notice waits
		// behind it.
		for _, r := range []citybot.IntakeResult{r2, r3} {
			it, _ := db.OutboxItem(ctx, fmt.Sprintf("in:%d:ack", r.Message))
			if it.State != citybot.OutboxSending {
				t.Errorf("carried row %s is %s", r.Case.Ref, it.State)
			}
		}
		if got, _ := db.SendingOutbox(ctx, []citybot.Platform{citybot.Telegram}); len(got) != 0 {
			t.Errorf("SendingOutbox before the claim = %d rows, want 0 (carried rows settle with their carrier)", len(got))
		}
		claimed, err := claimOutbox(ctx, db, []citybot.Platform{citybot.Telegram}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, it := range claimed {
			keys = append(keys, it.Out.Key)
		}
		if want := []string{head.Out.Key, fmt.Sprintf("in:%d:ack", other.Message)}; !slices.Equal(keys, want) {
			t.Errorf("claimed %v, want %v", keys, want)
		}
		if got, _ := db.SendingOutbox(ctx, []citybot.Platform{citybot.Telegram}); len(got) != 2 {
			t.Errorf("SendingOutbox after the claim = %d rows, want the 2 claimed", len(got))
		}
		// A claimed row, or one already carried, carries nothing more.
		if ok, err := db.CombineAcks(ctx, head.ID, c.compose); ok || err != nil {
			t.Errorf("CombineAcks on a claimed carrier = %v, %v", ok, err)
		}

		if err := db.MarkSent(ctx, head.ID, citybot.Sent{ID: "77"}); err != nil {
			t.Fatal(err)
		}
		for _, r := range []citybot.IntakeResult{r1, r2, r3} {
			it, _ := db.OutboxItem(ctx, fmt.Sprintf("in:%d:ack", r.Message))
			cs, err := db.Case(ctx, r.Case.ID)
			if it.State != citybot.OutboxSent || it.SentID != "77" || err != nil || cs.Status != citybot.StatusAcknowledged {
				t.Errorf("%s after the combined send: row %s id %q, case %s %v", r.Case.Ref, it.State, it.SentID, cs.Status, err)
			}
		}
		// Officers read, on each case, the message the group read.
		for _, r := range []citybot.IntakeResult{r1, r3} {
			conv, err := db.Conversation(ctx, r.Case.ID)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range conv {
				if e.Direction == "out" {
					out = append(out, e.Text)
				}
			}
			if len(out) != 1 || out[0] != carrier.Out.Text {
				t.Errorf("%s's conversation shows %q, want the combined message", r.Case.Ref, out)
			}
		}
		if cs, _ := db.Case(ctx, r4.Case.ID); cs.Status != citybot.StatusNew {
			t.Errorf("sensitive case %s, want still new", cs.Status)
		}
		var raw string
		if err := db.r.QueryRowContext(ctx, `SELECT mentions FROM outbox WHERE id = ?`, int64(head.ID)).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, "u1") || strings.Contains(raw, "u2") || strings.Contains(raw, "u3") {
			t.Errorf("a sent carrier keeps who it named: %s", raw)
		}
		// The notice is now the chat's head.
		if got, _ := claimOutbox(ctx, db, []citybot.Platform{citybot.Telegram}, 10); len(got) != 1 || got[0].Out.Key != "notice" {
			t.Errorf("after the carrier, claimed %+v", got)
		}
		// Retention empties a combined text as it does any sent text.
		clk.Add(31 * 24 * time.Hour)
		if _, err := db.ApplyRetention(ctx, citybot.RetentionPolicy{OutboxDays: 30}); err != nil {
			t.Fatal(err)
		}
		var batchText string
		if err := db.r.QueryRowContext(ctx, `SELECT batch_text, mentions FROM outbox WHERE id = ?`, int64(head.ID)).Scan(&batchText, &raw); err != nil {
			t.Fatal(err)
		}
		if batchText != "" || raw != "" {
			t.Errorf("after retention: batch_text %q, mentions %q", batchText, raw)
		}
	})
}

// TestCombineAcksSettledTogether: a carrier given up (FailOutbox) or left
// unknown by a crash (MarkDeliveryUnknown) takes the rows it carries with
// it, each audited against its case, their cases still new.
func TestCombineAcksSettledTogether(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		for _, unknown := range []bool{false, true} {
			t.Run(fmt.Sprint("unknown=", unknown), func(t *testing.T) {
				clk := newClock()
				db := te.openTest(t, clk.Now)
				ctx := context.Background()
				r1 := groupReport(t, db, "-100", "1", "u1", citybot.UrgencyNormal, false)
				r2 := groupReport(t, db, "-100", "2", "u2", citybot.UrgencyNormal, false)
				head, _ := db.OutboxItem(ctx, fmt.Sprintf("in:%d:ack", r1.Message))
				var c composeAll
				if ok, err := db.CombineAcks(ctx, head.ID, c.compose); !ok || err != nil {
					t.Fatalf("CombineAcks = %v, %v", ok, err)
				}
				if got, err := claimOutbox(ctx, db, []citybot.Platform{citybot.Telegram}, 10); err != nil || len(got) != 1 {
					t.Fatalf("claim = %+v, %v", got, err)
				}
				want := citybot.OutboxFailed
				if unknown {
					want = citybot.OutboxUnknown
					sending, _ := db.SendingOutbox(ctx, []citybot.Platform{citybot.Telegram})
					if len(sending) != 1 || sending[0].ID != head.ID || sending[0].Combined != 2 {
						t.Fatalf("SendingOutbox = %+v", sending)
					}
					if _, err := db.MarkDeliveryUnknown(ctx, head.ID, "delivery unknown: test"); err != nil {
						t.Fatal(err)
					}
				} else if err := db.FailOutbox(ctx, head.ID, "refused for good"); err != nil {
					t.Fatal(err)
				}
				for _, r := range []citybot.IntakeResult{r1, r2} {
					it, _ := db.OutboxItem(ctx, fmt.Sprintf("in:%d:ack", r.Message))
					cs, _ := db.Case(ctx, r.Case.ID)
					if it.State != want || it.Attempts != 1 || cs.Status != citybot.StatusNew {
						t.Errorf("%s: row %s attempts %d, case %s", r.Case.Ref, it.State, it.Attempts, cs.Status)
					}
				}
				if unknown {
					var n int
					if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE action = 'outbox.delivery_unknown'`).Scan(&n); err != nil {
						t.Fatal(err)
					}
					if n != 2 {
						t.Errorf("%d delivery-unknown audit entries, want one per case (2)", n)
					}
				}
				st, _ := db.OutboxStats(ctx)
				if st.Pending != 0 || st.Failed != 2 {
					t.Errorf("stats = %+v", st)
				}
			})
		}
	})
}

// TestCombineAcksRefusals: nothing is combined, and nothing written, when
// the head waits alone, was tried before, or compose carries none; a
// compose that names a row not waiting in the chat is refused.
func TestCombineAcksRefusals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		r1 := groupReport(t, db, "-100", "1", "u1", citybot.UrgencyNormal, false)
		head, _ := db.OutboxItem(ctx, fmt.Sprintf("in:%d:ack", r1.Message))
		calls := 0
		count := func(h citybot.AckCandidate, o []citybot.AckCandidate) ([]citybot.OutboxID, string, []citybot.Mention) {
			calls++
			return nil, "", nil
		}
		if ok, err := db.CombineAcks(ctx, head.ID, count); ok || err != nil || calls != 0 {
			t.Errorf("alone: %v, %v, compose called %d times", ok, err, calls)
		}
		r2 := groupReport(t, db, "-100", "2", "u2", citybot.UrgencyNormal, false)
		other := groupReport(t, db, "-200", "3", "u3", citybot.UrgencyNormal, false)
		if ok, err := db.CombineAcks(ctx, head.ID, count); ok || err != nil || calls != 1 {
			t.Errorf("compose carrying none: %v, %v, calls %d", ok, err, calls)
		}
		otherRow, _ := db.OutboxItem(ctx, fmt.Sprintf("in:%d:ack", other.Message))
		stranger := func(h citybot.AckCandidate, o []citybot.AckCandidate) ([]citybot.OutboxID, string, []citybot.Mention) {
			return []citybot.OutboxID{otherRow.ID}, "x", []citybot.Mention{{User: "u3", Start: 0, End: 1}}
		}
		if _, err := db.CombineAcks(ctx, head.ID, stranger); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("carrying another chat's row: %v, want ErrInvalid", err)
		}
		badSpan := func(h citybot.AckCandidate, o []citybot.AckCandidate) ([]citybot.OutboxID, string, []citybot.Mention) {
			return []citybot.OutboxID{o[0].Item.ID}, "x", []citybot.Mention{{User: "u2", Start: 0, End: 5}}
		}
		if _, err := db.CombineAcks(ctx, head.ID, badSpan); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("a mention outside the text: %v, want ErrInvalid", err)
		}
		if it, _ := db.OutboxItem(ctx, fmt.Sprintf("in:%d:ack", r2.Message)); it.State != citybot.OutboxPending {
			t.Errorf("after refusals the second ack is %s", it.State)
		}
		// A head tried before (a refusal recorded) keeps its own words.
		if err := db.RetryOutbox(ctx, head.ID, clk.Now(), false, "throttled"); err != nil {
			t.Fatal(err)
		}
		var c composeAll
		if ok, err := db.CombineAcks(ctx, head.ID, c.compose); ok || err != nil {
			t.Errorf("a head tried before: %v, %v", ok, err)
		}
	})
}
