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

// TestCandidateCases holds what the grouping query keeps: open cases that
// are not sensitive, recently active, on the topics asked; most recently
// active first.
func TestCandidateCases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		clk := newClock()
		db := te.openTest(t, clk.Now)
		ctx := context.Background()
		open := func(user, id, text, topic string, sensitive bool) citybot.CaseID {
			t.Helper()
			in := report(msg("chat-"+user, id, user, text), topic, citybot.UrgencyNormal)
			in.Sensitive = sensitive
			res, err := db.Ingest(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			return res.Case.ID
		}
		old := open("u0", "m0", "Pothole on Main Street", "roads", false)
		clk.Add(30 * time.Hour)
		since := clk.Now().Add(-24 * time.Hour)
		closed := open("u1", "m1", "Pothole on Main Street", "roads", false)
		if _, err := db.SetCaseStatus(ctx, closed, citybot.StatusChange{To: citybot.StatusClosed, Actor: "alice", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		roads := open("u2", "m2", "Big pothole on Main Street", "roads", false)
		clk.Add(time.Minute)
		bribe := open("u3", "m3", "The inspector on Main Street wants cash", "roads", true)
		clk.Add(time.Minute)
		waste := open("u4", "m4", "Bins not collected on Main Street", "waste", false)
		clk.Add(time.Minute)
		// A follow-up makes the roads case the most recently active.
		in := report(msg("chat-u2", "m5", "u2", "It is getting deeper"), "roads", citybot.UrgencyNormal)
		if _, err := db.Ingest(ctx, in, nil); err != nil {
			t.Fatal(err)
		}
		ids := func(cs []citybot.CaseCandidate) []citybot.CaseID {
			var out []citybot.CaseID
			for _, c := range cs {
				out = append(out, c.ID)
			}
			return out
		}
		for _, tt := range []struct {
			name string
			q    citybot.CandidateQuery
			want []citybot.CaseID
		}{
			{"topics", citybot.CandidateQuery{Since: since, Topics: []string{"roads", "other"}}, []citybot.CaseID{roads}},
			{"any topic, latest first", citybot.CandidateQuery{Since: since}, []citybot.CaseID{roads, waste}},
			{"limit", citybot.CandidateQuery{Since: since, Limit: 1}, []citybot.CaseID{roads}},
			{"older window", citybot.CandidateQuery{Since: clk.Now().Add(-48 * time.Hour), Topics: []string{"roads"}}, []citybot.CaseID{roads, old}},
			{"opened since", citybot.CandidateQuery{Since: clk.Now().Add(-48 * time.Hour), OpenedSince: since, Topics: []string{"roads"}}, []citybot.CaseID{roads}},
			{"no such topic", citybot.CandidateQuery{Since: since, Topics: []string{"noise"}}, nil},
			{"by place, whatever the topic", citybot.CandidateQuery{Since: since, Topics: []string{"noise"}, Places: []string{"main street"}}, []citybot.CaseID{roads, waste}},
			{"by place after the topic's", citybot.CandidateQuery{Since: since, Topics: []string{"waste"}, Places: []string{"Main Street"}}, []citybot.CaseID{waste, roads}},
			{"by place on some topics", citybot.CandidateQuery{Since: since, Topics: []string{"noise"}, Places: []string{"Main Street"}, PlaceTopics: []string{"waste", "other"}}, []citybot.CaseID{waste}},
			{"a place is a whole name", citybot.CandidateQuery{Since: since, Topics: []string{"noise"}, Places: []string{"Main"}}, nil},
			{"no wildcard in a name", citybot.CandidateQuery{Since: since, Topics: []string{"noise"}, Places: []string{"Main%", "Main_Street"}}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.CandidateCases(ctx, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), tt.want) {
					t.Errorf("cases %v, want %v (closed %d, sensitive %d)", ids(got), tt.want, closed, bribe)
				}
				for _, c := range got {
					if c.Sensitive || c.Ref == "" || c.OpenedAt.IsZero() || c.LastMessageAt.Before(c.OpenedAt) || len(c.Texts) != 0 {
						t.Errorf("candidate %+v", c)
					}
					if !slices.Equal(c.Places, []string{"Main Street"}) {
						t.Errorf("places %v", c.Places)
					}
				}
			})
		}

		texts, err := db.CaseTexts(ctx, []citybot.CaseID{roads, waste, bribe, 9999}, 5)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"Big pothole on Main Street", "It is getting deeper"}; !slices.Equal(texts[roads], want) {
			t.Errorf("texts of the roads case %q, want %q", texts[roads], want)
		}
		if len(texts[waste]) != 1 || len(texts[9999]) != 0 {
			t.Errorf("texts %v", texts)
		}
		one, err := db.CaseTexts(ctx, []citybot.CaseID{roads}, 1)
		if err != nil || !slices.Equal(one[roads], []string{"Big pothole on Main Street"}) {
			t.Errorf("one text per case: %v, %v", one, err)
		}
		// Thanks in the case's chat are not a report of the problem.
		thanks := msg("chat-u2", "m6", "u2", "thank you!")
		if _, err := db.Ingest(ctx, citybot.Intake{Message: thanks, Mode: citybot.CaseFeedback, Intent: citybot.IntentThanks}, nil); err != nil {
			t.Fatal(err)
		}
		if again, _ := db.CaseTexts(ctx, []citybot.CaseID{roads}, 5); len(again[roads]) != 2 {
			t.Errorf("texts after thanks %q", again[roads])
		}
		if _, err := db.CaseTexts(ctx, make([]citybot.CaseID, 101), 5); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("101 cases: err = %v", err)
		}
		if _, err := db.CaseTexts(ctx, []citybot.CaseID{roads}, 0); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("0 texts: err = %v", err)
		}
	})
}

// TestCandidatePlans holds that both grouping queries read their partial
// index only, with no table look-up.
func TestCandidatePlans(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		if te.eng == Postgres {
			t.Skip("SQLite's query plans (EXPLAIN QUERY PLAN)")
		}
		db := te.openTest(t, nil)
		ctx := context.Background()
		at := citybot.Location{Latitude: 1, Longitude: 2}
		for _, tt := range []struct {
			name    string
			q       citybot.CandidateQuery
			byPlace bool
		}{
			{"topics", citybot.CandidateQuery{Topics: []string{"roads", "other"}}, false},
			{"any topic", citybot.CandidateQuery{}, false},
			{"places and around", citybot.CandidateQuery{Places: []string{"Main Street", "Kingsway"}, Around: &at, AroundMeters: 400, PlaceTopics: []string{"roads", "other"}}, true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := db.CandidateCases(ctx, tt.q); err != nil {
					t.Fatal(err)
				}
				stmt, args := candidateSQL(tt.q, tt.byPlace)
				rows, err := db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+stmt, args...)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var plan []string
				for rows.Next() {
					var id, parent, notused int
					var detail string
					if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
						t.Fatal(err)
					}
					plan = append(plan, detail)
				}
				p := strings.Join(plan, "\n")
				if !strings.Contains(p, "COVERING INDEX cases_grouping_") {
					t.Errorf("plan does not read a grouping index alone:\n%s", p)
				}
			})
		}
	})
}

func TestPlaceListAndQuickTS(t *testing.T) {
	for in, want := range map[string][]string{
		`[]`:              nil,
		``:                nil,
		`["Main Street"]`: {"Main Street"},
		`["Main Street","Rue de la République"]`: {"Main Street", "Rue de la République"},
		`["say \"hi\"","a\u003cb"]`:              {`say "hi"`, "a<b"},
		`["unterminated`:                         nil,
		`{"a":1}`:                                nil,
		`["a" , "b"]`:                            {"a", "b"},
	} {
		if got := placeList(in); !slices.Equal(got, want) {
			t.Errorf("placeList(%q) = %q, want %q", in, got, want)
		}
	}
	for _, at := range []time.Time{time.Date(2026, 10, 5, 6, 42, 7, 123456000, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)} {
		s := ts(at)
		if got := quickTS(s); !got.Equal(at) || !got.Equal(parseTS(s)) {
			t.Errorf("quickTS(%q) = %v, want %v", s, got, at)
		}
	}
	if got, want := quickTS("2026-10-05 06:42:07"), parseTS("2026-10-05 06:42:07"); !got.Equal(want) {
		t.Errorf("quickTS of another layout = %v, parseTS %v", got, want)
	}
}

// TestCandidateStatements: past the statements the cache keeps, queries
// still run (unprepared); after Close they fail, without a panic.
func TestCandidateStatements(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		ctx := context.Background()
		res, err := db.Ingest(ctx, report(msg("c", "1", "u", "Pothole on Main Street"), "roads", citybot.UrgencyNormal), nil)
		if err != nil {
			t.Fatal(err)
		}
		topics := []string{"roads"}
		for n := 1; n <= maxCachedStmts+20; n++ {
			got, err := db.CandidateCases(ctx, citybot.CandidateQuery{Topics: topics})
			if err != nil || len(got) != 1 || got[0].ID != res.Case.ID {
				t.Fatalf("%d topics: %v, %v", n, got, err)
			}
			topics = append(topics, fmt.Sprint("topic", n))
		}
		db.Close()
		if _, err := db.CandidateCases(ctx, citybot.CandidateQuery{Topics: []string{"roads"}}); err == nil {
			t.Error("a query after Close succeeded")
		}
	})
}

func TestCandidatesAround(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		db := te.openTest(t, nil)
		ctx := context.Background()
		open := func(user string, loc *citybot.Location) citybot.CaseID {
			t.Helper()
			in := report(msg("chat-"+user, "1", user, "Water everywhere"), "water_sanitation", citybot.UrgencyNormal)
			in.Classification.Places = nil
			in.Message.Location = loc
			res, err := db.Ingest(ctx, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			return res.Case.ID
		}
		here := citybot.Location{Latitude: -1.2921, Longitude: 36.8219}
		nearby := open("u1", &citybot.Location{Latitude: here.Latitude + 0.002, Longitude: here.Longitude - 0.002})
		open("u2", &citybot.Location{Latitude: here.Latitude + 0.05, Longitude: here.Longitude})
		open("u3", nil)
		got, err := db.CandidateCases(ctx, citybot.CandidateQuery{Topics: []string{"noise"}, Around: &here, AroundMeters: 400})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != nearby || got[0].Location == nil || got[0].Location.Latitude != here.Latitude+0.002 {
			t.Errorf("cases around %+v: %+v", here, got)
		}
		all, err := db.CandidateCases(ctx, citybot.CandidateQuery{Topics: []string{"water_sanitation"}})
		if err != nil || len(all) != 3 {
			t.Fatalf("%+v, %v", all, err)
		}
		for _, c := range all {
			if (c.Location == nil) != (c.ID == 3) {
				t.Errorf("case %d location %+v", c.ID, c.Location)
			}
		}
	})
}
