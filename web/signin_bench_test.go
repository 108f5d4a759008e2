package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/casework"
	"citybot/internal/pgtest"
	"citybot/store"
)

// BenchmarkSignin is the cost of a sign-in with the limits kept in the
// database (sqlite, and postgres when CITYBOT_TEST_POSTGRES_URL is set)
// beside the same console keeping them in process memory (memory: one
// process's maps, as before the limits were shared), side by side in one
// run: a right password (bucket, back-off read, bcrypt, keys cleared,
// session) and a wrong one from a new address
// (bucket, back-off read, bcrypt, failure counted under the address and
// the account; no delay, so that every attempt does the whole work). The
// password is hashed at bcrypt's least cost so that the limits' share
// shows: a real account's hash (the default cost) adds tens of
// milliseconds to every variant alike. Compare ns/op of the three.
func BenchmarkSignin(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) *store.DB
	}{
		{"memory", func(b *testing.B) *store.DB { return benchSigninDB(b, "") }},
		{"sqlite", func(b *testing.B) *store.DB { return benchSigninDB(b, "") }},
	}
	if admin := os.Getenv("CITYBOT_TEST_POSTGRES_URL"); admin != "" {
		engines = append(engines, struct {
			name string
			open func(b *testing.B) *store.DB
		}{"postgres", func(b *testing.B) *store.DB { return benchSigninDB(b, admin) }})
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			db := e.open(b)
			var st Store = db
			if e.name == "memory" {
				st = &memLimits{DB: db, buckets: map[string]float64{}, at: map[string]time.Time{}, strikes: map[string]citybot.SigninStrike{}}
			}
			off, err := casework.NewOfficer(casework.OfficerOptions{Policy: testPolicy(b), Store: db})
			if err != nil {
				b.Fatal(err)
			}
			srv, err := New(Options{Policy: testPolicy(b), Store: st, Officer: off, LoginBurst: 1 << 30, LoginEvery: time.Nanosecond,
				FreeFailures: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			h := srv.Handler()
			hash, err := bcrypt.GenerateFromPassword([]byte("the officer's password"), bcrypt.MinCost)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.CreateAccount(context.Background(), "olivia", citybot.RoleOfficer, string(hash), "bench"); err != nil {
				b.Fatal(err)
			}
			b.Run("right", func(b *testing.B) {
				for b.Loop() {
					if rec := signIn(h, "192.0.2.1:1", "olivia", "the officer's password", "/inbox", nil, nil); rec.Code != http.StatusSeeOther {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
			b.Run("wrong", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					addr := fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)
					if rec := signIn(h, addr, "olivia", "a guess", "/inbox", nil, nil); rec.Code != http.StatusUnauthorized {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}

// benchSigninDB is a new, empty database: a SQLite file, or a PostgreSQL
// database on the server admin names.
func benchSigninDB(b *testing.B, admin string) *store.DB {
	b.Helper()
	ctx := context.Background()
	var db *store.DB
	var err error
	if admin == "" {
		db, err = store.Open(ctx, b.TempDir()+"/citybot.db", store.Options{})
	} else {
		db, err = store.OpenPostgres(ctx, pgtest.NewDB(b, "citybot_web"), store.Options{})
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// memLimits keeps the sign-in limits in this process's memory, as the
// console did before they were shared: the baseline of BenchmarkSignin.
type memLimits struct {
	*store.DB
	mu      sync.Mutex
	buckets map[string]float64
	at      map[string]time.Time
	strikes map[string]citybot.SigninStrike
}

func (m *memLimits) TakeRateToken(_ context.Context, key string, burst int, every time.Duration) (bool, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	tokens, ok := m.buckets[key]
	if !ok {
		tokens = float64(burst)
	}
	tokens = min(float64(burst), tokens+now.Sub(m.at[key]).Seconds()/every.Seconds())
	m.at[key] = now
	if tokens < 1 {
		m.buckets[key] = tokens
		return false, every, nil
	}
	m.buckets[key] = tokens - 1
	return true, 0, nil
}

func (m *memLimits) SigninStrikes(_ context.Context, keys []string) (map[string]citybot.SigninStrike, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]citybot.SigninStrike{}
	for _, k := range keys {
		if s, ok := m.strikes[k]; ok {
			out[k] = s
		}
	}
	return out, nil
}

func (m *memLimits) RecordSigninFailure(_ context.Context, _ string, keys []citybot.SigninKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		s := m.strikes[k.Key]
		m.strikes[k.Key] = citybot.SigninStrike{Failures: s.Failures + 1, Last: time.Now()}
	}
	return nil
}

func (m *memLimits) ClearSigninStrikes(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.strikes, k)
	}
	return nil
}

func (m *memLimits) PruneSigninLimits(context.Context) (int, error) { return 0, nil }
