package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func openTest(t *testing.T, now func() time.Time) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "citybot.db"), Options{Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func msg(chat, id, user, text string) citybot.Message {
	return citybot.Message{
		Platform: citybot.Telegram, Chat: citybot.ChatID(chat), ChatKind: citybot.ChatPrivate,
		ID: citybot.PlatformMessageID(id), Sender: citybot.Sender{ID: citybot.UserID(user), Name: "Ada Citizen", Handle: "@ada"},
		Text: text,
	}
}

func report(m citybot.Message, topic string, u citybot.Urgency) citybot.Intake {
	return citybot.Intake{
		Message: m, Mode: citybot.CaseJoinOrOpen, Window: 30 * time.Minute,
		Classification: &citybot.Classification{Topic: citybot.Scored{Label: topic, Confidence: 0.8}, Urgency: u,
			UrgencyConfidence: 0.7, Language: "en", Places: []citybot.Place{{Name: "Main Street", Kind: "street"}}, Model: "test"},
	}
}

func ackFor(res citybot.IntakeResult) ([]citybot.OutboxItem, error) {
	if !res.NewCase {
		return nil, nil
	}
	return []citybot.OutboxItem{{
		Out:  citybot.Outgoing{Key: fmt.Sprintf("msg:%d:ack", res.Message), Platform: res.Case.Platform, Chat: res.Case.Chat, Text: "ack " + string(res.Case.Ref)},
		Kind: citybot.OutboxAck, Case: res.Case.ID,
	}}, nil
}

func TestMigrateIdempotent(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e testEngine) {
		ctx := context.Background()
		src := e.newEmptySource(t)
		db, err := e.open(ctx, src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		db.Close()
		db, err = e.open(ctx, src, Options{})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer db.Close()
		ms, err := loadMigrations(e.eng)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) {
			t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
		}
		// A database migrated by a newer binary is refused.
		if _, err := db.w.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (9999, '9999_future', '')`); err != nil {
			t.Fatal(err)
		}
		if err := db.Migrate(ctx); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("Migrate with unknown version: %v, want ErrInvalid", err)
		}
	})
}

func TestPragmasOnEveryConnection(t *testing.T) {
	db := openTest(t, nil)
	ctx := context.Background()
	// Hold several read connections at once so that the pool opens them.
	var conns []*sql.Conn
	for range 3 {
		c, err := db.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	wc, err := db.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, wc)
	for i, c := range conns {
		var fk, timeout, sync, temp int
		var mode string
		c.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&temp)
		c.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
		c.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout)
		c.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync)
		c.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)
		if fk != 1 || timeout != 5000 || sync != 1 || mode != "wal" || temp != 2 {
			t.Errorf("conn %d: foreign_keys=%d busy_timeout=%d synchronous=%d journal_mode=%s temp_store=%d", i, fk, timeout, sync, mode, temp)
		}
		c.Close()
	}
}

func TestOpenUnwritable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct{ name, path string }{
		{"missing directory", filepath.Join(dir, "nope", "x.db")},
		{"directory as file", dir},
		{"empty", ""},
		{"memory", ":memory:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(ctx, tt.path, Options{})
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", tt.path)
			}
			if !strings.HasPrefix(err.Error(), "store: open") {
				t.Errorf("error %q lacks the store prefix", err)
			}
		})
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		if _, err := Open(ctx, filepath.Join(ro, "x.db"), Options{}); err == nil || !strings.Contains(err.Error(), "not writable") {
			t.Errorf("read-only dir: %v", err)
		}
	}
}

func TestIngestNewCaseAndRedelivery(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		m := msg("c1", "10", "u1", "Pothole on Main Street")
		res, err := db.Ingest(ctx, report(m, "roads", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if !res.NewCase || res.Case == nil || res.Duplicate {
			t.Fatalf("first delivery: %+v", res)
		}
		c := res.Case
		if c.Status != citybot.StatusNew || c.Topic != "roads" || len(c.Ref) != RefLen || c.Chat != "c1" || c.Platform != citybot.Telegram {
			t.Errorf("case = %+v", c)
		}
		if len(c.Places) != 1 || c.Places[0] != "Main Street" {
			t.Errorf("places = %v", c.Places)
		}
		again, err := db.Ingest(ctx, report(m, "roads", citybot.UrgencyNormal), func(citybot.IntakeResult) ([]citybot.OutboxItem, error) {
			t.Error("reply called on a redelivery")
			return nil, nil
		})
		if err != nil || !again.Duplicate {
			t.Fatalf("redelivery: %+v, %v", again, err)
		}
		items, err := db.OutboxItems(ctx, "")
		if err != nil || len(items) != 1 {
			t.Fatalf("outbox = %v, %v; want one row", items, err)
		}
		if items[0].Kind != citybot.OutboxAck || items[0].Case != c.ID || items[0].State != citybot.OutboxPending || items[0].Out.Text != "ack "+string(c.Ref) {
			t.Errorf("outbox row = %+v", items[0])
		}
		var n int
		db.r.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n)
		if n != 1 {
			t.Errorf("%d messages stored, want 1", n)
		}
		tags, err := db.CaseTags(ctx, c.ID)
		if err != nil || len(tags) != 4 {
			t.Fatalf("tags = %+v, %v", tags, err)
		}
		if tags[0].Kind != "topic" || tags[0].Value != "roads" || tags[0].Confidence != 0.8 || tags[0].Source != citybot.ByClassifier {
			t.Errorf("first tag = %+v", tags[0])
		}
	})
}

func TestIdentityIsPrivate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		res, err := db.Ingest(ctx, report(msg("c1", "1", "secret-user-42", "hello"), "other", citybot.UrgencyLow), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		// The citizen row and the case carry no platform identity.
		for _, table := range []string{"citizens", "cases", "messages", "outbox", "tags", "audit_log"} {
			rows, err := db.r.Query(`SELECT * FROM ` + table)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]sql.NullString, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				rows.Scan(ptrs...)
				for i, v := range vals {
					if strings.Contains(v.String, "secret-user-42") || strings.Contains(v.String, "Ada Citizen") || strings.Contains(v.String, "@ada") {
						t.Errorf("%s.%s holds an identity: %q", table, cols[i], v.String)
					}
				}
			}
			rows.Close()
		}
		var name string
		db.r.QueryRow(`SELECT name FROM citizen_identities WHERE citizen_id = ?`, int64(res.Citizen.ID)).Scan(&name)
		if name != "Ada Citizen" {
			t.Errorf("private identity name = %q", name)
		}
	})
}

func TestCaseJoining(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		first, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "Water cut"), "water_sanitation", citybot.UrgencyNormal), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(10 * time.Minute)
		follow, err := db.Ingest(ctx, report(msg("c1", "2", "u1", "Still no water, a child is sick"), "water_sanitation", citybot.UrgencyCritical), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		if follow.NewCase || follow.Case == nil || follow.Case.ID != first.Case.ID {
			t.Fatalf("follow-up within the window did not join: %+v", follow)
		}
		if !follow.Escalated || follow.Case.Urgency != citybot.UrgencyCritical {
			t.Errorf("follow-up did not escalate: %+v", follow.Case)
		}
		// The follow-up learns when the citizen last heard about the case:
		// the acknowledgement queued with the first message.
		if want := clk.Now().Add(-10 * time.Minute); !follow.CaseLastQueued.Equal(want) || !first.CaseLastQueued.IsZero() {
			t.Errorf("CaseLastQueued = %v (first message: %v), want %v (zero)", follow.CaseLastQueued, first.CaseLastQueued, want)
		}
		// Another citizen in the same chat opens their own case.
		other, err := db.Ingest(ctx, report(msg("c1", "3", "u2", "Me too"), "water_sanitation", citybot.UrgencyNormal), ackFor)
		if err != nil || !other.NewCase {
			t.Fatalf("other citizen: %+v, %v", other, err)
		}
		// After the window, a new case.
		clk.Add(31 * time.Minute)
		late, err := db.Ingest(ctx, report(msg("c1", "4", "u1", "Streetlight out"), "street_lighting", citybot.UrgencyLow), ackFor)
		if err != nil || !late.NewCase {
			t.Fatalf("after the window: %+v, %v", late, err)
		}
		// A reply to the first case's message joins it even after the window.
		m := msg("c1", "5", "u1", "About that water cut")
		m.ReplyTo = "1"
		reply, err := db.Ingest(ctx, report(m, "other", citybot.UrgencyLow), ackFor)
		if err != nil || reply.NewCase || reply.Case.ID != first.Case.ID {
			t.Fatalf("reply did not join its case: %+v, %v", reply, err)
		}
		// A reply to another citizen's case message does not join their case.
		m = msg("c1", "6", "u2", "+1")
		m.ReplyTo = "1"
		clk.Add(time.Hour)
		notTheirs, err := db.Ingest(ctx, report(m, "other", citybot.UrgencyLow), ackFor)
		if err != nil || notTheirs.Case.ID == first.Case.ID {
			t.Fatalf("reply joined another citizen's case: %+v, %v", notTheirs, err)
		}
		// A command joins nothing; CaseJoinOnly opens nothing.
		cmd, err := db.Ingest(ctx, citybot.Intake{Message: msg("c1", "7", "u3", "/help"), Mode: citybot.CaseNone}, nil)
		if err != nil || cmd.Case != nil {
			t.Fatalf("command: %+v, %v", cmd, err)
		}
		bare, err := db.Ingest(ctx, citybot.Intake{Message: msg("c1", "8", "u3", ""), Mode: citybot.CaseJoinOnly, Window: time.Hour}, nil)
		if err != nil || bare.Case != nil {
			t.Fatalf("bare message: %+v, %v", bare, err)
		}
	})
}

func TestEdit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		m := msg("c1", "1", "u1", "Garbage not collected")
		res, err := db.Ingest(ctx, report(m, "waste", citybot.UrgencyLow), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		m.Edit, m.Text = true, "Gas leak on Elm Street"
		ed, err := db.Ingest(ctx, report(m, "public_safety", citybot.UrgencyCritical), ackFor)
		if err != nil || !ed.Edited || ed.NewCase || ed.Case == nil {
			t.Fatalf("edit: %+v, %v", ed, err)
		}
		if ed.Case.Topic != "public_safety" || ed.Case.Urgency != citybot.UrgencyCritical {
			t.Errorf("edit of a new case was not re-classified: %+v", ed.Case)
		}
		text, _, editedAt, err := db.MessageText(ctx, citybot.Telegram, "c1", "1")
		if err != nil || text != "Gas leak on Elm Street" || !editedAt.Equal(clk.Now()) {
			t.Errorf("stored text %q edited %v, %v", text, editedAt, err)
		}
		var old string
		db.r.QueryRow(`SELECT old_text FROM message_edits`).Scan(&old)
		if old != "Garbage not collected" {
			t.Errorf("edit history = %q", old)
		}
		// The same edit again is a no-op.
		again, err := db.Ingest(ctx, report(m, "public_safety", citybot.UrgencyCritical), ackFor)
		if err != nil || !again.Duplicate {
			t.Errorf("repeated edit: %+v, %v", again, err)
		}
		// Once acknowledged, an edit keeps the case's topic.
		if _, err := db.SetCaseStatus(ctx, res.Case.ID, citybot.StatusChange{To: citybot.StatusAcknowledged}); err != nil {
			t.Fatal(err)
		}
		m.Text = "Actually noise"
		ed, err = db.Ingest(ctx, report(m, "noise", citybot.UrgencyLow), ackFor)
		if err != nil || ed.Case.Topic != "public_safety" {
			t.Errorf("edit after acknowledgement changed the case: %+v, %v", ed.Case, err)
		}
		// An edit of a message never seen is stored as new.
		m2 := msg("c1", "99", "u9", "edited before we saw it")
		m2.Edit = true
		res2, err := db.Ingest(ctx, report(m2, "other", citybot.UrgencyLow), ackFor)
		if err != nil || !res2.NewCase || res2.Edited {
			t.Errorf("edit of unseen message: %+v, %v", res2, err)
		}
	})
}

func TestLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		a, _ := db.Ingest(ctx, report(msg("c1", "1", "u1", "a"), "roads", citybot.UrgencyLow), ackFor)
		b, _ := db.Ingest(ctx, report(msg("c2", "1", "u2", "b"), "roads", citybot.UrgencyLow), ackFor)
		id := a.Case.ID
		steps := []struct {
			ch      citybot.StatusChange
			wantErr error
		}{
			{citybot.StatusChange{To: citybot.StatusNew}, citybot.ErrInvalid},
			{citybot.StatusChange{To: citybot.StatusAcknowledged, Actor: "dispatcher"}, nil},
			{citybot.StatusChange{To: citybot.StatusAcknowledged}, citybot.ErrInvalid},
			{citybot.StatusChange{To: citybot.StatusInProgress, Actor: "officer1"}, nil},
			{citybot.StatusChange{To: citybot.StatusAnswered, Actor: "officer1"}, nil},
			{citybot.StatusChange{To: citybot.StatusResolved, Actor: "officer1"}, nil},
			{citybot.StatusChange{To: citybot.StatusClosed, Actor: "officer1", Reason: "done"}, citybot.ErrInvalid},
			{citybot.StatusChange{To: citybot.StatusInProgress, Actor: "officer1"}, nil},
			{citybot.StatusChange{To: citybot.StatusClosed, Actor: "officer1"}, citybot.ErrInvalid},
			{citybot.StatusChange{To: citybot.StatusDuplicate, Actor: "officer1", DuplicateOf: id}, citybot.ErrInvalid},
			{citybot.StatusChange{To: citybot.StatusDuplicate, Actor: "officer1", DuplicateOf: 9999}, citybot.ErrNotFound},
			{citybot.StatusChange{To: citybot.StatusDuplicate, Actor: "officer1", DuplicateOf: b.Case.ID}, nil},
			{citybot.StatusChange{To: citybot.StatusInProgress, Actor: "officer1"}, citybot.ErrInvalid},
		}
		for i, s := range steps {
			got, err := db.SetCaseStatus(ctx, id, s.ch)
			if s.wantErr != nil {
				if !errors.Is(err, s.wantErr) {
					t.Errorf("step %d (→%s): err %v, want %v", i, s.ch.To, err, s.wantErr)
				}
				continue
			}
			if err != nil || got.Status != s.ch.To {
				t.Errorf("step %d (→%s): %v, status %s", i, s.ch.To, err, got.Status)
			}
		}
		c, _ := db.Case(ctx, id)
		if c.Status != citybot.StatusDuplicate || c.DuplicateOf != b.Case.ID {
			t.Errorf("final case = %+v", c)
		}
		entries, err := db.Audit(ctx, caseSubject(id))
		if err != nil {
			t.Fatal(err)
		}
		// the 6 successful status changes
		if len(entries) != 6 || entries[0].Action != "case.status" || entries[0].Actor != "dispatcher" || !strings.Contains(entries[5].After, "duplicate") {
			t.Errorf("audit = %+v", entries)
		}
		if _, err := db.SetCaseStatus(ctx, 424242, citybot.StatusChange{To: citybot.StatusResolved}); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown case: %v", err)
		}
		// Closing with a reason works from an open status.
		if got, err := db.SetCaseStatus(ctx, b.Case.ID, citybot.StatusChange{To: citybot.StatusClosed, Reason: "spam"}); err != nil || got.CloseReason != "spam" {
			t.Errorf("close: %+v, %v", got, err)
		}
	})
}

func TestRefsUnique(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		seen := map[citybot.CaseRef]bool{}
		for range 20000 {
			r := newRef()
			if len(r) != RefLen || strings.Trim(string(r), refAlphabet) != "" {
				t.Fatalf("bad ref %q", r)
			}
			seen[r] = true
		}
		// 20000 draws from 19^6 (47M): about 4.3 collisions expected
		// (n²/2N). At most 20 fails a true generator once in some 200
		// million runs (Poisson tail); the bound of 10 it had failed
		// about one run in 220 (CI, session 9: 11). A generator with 4
		// bits less entropy (68 expected) fails it nearly always.
		if len(seen) < 19980 {
			t.Errorf("only %d distinct refs in 20000", len(seen))
		}
		// The UNIQUE index holds even for a forced collision.
		ctx := context.Background()
		db := te.openTest(t, nil)
		a, _ := db.Ingest(ctx, report(msg("c1", "1", "u1", "a"), "roads", citybot.UrgencyLow), ackFor)
		b, _ := db.Ingest(ctx, report(msg("c2", "1", "u2", "b"), "roads", citybot.UrgencyLow), ackFor)
		_, err := db.w.ExecContext(ctx, `UPDATE cases SET ref = ? WHERE id = ?`, string(a.Case.Ref), int64(b.Case.ID))
		if !errors.Is(mapErr(err), citybot.ErrDuplicate) {
			t.Errorf("ref collision: %v, want ErrDuplicate", err)
		}
		got, err := db.CaseByRef(ctx, citybot.CaseRef(strings.ToLower(string(a.Case.Ref))))
		if err != nil || got.ID != a.Case.ID {
			t.Errorf("CaseByRef lower case: %+v, %v", got, err)
		}
		if _, err := db.CaseByRef(ctx, "ZZZZZZ"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown ref: %v", err)
		}
	})
}

func TestErrorMapping(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		_, err := db.w.ExecContext(ctx, `INSERT INTO cases (ref, status, platform, chat_id, citizen_id, opened_at, updated_at, last_message_at)
		VALUES ('AAAAAA', 'new', 'telegram', 999, 999, '', '', '')`)
		if !errors.Is(mapErr(err), citybot.ErrInvalid) {
			t.Errorf("foreign key: %v", mapErr(err))
		}
		_, err = db.w.ExecContext(ctx, `INSERT INTO cursors (key, value, updated_at) VALUES ('k', 'v', ''), ('k', 'w', '')`)
		if !errors.Is(mapErr(err), citybot.ErrDuplicate) {
			t.Errorf("unique: %v", mapErr(err))
		}
		_, err = db.w.ExecContext(ctx, `INSERT INTO outbox (key, kind, platform, chat, text, state, next_attempt_at, created_at, updated_at)
		VALUES ('x', 'ack', 'telegram', 'c', 't', 'bogus', '', '', '')`)
		if !errors.Is(mapErr(err), citybot.ErrInvalid) {
			t.Errorf("check: %v", mapErr(err))
		}
		if _, err := db.Case(ctx, 12345); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("missing case: %v", err)
		}
		if _, err := db.Ingest(ctx, citybot.Intake{Message: citybot.Message{Platform: "irc", Chat: "c", ID: "1"}}, nil); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("unknown platform: %v", err)
		}
		if err := db.MarkSent(ctx, 777, citybot.Sent{}); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("mark unknown row sent: %v", err)
		}
		if err := db.RetryOutbox(ctx, 777, time.Now(), true, "x"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("retry unknown row: %v", err)
		}
	})
}

func TestCursorRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		if v, err := db.Cursor(ctx, "telegram:offset"); err != nil || v != "" {
			t.Fatalf("missing cursor = %q, %v", v, err)
		}
		for _, v := range []string{"100", "101", ""} {
			if err := db.SetCursor(ctx, "telegram:offset", v); err != nil {
				t.Fatal(err)
			}
			if got, err := db.Cursor(ctx, "telegram:offset"); err != nil || got != v {
				t.Errorf("cursor = %q, %v; want %q", got, err, v)
			}
		}
		if err := db.SetCursor(ctx, "", "x"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("empty key: %v", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		huge := strings.Repeat("é", 5<<20) // 10 MB
		tests := []struct {
			name, text string
			truncated  bool
			want       func(string) bool
		}{
			{"empty", "", false, func(s string) bool { return s == "" }},
			{"huge", huge, true, func(s string) bool { return len(s) <= citybot.MaxStoredText && len(s) > citybot.MaxStoredText-4 }},
			{"invalid utf8", "bad \xff\xfe bytes", false, func(s string) bool { return s == "bad \uFFFD bytes" }},
			{"controls", "a\x00b\x07c\td\ne", false, func(s string) bool { return s == "abc\td\ne" }},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := fmt.Sprint(i)
				m := msg("bad", id, "u"+id, tt.text)
				if _, err := db.Ingest(ctx, report(m, "other", citybot.UrgencyLow), ackFor); err != nil {
					t.Fatal(err)
				}
				text, trunc, _, err := db.MessageText(ctx, citybot.Telegram, "bad", citybot.PlatformMessageID(id))
				if err != nil {
					t.Fatal(err)
				}
				if trunc != tt.truncated || !tt.want(text) {
					t.Errorf("stored %d bytes (truncated=%v): %.40q", len(text), trunc, text)
				}
			})
		}
	})
}

func TestOutboxClaimOrderAndStates(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		item := func(key, chat string) citybot.OutboxItem {
			return citybot.OutboxItem{Out: citybot.Outgoing{Key: key, Platform: citybot.Telegram, Chat: citybot.ChatID(chat), Text: key}}
		}
		n, err := db.Enqueue(ctx, item("a#1", "c1"), item("a#2", "c1"), item("b#1", "c2"), item("a#1", "c1"))
		if err != nil || n != 3 {
			t.Fatalf("Enqueue = %d, %v; want 3 (the repeated key skipped)", n, err)
		}
		claimed, err := claimOutbox(ctx, db, tgOnly, 10)
		if err != nil {
			t.Fatal(err)
		}
		keys := func(items []citybot.OutboxItem) string {
			var ks []string
			for _, it := range items {
				ks = append(ks, it.Out.Key)
			}
			return strings.Join(ks, ",")
		}
		if got := keys(claimed); got != "a#1,b#1" {
			t.Fatalf("first claim = %s, want one head per chat", got)
		}
		if again, _ := claimOutbox(ctx, db, tgOnly, 10); len(again) != 0 {
			t.Fatalf("second claim while sending = %s", keys(again))
		}
		// a#1 throttled: back to pending later; a#2 still waits behind it.
		if err := db.RetryOutbox(ctx, claimed[0].ID, clk.Now().Add(time.Second), false, "429"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkSent(ctx, claimed[1].ID, citybot.Sent{ID: "900"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := claimOutbox(ctx, db, tgOnly, 10); len(got) != 0 {
			t.Fatalf("claimed %s before a#1 was due", keys(got))
		}
		if next, ok, err := db.NextOutboxDueAfter(ctx, tgOnly, time.Time{}); err != nil || !ok || !next.Equal(clk.Now().Add(time.Second)) {
			t.Errorf("NextOutboxDueAfter = %v %v %v", next, ok, err)
		}
		clk.Add(time.Second)
		got, _ := claimOutbox(ctx, db, tgOnly, 10)
		if keys(got) != "a#1" || got[0].Attempts != 0 || got[0].LastError != "429" {
			t.Fatalf("after the delay: %+v", got)
		}
		// Failing a#1 for good unblocks a#2.
		if err := db.FailOutbox(ctx, got[0].ID, "blocked"); err != nil {
			t.Fatal(err)
		}
		got, _ = claimOutbox(ctx, db, tgOnly, 10)
		if keys(got) != "a#2" {
			t.Fatalf("after failure: %s", keys(got))
		}
		// A crash leaves a#2 in sending: the next dispatcher finds it and
		// sends it again (its platform recognises a repeat).
		if left, err := db.SendingOutbox(ctx, tgOnly); err != nil || keys(left) != "a#2" {
			t.Fatalf("SendingOutbox = %s, %v", keys(left), err)
		} else if err := db.RetryOutbox(ctx, left[0].ID, clk.Now(), false, "interrupted"); err != nil {
			t.Fatal(err)
		}
		st, err := db.OutboxStats(ctx)
		if err != nil || st.Pending != 1 || st.Failed != 1 || !st.Oldest.Equal(newClock().Now()) {
			t.Errorf("stats = %+v, %v", st, err)
		}
		it, err := db.OutboxItem(ctx, "b#1")
		if err != nil || it.State != citybot.OutboxSent || it.SentID != "900" {
			t.Errorf("b#1 = %+v, %v", it, err)
		}
		if _, err := db.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: ""}}); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("row without key: %v", err)
		}
	})
}

func TestAckSentAcknowledgesCase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		res, err := db.Ingest(ctx, report(msg("c1", "1", "u1", "Broken bench"), "parks", citybot.UrgencyLow), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		claimed, _ := claimOutbox(ctx, db, tgOnly, 1)
		if len(claimed) != 1 {
			t.Fatal("nothing to claim")
		}
		if err := db.MarkSent(ctx, claimed[0].ID, citybot.Sent{ID: "555"}); err != nil {
			t.Fatal(err)
		}
		c, _ := db.Case(ctx, res.Case.ID)
		if c.Status != citybot.StatusAcknowledged {
			t.Errorf("status after ack = %s", c.Status)
		}
		// Marking it sent twice changes nothing.
		if err := db.MarkSent(ctx, claimed[0].ID, citybot.Sent{ID: "555"}); err != nil {
			t.Errorf("second MarkSent: %v", err)
		}
		// A citizen's reply to the bot's acknowledgement joins the case.
		m := msg("c1", "2", "u1", "thanks")
		m.ReplyTo = "555"
		r, err := db.Ingest(ctx, citybot.Intake{Message: m, Mode: citybot.CaseJoinOrOpen}, nil)
		if err != nil || r.Case == nil || r.Case.ID != res.Case.ID {
			t.Errorf("reply to ack: %+v, %v", r.Case, err)
		}
	})
}

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, nil)
	for i := range 50 {
		if _, err := db.Ingest(ctx, report(msg("c", fmt.Sprint(i), "u", "text"), "roads", citybot.UrgencyLow), ackFor); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 50; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Ingest(ctx, report(msg("c", fmt.Sprint(i), fmt.Sprint("u", i), "text"), "roads", citybot.UrgencyLow), ackFor); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dst := filepath.Join(t.TempDir(), "backup.db")
	err := db.Backup(ctx, dst)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	cp, err := Open(ctx, dst, Options{})
	if err != nil {
		t.Fatalf("open backup: %v", err)
	}
	defer cp.Close()
	var ok string
	cp.r.QueryRow(`PRAGMA integrity_check`).Scan(&ok)
	var msgs, cases int
	cp.r.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&msgs)
	cp.r.QueryRow(`SELECT COUNT(*) FROM cases`).Scan(&cases)
	if ok != "ok" || msgs < 50 || cases < 1 {
		t.Errorf("backup: integrity %q, %d messages, %d cases", ok, msgs, cases)
	}
	if err := db.Backup(ctx, db.Path()); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("backup onto itself: %v", err)
	}
}

func TestInbox(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		var ids []citybot.CaseID
		for i, u := range []citybot.Urgency{citybot.UrgencyLow, citybot.UrgencyCritical, citybot.UrgencyNormal, citybot.UrgencyCritical} {
			clk.Add(time.Hour)
			res, err := db.Ingest(ctx, report(msg(fmt.Sprint("c", i), "1", fmt.Sprint("u", i), "x"), "roads", u), ackFor)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Case.ID)
		}
		db.SetCaseStatus(ctx, ids[2], citybot.StatusChange{To: citybot.StatusResolved})
		got, err := db.Inbox(ctx, citybot.CaseFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var order []citybot.CaseID
		for _, c := range got {
			order = append(order, c.ID)
		}
		if fmt.Sprint(order) != fmt.Sprint([]citybot.CaseID{ids[1], ids[3], ids[0]}) {
			t.Errorf("inbox order = %v (ids %v)", order, ids)
		}
		crit, _ := db.Inbox(ctx, citybot.CaseFilter{Urgency: citybot.UrgencyCritical, Limit: 1})
		if len(crit) != 1 || crit[0].ID != ids[1] {
			t.Errorf("critical filter = %+v", crit)
		}
		res, _ := db.Inbox(ctx, citybot.CaseFilter{Statuses: []citybot.CaseStatus{citybot.StatusResolved}})
		if len(res) != 1 || res[0].ID != ids[2] {
			t.Errorf("resolved filter = %+v", res)
		}
	})
}

// tgOnly claims Telegram rows.
var tgOnly = []citybot.Platform{citybot.Telegram}

func TestClaimOnlyOwnPlatforms(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		_, err := db.Enqueue(ctx,
			citybot.OutboxItem{Out: citybot.Outgoing{Key: "d", Platform: citybot.Discord, Chat: "c", Text: "x"}},
			citybot.OutboxItem{Out: citybot.Outgoing{Key: "t", Platform: citybot.Telegram, Chat: "c", Text: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := claimOutbox(ctx, db, tgOnly, 10)
		if err != nil || len(got) != 1 || got[0].Out.Key != "t" {
			t.Fatalf("claim = %+v, %v", got, err)
		}
		if _, ok, _ := db.NextOutboxDueAfter(ctx, tgOnly, time.Time{}); ok {
			t.Error("NextOutboxDue sees the Discord row", time.Time{})
		}
		if _, ok, _ := db.NextOutboxDueAfter(ctx, []citybot.Platform{citybot.Telegram, citybot.Discord}, time.Time{}); !ok {
			t.Error("NextOutboxDue misses the Discord row", time.Time{})
		}
		if got, _ := claimOutbox(ctx, db, nil, 10); len(got) != 0 {
			t.Errorf("claim for no platform = %+v", got)
		}
	})
}

func TestCaseMessages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		db := te.openTest(t, nil)
		m := msg("c1", "1", "u1", "Broken bench")
		m.Location = &citybot.Location{Latitude: 48.85, Longitude: 2.35}
		m.Attachments = []citybot.Attachment{{Kind: citybot.AttachPhoto, FileID: "f1", Size: 10}}
		res, err := db.Ingest(ctx, report(m, "parks", citybot.UrgencyLow), ackFor)
		if err != nil {
			t.Fatal(err)
		}
		claimed, _ := claimOutbox(ctx, db, tgOnly, 1)
		if err := db.MarkSent(ctx, claimed[0].ID, citybot.Sent{ID: "555"}); err != nil {
			t.Fatal(err)
		}
		got, err := db.CaseMessages(ctx, res.Case.ID)
		if err != nil || len(got) != 2 {
			t.Fatalf("CaseMessages = %+v, %v", got, err)
		}
		in, out := got[0], got[1]
		if in.Direction != citybot.Inbound || in.Text != "Broken bench" || in.Citizen != res.Citizen.ID || in.Location == nil ||
			len(in.Attachments) != 1 || in.Attachments[0].FileID != "f1" || in.Classification == nil || in.Classification.Topic.Label != "parks" {
			t.Errorf("inbound = %+v", in)
		}
		if out.Direction != citybot.Outbound || out.PlatformID != "555" || out.Citizen != 0 || !strings.HasPrefix(out.Text, "ack ") {
			t.Errorf("outbound = %+v", out)
		}
		if c, _ := db.Case(ctx, res.Case.ID); c.Location == nil || c.Location.Latitude != 48.85 {
			t.Errorf("case location = %+v", c.Location)
		}
		if none, err := db.CaseMessages(ctx, 999); err != nil || len(none) != 0 {
			t.Errorf("unknown case: %+v, %v", none, err)
		}
	})
}

// TestCheckpointOffTheWritePath: the writer never checkpoints; the loop
// copies the WAL into the database file.
func TestCheckpointOffTheWritePath(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ckpt.db")
	db, err := Open(ctx, path, Options{CheckpointInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	db.w.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto)
	if auto != 0 {
		t.Errorf("writer wal_autocheckpoint = %d, want 0", auto)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	before := st.Size()
	for i := range 200 {
		if _, err := db.Ingest(ctx, report(msg("c", fmt.Sprint(i), fmt.Sprint("u", i), "pothole"), "roads", citybot.UrgencyLow), ackFor); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := os.Stat(path)
		if st.Size() > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes: the WAL was never checkpointed", st.Size())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
