package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestOpen311Keys makes, finds, lists and revokes API keys on a real
// database: only the hash is stored, a revoked key no longer works, the
// name can get a new key, and every change is audited without the key.
func TestOpen311Keys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		k, secret, err := db.CreateOpen311Key(ctx, "Fix My Street app", "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "c311_") || len(secret) < 30 {
			t.Fatalf("key %q", secret)
		}
		var stored string
		if err := db.w.QueryRowContext(ctx, `SELECT key_hash FROM open311_keys WHERE id = ?`, k.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored == secret || stored != citybot.HashAPIKey(secret) {
			t.Fatalf("stored %q for key %q", stored, secret)
		}
		got, err := db.Open311KeyByHash(ctx, citybot.HashAPIKey(secret))
		if err != nil || got.Name != "Fix My Street app" || got.CreatedBy != "alice" || !got.Active() {
			t.Fatalf("by hash: %+v %v", got, err)
		}
		if _, err := db.Open311KeyByHash(ctx, citybot.HashAPIKey(secret+"x")); !errors.Is(err, citybot.ErrNotFound) {
			t.Fatalf("wrong key: %v", err)
		}
		if _, _, err := db.CreateOpen311Key(ctx, "Fix My Street app", "alice"); !errors.Is(err, citybot.ErrDuplicate) {
			t.Fatalf("second working key for one name: %v", err)
		}
		for _, bad := range []string{"", " padded", "semi;colon", strings.Repeat("n", 65), "<script>"} {
			if _, _, err := db.CreateOpen311Key(ctx, bad, "alice"); !errors.Is(err, citybot.ErrInvalid) {
				t.Errorf("name %q: %v", bad, err)
			}
		}
		clk.Add(time.Hour)
		if err := db.RevokeOpen311Key(ctx, "Fix My Street app", "bob"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Open311KeyByHash(ctx, citybot.HashAPIKey(secret)); !errors.Is(err, citybot.ErrNotFound) {
			t.Fatalf("revoked key still works: %v", err)
		}
		if err := db.RevokeOpen311Key(ctx, "Fix My Street app", "bob"); !errors.Is(err, citybot.ErrNotFound) {
			t.Fatalf("revoking twice: %v", err)
		}
		k2, secret2, err := db.CreateOpen311Key(ctx, "Fix My Street app", "alice")
		if err != nil || secret2 == secret {
			t.Fatalf("new key after revocation: %v", err)
		}
		keys, err := db.Open311Keys(ctx)
		if err != nil || len(keys) != 2 || keys[0].ID != k2.ID || !keys[0].Active() || keys[1].Active() || keys[1].RevokedBy != "bob" {
			t.Fatalf("list: %+v %v", keys, err)
		}
		var audits int
		if err := db.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'open311.key.%'`).Scan(&audits); err != nil {
			t.Fatal(err)
		}
		if audits != 3 {
			t.Fatalf("%d audit entries, want 3 (add, revoke, add)", audits)
		}
		var leaked int
		if err := db.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_log WHERE instr(after, ?) > 0 OR instr(after, ?) > 0`, secret, secret2).Scan(&leaked); err != nil {
			t.Fatal(err)
		}
		if leaked != 0 {
			t.Fatalf("a key is in the audit log")
		}
	})
}

// TestOpen311ContactErased stores Open311 reports with contacts and
// checks that forgetting the citizen, and retention, erase the contact
// with the identity.
func TestOpen311ContactErased(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		post := func(user, id string, c citybot.Contact) citybot.IntakeResult {
			t.Helper()
			m := citybot.Message{Platform: citybot.Open311, Chat: citybot.ChatID("req:" + id), ChatKind: citybot.ChatPrivate,
				ID: citybot.PlatformMessageID(id), Sender: citybot.Sender{ID: citybot.UserID(user)}, Text: "pothole on the main road", SentAt: clk.Now()}
			in := report(m, "roads", citybot.UrgencyNormal)
			in.Contact = &c
			res, err := db.Ingest(ctx, in, func(citybot.IntakeResult) ([]citybot.OutboxItem, error) { return nil, nil })
			if err != nil {
				t.Fatal(err)
			}
			if !res.NewCase || res.Case.Platform != citybot.Open311 {
				t.Fatalf("no Open311 case: %+v", res)
			}
			return res
		}
		contacts := func(id citybot.CitizenID) (n int, email string) {
			t.Helper()
			err := db.w.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MAX(email), '') FROM open311_contacts WHERE citizen_id = ?`, int64(id)).Scan(&n, &email)
			if err != nil {
				t.Fatal(err)
			}
			return n, email
		}
		a := post("app/account:1", "r1", citybot.Contact{Email: "ana@example.org", FirstName: "Ana", Phone: "0612345678", DeviceID: "dev-1", AccountID: "1"})
		// The same person again: one citizen, the contact kept current
		// (an empty field keeps what was known).
		clk.Add(time.Minute)
		a2 := post("app/account:1", "r2", citybot.Contact{Email: "", LastName: "Lima", AccountID: "1"})
		if a2.Citizen.ID != a.Citizen.ID {
			t.Fatalf("one account, two citizens")
		}
		if n, email := contacts(a.Citizen.ID); n != 1 || email != "ana@example.org" {
			t.Fatalf("contact %d %q", n, email)
		}
		b := post("app/report:x", "r3", citybot.Contact{Email: "bob@example.org"})
		if _, err := db.ForgetCitizen(ctx, a.Citizen.ID, "admin", ""); err != nil {
			t.Fatal(err)
		}
		if n, _ := contacts(a.Citizen.ID); n != 0 {
			t.Fatalf("forget left the Open311 contact")
		}
		if n, _ := contacts(b.Citizen.ID); n != 1 {
			t.Fatalf("forget erased another citizen's contact")
		}
		// Retention: b's case closed, silent long enough.
		if _, err := db.w.ExecContext(ctx, `UPDATE cases SET status = 'closed', close_reason = 'test' WHERE id = ?`, int64(b.Case.ID)); err != nil {
			t.Fatal(err)
		}
		clk.Add(40 * 24 * time.Hour)
		if _, err := db.ApplyRetention(ctx, citybot.RetentionPolicy{IdentityDays: 30}); err != nil {
			t.Fatal(err)
		}
		if n, _ := contacts(b.Citizen.ID); n != 0 {
			t.Fatalf("retention left the Open311 contact")
		}
	})
}
