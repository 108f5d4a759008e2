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

// countRows counts outbox rows whose key starts with prefix.
func countRows(t *testing.T, db *DB, prefix string) int {
	t.Helper()
	var n int
	if err := db.r.QueryRow(`SELECT COUNT(*) FROM outbox WHERE key LIKE ? || '%'`, prefix).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSurgeRecordedOnce: the reports of a window come with the case
// their citizen follows; a surge is recorded with its alert's rows once,
// even by a second run or after a restart within its quiet time; the
// banner lists it until the quiet time ends; then the same places may
// alert again.
func TestSurgeRecordedOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		path := te.newSource(t)
		db, err := te.open(ctx, path, Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { db.Close() }()
		start := clk.Now()
		var ids []citybot.CaseID
		for i := range 4 {
			res, err := db.Ingest(ctx, report(msg(fmt.Sprint("s", i), "1", fmt.Sprint("u", i), "burst main"), "water", citybot.UrgencyNormal), ackFor)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Case.ID)
			clk.Add(time.Minute)
		}
		if err := db.MergeCases(ctx, ids[1], ids[0], "olivia", nil); err != nil {
			t.Fatal(err)
		}
		reps, err := db.SurgeReports(ctx, start.Add(time.Second), clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(reps) != 3 || reps[0].Case != ids[1] || reps[0].Root != ids[0] || reps[1].Root != ids[2] || reps[0].Topic != "water" ||
			len(reps[0].Places) != 1 || reps[0].Places[0] != "Main Street" {
			t.Fatalf("reports of the window = %+v; want cases 2-4, case 2 following case 1, at Main Street", reps)
		}
		first, ok, err := db.FirstCaseAt(ctx)
		if err != nil || !ok || !first.Equal(start) {
			t.Errorf("FirstCaseAt = %v %v %v, want %v", first, ok, err, start)
		}
		fc, err := db.FollowerCounts(ctx, []citybot.CaseID{ids[0], ids[2]})
		if err != nil || fc[ids[0]] != 2 || fc[ids[2]] != 1 {
			t.Errorf("FollowerCounts = %v, %v; want 2 and 1", fc, err)
		}

		now := clk.Now()
		sg := citybot.Surge{Topic: "water", Places: []string{"Main Street"}, Keys: []string{"main street", ""}, Count: 4, Usual: 1,
			Case: ids[0], At: now, QuietUntil: now.Add(3 * time.Hour)}
		build := func(id int64) []citybot.OutboxItem {
			return []citybot.OutboxItem{{Kind: citybot.OutboxAlert, Out: citybot.Outgoing{Key: fmt.Sprintf("surge:%d:telegram:-100", id),
				Platform: citybot.Telegram, Chat: "-100", ChatKind: citybot.ChatGroup, Text: "surge"}}}
		}
		if ok, err := db.RecordSurge(ctx, sg, build); err != nil || !ok {
			t.Fatalf("RecordSurge = %v, %v", ok, err)
		}
		// Another run, with only one of the keys: quiet.
		again := sg
		again.Keys = []string{""}
		if ok, err := db.RecordSurge(ctx, again, build); err != nil || ok {
			t.Fatalf("a second RecordSurge in the quiet time = %v, %v; want false", ok, err)
		}
		// A restart changes nothing.
		db.Close()
		if db, err = te.open(ctx, path, Options{Now: clk.Now}); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour)
		sg.At = clk.Now()
		if ok, err := db.RecordSurge(ctx, sg, build); err != nil || ok {
			t.Fatalf("RecordSurge after a restart, in the quiet time = %v, %v; want false", ok, err)
		}
		if n := countRows(t, db, "surge:"); n != 1 {
			t.Errorf("%d alert rows, want 1", n)
		}
		active, err := db.ActiveSurges(ctx, clk.Now())
		if err != nil || len(active) != 1 || active[0].Ref == "" || active[0].Case != ids[0] || active[0].Count != 4 {
			t.Fatalf("ActiveSurges = %+v, %v; want the surge with its main case's reference", active, err)
		}
		log, err := db.Audit(ctx, fmt.Sprintf("surge:%d", active[0].ID))
		if err != nil || len(log) != 1 || log[0].Action != "surge.alert" || strings.Contains(log[0].After, "Ada") {
			t.Errorf("audit = %+v, %v; want one surge.alert naming nobody", log, err)
		}

		clk.Add(2*time.Hour + time.Minute)
		if active, err := db.ActiveSurges(ctx, clk.Now()); err != nil || len(active) != 0 {
			t.Errorf("ActiveSurges after the quiet time = %+v, %v", active, err)
		}
		sg.At, sg.QuietUntil = clk.Now(), clk.Now().Add(3*time.Hour)
		if ok, err := db.RecordSurge(ctx, sg, build); err != nil || !ok {
			t.Errorf("RecordSurge after the quiet time = %v, %v; want a new alert", ok, err)
		}
		if n := countRows(t, db, "surge:"); n != 2 {
			t.Errorf("%d alert rows, want 2", n)
		}
	})
}

// TestStatementApproval: a new text waits for approval; approving the
// version read approves it; editing it withdraws the approval and an
// approval of the old version is refused; saving the same text keeps the
// approval; every change is audited.
func TestStatementApproval(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, newClock().Now)
		id, err := db.SaveStatementText(ctx, 0, "water", "Water cut", "en", "We know about the water cut in {place}.", "olga")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SaveStatementText(ctx, 0, "water", "Water cut", "fr", "x", "olga"); !errors.Is(err, citybot.ErrDuplicate) {
			t.Errorf("a second template of the same name: %v, want ErrDuplicate", err)
		}
		tpl, err := db.StatementTemplate(ctx, id)
		if err != nil || len(tpl.Texts) != 1 || tpl.Texts[0].Approved() || len(tpl.Approved()) != 0 {
			t.Fatalf("new template = %+v, %v; want one text waiting", tpl, err)
		}
		if err := db.ApproveStatementText(ctx, id, "en", 1, "mayor"); err != nil {
			t.Fatal(err)
		}
		if tpl, _ = db.StatementTemplate(ctx, id); !tpl.Texts[0].Approved() || tpl.Texts[0].ApprovedBy != "mayor" {
			t.Fatalf("after approval: %+v", tpl.Texts[0])
		}
		if _, err := db.SaveStatementText(ctx, id, "", "", "en", "We know about the water cut in {place}.", "olga"); err != nil {
			t.Fatal(err)
		}
		if tpl, _ = db.StatementTemplate(ctx, id); !tpl.Texts[0].Approved() {
			t.Errorf("saving the same text withdrew the approval")
		}
		if _, err := db.SaveStatementText(ctx, id, "", "", "en", "We know about the water cut in {place}. Next update by {time}.", "olga"); err != nil {
			t.Fatal(err)
		}
		if tpl, _ = db.StatementTemplate(ctx, id); tpl.Texts[0].Approved() || tpl.Texts[0].Version != 2 {
			t.Errorf("after an edit: %+v; want version 2, not approved", tpl.Texts[0])
		}
		if err := db.ApproveStatementText(ctx, id, "en", 1, "mayor"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("approving the version read before the edit: %v, want ErrInvalid", err)
		}
		if err := db.ApproveStatementText(ctx, id, "de", 1, "mayor"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("approving a language without text: %v, want ErrNotFound", err)
		}
		log, err := db.Audit(ctx, fmt.Sprintf("statement:%d", id))
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action)
		}
		if strings.Join(actions, ",") != "statement.edit,statement.approve,statement.edit" {
			t.Errorf("audit = %v; want the creation, the approval and the one real edit", actions)
		}
	})
}

// TestSendStatementOnce: a statement is queued to the followers' rows
// and the public rows once per nonce; the same nonce again queues
// nothing and returns the first send; a text changed since it was read
// is refused.
func TestSendStatementOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		id, err := db.SaveStatementText(ctx, 0, "water", "Water cut", "en", "Team on site at {place}.", "olga")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ApproveStatementText(ctx, id, "en", 1, "mayor"); err != nil {
			t.Fatal(err)
		}
		var cases []citybot.CaseID
		for i := range 3 {
			res, err := db.Ingest(ctx, report(msg(fmt.Sprint("c", i), "1", fmt.Sprint("u", i), "no water"), "water", citybot.UrgencyNormal), ackFor)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, res.Case.ID)
		}
		for _, dup := range cases[1:] {
			if err := db.MergeCases(ctx, dup, cases[0], "olivia", nil); err != nil {
				t.Fatal(err)
			}
		}
		built := 0
		build := func(v citybot.CaseView) ([]citybot.OutboxItem, []citybot.OutboxItem, error) {
			built++
			var fs []citybot.OutboxItem
			for _, c := range append([]citybot.Case{v.Case}, v.Merged...) {
				fs = append(fs, citybot.OutboxItem{Kind: citybot.OutboxNotice, Case: c.ID, Out: citybot.Outgoing{
					Key: fmt.Sprintf("statement:%d:n1:%d", v.Case.ID, c.ID), Platform: c.Platform, Chat: c.Chat, Text: "Team on site"}})
			}
			pub := []citybot.OutboxItem{{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{Key: "statement:n1:public",
				Platform: citybot.Discord, Chat: "777", ChatKind: citybot.ChatGroup, Text: "Team on site"}}}
			return fs, pub, nil
		}
		rec := citybot.StatementSend{Case: cases[0], TemplateID: id, Versions: map[string]int{"en": 1}, Values: map[string]string{"place": "Mill Lane"},
			Public: true, Actor: "olivia", Nonce: "n1"}
		first, err := db.SendStatement(ctx, rec, build)
		if err != nil {
			t.Fatal(err)
		}
		if first.Already || first.Followers != 3 || first.Rows != 4 {
			t.Errorf("first send = %+v; want 3 followers, 4 rows", first)
		}
		second, err := db.SendStatement(ctx, rec, build)
		if err != nil || !second.Already || second.ID != first.ID || built != 1 {
			t.Errorf("the same nonce again = %+v, %v (built %d times); want the first send, nothing built", second, err, built)
		}
		if n := countRows(t, db, "statement:"); n != 4 {
			t.Errorf("%d statement rows, want 4", n)
		}
		// The text changes: a form read before is refused.
		if _, err := db.SaveStatementText(ctx, id, "", "", "en", "Team on site at {place}, back by {time}.", "olga"); err != nil {
			t.Fatal(err)
		}
		rec.Nonce = "n2"
		if _, err := db.SendStatement(ctx, rec, build); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("sending a text changed since: %v, want ErrInvalid", err)
		}
		sent, err := db.CaseStatements(ctx, cases[0])
		if err != nil || len(sent) != 1 || sent[0].Actor != "olivia" || !sent[0].Public || sent[0].Values["place"] != "Mill Lane" {
			t.Errorf("CaseStatements = %+v, %v", sent, err)
		}
		log, err := db.Audit(ctx, caseSubject(cases[0]))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range log {
			if e.Action == "case.statement" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d case.statement audit entries, want 1", n)
		}
	})
}

// TestSendStatementAtomic: a send that fails half way (build refuses, or
// a row is malformed after the followers' rows were written) leaves
// nothing behind, and the same form can then be sent.
func TestSendStatementAtomic(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, newClock().Now)
		id, err := db.SaveStatementText(ctx, 0, "water", "Water cut", "en", "Team on site.", "olga")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ApproveStatementText(ctx, id, "en", 1, "mayor"); err != nil {
			t.Fatal(err)
		}
		res, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "no water"), "water", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		c := res.Case
		follower := citybot.OutboxItem{Kind: citybot.OutboxNotice, Case: c.ID, Out: citybot.Outgoing{Key: "statement:x:n1:1",
			Platform: c.Platform, Chat: c.Chat, Text: "Team on site."}}
		rec := citybot.StatementSend{Case: c.ID, TemplateID: id, Versions: map[string]int{"en": 1}, Actor: "olivia", Nonce: "n1"}
		for _, bad := range []func(citybot.CaseView) ([]citybot.OutboxItem, []citybot.OutboxItem, error){
			func(citybot.CaseView) ([]citybot.OutboxItem, []citybot.OutboxItem, error) {
				return nil, nil, fmt.Errorf("%w: refused", citybot.ErrInvalid)
			},
			func(citybot.CaseView) ([]citybot.OutboxItem, []citybot.OutboxItem, error) {
				// The public row has no chat: the followers' row written
				// before it must go too.
				return []citybot.OutboxItem{follower}, []citybot.OutboxItem{{Out: citybot.Outgoing{Key: "statement:x:n1:public", Platform: citybot.Discord}}}, nil
			},
		} {
			if _, err := db.SendStatement(ctx, rec, bad); !errors.Is(err, citybot.ErrInvalid) {
				t.Fatalf("a failing send: %v, want ErrInvalid", err)
			}
			if n := countRows(t, db, "statement:"); n != 0 {
				t.Fatalf("a failed send left %d rows", n)
			}
			if sent, _ := db.CaseStatements(ctx, c.ID); len(sent) != 0 {
				t.Fatalf("a failed send was recorded: %+v", sent)
			}
		}
		out, err := db.SendStatement(ctx, rec, func(citybot.CaseView) ([]citybot.OutboxItem, []citybot.OutboxItem, error) {
			return []citybot.OutboxItem{follower}, nil, nil
		})
		if err != nil || out.Already || out.Rows != 1 {
			t.Fatalf("the same form after the failures: %+v, %v; want it sent", out, err)
		}
	})
}

// TestSurgeReportsFollowedTopic: a report merged into a case of another
// topic counts under the topic of the case it follows; one not merged
// keeps its own.
func TestSurgeReportsFollowedTopic(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db, err := te.open(ctx, te.newSource(t), Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		start := clk.Now()
		var ids []citybot.CaseID
		for i, topic := range []string{"water", "roads", "roads"} {
			res, err := db.Ingest(ctx, report(msg(fmt.Sprint("f", i), "1", fmt.Sprint("v", i), "burst main, the road is flooding"), topic, citybot.UrgencyNormal), ackFor)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Case.ID)
			clk.Add(time.Minute)
		}
		if err := db.MergeCases(ctx, ids[1], ids[0], "olivia", nil); err != nil {
			t.Fatal(err)
		}
		reps, err := db.SurgeReports(ctx, start, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range reps {
			got = append(got, r.Topic)
		}
		if want := []string{"water", "water", "roads"}; !slices.Equal(got, want) {
			t.Errorf("topics of the window's reports = %v, want %v", got, want)
		}
	})
}

// TestQueueFollowupInGroup: "Is it fixed?" for a case opened in a group
// chat answers the citizen's message there (so they see it is theirs);
// in a private chat it answers nothing.
func TestQueueFollowupInGroup(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, err := te.open(ctx, te.newSource(t), Options{Now: newClock().Now})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, kind := range []citybot.ChatKind{citybot.ChatGroup, citybot.ChatPrivate} {
			m := msg("chat-"+string(kind), "m-"+string(kind), "u-"+string(kind), "burst main")
			m.ChatKind = kind
			res, err := db.Ingest(ctx, report(m, "water", citybot.UrgencyNormal), ackFor)
			if err != nil {
				t.Fatal(err)
			}
			key := "fixed:" + string(kind)
			if ok, err := db.QueueFollowup(ctx, res.Case.ID, citybot.OutboxItem{Kind: citybot.OutboxNotice, Case: res.Case.ID,
				Out: citybot.Outgoing{Key: key, Platform: m.Platform, Chat: m.Chat, Text: "Is it fixed?"}}); err != nil || !ok {
				t.Fatalf("%s: queue followup: %v %v", kind, ok, err)
			}
			var replyTo, chatKind string
			if err := db.r.QueryRow(`SELECT reply_to, chat_kind FROM outbox WHERE key = ?`, key).Scan(&replyTo, &chatKind); err != nil {
				t.Fatal(err)
			}
			want := ""
			if kind == citybot.ChatGroup {
				want = string(m.ID)
			}
			if replyTo != want || chatKind != string(kind) {
				t.Errorf("%s chat: the question replies to %q as a %q row, want %q and %q", kind, replyTo, chatKind, want, kind)
			}
		}
	})
}
