package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"citybot"
)

// TestAdminAccountLifecycle drives the accounts page on a real store:
// every action asks for a confirmation first, disabling and a password
// change sign the account's browser out on its next request, the last
// admin is kept, and the audit log names the admin.
func TestAdminAccountLifecycle(t *testing.T) {
	rg := newRig(t, Options{})
	ctx := context.Background()
	root := rg.account("root", citybot.RoleAdmin, "a long enough password")
	admin := rg.signIn(root)
	olivia := rg.account("olivia", citybot.RoleOfficer, "a long enough password")
	oliviaBrowser := rg.signIn(olivia)
	act := func(action, name string, extra url.Values) (*http.Response, string) {
		t.Helper()
		f := url.Values{"name": {name}, "action": {action}, "confirm": {"yes"}}
		for k, v := range extra {
			f[k] = v
		}
		return rg.do(admin, http.MethodPost, "/admin/accounts/action", f)
	}
	signedIn := func(u *user) bool {
		resp, _ := rg.do(u, http.MethodGet, "/inbox", nil)
		return resp.StatusCode == http.StatusOK
	}
	if !signedIn(oliviaBrowser) {
		t.Fatal("olivia not signed in")
	}

	// The page lists role, state and last sign-in.
	_, body := rg.do(admin, http.MethodGet, "/admin/accounts", nil)
	for _, want := range []string{"olivia", "officer", "active", "Last sign-in", `value="disable"`} {
		if !strings.Contains(body, want) {
			t.Errorf("accounts page lacks %q", want)
		}
	}
	if strings.Contains(body, olivia.PasswordHash) {
		t.Error("accounts page shows a password hash")
	}

	// Without confirm=yes nothing happens: a confirmation is asked.
	resp, body := rg.do(admin, http.MethodPost, "/admin/accounts/action", url.Values{"name": {"olivia"}, "action": {"disable"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Disable olivia?") || !strings.Contains(body, `name="confirm" value="yes"`) {
		t.Fatalf("confirmation: %d\n%s", resp.StatusCode, body)
	}
	if a, _ := rg.db.AccountByName(ctx, "olivia"); a.Disabled || !signedIn(oliviaBrowser) {
		t.Fatal("disabled without confirmation")
	}

	// Confirmed: disabled, and her browser is signed out at once.
	if resp, body := act("disable", "olivia", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "olivia disabled") {
		t.Fatalf("disable: %d\n%s", resp.StatusCode, body)
	}
	if signedIn(oliviaBrowser) {
		t.Error("a disabled account's browser is still signed in")
	}
	login := func(password string) int {
		resp, _ := rg.do(nil, http.MethodPost, "/login", url.Values{"name": {"olivia"}, "password": {password}})
		return resp.StatusCode
	}
	if code := login("a long enough password"); code != http.StatusUnauthorized {
		t.Errorf("disabled sign-in: %d", code)
	}
	if resp, _ := act("enable", "olivia", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d", resp.StatusCode)
	}
	if code := login("a long enough password"); code != http.StatusSeeOther {
		t.Errorf("enabled sign-in: %d", code)
	}

	// A new password, generated and shown once, ends her sessions.
	oliviaBrowser = rg.signIn(olivia)
	resp, body = act("passwd", "olivia", nil)
	m := regexp.MustCompile(`shown only now: <code>([^<]+)</code>`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("passwd: %d\n%s", resp.StatusCode, body)
	}
	if a, _ := rg.db.AccountByName(ctx, "olivia"); bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(m[1])) != nil {
		t.Error("shown password is not the stored one")
	}
	if signedIn(oliviaBrowser) {
		t.Error("password change left her browser signed in")
	}
	if resp, _ := act("passwd", "olivia", url.Values{"password": {"short"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("short password: %d", resp.StatusCode)
	}

	// Revoke and role.
	b1, b2 := rg.signIn(olivia), rg.signIn(olivia)
	if _, body := act("revoke", "olivia", nil); !strings.Contains(body, "Ended 2 session") || signedIn(b1) || signedIn(b2) {
		t.Errorf("revoke: %v %v\n%s", signedIn(b1), signedIn(b2), body)
	}
	if resp, _ := act("role", "olivia", url.Values{"role": {"admin"}}); resp.StatusCode != http.StatusOK {
		t.Errorf("role: %d", resp.StatusCode)
	}
	if a, _ := rg.db.AccountByName(ctx, "olivia"); a.Role != citybot.RoleAdmin {
		t.Errorf("role = %s", a.Role)
	}
	if _, err := rg.db.SetAccountDisabled(ctx, "olivia", true, "test"); err != nil {
		t.Fatal(err)
	}
	// Root is now the last active admin: neither disable nor demote.
	for _, tt := range []struct{ action, role string }{{"disable", ""}, {"role", "officer"}} {
		resp, body := act(tt.action, "root", url.Values{"role": {tt.role}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "One active admin must always stay") {
			t.Errorf("%s last admin: %d\n%s", tt.action, resp.StatusCode, body)
		}
	}
	if resp, _ := act("explode", "root", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown action: %d", resp.StatusCode)
	}
	if resp, _ := act("unlock", "ghost", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: %d", resp.StatusCode)
	}
	// An officer may not use it.
	officer := rg.signIn(rg.account("omar", citybot.RoleOfficer, "a long enough password"))
	if resp, _ := rg.do(officer, http.MethodPost, "/admin/accounts/action", url.Values{"name": {"root"}, "action": {"revoke"}, "confirm": {"yes"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer: %d", resp.StatusCode)
	}

	// An admin who revokes their own sessions is sent to sign in.
	if resp, _ := act("revoke", "root", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("own revoke: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	es, err := rg.db.Audit(ctx, fmt.Sprintf("account:%d", olivia.ID))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range es {
		if e.Actor == "root" {
			got[e.Action] = true
		}
	}
	for _, want := range []string{"account.disable", "account.enable", "account.password", "account.revoke", "account.role"} {
		if !got[want] {
			t.Errorf("no %s by root in the audit log: %v", want, got)
		}
	}
}
