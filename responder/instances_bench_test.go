package responder_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
	"citybot/classifier"
	"citybot/internal/pgtest"
	"citybot/responder"
	"citybot/store"
)

// BenchmarkIngestInstances is issue 12's intake benchmark: citizens'
// messages through the whole inbound pipeline (the real classifier, the
// intake transaction) until HandleMessage returns, that is until the
// message, its case and the acknowledgement's outbox row are committed;
// no dispatcher runs. Sub-benchmarks, in one run so that they share the
// machine's load: sqlite-1 (one instance on a SQLite file), postgres-1
// and postgres-3 (one and three instances on one PostgreSQL database;
// skipped without CITYBOT_TEST_POSTGRES_URL). An instance is what a
// citybot process has: its own store handle (pools, write queue), its own
// classifier and responder. ingestCallers callers send at once, message n
// to instance n mod k; one citizen in three writes again (a follow-up, on
// another instance when there are several). It reports messages a second
// and the latency of a call (p50, p99 in ms: until the acknowledgement is
// queued), and checks that every message opened or followed a case and
// that each case was acknowledged once.
//
//	go test ./responder -run '^$' -bench IngestInstances -benchtime 3000x -count 3
func BenchmarkIngestInstances(b *testing.B) {
	b.Run("sqlite-1", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "bench.db")
		benchInstances(b, 1, func(ctx context.Context) (*store.DB, error) { return store.Open(ctx, path, store.Options{}) })
	})
	for _, k := range []int{1, 3} {
		b.Run(fmt.Sprintf("postgres-%d", k), func(b *testing.B) {
			src := pgtest.NewDB(b, "citybot_bench") // skips without CITYBOT_TEST_POSTGRES_URL
			benchInstances(b, k, func(ctx context.Context) (*store.DB, error) { return store.OpenPostgres(ctx, src, store.Options{}) })
		})
	}
}

// ingestCallers is how many messages are in the pipeline at once: many
// citizens writing together, as in a surge.
const ingestCallers = 64

func benchInstances(b *testing.B, k int, open func(context.Context) (*store.DB, error)) {
	ctx := context.Background()
	var dbs []*store.DB
	var rs []*responder.Responder
	for range k {
		db, err := open(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		cl, err := classifier.New(classifier.DefaultOptions())
		if err != nil {
			b.Fatal(err)
		}
		r, err := responder.New(responder.Options{Store: db, Classifier: cl, Policy: testPolicy(b)})
		if err != nil {
			b.Fatal(err)
		}
		dbs, rs = append(dbs, db), append(rs, r)
	}
	texts := []string{
		"There is a huge pothole on Main Street near the school",
		"Il y a une coupure d'eau rue Victor Hugo depuis ce matin",
		"Gas smell in the building at 4 Elm Street",
		"The street light in front of the library is out",
	}
	citizens := int64(b.N)/3 + 1
	lat := make([]time.Duration, b.N)
	var seq atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range ingestCallers {
		wg.Go(func() {
			for {
				n := seq.Add(1) - 1
				if n >= int64(b.N) {
					return
				}
				user := fmt.Sprint("u", n%citizens)
				m := citybot.Message{
					Platform: citybot.Telegram, Chat: citybot.ChatID("chat-" + user), ChatKind: citybot.ChatPrivate,
					ID: citybot.PlatformMessageID(fmt.Sprint(n)), Sender: citybot.Sender{ID: citybot.UserID(user)},
					Text: texts[n%int64(len(texts))], SentAt: time.Now(),
				}
				t0 := time.Now()
				if err := rs[n%int64(k)].HandleMessage(ctx, m); err != nil {
					b.Error(err)
					return
				}
				lat[n] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if b.Failed() {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")

	// Every message was stored in a case, each case acknowledged once.
	items, err := dbs[0].OutboxItems(ctx, "in:")
	if err != nil {
		b.Fatal(err)
	}
	acked := map[citybot.CaseID]int{}
	for _, it := range items {
		if it.Kind == citybot.OutboxAck {
			acked[it.Case]++
		}
	}
	for id, n := range acked {
		if n != 1 {
			b.Fatalf("case %d acknowledged %d times", id, n)
		}
	}
	if int64(len(acked)) != min(citizens, int64(b.N)) {
		b.Fatalf("%d cases acknowledged, want one per citizen (%d)", len(acked), min(citizens, int64(b.N)))
	}
}
