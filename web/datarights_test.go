package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"citybot"
)

// TestAdminCitizenDataAndForget: from a case page an admin downloads what
// the city holds about the citizen and erases it after ticking the
// confirmation; both are audited; an officer can do neither.
func TestAdminCitizenDataAndForget(t *testing.T) {
	rg := newRig(t, Options{})
	ctx := context.Background()
	c := rg.report("ana", "Pothole by the Zephyrine bakery", "roads", "en", citybot.UrgencyNormal)
	other := rg.report("bob", "Broken light at Bobbington corner", "street_lighting", "en", citybot.UrgencyNormal)
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "a long enough password"))
	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))

	_, page := rg.do(admin, http.MethodGet, casePath(c, ""), nil)
	if !strings.Contains(page, casePath(c, "/forget")) || !strings.Contains(page, casePath(c, "/citizen-data")) {
		t.Error("the admin's case page has no data rights forms")
	}
	if _, page := rg.do(officer, http.MethodGet, casePath(c, ""), nil); strings.Contains(page, casePath(c, "/forget")) {
		t.Error("an officer sees the erase form")
	}
	for _, p := range []string{"/citizen-data", "/forget"} {
		if resp, _ := rg.do(officer, http.MethodPost, casePath(c, p), url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("officer %s: %d", p, resp.StatusCode)
		}
	}

	resp, body := rg.do(admin, http.MethodPost, casePath(c, "/citizen-data"), nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	var d citybot.CitizenData
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if d.Name != "Name ana" || len(d.Messages) != 1 || !strings.Contains(d.Messages[0].Text, "Zephyrine") || strings.Contains(body, "Bobbington") {
		t.Errorf("export: %+v", d)
	}

	if resp, _ := rg.do(admin, http.MethodPost, casePath(c, "/forget"), nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forget without confirmation: %d", resp.StatusCode)
	}
	if d, _ := rg.db.CitizenData(ctx, c.Citizen); d.Name == "" {
		t.Fatal("erased without confirmation")
	}
	resp, _ = rg.do(admin, http.MethodPost, casePath(c, "/forget"), url.Values{"confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forget: %d", resp.StatusCode)
	}
	_, page = rg.do(admin, http.MethodGet, resp.Header.Get("Location"), nil)
	if !strings.Contains(page, "identity and texts are erased") || strings.Contains(page, "Zephyrine") || strings.Contains(page, "Name ana") {
		t.Errorf("case page after forget still shows her, or no confirmation")
	}
	if !strings.Contains(page, "roads") {
		t.Error("the case lost its topic")
	}
	if _, page := rg.do(admin, http.MethodGet, casePath(other, ""), nil); !strings.Contains(page, "Bobbington") {
		t.Error("another citizen's case lost its text")
	}
	es, err := rg.db.Audit(ctx, fmt.Sprintf("citizen:%d", c.Citizen))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range es {
		got[e.Action] = e.Actor
	}
	if got["citizen.export"] != "root" || got["citizen.forget"] != "root" {
		t.Errorf("audit: %v", got)
	}
}
