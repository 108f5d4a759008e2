package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/accountability"
)

// followUp ingests a citizen's second message, marked sensitive as the
// responder marks a bribe report, into their open case.
func (rg *rig) followUp(user, text string) citybot.IntakeResult {
	rg.t.Helper()
	res, err := rg.db.Ingest(context.Background(), citybot.Intake{
		Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID("chat-" + user), ChatKind: citybot.ChatPrivate,
			ID: citybot.PlatformMessageID(fmt.Sprint(time.Now().UnixNano())), Sender: citybot.Sender{ID: citybot.UserID(user)}, Text: text},
		Mode: citybot.CaseJoinOrOpen, Window: time.Minute, Sensitive: true, SensitiveCues: []string{"cash"},
		Classification: &citybot.Classification{Topic: citybot.Scored{Label: "roads", Confidence: 0.6}, Urgency: citybot.UrgencyNormal,
			Language: "en", Sensitive: true, SensitiveCues: []string{"cash"}, Model: "test"},
	}, nil)
	if err != nil || res.Case == nil {
		rg.t.Fatalf("ingest: %v", err)
	}
	return res
}

// A pothole case made sensitive by a bribe follow-up: an officer without
// the right role sees it nowhere (inbox, counts, search, case page), nor
// does the public (CSV, Open311); only a role allowed to read sensitive
// cases may clear the flag, with a reason, audited; then officers see it.
func TestSensitiveFlagHidesAndClears(t *testing.T) {
	rg := newRig(t, Options{})
	pothole := rg.report("pia", "pothole in Elm Street", "roads", "en", citybot.UrgencyNormal)
	other := rg.report("bob", "streetlight out", "street_lighting", "en", citybot.UrgencyNormal)
	if res := rg.followUp("pia", "the inspector wants 300 cash to fix it"); !res.BecameSensitive || res.Case.ID != pothole.ID {
		t.Fatalf("follow-up: %+v", res)
	}
	dg, err := accountability.NewDigester(accountability.DigestOptions{Policy: testPolicy(t), Store: rg.db})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublic(PublicOptions{Policy: testPolicy(t), Store: rg.db, Figures: dg})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	pub.Register(mux)
	pts := httptest.NewServer(mux)
	defer pts.Close()
	public := func(path string) string {
		t.Helper()
		resp, err := http.Get(pts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(b)
	}

	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	official := rg.signIn(rg.account("mayor", citybot.RoleOfficial, "a long enough password"))
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "a long enough password"))
	hidden := func(u *user) bool {
		t.Helper()
		seen := false
		for _, path := range []string{"/inbox", "/inbox/rows", "/inbox?q=cash", "/inbox?q=pothole", "/inbox?topic=roads"} {
			_, body := rg.do(u, http.MethodGet, path, nil)
			if strings.Contains(body, string(pothole.Ref)) || strings.Contains(body, "Elm Street") {
				seen = true
			}
		}
		resp, _ := rg.do(u, http.MethodGet, casePath(pothole, ""), nil)
		if resp.StatusCode == http.StatusOK {
			seen = true
		}
		return !seen
	}
	for name, u := range map[string]*user{"officer": officer, "official": official} {
		if !hidden(u) {
			t.Errorf("%s sees the sensitive pothole case", name)
		}
	}
	if _, body := rg.do(officer, http.MethodGet, "/inbox", nil); !strings.Contains(body, string(other.Ref)) {
		t.Fatal("the officer does not see the other case: the check above proves nothing")
	}
	if hidden(admin) {
		t.Fatal("admin does not see the sensitive case")
	}
	if _, rows := rg.do(admin, http.MethodGet, "/inbox/rows", nil); !strings.Contains(rows, `badge sensitive">sensitive`) {
		t.Error("the admin's inbox does not mark the sensitive case")
	}
	_, page := rg.do(admin, http.MethodGet, casePath(pothole, ""), nil)
	if !strings.Contains(page, "Sensitive case") || !strings.Contains(page, "cash") || !strings.Contains(page, "/sensitive") {
		t.Errorf("admin's case page lacks the flag, its cues or the clear form")
	}
	for _, path := range []string{"/public/cases.csv", "/open311/v2/requests.json", "/open311/v2/requests/" + string(pothole.Ref) + ".json", "/public/"} {
		if body := public(path); strings.Contains(body, string(pothole.Ref)) {
			t.Errorf("public %s lists the sensitive case", path)
		}
	}
	if body := public("/public/cases.csv"); !strings.Contains(body, string(other.Ref)) {
		t.Fatal("the CSV lacks the other case: the check above proves nothing")
	}

	// Refused to other roles, the same for any case id (403), so that a
	// sensitive case's existence is not disclosed.
	form := url.Values{"action": {"clear"}, "reason": {"checked"}}
	for name, u := range map[string]*user{"officer": officer, "official": official} {
		if resp, _ := rg.do(u, http.MethodPost, casePath(pothole, "/sensitive"), form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s clears: %d, want 403", name, resp.StatusCode)
		}
		if resp, _ := rg.do(u, http.MethodPost, "/cases/987654/sensitive", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s clears an unknown case: %d, want 403", name, resp.StatusCode)
		}
	}
	if c, _ := rg.db.Case(context.Background(), pothole.ID); !c.Sensitive {
		t.Fatal("a refused request cleared the flag")
	}
	if resp, _ := rg.do(officer, http.MethodPost, casePath(other, "/sensitive"), url.Values{"action": {"set"}, "reason": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("officer sets the flag: %d, want 403", resp.StatusCode)
	}
	if c, _ := rg.db.Case(context.Background(), other.ID); c.Sensitive {
		t.Error("the officer's refused request flagged the case")
	}
	if resp, _ := rg.do(admin, http.MethodPost, casePath(pothole, "/sensitive"), url.Values{"action": {"clear"}, "reason": {"  "}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("clear without a reason: %d, want 400", resp.StatusCode)
	}
	if c, _ := rg.db.Case(context.Background(), pothole.ID); !c.Sensitive {
		t.Fatal("the flag was cleared by a refused request")
	}
	// Assignment: only to someone who may read it.
	if resp, _ := rg.do(admin, http.MethodPost, casePath(pothole, "/assign"), url.Values{"assignee": {"olivia"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("assigning the sensitive case to an officer: %d, want 400", resp.StatusCode)
	}
	if resp, _ := rg.do(admin, http.MethodPost, casePath(pothole, "/assign"), url.Values{"assignee": {"root"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("assigning the sensitive case to an admin: %d, want 303", resp.StatusCode)
	}
	if v, _ := rg.db.CaseView(context.Background(), pothole.ID); v.Assignee != "root" {
		t.Errorf("assignee %q, want root", v.Assignee)
	}
	if _, page := rg.do(admin, http.MethodGet, casePath(pothole, ""), nil); strings.Contains(page, `<option value="olivia"`) {
		t.Error("the officer is offered as assignee of the sensitive case")
	}
	hist, _ := rg.db.Audit(context.Background(), fmt.Sprintf("case:%d", pothole.ID))
	before := len(hist)

	// The explicit clear, audited.
	resp, _ := rg.do(admin, http.MethodPost, casePath(pothole, "/sensitive"), url.Values{"action": {"clear"}, "reason": {"a receipted fee, not a bribe"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin clears: %d", resp.StatusCode)
	}
	hist, _ = rg.db.Audit(context.Background(), fmt.Sprintf("case:%d", pothole.ID))
	if len(hist) != before+1 {
		t.Fatalf("%d audit entries after the clear, want %d", len(hist), before+1)
	}
	last := hist[len(hist)-1]
	if last.Action != "case.sensitive" || last.Actor != "root" || !strings.Contains(last.After, "receipted fee") {
		t.Errorf("audit entry %+v", last)
	}
	if hidden(officer) {
		t.Error("the officer still does not see the cleared case")
	}
	if body := public("/public/cases.csv"); !strings.Contains(body, string(pothole.Ref)) {
		t.Error("the cleared case is not in the CSV")
	}
	// Set by hand again.
	if resp, _ := rg.do(admin, http.MethodPost, casePath(pothole, "/sensitive"), url.Values{"action": {"set"}, "reason": {"new facts"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sets: %d", resp.StatusCode)
	}
	if !hidden(officer) {
		t.Error("the officer sees the case flagged by hand")
	}
}

// A thank-you kept with a case shows on the case page as thanks.
func TestCasePageShowsThanks(t *testing.T) {
	rg := newRig(t, Options{})
	c := rg.report("pia", "pothole in Elm Street", "roads", "en", citybot.UrgencyNormal)
	admin := rg.signIn(rg.account("root", citybot.RoleAdmin, "a long enough password"))
	if _, body := rg.do(admin, http.MethodGet, casePath(c, ""), nil); strings.Contains(body, `badge thanks`) {
		t.Fatal("a thanks badge before any thanks")
	}
	res, err := rg.db.Ingest(context.Background(), citybot.Intake{
		Message: citybot.Message{Platform: citybot.Telegram, Chat: "chat-pia", ChatKind: citybot.ChatPrivate,
			ID: "thanks-1", Sender: citybot.Sender{ID: "pia"}, Text: "Thank you so much <b>team</b>"},
		Mode: citybot.CaseFeedback, Intent: citybot.IntentThanks,
	}, nil)
	if err != nil || res.Case == nil || res.Case.ID != c.ID {
		t.Fatalf("thanks: %+v %v", res, err)
	}
	_, body := rg.do(admin, http.MethodGet, casePath(c, ""), nil)
	if !strings.Contains(body, `badge thanks">thanks`) || !strings.Contains(body, "Thank you so much &lt;b&gt;team") {
		t.Errorf("the case page does not show the escaped thanks")
	}
}
