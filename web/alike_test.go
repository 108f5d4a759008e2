package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"citybot"
)

// TestLookAlikeMergeAndDismiss: grouping's suggestions show on both case
// pages and as a badge in the inbox; one action merges the newer case
// into the older (its citizen told), another dismisses a suggestion; a
// joined follower shows as the case's reporters.
func TestLookAlikeMergeAndDismiss(t *testing.T) {
	rg := newRig(t, Options{})
	ctx := context.Background()
	main := rg.report("ana", "Main Street", "water_sanitation", "en", citybot.UrgencyNormal)
	like := rg.report("bob", "Main Street", "water_sanitation", "en", citybot.UrgencyNormal)
	other := rg.report("cai", "Main Street", "water_sanitation", "en", citybot.UrgencyNormal)
	if _, err := rg.db.AddCaseSuggestions(ctx, []citybot.CaseSuggestion{
		{Case: like.ID, Like: main.ID, Score: 3, Signals: 1 | 4}, // same topic, same place
		{Case: other.ID, Like: main.ID, Score: 2, Signals: 1},
	}); err != nil {
		t.Fatal(err)
	}
	off := rg.signIn(rg.account("olga", citybot.RoleOfficer, "a long enough password"))

	_, body := rg.do(off, http.MethodGet, "/inbox", nil)
	if !strings.Contains(body, "2 reports look like this one") {
		t.Errorf("inbox lacks the look-alike badge")
	}
	_, body = rg.do(off, http.MethodGet, casePath(main, ""), nil)
	for _, want := range []string{"2 reports look like this one", string(like.Ref), "same topic, same place",
		fmt.Sprintf("Same problem: merge %s into %s", like.Ref, main.Ref), "Not the same problem"} {
		if !strings.Contains(body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	_, body = rg.do(off, http.MethodGet, casePath(like, ""), nil)
	if !strings.Contains(body, "1 report looks like this one") || !strings.Contains(body, fmt.Sprintf("Same problem: merge %s into %s", like.Ref, main.Ref)) {
		t.Errorf("the newer case's page lacks its suggestion")
	}

	// Dismiss one from the main case's page.
	resp, _ := rg.do(off, http.MethodPost, casePath(main, fmt.Sprintf("/suggestions/%d", other.ID)), url.Values{"do": {"dismiss"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dismiss: %d", resp.StatusCode)
	}
	if got, _ := rg.db.CaseSuggestions(ctx, main.ID); len(got) != 1 || got[0].Case != like.ID {
		t.Fatalf("after dismissal %+v", got)
	}
	// Merge from the newer case's page: it joins the older, once.
	resp, _ = rg.do(off, http.MethodPost, casePath(like, fmt.Sprintf("/suggestions/%d", main.ID)), url.Values{"do": {"merge"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), casePath(main, "")) {
		t.Fatalf("merge: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c, _ := rg.db.Case(ctx, like.ID); c.Status != citybot.StatusDuplicate || c.DuplicateOf != main.ID {
		t.Fatalf("merged case %+v", c)
	}
	if got, _ := rg.db.CaseSuggestions(ctx, main.ID); len(got) != 0 {
		t.Errorf("suggestions still shown after the merge: %+v", got)
	}
	if resp, _ := rg.do(off, http.MethodPost, casePath(like, fmt.Sprintf("/suggestions/%d", main.ID)), url.Values{"do": {"merge"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a second merge: %d, want 404", resp.StatusCode)
	}
	_, body = rg.do(off, http.MethodGet, casePath(main, ""), nil)
	if !strings.Contains(body, "2 citizens") {
		t.Errorf("case page lacks its reporters' count")
	}
	_, body = rg.do(off, http.MethodGet, "/inbox", nil)
	if !strings.Contains(body, "2 citizens") || strings.Contains(body, "look like this one") {
		t.Errorf("inbox after the merge: reporters badge or stale suggestion")
	}
}
