package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestAccountLifecycle disables, enables, demotes, re-passwords, unlocks
// and revokes on a real database: sessions end when they must, the last
// active admin is kept, and every change is audited.
func TestAccountLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, te testEngine) {
		ctx := context.Background()
		clk := newClock()
		db := te.openTest(t, clk.Now)
		mk := func(name string, role citybot.Role) citybot.Account {
			a, err := db.CreateAccount(ctx, name, role, "hash-"+name, "test")
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		session := func(a citybot.Account) string {
			tok := fmt.Sprintf("tok-%s-%d", a.Name, clk.Now().UnixNano())
			clk.Add(time.Second)
			if err := db.CreateSession(ctx, a.ID, tok, "csrf", clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		alive := func(tok string) bool {
			_, _, err := db.Session(ctx, tok)
			if err != nil && !errors.Is(err, citybot.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		root := mk("root", citybot.RoleAdmin)
		olivia := mk("olivia", citybot.RoleOfficer)

		// The only admin can be neither disabled nor demoted.
		if _, err := db.SetAccountDisabled(ctx, "root", true, "cli"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("disable last admin: %v", err)
		}
		if _, err := db.SetAccountRole(ctx, "root", citybot.RoleOfficer, "cli"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("demote last admin: %v", err)
		}
		if _, err := db.SetAccountDisabled(ctx, "nobody-here", true, "cli"); !errors.Is(err, citybot.ErrNotFound) {
			t.Errorf("unknown account: %v", err)
		}

		// Disabling ends olivia's two sessions at once and keeps root's.
		o1, o2, r1 := session(olivia), session(olivia), session(root)
		if a, err := db.SetAccountDisabled(ctx, "olivia", true, "root"); err != nil || !a.Disabled {
			t.Fatalf("disable: %+v %v", a, err)
		}
		if alive(o1) || alive(o2) || !alive(r1) {
			t.Errorf("after disable: olivia %v %v, root %v", alive(o1), alive(o2), alive(r1))
		}
		if err := db.CreateSession(ctx, olivia.ID, "tok-new", "c", clk.Now().Add(time.Hour)); err == nil && alive("tok-new") {
			t.Error("a disabled account's new session is valid")
		}
		if _, err := db.SetAccountDisabled(ctx, "olivia", false, "root"); err != nil {
			t.Fatal(err)
		}
		o3 := session(olivia)
		if !alive(o3) {
			t.Error("enabled account cannot sign in")
		}

		// Unlock clears the wrong passwords counted and the name's own
		// delay; a password change ends the sessions and clears the count.
		for range 2 {
			if err := db.RecordSigninFailure(ctx, "Olivia", []citybot.SigninKey{{Key: "account:olivia", Keep: time.Hour}}); err != nil {
				t.Fatal(err)
			}
		}
		if a, _ := db.AccountByName(ctx, "olivia"); a.FailedLogins != 2 {
			t.Fatalf("wrong passwords counted: %d, want 2", a.FailedLogins)
		}
		if err := db.UnlockAccount(ctx, "olivia", "root"); err != nil {
			t.Fatal(err)
		}
		if a, _ := db.AccountByName(ctx, "olivia"); a.FailedLogins != 0 || !a.FailedSince.IsZero() {
			t.Errorf("after unlock: %+v", a)
		}
		if st, err := db.SigninStrikes(ctx, []string{"account:olivia"}); err != nil || len(st) != 0 {
			t.Errorf("after unlock, the name's delay: %v %v", st, err)
		}
		if err := db.RecordSigninFailure(ctx, "olivia", nil); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAccountPassword(ctx, "olivia", "new-hash", "root"); err != nil {
			t.Fatal(err)
		}
		if a, _ := db.AccountByName(ctx, "olivia"); a.PasswordHash != "new-hash" || alive(o3) || a.FailedLogins != 0 {
			t.Errorf("after passwd: hash %q, session alive %v, wrong passwords %d", a.PasswordHash, alive(o3), a.FailedLogins)
		}

		// With a second admin, root can be demoted; then the second admin is
		// the last one.
		mk("ada", citybot.RoleAdmin)
		if a, err := db.SetAccountRole(ctx, "root", citybot.RoleOfficer, "ada"); err != nil || a.Role != citybot.RoleOfficer {
			t.Fatalf("demote: %+v %v", a, err)
		}
		if _, err := db.SetAccountDisabled(ctx, "ada", true, "ada"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("disable the new last admin: %v", err)
		}
		if _, err := db.SetAccountRole(ctx, "root", "king", "ada"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("unknown role: %v", err)
		}

		// Revoke ends every session and says how many.
		s1, s2 := session(olivia), session(olivia)
		if n, err := db.RevokeSessions(ctx, "olivia", "ada"); err != nil || n != 2 || alive(s1) || alive(s2) {
			t.Errorf("revoke: %d %v", n, err)
		}
		if a, _ := db.AccountByName(ctx, "olivia"); !a.LastLoginAt.Equal(clk.Now()) {
			t.Errorf("last sign-in %v, want %v", a.LastLoginAt, clk.Now())
		}

		got := map[string]int{}
		for _, a := range []citybot.Account{root, olivia} {
			es, err := db.Audit(ctx, accountSubject(a.ID))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				got[e.Action]++
				if e.Action == "account.password" && (strings.Contains(e.Before+e.After, "hash-") || strings.Contains(e.Before+e.After, "new-hash")) {
					t.Errorf("password audit holds the hash: %+v", e)
				}
			}
		}
		for _, want := range []string{"account.disable", "account.enable", "account.password", "account.unlock", "account.role", "account.revoke"} {
			if got[want] == 0 {
				t.Errorf("no %s in the audit log: %v", want, got)
			}
		}
	})
}
