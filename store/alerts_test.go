package store

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestAlertsLifecycle: an alert is due as soon as a case is critical
// (opened critical, raised by a follow-up, or by an officer), once per
// case; queueing and escalating are idempotent; TakeCase assigns only
// the first taker, allowed roles only, audited, closes the alert and
// replaces the alert rows (an edit for a sent one, in place for a
// pending one).
func TestAlertsLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)

		// Opened critical, with the classifier's cues.
		in := report(msg("c1", "1", "u1", "gas leak in the cellar"), "public_safety", citybot.UrgencyCritical)
		in.Classification.UrgencyCues = []string{"gas leak"}
		crit, err := db.Ingest(ctx, in, ackFor)
		if err != nil {
			t.Fatal(err)
		}
		// Normal, then raised by a follow-up; another normal, raised by an
		// officer; a normal one stays out.
		raised, err := db.Ingest(ctx, report(msg("c2", "1", "u2", "pothole"), "roads", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		if _, err := db.Ingest(ctx, report(msg("c2", "2", "u2", "a child fell in it and is bleeding"), "roads", citybot.UrgencyCritical), ackFor); err != nil {
			t.Fatal(err)
		}
		byOfficer, err := db.Ingest(ctx, report(msg("c3", "1", "u3", "smell"), "other", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Ingest(ctx, report(msg("c4", "1", "u4", "bench"), "parks", citybot.UrgencyLow), ackFor); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CorrectCase(ctx, byOfficer.Case.ID, "", citybot.UrgencyCritical, "olivia"); err != nil {
			t.Fatal(err)
		}
		due, err := db.DueAlerts(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []citybot.CaseID
		cues := map[citybot.CaseID][]string{}
		for _, a := range due {
			ids = append(ids, a.Case.ID)
			cues[a.Case.ID] = a.Cues
			if a.State != citybot.AlertDue || a.RaisedAt.IsZero() {
				t.Errorf("alert %+v", a)
			}
		}
		if want := []citybot.CaseID{crit.Case.ID, raised.Case.ID, byOfficer.Case.ID}; !slices.Equal(ids, want) {
			t.Fatalf("due alerts for cases %v, want %v", ids, want)
		}
		if !slices.Equal(cues[crit.Case.ID], []string{"gas leak"}) || !slices.Equal(cues[byOfficer.Case.ID], []string{"set by olivia"}) {
			t.Fatalf("cues %v", cues)
		}

		// Queue the first one twice: once.
		c := crit.Case
		item := func(key string) citybot.OutboxItem {
			return citybot.OutboxItem{Kind: citybot.OutboxAlert, Case: c.ID, Out: citybot.Outgoing{Key: key, Platform: citybot.Telegram,
				Chat: "-100900", ChatKind: citybot.ChatGroup, Text: "alert " + string(c.Ref), Buttons: [][]citybot.Button{{{Label: "Take it", Data: "al:t:1"}}}}}
		}
		for i, want := range []bool{true, false} {
			ok, err := db.QueueAlert(ctx, c.ID, []citybot.OutboxItem{item("alert:1:0:a"), item("alert:1:0:b")})
			if err != nil || ok != want {
				t.Fatalf("QueueAlert #%d = %v, %v; want %v", i, ok, err, want)
			}
		}
		for i, want := range []bool{true, false} {
			ok, err := db.EscalateAlert(ctx, c.ID, 1, []citybot.OutboxItem{item("alert:1:1:e")})
			if err != nil || ok != want {
				t.Fatalf("EscalateAlert #%d = %v, %v; want %v", i, ok, err, want)
			}
		}
		open, err := db.OpenAlerts(ctx, 10)
		if err != nil || len(open) != 1 || open[0].Escalations != 1 || open[0].QueuedAt.IsZero() {
			t.Fatalf("open alerts %+v, %v", open, err)
		}
		// Row a is sent; b and e wait.
		rows, err := db.OutboxItems(ctx, "alert:1:")
		if err != nil || len(rows) != 3 {
			t.Fatalf("alert rows %+v, %v", rows, err)
		}
		var prio int
		if err := db.r.QueryRowContext(ctx, `SELECT MIN(priority) FROM outbox WHERE kind = 'alert'`).Scan(&prio); err != nil || prio != 1 {
			t.Fatalf("alert rows' priority %d, %v; want 1 (a critical case's)", prio, err)
		}
		claimed, err := db.ClaimOutboxIDs(ctx, testInstance, []citybot.OutboxID{rows[0].ID})
		if err != nil || len(claimed) != 1 {
			t.Fatal(claimed, err)
		}
		if err := db.MarkSent(ctx, rows[0].ID, citybot.Sent{ID: "55"}); err != nil {
			t.Fatal(err)
		}
		// An alert is not part of the case's conversation.
		msgs, err := db.CaseMessages(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Direction == citybot.Outbound && m.PlatformID == "55" {
				t.Fatalf("the alert was stored as a message of the case")
			}
		}
		conv, err := db.Conversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range conv {
			if e.Kind == citybot.OutboxAlert || strings.HasPrefix(e.Text, "alert ") {
				t.Fatalf("the case's conversation shows an alert: %+v", e)
			}
		}

		for _, a := range []struct {
			name string
			role citybot.Role
		}{{"olivia", citybot.RoleOfficer}, {"adam", citybot.RoleAdmin}, {"mayor", citybot.RoleOfficial}} {
			if _, err := db.CreateAccount(ctx, a.name, a.role, "hash", "test"); err != nil {
				t.Fatal(err)
			}
		}
		edit := func(c citybot.Case, by string, row citybot.OutboxItem) citybot.Outgoing {
			return citybot.Outgoing{Text: row.Out.Text + " taken by " + by}
		}
		admins := []citybot.Role{citybot.RoleAdmin}
		for _, who := range []string{"mayor", "nobody"} {
			if _, err := db.TakeCase(ctx, c.ID, who, admins, edit); !errors.Is(err, citybot.ErrForbidden) {
				t.Fatalf("%s takes: %v, want ErrForbidden", who, err)
			}
		}
		// The escalation row is being sent when the case is taken.
		var esc citybot.OutboxID
		for _, r := range rows {
			if r.Out.Key == "alert:1:1:e" {
				esc = r.ID
			}
		}
		if cl, err := db.ClaimOutboxIDs(ctx, testInstance, []citybot.OutboxID{esc}); err != nil || len(cl) != 1 {
			t.Fatal(cl, err)
		}
		res, err := db.TakeCase(ctx, c.ID, "olivia", admins, edit)
		if err != nil || res.Already || res.TakenBy != "olivia" {
			t.Fatalf("olivia takes: %+v, %v", res, err)
		}
		res, err = db.TakeCase(ctx, c.ID, "adam", admins, edit)
		if err != nil || !res.Already || res.TakenBy != "olivia" {
			t.Fatalf("adam takes after olivia: %+v, %v", res, err)
		}
		v, err := db.CaseView(ctx, c.ID)
		if err != nil || v.Assignee != "olivia" {
			t.Fatalf("assignee %q, %v", v.Assignee, err)
		}
		rows, err = db.OutboxItems(ctx, "alert:1:")
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string]citybot.OutboxItem{}
		for _, r := range rows {
			byKey[r.Out.Key] = r
		}
		ed, ok := byKey["alert:1:taken:"+strconv.FormatInt(int64(rows[0].ID), 10)]
		if !ok || ed.Out.Edit != "55" || ed.Out.Chat != "-100900" || len(ed.Out.Buttons) != 0 || ed.Out.Text != "alert "+string(c.Ref)+" taken by olivia" {
			t.Fatalf("edit row %+v (rows %+v)", ed, rows)
		}
		if b := byKey["alert:1:0:b"]; b.State != citybot.OutboxPending || len(b.Out.Buttons) != 0 || b.Out.Text != "alert "+string(c.Ref)+" taken by olivia" {
			t.Fatalf("pending alert row not rewritten: %+v", b)
		}
		if len(rows) != 4 {
			t.Fatalf("%d alert rows after two takes, want 4 (one edit)", len(rows))
		}
		// The row in flight goes out with its button; once recorded sent, it
		// gets its edit, once.
		if late, err := db.TakenUnedited(ctx, clk.Now().Add(-time.Hour)); err != nil || len(late) != 0 {
			t.Fatalf("taken unedited before the send is recorded: %+v, %v", late, err)
		}
		if err := db.MarkSent(ctx, esc, citybot.Sent{ID: "56"}); err != nil {
			t.Fatal(err)
		}
		late, err := db.TakenUnedited(ctx, clk.Now().Add(-time.Hour))
		if err != nil || len(late) != 1 || late[0].Case.ID != c.ID || late[0].TakenBy != "olivia" {
			t.Fatalf("taken unedited: %+v, %v", late, err)
		}
		for range 2 {
			if err := db.EditTakenAlerts(ctx, c.ID, edit); err != nil {
				t.Fatal(err)
			}
		}
		lateEdit, err := db.OutboxItem(ctx, "alert:1:taken:"+strconv.FormatInt(int64(esc), 10))
		if err != nil || lateEdit.Out.Edit != "56" || lateEdit.Out.Text != "alert "+string(c.Ref)+" taken by olivia" {
			t.Fatalf("late edit %+v, %v", lateEdit, err)
		}
		if rows, _ := db.OutboxItems(ctx, "alert:1:"); len(rows) != 5 {
			t.Fatalf("%d alert rows, want 5 (two edits)", len(rows))
		}
		if late, _ := db.TakenUnedited(ctx, clk.Now().Add(-time.Hour)); len(late) != 0 {
			t.Fatalf("still unedited: %+v", late)
		}
		if open, _ := db.OpenAlerts(ctx, 10); len(open) != 0 {
			t.Fatalf("alert still open after the take: %+v", open)
		}
		audit, err := db.Audit(ctx, caseSubject(c.ID))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range audit {
			if e.Action == "case.assign" && e.Actor == "olivia" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d case.assign entries by olivia, want 1", n)
		}

		// A sensitive case: an officer may not take it, an admin may.
		if _, err := db.SetCaseSensitive(ctx, raised.Case.ID, true, "adam", "bribe"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TakeCase(ctx, raised.Case.ID, "olivia", admins, edit); !errors.Is(err, citybot.ErrForbidden) {
			t.Fatalf("officer takes a sensitive case: %v", err)
		}
		if res, err := db.TakeCase(ctx, raised.Case.ID, "adam", admins, edit); err != nil || res.TakenBy != "adam" {
			t.Fatalf("admin takes a sensitive case: %+v, %v", res, err)
		}
		// CloseAlert stops a due one; a take closed the other.
		if err := db.CloseAlert(ctx, byOfficer.Case.ID, "test"); err != nil {
			t.Fatal(err)
		}
		if due, _ := db.DueAlerts(ctx, 10); len(due) != 0 {
			t.Fatalf("due after closing: %+v", due)
		}
	})
}
