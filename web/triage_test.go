package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"citybot"
)

// TestSendAndResolveOpensNextCase: "Send and resolve" answers and
// resolves in one action and opens the next case of the officer's view
// (critical first, then the oldest; a filtered view keeps its filter);
// a resent form tells the citizen nothing twice; after the last case the
// inbox says none is left.
func TestSendAndResolveOpensNextCase(t *testing.T) {
	rg := newRig(t, Options{})
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "pw"))
	a := rg.report("1", "pothole on Main Street", "roads", "en", citybot.UrgencyNormal)
	b := rg.report("2", "gas smell in the stairwell", "public_safety", "en", citybot.UrgencyCritical)
	c := rg.report("3", "another pothole", "roads", "en", citybot.UrgencyNormal)
	send := func(cs citybot.Case, in, nonce string) *http.Response {
		t.Helper()
		resp, body := rg.do(olivia, http.MethodPost, casePath(cs, "/answer"), url.Values{"text": {"Fixed today."}, "nonce": {nonce}, "then": {"resolve"}, "in": {in}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("send and resolve %s: %d %s", cs.Ref, resp.StatusCode, body)
		}
		return resp
	}
	// The view is the default one: b (critical) first, then a, then c.
	resp := send(b, "", "n1")
	if want := "/cases/" + strconv.FormatInt(int64(a.ID), 10) + "?done=resolved&prev=" + strconv.FormatInt(int64(b.ID), 10); resp.Header.Get("Location") != want {
		t.Errorf("after b: %q, want %q", resp.Header.Get("Location"), want)
	}
	v, err := rg.db.CaseView(context.Background(), b.ID)
	if err != nil || v.Case.Status != citybot.StatusResolved {
		t.Fatalf("b is %s, %v", v.Case.Status, err)
	}
	_, page := rg.do(olivia, http.MethodGet, resp.Header.Get("Location"), nil)
	if !strings.Contains(page, "Case "+string(b.Ref)+": Answer queued and the case resolved") || !strings.Contains(page, "This is the next case.") {
		t.Error("the next case does not say what was done to the one before")
	}
	// Sent again (a double press): the citizen is told once.
	before, _ := rg.db.OutboxItems(context.Background(), "officer:")
	send(b, "", "n1")
	after, _ := rg.db.OutboxItems(context.Background(), "officer:")
	if len(after) != len(before) {
		t.Errorf("a resent form queued %d more messages", len(after)-len(before))
	}
	// A view filtered to roads: from a, the next is c, then none is left.
	in := url.Values{"topic": {"roads"}}.Encode()
	resp = send(a, in, "n2")
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/cases/"+strconv.FormatInt(int64(c.ID), 10)+"?") || !strings.Contains(loc, "in=topic%3Droads") {
		t.Errorf("after a in the roads view: %q", loc)
	}
	resp = send(c, in, "n3")
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/inbox?done=resolved") || !strings.Contains(loc, "topic=roads") {
		t.Fatalf("after the last case: %q", loc)
	}
	_, page = rg.do(olivia, http.MethodGet, loc, nil)
	if !strings.Contains(page, "Case "+string(c.Ref)+" was answered and resolved. No other case is waiting in this view.") {
		t.Error("the inbox does not say the view is empty")
	}
}

// TestCasePartsKeepThePlace: each part of the case form saves on its own
// and comes back to its section (the redirect's fragment), "Assign to
// me" assigns the officer, the one-press Resolve resolves, and the
// preview (without JavaScript) shows exactly the text the citizen gets,
// prefix included, keeping what was written.
func TestCasePartsKeepThePlace(t *testing.T) {
	rg := newRig(t, Options{})
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "pw"))
	c := rg.report("1", "pothole <b>on</b> Main Street", "roads", "en", citybot.UrgencyNormal)
	resp, _ := rg.do(olivia, http.MethodPost, casePath(c, "/assign"), url.Values{"me": {"1"}, "assignee": {""}})
	if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "?done=assign#part-assign") {
		t.Errorf("assign: back to %q", loc)
	}
	if v, _ := rg.db.CaseView(context.Background(), c.ID); v.Assignee != "olivia" {
		t.Errorf("Assign to me: assignee %q", v.Assignee)
	}
	text := "We <i>will</i> fix it."
	resp, body := rg.do(olivia, http.MethodPost, casePath(c, "/answer"), url.Values{"text": {text}, "nonce": {"n1"}, "do": {"preview"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d", resp.StatusCode)
	}
	items, _ := rg.db.OutboxItems(context.Background(), "officer:")
	if len(items) != 0 {
		t.Fatalf("a preview queued %d messages", len(items))
	}
	if !strings.Contains(body, "We &lt;i&gt;will&lt;/i&gt; fix it.</textarea>") {
		t.Error("the preview lost the answer being written")
	}
	_, preview, _ := strings.Cut(body, `<pre class="preview" dir="auto">`)
	preview, _, _ = strings.Cut(preview, "</pre>")
	if _, err := rg.srv.officer.Answer(context.Background(), c.ID, "olivia", text, "n2"); err != nil {
		t.Fatal(err)
	}
	items, _ = rg.db.OutboxItems(context.Background(), "officer:answer:")
	if len(items) != 1 {
		t.Fatalf("%d answer rows", len(items))
	}
	if want := htmlEscaped(items[0].Out.Text); preview != want || !strings.Contains(preview, string(c.Ref)) {
		t.Errorf("preview %q, sent %q", preview, want)
	}
	resp, _ = rg.do(olivia, http.MethodPost, casePath(c, "/status"), url.Values{"to": {"resolved"}, "status": {"in_progress"}, "nonce": {"n3"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("resolve: %d", resp.StatusCode)
	}
	if v, _ := rg.db.CaseView(context.Background(), c.ID); v.Case.Status != citybot.StatusResolved {
		t.Errorf("the one-press Resolve left the case %s", v.Case.Status)
	}
}

// htmlEscaped escapes as html/template does in element text.
func htmlEscaped(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestInboxBulkActions: ticked cases are assigned, moved to a status
// (each citizen told) or merged into one case at once; a case the
// officer may not see is counted as failed and left alone.
func TestInboxBulkActions(t *testing.T) {
	rg := newRig(t, Options{})
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "pw"))
	rg.account("bob", citybot.RoleOfficer, "pw")
	a := rg.report("1", "pothole on Main Street", "roads", "en", citybot.UrgencyNormal)
	b := rg.report("2", "pothole on Main Street again", "roads", "en", citybot.UrgencyNormal)
	c := rg.report("3", "a third pothole", "roads", "en", citybot.UrgencyNormal)
	secret := rg.report("4", "the inspector asked me for a bribe", "corruption", "en", citybot.UrgencyNormal)
	ids := func(cs ...citybot.Case) []string {
		var out []string
		for _, c := range cs {
			out = append(out, strconv.FormatInt(int64(c.ID), 10))
		}
		return out
	}
	bulk := func(form url.Values) string {
		t.Helper()
		resp, body := rg.do(olivia, http.MethodPost, "/inbox/bulk", form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("bulk %v: %d %s", form, resp.StatusCode, body)
		}
		return resp.Header.Get("Location")
	}
	loc := bulk(url.Values{"action": {"assign"}, "assignee": {"bob"}, "id": ids(a, b, secret)})
	if loc != "/inbox?done=bulk-assign&n=2&failed=1" {
		t.Errorf("assign: %q", loc)
	}
	for _, cs := range []citybot.Case{a, b} {
		if v, _ := rg.db.CaseView(context.Background(), cs.ID); v.Assignee != "bob" {
			t.Errorf("%s assigned to %q", cs.Ref, v.Assignee)
		}
	}
	if v, _ := rg.db.CaseView(context.Background(), secret.ID); v.Assignee != "" {
		t.Error("a case the officer may not see was assigned")
	}
	_, page := rg.do(olivia, http.MethodGet, loc, nil)
	if !strings.Contains(page, "2 cases assigned. 1 case could not be changed") {
		t.Error("the inbox does not confirm the bulk assignment")
	}
	loc = bulk(url.Values{"action": {"status"}, "status": {"in_progress"}, "nonce": {"b1"}, "id": ids(a, c)})
	if loc != "/inbox?done=bulk-status&n=2&failed=0" {
		t.Errorf("status: %q", loc)
	}
	items, _ := rg.db.OutboxItems(context.Background(), "officer:status:")
	if len(items) != 2 {
		t.Errorf("%d status notices queued, want one per citizen", len(items))
	}
	loc = bulk(url.Values{"action": {"merge"}, "into": {string(a.Ref)}, "id": ids(a, b, c)})
	if loc != "/inbox?done=bulk-merge&n=3&failed=0" {
		t.Errorf("merge: %q", loc)
	}
	for _, cs := range []citybot.Case{b, c} {
		if v, _ := rg.db.CaseView(context.Background(), cs.ID); v.Case.Status != citybot.StatusDuplicate || v.Case.DuplicateOf != a.ID {
			t.Errorf("%s: %s of %d", cs.Ref, v.Case.Status, v.Case.DuplicateOf)
		}
	}
	for _, form := range []url.Values{
		{"action": {"assign"}, "assignee": {"bob"}},                       // nothing ticked
		{"action": {"launch"}, "id": ids(a)},                              // unknown action
		{"action": {"status"}, "status": {"duplicate"}, "id": ids(a)},     // duplicates come by merging
		{"action": {"merge"}, "into": {"NOSUCH"}, "id": ids(a)},           // unknown case
		{"action": {"assign"}, "assignee": {"nobody-here"}, "id": ids(a)}, // unknown account
	} {
		if resp, _ := rg.do(olivia, http.MethodPost, "/inbox/bulk", form); resp.StatusCode == http.StatusSeeOther {
			t.Errorf("bulk %v accepted", form)
		}
	}
	// An official may not act on cases.
	official := rg.signIn(rg.account("otto", citybot.RoleOfficial, "pw"))
	if resp, _ := rg.do(official, http.MethodPost, "/inbox/bulk", url.Values{"action": {"assign"}, "assignee": {"bob"}, "id": ids(c)}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("official bulk: %d", resp.StatusCode)
	}
}

// TestStatusTogglesAndHistoryInWords: the status filter is a set of
// toggles (checkboxes), and a case's history is said in words, not JSON.
func TestStatusTogglesAndHistoryInWords(t *testing.T) {
	rg := newRig(t, Options{})
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "pw"))
	c := rg.report("1", "pothole on Main Street", "roads", "en", citybot.UrgencyNormal)
	_, body := rg.do(olivia, http.MethodGet, "/inbox?status=resolved", nil)
	if !strings.Contains(body, `<input type="checkbox" id="f-status-resolved" name="status" value="resolved" checked>`) ||
		!strings.Contains(body, `<input type="checkbox" id="f-status-new" name="status" value="new">`) {
		t.Error("the status filter is not a set of toggles")
	}
	if strings.Contains(body, `<select id="f-status"`) {
		t.Error("the status filter is still a multiple select")
	}
	rg.do(olivia, http.MethodPost, casePath(c, "/assign"), url.Values{"assignee": {"olivia"}})
	rg.do(olivia, http.MethodPost, casePath(c, "/status"), url.Values{"status": {"in_progress"}, "nonce": {"n1"}})
	_, body = rg.do(olivia, http.MethodGet, casePath(c, ""), nil)
	_, hist, _ := strings.Cut(body, `id="h-history"`)
	for _, want := range []string{"olivia changed who has the case (assigned to: none → olivia).", "olivia changed the status (status: new → in progress"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q:\n%s", want, hist)
		}
	}
	if strings.Contains(hist, "{&#34;") || strings.Contains(hist, `{"`) {
		t.Error("the history still shows JSON")
	}
}
