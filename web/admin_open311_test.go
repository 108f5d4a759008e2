package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"citybot"
)

// TestAdminOpen311Keys gives an app a key on the console, sees it once,
// and revokes it; officers cannot reach the page.
func TestAdminOpen311Keys(t *testing.T) {
	rg := newPubRig(t)
	admin, csrf := rg.staff("ada", citybot.RoleAdmin)
	officer, _ := rg.staff("otto", citybot.RoleOfficer)
	if code, body, _ := rg.get("/inbox", admin); code != http.StatusOK || !strings.Contains(body, `href="/admin/open311"`) {
		t.Fatalf("no link to the keys page for an admin: %d", code)
	}
	if _, body, _ := rg.get("/inbox", officer); strings.Contains(body, `href="/admin/open311"`) {
		t.Fatalf("an officer sees the keys page's link")
	}
	if code, _, _ := rg.get("/admin/open311", officer); code == http.StatusOK {
		t.Fatalf("an officer reads the keys page")
	}
	code, body := rg.post("/admin/open311", admin, url.Values{"csrf": {csrf}, "name": {"Quartier <app>"}})
	if code != http.StatusBadRequest {
		t.Fatalf("a bad name: %d", code)
	}
	code, body = rg.post("/admin/open311", admin, url.Values{"csrf": {csrf}, "name": {"Quartier app"}})
	key := regexp.MustCompile(`c311_[a-z0-9]+`).FindString(body)
	if code != http.StatusOK || key == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	if k, err := rg.db.Open311KeyByHash(rg.ctx, citybot.HashAPIKey(key)); err != nil || k.Name != "Quartier app" || k.CreatedBy != "ada" {
		t.Fatalf("the shown key does not work: %+v %v", k, err)
	}
	_, body, h := rg.get("/admin/open311", admin)
	if strings.Contains(body, key) || !strings.Contains(body, "Quartier app") {
		t.Fatalf("the key is shown again, or the app is not listed")
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", h.Get("Cache-Control"))
	}
	if code, _ := rg.post("/admin/open311", admin, url.Values{"csrf": {csrf}, "name": {"Quartier app"}}); code != http.StatusBadRequest {
		t.Fatalf("a second working key: %d", code)
	}
	if code, _ := rg.post("/admin/open311/revoke", admin, url.Values{"csrf": {csrf}, "name": {"Quartier app"}}); code != http.StatusBadRequest {
		t.Fatalf("revoke without confirming: %d", code)
	}
	if code, body := rg.post("/admin/open311/revoke", admin, url.Values{"csrf": {csrf}, "name": {"Quartier app"}, "confirm": {"yes"}}); code != http.StatusOK || !strings.Contains(body, "Revoked") {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if _, err := rg.db.Open311KeyByHash(rg.ctx, citybot.HashAPIKey(key)); !errors.Is(err, citybot.ErrNotFound) {
		t.Fatalf("a revoked key works: %v", err)
	}
	if code, _ := rg.post("/admin/open311/revoke", admin, url.Values{"csrf": {csrf}, "name": {"Quartier app"}, "confirm": {"yes"}}); code != http.StatusNotFound {
		t.Fatalf("revoking a revoked key: %d", code)
	}
}
