package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"
)

// Whatever writes a reply (an officer pasting text, a canned answer, a
// quoted citizen), no bidi override or zero-width character reaches the
// citizen: the outbox keeps the text and button labels without them.
func TestOutboxTextHasNoInvisibleCharacters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, func() time.Time { return time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) })
		ctx := context.Background()
		out := citybot.Outgoing{Key: "officer:answer:1", Platform: citybot.Telegram, Chat: "42",
			Text:    "Your case REF\u202e7gpj.exe is\u200b fixed \u2066now\u2069",
			Buttons: [][]citybot.Button{{{Label: "Fixed\u202e", Data: "fixed"}}}}
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Out: out, Kind: citybot.OutboxNotice}); err != nil {
			t.Fatal(err)
		}
		items, err := db.OutboxItems(ctx, "officer:")
		if err != nil || len(items) != 1 {
			t.Fatalf("outbox items: %v, %d", err, len(items))
		}
		got := items[0].Out
		for _, s := range []string{got.Text, got.Buttons[0][0].Label} {
			if strings.ContainsAny(s, "\u202e\u200b\u2066\u2069") {
				t.Errorf("outbox text %q keeps invisible characters", s)
			}
		}
		if got.Text != "Your case REF7gpj.exe is fixed now" {
			t.Errorf("outbox text %q", got.Text)
		}
	})
}

// A place the classifier found overlapping personal data (a person's
// name) is not a case place, so never public; one clear of it is.
func TestPublicPlacesClearOfPersonalData(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		db := te.openTest(t, func() time.Time { return now })
		ctx := context.Background()
		text := "Rubbish piled on Jean Dupont Street and on Harbour Road"
		in := report(msg("c1", "m1", "u1", text), "waste", citybot.UrgencyNormal)
		in.Classification.Places = []citybot.Place{
			{Name: "Jean Dupont Street", Kind: "street", Span: citybot.Span{Start: 17, End: 35}},
			{Name: "Harbour Road", Kind: "street", Span: citybot.Span{Start: 43, End: 55}},
		}
		in.Classification.PersonalData = []citybot.PersonalSpan{{Kind: citybot.PersonName, Span: citybot.Span{Start: 17, End: 28}}}
		if _, err := db.Ingest(ctx, in, nil); err != nil {
			t.Fatal(err)
		}
		cs, err := db.PublicCases(ctx, citybot.PublicCaseQuery{Limit: 10, After: now.Add(-time.Hour)})
		if err != nil || len(cs) != 1 {
			t.Fatalf("public cases: %v, %d", err, len(cs))
		}
		if got := strings.Join(cs[0].Places, "|"); got != "Harbour Road" {
			t.Errorf("public places %q, want only Harbour Road", got)
		}
	})
}

// PublicCasesEach reads in pages and gives the same cases, in the same
// order, as one PublicCases query, even when every case opened at the
// same instant (the page boundary falls inside a run of equal times).
func TestPublicCasesEachPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		db := te.openTest(t, func() time.Time { return now })
		ctx := context.Background()
		const n = publicCasesPageSize*2 + 37
		for i := range n {
			in := report(msg(fmt.Sprintf("c%d", i), "m", fmt.Sprintf("u%d", i), "pothole"), "roads", citybot.UrgencyNormal)
			if _, err := db.Ingest(ctx, in, nil); err != nil {
				t.Fatal(err)
			}
		}
		q := citybot.PublicCaseQuery{Limit: 100000, After: now.Add(-time.Hour)}
		all, err := db.PublicCases(ctx, q)
		if err != nil || len(all) != n {
			t.Fatalf("public cases: %v, %d of %d", err, len(all), n)
		}
		var got []citybot.CaseRef
		if err := db.PublicCasesEach(ctx, q, func(c citybot.PublicCase) error { got = append(got, c.Ref); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Fatalf("PublicCasesEach gave %d cases, want %d", len(got), n)
		}
		for i := range all {
			if got[i] != all[i].Ref {
				t.Fatalf("case %d: %s, want %s", i, got[i], all[i].Ref)
			}
		}
		q.Limit = publicCasesPageSize + 3
		got = got[:0]
		db.PublicCasesEach(ctx, q, func(c citybot.PublicCase) error { got = append(got, c.Ref); return nil })
		if len(got) != q.Limit {
			t.Errorf("with Limit %d: %d cases", q.Limit, len(got))
		}
	})
}

// TestOutboxItemsPrefixIsLiteral: OutboxItems reads its prefix as text,
// not as a LIKE pattern: "_", "%" and the escape character "!" match
// only themselves, on both engines.
func TestOutboxItemsPrefixIsLiteral(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, time.Now)
		keys := []string{"a_b:1", "axb:1", "a!b:1", "a!!b:1", "a%b:1", `a\b:1`}
		var items []citybot.OutboxItem
		for _, k := range keys {
			items = append(items, citybot.OutboxItem{Out: citybot.Outgoing{Key: k, Platform: citybot.Telegram, Chat: "1", Text: "x"}})
		}
		if _, err := db.Enqueue(ctx, items...); err != nil {
			t.Fatal(err)
		}
		for prefix, want := range map[string]string{
			"a_b":   "a_b:1",
			"a!b":   "a!b:1",
			"a!!":   "a!!b:1",
			"a%":    "a%b:1",
			`a\b`:   `a\b:1`,
			"a":     strings.Join(keys, ","),
			"axb:1": "axb:1",
		} {
			got, err := db.OutboxItems(ctx, prefix)
			if err != nil {
				t.Fatalf("%q: %v", prefix, err)
			}
			var ks []string
			for _, it := range got {
				ks = append(ks, it.Out.Key)
			}
			if strings.Join(ks, ",") != want {
				t.Errorf("OutboxItems(%q) = %v, want %s", prefix, ks, want)
			}
		}
	})
}
