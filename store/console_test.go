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

// consoleDB opens a store on a settable clock for the console's tests.
func consoleDB(t *testing.T, te testEngine) (*DB, *time.Time) {
	t.Helper()
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	db := te.openTest(t, func() time.Time { return now })
	return db, &now
}

// consoleCase ingests one message from its own citizen and returns its case.
func consoleCase(t *testing.T, db *DB, p citybot.Platform, user, text, topic, lang string, u citybot.Urgency, places ...string) citybot.Case {
	t.Helper()
	var ps []citybot.Place
	for _, pl := range places {
		ps = append(ps, citybot.Place{Name: pl, Kind: "street"})
	}
	res, err := db.Ingest(context.Background(), citybot.Intake{
		Message: citybot.Message{Platform: p, Chat: citybot.ChatID("chat-" + user), ChatKind: citybot.ChatPrivate,
			ID: "1", Sender: citybot.Sender{ID: citybot.UserID(user)}, Text: text},
		Mode: citybot.CaseJoinOrOpen, Window: time.Minute,
		Classification: &citybot.Classification{Topic: citybot.Scored{Label: topic, Confidence: 0.8}, Urgency: u,
			UrgencyConfidence: 0.7, UrgencyCues: []string{"cue-" + user}, Language: lang, Places: ps, Model: "test"},
	}, nil)
	if err != nil || res.Case == nil {
		t.Fatalf("ingest %s: %v", user, err)
	}
	return *res.Case
}

func refs(items []citybot.InboxItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, string(it.Case.Chat))
	}
	return out
}

func TestInboxOrderFiltersAndSearch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, now := consoleDB(t, te)
		step := func() { *now = now.Add(time.Hour) }
		consoleCase(t, db, citybot.Telegram, "a", "pothole on the road", "roads", "en", citybot.UrgencyNormal, "Main Street")
		step()
		consoleCase(t, db, citybot.Discord, "b", "gas smell in the building, danger", "public_safety", "en", citybot.UrgencyCritical)
		step()
		consoleCase(t, db, citybot.Telegram, "c", "Odeur d'égout près de l'école", "water_sanitation", "fr", citybot.UrgencyHigh, "Rue Haute")
		step()
		consoleCase(t, db, citybot.Telegram, "d", "an official asked me for a bribe", "corruption", "en", citybot.UrgencyNormal)
		step()
		consoleCase(t, db, citybot.Telegram, "e", "another gas leak, danger", "public_safety", "en", citybot.UrgencyCritical)
		if err := db.AssignCase(ctx, 1, "", "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccount(ctx, "olivia", citybot.RoleOfficer, "hash", "test"); err != nil {
			t.Fatal(err)
		}
		if err := db.AssignCase(ctx, 3, "OLIVIA", "admin"); err != nil {
			t.Fatalf("assign by name, any case: %v", err)
		}
		if err := db.AssignCase(ctx, 3, "nobody", "admin"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("assign to unknown account: %v", err)
		}
		tests := []struct {
			name string
			q    citybot.InboxQuery
			want []string
		}{
			{"critical first then oldest", citybot.InboxQuery{}, []string{"chat-b", "chat-e", "chat-c", "chat-a", "chat-d"}},
			{"hide sensitive", citybot.InboxQuery{HideTopics: []string{"corruption"}}, []string{"chat-b", "chat-e", "chat-c", "chat-a"}},
			{"topic", citybot.InboxQuery{Topic: "public_safety"}, []string{"chat-b", "chat-e"}},
			{"urgency", citybot.InboxQuery{Urgency: citybot.UrgencyHigh}, []string{"chat-c"}},
			{"platform", citybot.InboxQuery{Platform: citybot.Discord}, []string{"chat-b"}},
			{"language", citybot.InboxQuery{Language: "fr"}, []string{"chat-c"}},
			{"place", citybot.InboxQuery{Place: "Main Street"}, []string{"chat-a"}},
			{"assignee", citybot.InboxQuery{Assignee: "olivia"}, []string{"chat-c"}},
			{"unassigned", citybot.InboxQuery{Assignee: "-", Urgency: citybot.UrgencyHigh}, nil},
			{"age: opened before", citybot.InboxQuery{OpenedBefore: now.Add(-150 * time.Minute)}, []string{"chat-b", "chat-a"}},
			{"age: opened after", citybot.InboxQuery{OpenedAfter: now.Add(-90 * time.Minute)}, []string{"chat-e", "chat-d"}},
			{"search words", citybot.InboxQuery{Search: "gas danger"}, []string{"chat-b", "chat-e"}},
			{"search prefix", citybot.InboxQuery{Search: "brib"}, []string{"chat-d"}},
			{"search without accents", citybot.InboxQuery{Search: "egout ecole"}, []string{"chat-c"}},
			{"search hostile syntax", citybot.InboxQuery{Search: `"gas" (danger*) - "`}, []string{"chat-b", "chat-e"}},
			{"search operators are words", citybot.InboxQuery{Search: `gas OR zebra NEAR(`}, nil},
			{"search nothing", citybot.InboxQuery{Search: "zebra"}, nil},
			{"paging", citybot.InboxQuery{Limit: 2, Offset: 2}, []string{"chat-c", "chat-a"}},
			{"closed only", citybot.InboxQuery{Statuses: []citybot.CaseStatus{citybot.StatusClosed}}, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				items, _, err := db.InboxPage(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				if got := refs(items); !slices.Equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
		items, more, err := db.InboxPage(ctx, citybot.InboxQuery{Limit: 2})
		if err != nil || !more || len(items) != 2 || items[0].Excerpt != "gas smell in the building, danger" {
			t.Errorf("first page: %d items, more %v, excerpt %q, err %v", len(items), more, items[0].Excerpt, err)
		}

		counts, err := db.InboxCounts(ctx, citybot.InboxQuery{Topic: "public_safety", HideTopics: []string{"corruption"}})
		if err != nil {
			t.Fatal(err)
		}
		find := func(fs []citybot.FacetCount, v string) int {
			for _, f := range fs {
				if f.Value == v {
					return f.Count
				}
			}
			return 0
		}
		if counts.Total != 2 || find(counts.Topic, "roads") != 1 || find(counts.Topic, "corruption") != 0 ||
			find(counts.Urgency, "critical") != 2 || find(counts.Urgency, "high") != 0 || find(counts.Platform, "discord") != 1 {
			t.Errorf("counts = %+v", counts)
		}
		if _, err := db.SetCaseStatus(ctx, 1, citybot.StatusChange{To: citybot.StatusClosed, Reason: "fixed", Actor: "o"}); err != nil {
			t.Fatal(err)
		}
		open, err := db.InboxCounts(ctx, citybot.InboxQuery{})
		if err != nil {
			t.Fatal(err)
		}
		closed, err := db.InboxCounts(ctx, citybot.InboxQuery{Statuses: []citybot.CaseStatus{citybot.StatusClosed}})
		if err != nil {
			t.Fatal(err)
		}
		if open.Total != 4 || find(open.Status, "closed") != 0 || find(open.Status, "new") != 4 ||
			closed.Total != 1 || find(closed.Status, "closed") != 1 || find(closed.Status, "new") != 4 || find(closed.Topic, "roads") != 1 {
			t.Errorf("status counts: open %+v, closed %+v", open, closed)
		}
	})
}

func TestAccountsSessionsAndFailures(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, now := consoleDB(t, te)
		a, err := db.CreateAccount(ctx, "Admin", citybot.RoleAdmin, "h", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccount(ctx, "admin", citybot.RoleOfficer, "h", ""); !errors.Is(err, citybot.ErrDuplicate) {
			t.Errorf("same name in other case: %v", err)
		}
		if _, err := db.CreateAccount(ctx, "x", "root", "h", ""); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("unknown role: %v", err)
		}
		// Wrong passwords are counted for the notice, never locking.
		for range 3 {
			if err := db.RecordSigninFailure(ctx, "ADMIN", nil); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := db.AccountByName(ctx, "admin"); got.FailedLogins != 3 || !got.FailedSince.Equal(*now) || !got.FailedLast.Equal(*now) {
			t.Errorf("wrong passwords counted: %d since %v, last %v", got.FailedLogins, got.FailedSince, got.FailedLast)
		}
		if err := db.CreateSession(ctx, a.ID, "tokhash", "csrf1", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, csrf, err := db.Session(ctx, "tokhash")
		if err != nil || got.Name != "Admin" || csrf != "csrf1" || got.FailedLogins != 3 {
			t.Errorf("session: %+v %q %v", got, csrf, err)
		}
		*now = now.Add(2 * time.Hour)
		if _, _, err := db.Session(ctx, "tokhash"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("expired session: %v", err)
		}
		if err := db.CreateSession(ctx, a.ID, "tok2", "c", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteSession(ctx, "tok2"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Session(ctx, "tok2"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("deleted session: %v", err)
		}
	})
}

func TestCorrectNotesConversationAndAnswer(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, _ := consoleDB(t, te)
		c := consoleCase(t, db, citybot.Telegram, "a", "<b>pothole</b>", "other", "en", citybot.UrgencyLow)
		got, err := db.CorrectCase(ctx, c.ID, "roads", citybot.UrgencyHigh, "olivia")
		if err != nil || got.Topic != "roads" || got.Urgency != citybot.UrgencyHigh {
			t.Fatalf("correct: %+v %v", got, err)
		}
		tags, _ := db.CaseTags(ctx, c.ID)
		var officer []string
		for _, tg := range tags {
			if tg.Source == citybot.ByOfficer && tg.SetBy == "olivia" {
				officer = append(officer, tg.Kind+"="+tg.Value)
			}
		}
		if !slices.Equal(officer, []string{"topic=roads", "urgency=high"}) {
			t.Errorf("officer tags = %v", officer)
		}
		if _, err := db.CorrectCase(ctx, c.ID, "", "urgent!!", "olivia"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("bad urgency: %v", err)
		}
		if _, err := db.AddNote(ctx, c.ID, "olivia", "call the roads team"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddNote(ctx, c.ID, "olivia", "   "); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("empty note: %v", err)
		}
		build := func(v citybot.CaseView) ([]citybot.OutboxItem, error) {
			return []citybot.OutboxItem{{Out: citybot.Outgoing{Key: "answer-1", Platform: v.Case.Platform, Chat: v.Case.Chat, Text: "we fix it"}, Case: v.Case.ID}}, nil
		}
		for range 2 {
			if _, err := db.AnswerCase(ctx, c.ID, "olivia", "we fix it", build); err != nil {
				t.Fatal(err)
			}
		}
		conv, err := db.Conversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(conv) != 2 || conv[0].Direction != "in" || conv[0].Text != "<b>pothole</b>" || conv[0].Classification == nil ||
			conv[0].Classification.UrgencyCues[0] != "cue-a" || conv[1].Author != "olivia" || conv[1].State != citybot.OutboxPending {
			t.Errorf("conversation = %+v", conv)
		}
		notes, _ := db.CaseNotes(ctx, c.ID)
		if len(notes) != 1 || notes[0].Text != "call the roads team" {
			t.Errorf("notes = %+v", notes)
		}
		es, _ := db.Audit(ctx, fmt.Sprintf("case:%d", c.ID))
		var actions []string
		for _, e := range es {
			actions = append(actions, e.Action)
		}
		if !slices.Equal(actions, []string{"case.correct", "case.note", "case.answer", "case.status"}) {
			t.Errorf("audit actions = %v (a resubmitted answer must not be recorded twice)", actions)
		}
		log, err := db.AuditLog(ctx, 0, 2)
		if err != nil || len(log) != 2 || log[0].ID < log[1].ID {
			t.Errorf("audit log newest first: %+v %v", log, err)
		}
	})
}

func TestOfficerLabels(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db, _ := consoleDB(t, te)
		a := consoleCase(t, db, citybot.Telegram, "a", "water everywhere in the street", "other", "en", citybot.UrgencyLow)
		consoleCase(t, db, citybot.Telegram, "b", "unlabelled case", "roads", "en", citybot.UrgencyLow)
		if _, err := db.CorrectCase(ctx, a.ID, "roads", "", "olivia"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CorrectCase(ctx, a.ID, "water_sanitation", citybot.UrgencyHigh, "omar"); err != nil {
			t.Fatal(err)
		}
		ls, err := db.OfficerLabels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range ls {
			got = append(got, fmt.Sprintf("%d %s=%s by %s: %s", l.Case, l.Kind, l.Label, l.SetBy, l.Text))
		}
		want := []string{
			fmt.Sprintf("%d topic=water_sanitation by omar: water everywhere in the street", a.ID),
			fmt.Sprintf("%d urgency=high by omar: water everywhere in the street", a.ID),
		}
		if !slices.Equal(got, want) {
			t.Errorf("labels:\n%v\nwant\n%v", got, want)
		}
	})
}

// TestSearchWidens: a search keeps the newest matches whatever the span
// PostgreSQL's search looks in first (searchMatches: here spans of 8 and
// 32 ids, then all): a word in every message gives the newest ones from
// the first span, a word in one message in five and one in the two
// oldest only are found by widening, in the same order as a search over
// everything. The inbox finds the oldest reports on both engines.
func TestSearchWidens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db, _ := consoleDB(t, te)
		db.search = searchWindows{spans: []int64{8, 32, 0}, round: 4}
		ctx := context.Background()
		for i := range 60 {
			text := fmt.Sprintf("water leak number %d", i)
			if i%5 == 0 {
				text += " medium"
			}
			if i < 2 {
				text += " rare bridge"
			}
			consoleCase(t, db, citybot.Telegram, fmt.Sprint("w", i), text, "water_sanitation", "en", citybot.UrgencyNormal)
		}
		rows, err := db.r.QueryContext(ctx, `SELECT id, text FROM messages ORDER BY id DESC`)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]int64{}
		for rows.Next() {
			var id int64
			var text string
			if err := rows.Scan(&id, &text); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"water", "medium", "bridge"} {
				if strings.Contains(text, w) && len(want[w]) < 10 {
					want[w] = append(want[w], id)
				}
			}
		}
		rows.Close()
		if len(want["water"]) != 10 || len(want["medium"]) != 10 || len(want["bridge"]) != 2 {
			t.Fatalf("test data: %v", want)
		}
		if te.eng == Postgres {
			for _, w := range []string{"water", "medium", "bridge"} {
				got, err := db.searchMatches(ctx, w, 10)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want[w]) {
					t.Errorf("search %q: messages %v, want %v", w, got, want[w])
				}
			}
		}
		items, _, err := db.InboxPage(ctx, citybot.InboxQuery{Search: "rare bridge"})
		if err != nil {
			t.Fatal(err)
		}
		if got := refs(items); !slices.Equal(got, []string{"chat-w0", "chat-w1"}) {
			t.Errorf("inbox search of the oldest reports: %v", got)
		}
	})
}
