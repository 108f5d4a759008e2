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

// The digests page drafts on demand for officials and admins: the week so
// far on a fresh install, last week, and a redraft that replaces the
// pending draft; an officer may not draft from the list, and an approved
// week is not redrafted.
func TestApprovalDraftOnDemand(t *testing.T) {
	rg := newPubRig(t)
	rg.say(pubWeek.Add(9*time.Hour), citybot.Telegram, "1", "A", "", "pothole on rue de Rivoli, dangerous for bikes")
	rg.clock.Set(pubWeek.Add(30 * time.Hour))
	official, ocsrf := rg.staff("mayor", citybot.RoleOfficial)
	admin, acsrf := rg.staff("root", citybot.RoleAdmin)
	officer, fcsrf := rg.staff("olivia", citybot.RoleOfficer)

	code, body, _ := rg.get("/digests", admin)
	if code != 200 || !strings.Contains(body, "Draft the week so far") || !strings.Contains(body, "No digest yet") {
		t.Fatalf("fresh list for an admin: %d\n%s", code, body)
	}
	if _, body, _ := rg.get("/digests", officer); strings.Contains(body, "Draft the week so far") {
		t.Fatalf("an officer is offered drafting from the list")
	}
	if code, _ := rg.post("/digests/draft", officer, url.Values{"csrf": {fcsrf}, "period": {"sofar"}}); code != http.StatusForbidden {
		t.Fatalf("officer drafted: %d", code)
	}
	if code, _ := rg.post("/digests/draft", admin, url.Values{"csrf": {acsrf}, "period": {"someday"}}); code != http.StatusBadRequest {
		t.Fatalf("unknown period: %d", code)
	}
	if code, _ := rg.post("/digests/draft", admin, url.Values{"csrf": {acsrf}, "period": {"sofar"}}); code != http.StatusSeeOther {
		t.Fatalf("draft so far: %d", code)
	}
	ds, err := rg.db.Digests(rg.ctx, 10)
	if err != nil || len(ds) != 1 || ds[0].Week != "2026-W47" || ds[0].DraftedBy != "root" || ds[0].Figures.Received != 1 {
		t.Fatalf("drafted: %d %v", len(ds), err)
	}
	first := ds[0]
	page := fmt.Sprintf("/digests/%d", first.ID)
	if _, body, _ := rg.get(page, official); !strings.Contains(body, "Approve and post") || !strings.Contains(body, "Draft a new version") {
		t.Fatalf("official's page of a draft on demand:\n%s", body)
	}
	// A second report, then the official redrafts from the draft's page.
	rg.say(pubWeek.Add(40*time.Hour), citybot.Telegram, "2", "B", "", "street light broken on avenue Foch")
	if code, _ := rg.post(page+"/redraft", official, url.Values{"csrf": {ocsrf}, "note": {"Two storms this week."}}); code != http.StatusSeeOther {
		t.Fatalf("redraft: %d", code)
	}
	ds, _ = rg.db.Digests(rg.ctx, 10)
	if len(ds) != 2 || ds[0].Revision != 2 || ds[0].Figures.Received != 2 || ds[1].State != citybot.DigestChangesRequested {
		t.Fatalf("after redraft: %d digests", len(ds))
	}
	// Last week (W46) had no traffic: still a real draft.
	if code, _ := rg.post("/digests/draft", official, url.Values{"csrf": {ocsrf}, "period": {"last"}}); code != http.StatusSeeOther {
		t.Fatalf("draft last week: %d", code)
	}
	if ds, _ = rg.db.Digests(rg.ctx, 10); ds[len(ds)-1].Week != "2026-W46" {
		t.Fatalf("last week drafted as %s", ds[len(ds)-1].Week)
	}
	// Approved: no redraft, and the page offers none.
	rev2 := fmt.Sprintf("/digests/%d", ds[0].ID)
	if code, _ := rg.post(rev2+"/decide", official, url.Values{"csrf": {ocsrf}, "decision": {"approve"}}); code != http.StatusSeeOther {
		t.Fatalf("approve: %d", code)
	}
	if _, body, _ := rg.get(page, admin); strings.Contains(body, "Draft a new version") {
		t.Fatalf("an approved week offers a redraft")
	}
	if code, _ := rg.post(rev2+"/redraft", admin, url.Values{"csrf": {acsrf}}); code == http.StatusSeeOther {
		t.Fatalf("approved digest redrafted")
	}
	if code, _ := rg.post("/digests/draft", admin, url.Values{"csrf": {acsrf}, "period": {"sofar"}}); code == http.StatusSeeOther {
		t.Fatalf("approved week drafted again")
	}
}

// After approval the digest's page says where each post stands; a failed
// channel shows the platform's reason in words and can be posted again,
// once per press that finds something failed.
func TestApprovalPostingStatusAndRepost(t *testing.T) {
	rg := newPubRig(t)
	rg.say(pubWeek.Add(9*time.Hour), citybot.Telegram, "1", "A", "", "pothole on rue de Rivoli, dangerous for bikes")
	rg.clock.Set(pubWeek.Add(7*24*time.Hour + 8*time.Hour))
	d, err := rg.dg.Draft(rg.ctx, pubWeek, "scheduler", "")
	if err != nil {
		t.Fatal(err)
	}
	official, ocsrf := rg.staff("mayor", citybot.RoleOfficial)
	officer, fcsrf := rg.staff("olivia", citybot.RoleOfficer)
	page := fmt.Sprintf("/digests/%d", d.ID)
	if _, body, _ := rg.get(page, official); strings.Contains(body, "Where it stands") {
		t.Fatalf("a draft shows posting")
	}
	if code, _ := rg.post(page+"/decide", official, url.Values{"csrf": {ocsrf}, "decision": {"approve"}}); code != http.StatusSeeOther {
		t.Fatalf("approve: %d", code)
	}
	_, body, _ := rg.get(page, official)
	if !strings.Contains(body, "Where it stands") || strings.Count(body, ">Queued") != 4 || strings.Contains(body, "Post again") {
		t.Fatalf("queued posts (telegram and discord, en and fr):\n%s", body)
	}
	// The Discord French post fails for good.
	rows, err := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:discord:900:fr")
	if err != nil || len(rows) == 0 {
		t.Fatalf("discord fr rows: %d %v", len(rows), err)
	}
	if err := rg.db.FailOutbox(rg.ctx, rows[0].ID, "discord: send: 404 Not Found: Unknown Channel"); err != nil {
		t.Fatal(err)
	}
	_, body, _ = rg.get(page, official)
	if !strings.Contains(body, "Failed: the app does not know this chat") || !strings.Contains(body, "the app&#39;s own words: discord: send: 404 Not Found: Unknown Channel") ||
		!strings.Contains(body, "Post again where it failed") {
		t.Fatalf("failed post:\n%s", body)
	}
	if code, _ := rg.post(page+"/repost", officer, url.Values{"csrf": {fcsrf}}); code != http.StatusForbidden {
		t.Fatalf("officer re-posted: %d", code)
	}
	for i := range 2 {
		if code, _ := rg.post(page+"/repost", official, url.Values{"csrf": {ocsrf}}); code != http.StatusSeeOther {
			t.Fatalf("re-post #%d: %d", i+1, code)
		}
	}
	again, err := rg.db.OutboxItems(rg.ctx, "digest:2026-W47:discord:900:fr:repost")
	if err != nil || len(again) != 1 || again[0].Out.Key != rows[0].Out.Key[:len("digest:2026-W47:discord:900:fr")]+":repost1"+rows[0].Out.Key[len("digest:2026-W47:discord:900:fr"):] {
		t.Fatalf("re-posted rows %+v %v; want one, keyed repost1", again, err)
	}
	if _, body, _ = rg.get(page, official); !strings.Contains(body, "posted again 1×") || strings.Contains(body, "Failed:") {
		t.Fatalf("after the re-post:\n%s", body)
	}
}
