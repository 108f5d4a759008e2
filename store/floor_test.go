package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func BenchmarkFloorSetCursor(b *testing.B) {
	ctx := context.Background()
	db, _ := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	defer db.Close()
	for i := range b.N {
		db.SetCursor(ctx, fmt.Sprint("k", i), "v")
	}
}

func BenchmarkFloorSelect(b *testing.B) {
	ctx := context.Background()
	db, _ := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	defer db.Close()
	db.SetCursor(ctx, "k", "v")
	for range b.N {
		db.Cursor(ctx, "k")
	}
}

func BenchmarkFloor15Inserts(b *testing.B) {
	ctx := context.Background()
	db, _ := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	defer db.Close()
	for i := range b.N {
		tx, _ := db.w.BeginTx(ctx, nil)
		for j := range 15 {
			tx.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES (?, 'v', '')`, fmt.Sprint(i, "-", j))
		}
		tx.Commit()
	}
}

func BenchmarkFloor15InsertsNoCommit(b *testing.B) {
	ctx := context.Background()
	db, _ := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	defer db.Close()
	tx, _ := db.w.BeginTx(ctx, nil)
	for i := range b.N {
		for j := range 15 {
			tx.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES (?, 'v', '')`, fmt.Sprint(i, "-", j))
		}
	}
	tx.Commit()
}

func BenchmarkFloorIngestVariants(b *testing.B) {
	for _, v := range []string{"bare", "case", "case+tags", "full", "full-nofk"} {
		b.Run(v, func(b *testing.B) {
			ctx := context.Background()
			db, _ := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
			defer db.Close()
			if v == "full-nofk" {
				db.w.Exec("PRAGMA foreign_keys=0")
			}
			for i := range b.N {
				user := fmt.Sprint("u", i%(b.N/3+1))
				m := msg("chat-"+user, fmt.Sprint(i), user, "There is a huge pothole on Main Street near the school")
				in := report(m, "roads", "normal")
				var reply = ackFor
				switch v {
				case "bare":
					in.Mode, in.Classification, reply = 0, nil, nil
				case "case":
					in.Classification, reply = nil, nil
				case "case+tags":
					reply = nil
				}
				if _, err := db.Ingest(ctx, in, reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
