package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"citybot"
)

// TestSensitiveReadersByName: an officer named in SensitiveAccounts reads
// a sensitive case and may be assigned it and change its flag; another
// officer may do none of this.
func TestSensitiveReadersByName(t *testing.T) {
	rg := newRig(t, Options{SensitiveAccounts: []string{"Olga"}})
	bribe := rg.report("whistle", "the clerk asked me for a bribe", "corruption", "en", citybot.UrgencyNormal)
	olga := rg.signIn(rg.account("olga", citybot.RoleOfficer, "a long enough password"))
	omar := rg.signIn(rg.account("omar", citybot.RoleOfficer, "a long enough password"))
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "a long enough password"))

	if _, body := rg.do(olga, http.MethodGet, "/inbox", nil); !strings.Contains(body, string(bribe.Ref)) {
		t.Error("a named reader does not see the sensitive case in the inbox")
	}
	if resp, _ := rg.do(olga, http.MethodGet, casePath(bribe, ""), nil); resp.StatusCode != http.StatusOK {
		t.Errorf("named reader's case page: %d", resp.StatusCode)
	}
	if _, body := rg.do(omar, http.MethodGet, "/inbox", nil); strings.Contains(body, string(bribe.Ref)) {
		t.Error("another officer sees the sensitive case")
	}
	if resp, _ := rg.do(omar, http.MethodGet, casePath(bribe, ""), nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another officer's case page: %d", resp.StatusCode)
	}
	// Assignment only to someone who may read it.
	if resp, body := rg.do(admin, http.MethodPost, casePath(bribe, "/assign"), url.Values{"assignee": {"omar"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("assign to omar: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := rg.do(admin, http.MethodPost, casePath(bribe, "/assign"), url.Values{"assignee": {"olga"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("assign to olga: %d", resp.StatusCode)
	}
	// The flag: olga may clear it, omar may not.
	if resp, _ := rg.do(omar, http.MethodPost, casePath(bribe, "/sensitive"), url.Values{"action": {"clear"}, "reason": {"x"}}); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
		t.Errorf("omar clears the flag: %d", resp.StatusCode)
	}
	if resp, _ := rg.do(olga, http.MethodPost, casePath(bribe, "/sensitive"), url.Values{"action": {"clear"}, "reason": {"not a bribe after all"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("olga clears the flag: %d", resp.StatusCode)
	}
	if c, err := rg.db.Case(context.Background(), bribe.ID); err != nil || c.Sensitive {
		t.Errorf("flag not cleared: %v %v", c.Sensitive, err)
	}
}
