package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"citybot"
)

// TestCrashKeepsIntakeAtomic kills a process that ingests messages (SIGKILL,
// mid-burst) and checks the database it leaves: intact, every message it
// reported committed is there, and every stored message that opened a case
// has exactly one acknowledgement queued: never a message without its
// case and reply, never a reply twice. On both engines.
func TestCrashKeepsIntakeAtomic(t *testing.T) {
	if os.Getenv("CITYBOT_CRASH_DB") != "" {
		crashChild(testEngine{Engine(os.Getenv("CITYBOT_CRASH_ENGINE"))}, os.Getenv("CITYBOT_CRASH_DB"))
		return
	}
	forEachEngine(t, testCrashKeepsIntakeAtomic)
}

func testCrashKeepsIntakeAtomic(t *testing.T, te testEngine) {
	path := te.newSource(t)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashKeepsIntakeAtomic$")
	cmd.Env = append(os.Environ(), "CITYBOT_CRASH_DB="+path, "CITYBOT_CRASH_ENGINE="+string(te.eng))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	committed := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(committed) < 300 {
		committed[sc.Text()] = true
	}
	if len(committed) < 300 {
		t.Fatalf("child committed only %d messages", len(committed))
	}
	cmd.Process.Kill() // SIGKILL while it keeps writing
	cmd.Wait()

	ctx := context.Background()
	db, err := te.open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen after the crash: %v", err)
	}
	defer db.Close()
	if te.eng == SQLite {
		var check string
		db.r.QueryRow(`PRAGMA integrity_check`).Scan(&check)
		if check != "ok" {
			t.Errorf("integrity_check: %s", check)
		}
	}
	for id := range committed {
		if _, _, _, err := db.MessageText(ctx, citybot.Telegram, citybot.ChatID("chat-"+id), citybot.PlatformMessageID(id)); err != nil {
			t.Errorf("message %s reported committed is gone: %v", id, err)
		}
	}
	var orphans, doubled, acks, cases int
	db.r.QueryRow(`SELECT COUNT(*) FROM messages m WHERE m.direction = 'in' AND m.case_id IS NULL`).Scan(&orphans)
	db.r.QueryRow(`SELECT COUNT(*) FROM (SELECT case_id FROM outbox WHERE kind = 'ack' GROUP BY case_id HAVING COUNT(*) > 1) AS d`).Scan(&doubled)
	db.r.QueryRow(`SELECT COUNT(*) FROM outbox WHERE kind = 'ack'`).Scan(&acks)
	db.r.QueryRow(`SELECT COUNT(*) FROM cases`).Scan(&cases)
	if orphans != 0 || doubled != 0 || acks != cases || cases < len(committed) {
		t.Errorf("after the crash: %d messages without a case, %d cases acknowledged twice, %d acks for %d cases (%d committed)",
			orphans, doubled, acks, cases, len(committed))
	}
}

// crashChild ingests messages from concurrent writers until killed,
// printing the id of each committed one.
func crashChild(te testEngine, path string) {
	ctx := context.Background()
	db, err := te.open(ctx, path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ids := make(chan string, 64)
	for w := range 4 {
		go func() {
			for i := w; ; i += 4 {
				id := strconv.Itoa(i)
				if _, err := db.Ingest(ctx, report(msg("chat-"+id, id, "u"+id, "pothole "+id), "roads", citybot.UrgencyNormal), ackFor); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				ids <- id
			}
		}()
	}
	w := bufio.NewWriter(os.Stdout)
	deadline := time.After(60 * time.Second) // never outlive a lost parent
	for {
		select {
		case id := <-ids:
			fmt.Fprintln(w, id)
			w.Flush()
		case <-deadline:
			os.Exit(3)
		}
	}
}
