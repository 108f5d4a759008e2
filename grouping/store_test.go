package grouping_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"citybot"
	"citybot/classifier"
	"citybot/grouping"
	"citybot/internal/storetest"
	"citybot/internal/testclock"
	"citybot/store"
)

// The store must give grouping what it reads.
var _ grouping.Source = (*store.DB)(nil)

// testCity is testdata/city.toml: the gazetteer for the classifier and
// grouping's options.
func testCity(t testing.TB) (*classifier.Classifier, grouping.Options) {
	t.Helper()
	var c struct {
		Places []classifier.PlaceEntry `toml:"places"`
		Near   []struct {
			Places []string `toml:"places"`
		} `toml:"near"`
	}
	if _, err := toml.DecodeFile("testdata/city.toml", &c); err != nil {
		t.Fatal(err)
	}
	co := classifier.DefaultOptions()
	co.Places = append(c.Places, classifier.PlaceEntry{Name: "Rue Haute", Kind: "street"})
	cl, err := classifier.New(co)
	if err != nil {
		t.Fatal(err)
	}
	o := grouping.Options{SensitiveTopics: []string{"corruption"}}
	for _, p := range co.Places {
		o.Places = append(o.Places, grouping.Place{Name: p.Name, Aliases: p.Aliases})
	}
	for _, n := range c.Near {
		o.Near = append(o.Near, n.Places)
	}
	return cl, o
}

type testClock = testclock.Clock

// TestGroupWithStore runs grouping against a real SQLite file filled
// through the store's intake: a French report of the burst main joins the
// English case, a report elsewhere does not, and the sensitive case at
// the same place is never offered.
func TestGroupWithStore(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 10, 5, 6, 40, 0, 0, time.UTC))
	db := storetest.SQLite(t, store.Options{Now: clk.Now})
	cl, opts := testCity(t)
	g, err := grouping.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ingest := func(text, lang string, sensitive bool) citybot.CaseID {
		t.Helper()
		n++
		c := cl.Classify(text, lang)
		in := citybot.Intake{
			Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint("chat", n)), ChatKind: citybot.ChatPrivate,
				ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint("user", n))}, Text: text},
			Classification: &c, Mode: citybot.CaseJoinOrOpen, Window: 30 * time.Minute, Sensitive: sensitive,
		}
		res, err := db.Ingest(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Case.ID
	}
	bribe := ingest("The water company man on Rue de la République wants cash to repair the burst pipe", "en", true)
	clk.Set(clk.Now().Add(2 * time.Minute))
	main := ingest("Burst water main on Rue de la République, water everywhere", "en", false)
	clk.Set(clk.Now().Add(3 * time.Minute))
	kings := ingest("Huge water leak on Kingsway", "en", false)
	clk.Set(clk.Now().Add(5 * time.Minute))

	for _, tt := range []struct {
		text, lang string
		want       grouping.Outcome
		join       citybot.CaseID
	}{
		{"Grosse fuite d'eau rue de la République, la conduite a éclaté", "fr", grouping.Join, main},
		{"Fuite d'eau énorme sur Kingsway", "fr", grouping.Join, kings},
		{"Burst pipe on Harbour Road", "en", grouping.None, 0},
		{"Water leak in front of the Market Hall", "en", grouping.Suggest, 0},
	} {
		t.Run(tt.text, func(t *testing.T) {
			r := grouping.Report{Text: tt.text, At: clk.Now(), Class: cl.Classify(tt.text, tt.lang)}
			d, err := g.Group(ctx, db, r)
			if err != nil {
				t.Fatal(err)
			}
			if d.Outcome != tt.want || d.Join.Case != tt.join {
				t.Fatalf("decision %+v, want %v %d", d, tt.want, tt.join)
			}
			for _, m := range append(d.Suggestions, d.Join) {
				if m.Case == bribe {
					t.Errorf("the sensitive case %d is offered: %+v", bribe, d)
				}
			}
			if d.Outcome != grouping.Suggest {
				return
			}
			// The report opens its case; the suggestion is kept and
			// shown on the case it looks like.
			opened := ingest(tt.text, tt.lang, false)
			added, err := db.AddCaseSuggestions(ctx, d.Suggested(opened, "NEW", clk.Now()))
			if err != nil || added != 1 {
				t.Fatalf("added %d, %v", added, err)
			}
			if counts, err := db.SuggestionCounts(ctx, []citybot.CaseID{main}); err != nil || counts[main] != 1 {
				t.Errorf("reports like the burst main: %v, %v", counts, err)
			}
		})
	}
}

// The benchmark's store: 100,000 open cases (every status from new to
// answered, one in 13 sensitive) and 200,000 messages in one SQLite file,
// made once per run; CITYBOT_BENCH_GROUPING_DB names a file to keep it
// between runs.
var bench struct {
	once sync.Once
	db   *store.DB
	dir  string
	err  error
}

// benchNow is the benchmark's clock: a minute after the last synthetic
// case (store.Synthesize opens case i at 2025-01-01 plus i × 2 minutes).
var benchNow = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(100_000*2*time.Minute + time.Minute)

func benchStore(b *testing.B) *store.DB {
	b.Helper()
	bench.once.Do(func() {
		ctx := context.Background()
		path := os.Getenv("CITYBOT_BENCH_GROUPING_DB")
		if path == "" {
			if bench.dir, bench.err = os.MkdirTemp("", "citybot-grouping-bench-"); bench.err != nil {
				return
			}
			path = filepath.Join(bench.dir, "bench.db")
		}
		// The store's clock only dates what BenchmarkIngest adds: ten
		// days back, out of the window BenchmarkGroup reads, so that a
		// kept file measures the same thing run after run.
		intakeAt := benchNow.Add(-10 * 24 * time.Hour)
		if bench.db, bench.err = store.Open(ctx, path, store.Options{Now: func() time.Time { return intakeAt }}); bench.err != nil {
			return
		}
		switch _, err := bench.db.Case(ctx, 1); {
		case errors.Is(err, citybot.ErrNotFound):
			bench.err = bench.db.Synthesize(ctx, store.SynthOptions{Cases: 100_000, Messages: 200_000, OpenPercent: 100})
		case err != nil:
			bench.err = err
		}
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.db
}

// cpuTime is the CPU time the process used so far (user and system): on
// a shared machine, where other work stretches the wall clock, it tells
// what one operation costs.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.db != nil {
		bench.db.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// BenchmarkGroup measures what grouping adds to intake at 100,000 open
// cases: the candidate queries (by topic, by place), the texts of the
// shortlist and the decision, for a pothole report and for one the
// classifier calls "other", both at the busiest street of the file (a
// quarter of its cases). BenchmarkIngest, run beside it, is the store's
// own intake of one message in the same file: the ratio of the two is
// what grouping adds.
func BenchmarkGroup(b *testing.B) {
	db := benchStore(b)
	cl, opts := testCity(b)
	g, err := grouping.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct{ name, text string }{
		{"roads", "There is a big pothole on Main Street near number 12, my tyre burst"},
		{"other", "Something strange on Main Street since this morning"},
	} {
		r := grouping.Report{Text: bb.text, At: benchNow, Class: cl.Classify(bb.text, "en")}
		q := g.Query(r)
		cands, err := db.CandidateCases(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		d, err := g.Group(context.Background(), db, r)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bb.name, func(b *testing.B) {
			b.ReportMetric(float64(len(cands)), "candidates")
			b.Logf("%s: topic %s, %d candidates, decision %v", bb.name, r.Class.Topic.Label, len(cands), d.Outcome)
			ctx := context.Background()
			cpu := cpuTime(b)
			for b.Loop() {
				if _, err := g.Group(ctx, db, r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

func BenchmarkIngest(b *testing.B) {
	db := benchStore(b)
	cl, _ := testCity(b)
	text := "There is a big pothole on Main Street near number 12, my tyre burst"
	c := cl.Classify(text, "en")
	ctx := context.Background()
	run := time.Now().UnixNano() // ids unique across runs on a kept file
	i := 0
	cpu := cpuTime(b)
	defer func() { b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		i++
		in := citybot.Intake{
			Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprintf("bench-%d-%d", run, i)), ChatKind: citybot.ChatPrivate,
				ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprintf("bench-%d-%d", run, i))}, Text: text},
			Classification: &c, Mode: citybot.CaseJoinOrOpen, Window: 30 * time.Minute,
		}
		if _, err := db.Ingest(ctx, in, nil); err != nil {
			b.Fatal(err)
		}
	}
}
