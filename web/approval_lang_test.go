package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestApprovalPagesInLanguage: the digests list and a digest's approval
// page speak the official's language; the count of messages takes the
// language's plural form.
func TestApprovalPagesInLanguage(t *testing.T) {
	rg := newPubRig(t, "en", "ar")
	rg.say(pubWeek.Add(9*time.Hour), citybot.Telegram, "1", "A", "", "pothole on rue de Rivoli, dangerous for bikes")
	rg.clock.Set(pubWeek.Add(30 * time.Hour))
	official, ocsrf := rg.staff("mayor", citybot.RoleOfficial)
	a, err := rg.db.AccountByName(rg.ctx, "mayor")
	if err != nil {
		t.Fatal(err)
	}
	if err := rg.db.SetAccountLanguage(rg.ctx, a.ID, "ar"); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := rg.get("/digests", official); !strings.Contains(body, "مسودة الأسبوع حتى الآن") || strings.Contains(body, "Draft the week so far") {
		t.Fatalf("digests list not in Arabic:\n%s", body)
	}
	if code, _ := rg.post("/digests/draft", official, url.Values{"csrf": {ocsrf}, "period": {"sofar"}}); code != http.StatusSeeOther {
		t.Fatalf("draft so far: %d", code)
	}
	ds, err := rg.db.Digests(rg.ctx, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("drafted: %d %v", len(ds), err)
	}
	_, body, _ := rg.get(fmt.Sprintf("/digests/%d?done=drafted", ds[0].ID), official)
	for _, want := range []string{"وافق وانشر", "تمامًا كما سيُنشر", "صُنعت المسودة الآن"} {
		if !strings.Contains(body, want) {
			t.Errorf("approval page lacks %q", want)
		}
	}
	if !strings.Contains(body, "رسالة واحدة") && !strings.Contains(body, "رسالتان") && !strings.Contains(body, " رسائل") && !strings.Contains(body, " رسالة") {
		t.Error("the previews' message count is not in Arabic")
	}
	if strings.Contains(body, "Approve and post") || strings.Contains(body, " message") {
		t.Error("approval page still in English")
	}
}
