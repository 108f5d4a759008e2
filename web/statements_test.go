package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/casework"
	"citybot/internal/storetest"
	"citybot/store"
)

var (
	_ StatementStore  = (*store.DB)(nil)
	_ StatementSender = (*casework.Statements)(nil)
)

// newStatementRig is a console with holding statements on a real store,
// with one public channel on Discord.
func newStatementRig(t *testing.T) *rig {
	t.Helper()
	db := storetest.SQLite(t, store.Options{})
	policy := testPolicy(t)
	off, err := casework.NewOfficer(casework.OfficerOptions{Policy: policy, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	st, err := casework.NewStatements(casework.StatementOptions{Officer: off, Store: db,
		Channels: []casework.PublicChannel{{Platform: citybot.Discord, Chat: "4242", Language: "en"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Policy: policy, Store: db, Officer: off, Statements: db, StatementSender: st, InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return &rig{t: t, db: db, srv: srv, ts: ts}
}

var nonceRE = regexp.MustCompile(`name="nonce" value="([A-Za-z0-9_-]+)"`)

// formNonce opens the statement page of c as u and returns its nonce.
func (rg *rig) formNonce(u *user, c citybot.Case, query string) (string, string) {
	rg.t.Helper()
	resp, body := rg.do(u, http.MethodGet, casePath(c, "/statement"+query), nil)
	if resp.StatusCode != http.StatusOK {
		rg.t.Fatalf("statement page: %d\n%s", resp.StatusCode, body)
	}
	m := nonceRE.FindStringSubmatch(body)
	if m == nil {
		return "", body
	}
	return m[1], body
}

// TestStatementRoutesRoles: only officials and admins write and approve
// statements; officers and admins send them; officials read them but do
// not send; signed out, nothing.
func TestStatementRoutesRoles(t *testing.T) {
	rg := newStatementRig(t)
	c := rg.report("ana", "no water on Mill Lane", "water_sanitation", "en", citybot.UrgencyNormal)
	id, err := rg.db.SaveStatementText(context.Background(), 0, "water_sanitation", "Water cut", "en", "Team at {place}.", "seed")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]citybot.Role{
		"GET /statements":            {citybot.RoleAdmin, citybot.RoleOfficer, citybot.RoleOfficial},
		"POST /statements":           {citybot.RoleAdmin, citybot.RoleOfficial},
		"POST /statements/approve":   {citybot.RoleAdmin, citybot.RoleOfficial},
		"GET /cases/{id}/statement":  {citybot.RoleAdmin, citybot.RoleOfficer},
		"POST /cases/{id}/statement": {citybot.RoleAdmin, citybot.RoleOfficer},
	}
	accounts := map[citybot.Role]citybot.Account{}
	for _, r := range []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficer, citybot.RoleOfficial} {
		accounts[r] = rg.account("acct-"+string(r), r, "a long enough password")
	}
	found := 0
	for _, rt := range rg.srv.routes {
		roles, ok := want[rt.pattern]
		if !ok {
			continue
		}
		found++
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.ReplaceAll(path, "{id}", fmt.Sprint(c.ID))
		if resp, _ := rg.do(nil, method, path, url.Values{}); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s signed out: %d", rt.pattern, resp.StatusCode)
		}
		for role, a := range accounts {
			allowed := false
			for _, r := range roles {
				allowed = allowed || r == role
			}
			form := url.Values{"template": {fmt.Sprint(id)}, "language": {"en"}, "version": {"9"}, "nonce": {"n-" + string(role)}}
			resp, body := rg.do(rg.signIn(a), method, path, form)
			switch {
			case !allowed && resp.StatusCode != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", rt.pattern, role, resp.StatusCode)
			case allowed && (resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500):
				t.Errorf("%s as %s: %d, want it let through\n%s", rt.pattern, role, resp.StatusCode, body)
			}
		}
	}
	if found != len(want) {
		t.Errorf("%d of the %d statement routes are served", found, len(want))
	}
}

// TestStatementApprovalGate: an officer can send only a text an official
// approved; an edit withdraws the approval (the officer's page offers it
// no more, and a form read before the edit is refused); a stale approval
// is refused.
func TestStatementApprovalGate(t *testing.T) {
	rg := newStatementRig(t)
	ctx := context.Background()
	c := rg.report("ana", "no water on Mill Lane", "water_sanitation", "en", citybot.UrgencyNormal)
	official := rg.signIn(rg.account("mayor", citybot.RoleOfficial, "a long enough password"))
	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))

	resp, body := rg.do(official, http.MethodPost, "/statements", url.Values{"topic": {"water_sanitation"}, "name": {"Water cut"},
		"language": {"en"}, "text": {"We know about the water cut in {place}. Next update by {time}."}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("official saves a statement: %d\n%s", resp.StatusCode, body)
	}
	ts, err := rg.db.StatementTemplates(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatalf("templates = %+v, %v", ts, err)
	}
	id := ts[0].ID
	if _, page := rg.formNonce(officer, c, ""); !strings.Contains(page, "No holding statement is approved yet") {
		t.Errorf("an unapproved statement is offered to the officer:\n%s", page)
	}
	if resp, _ := rg.do(officer, http.MethodPost, "/statements/approve", url.Values{"template": {fmt.Sprint(id)}, "language": {"en"}, "version": {"1"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an officer approves: %d, want 403", resp.StatusCode)
	}
	if resp, body := rg.do(official, http.MethodPost, "/statements/approve", url.Values{"template": {fmt.Sprint(id)}, "language": {"en"}, "version": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the official approves: %d\n%s", resp.StatusCode, body)
	}
	nonce, page := rg.formNonce(officer, c, "")
	if nonce == "" || !strings.Contains(page, `name="blank_place"`) || !strings.Contains(page, `name="blank_time"`) {
		t.Fatalf("the approved statement's form (blanks place and time) is not offered:\n%s", page)
	}
	// The official changes the text: the approval is gone.
	if resp, _ := rg.do(official, http.MethodPost, "/statements", url.Values{"template": {fmt.Sprint(id)}, "language": {"en"},
		"text": {"We know about the water cut in {place}."}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	_, list := rg.do(official, http.MethodGet, "/statements", nil)
	if !strings.Contains(list, "Waiting for approval") {
		t.Errorf("the edited text is not shown waiting for approval")
	}
	resp, body = rg.do(officer, http.MethodPost, casePath(c, "/statement"), url.Values{"template": {fmt.Sprint(id)}, "nonce": {nonce},
		"blank_place": {"Mill Lane"}, "blank_time": {"18:00"}, "action": {"send"}})
	if resp.StatusCode == http.StatusSeeOther {
		t.Errorf("a statement whose text lost its approval was sent")
	}
	if rows, _ := rg.db.OutboxItems(ctx, "statement:"); len(rows) != 0 {
		t.Errorf("%d rows queued for an unapproved statement", len(rows))
	}
	if resp, _ := rg.do(official, http.MethodPost, "/statements/approve", url.Values{"template": {fmt.Sprint(id)}, "language": {"en"}, "version": {"1"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("approving the version before the edit: %d, want 400", resp.StatusCode)
	}
}

// TestStatementSendOnce: the preview shows each follower's message in
// their language (the hostile blank escaped) and the public channel's;
// one action queues one message per follower and one public post;
// sending the same form again queues nothing more; the case page says it
// was sent.
func TestStatementSendOnce(t *testing.T) {
	rg := newStatementRig(t)
	ctx := context.Background()
	main := rg.report("ana", "no water on Mill Lane", "water_sanitation", "en", citybot.UrgencyNormal)
	fr := rg.report("bea", "plus d'eau rue du Moulin", "water_sanitation", "fr", citybot.UrgencyNormal)
	if err := rg.db.MergeCases(ctx, fr.ID, main.ID, "olivia", nil); err != nil {
		t.Fatal(err)
	}
	id, err := rg.db.SaveStatementText(ctx, 0, "water_sanitation", "Water cut", "en", "We know about the water cut in {place}. Next update by {time}.", "mayor")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rg.db.SaveStatementText(ctx, id, "", "", "fr", "Nous savons pour la coupure d'eau à {place}. Prochain point à {time}.", "mayor"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"en", "fr"} {
		if err := rg.db.ApproveStatementText(ctx, id, l, 1, "mayor"); err != nil {
			t.Fatal(err)
		}
	}
	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	nonce, _ := rg.formNonce(officer, main, fmt.Sprintf("?template=%d", id))
	form := url.Values{"template": {fmt.Sprint(id)}, "nonce": {nonce}, "blank_place": {"Mill Lane <script>alert(1)</script>"},
		"blank_time": {"18:00"}, "public": {"1"}, "action": {"preview"}}
	resp, body := rg.do(officer, http.MethodPost, casePath(main, "/statement"), form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"We know about the water cut in Mill Lane &lt;script&gt;", "Nous savons pour la coupure d&#39;eau à Mill Lane",
		string(main.Ref), string(fr.Ref), "Public channel"} {
		if !strings.Contains(body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert(1)") {
		t.Errorf("the blank's value is not escaped")
	}
	if rows, _ := rg.db.OutboxItems(ctx, "statement:"); len(rows) != 0 {
		t.Fatalf("the preview queued %d rows", len(rows))
	}
	form.Set("action", "send")
	form.Set("blank_place", "Mill Lane")
	for range 2 { // a double click
		resp, body = rg.do(officer, http.MethodPost, casePath(main, "/statement"), form)
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=statement") {
			t.Fatalf("send: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	rows, err := rg.db.OutboxItems(ctx, "statement:")
	if err != nil {
		t.Fatal(err)
	}
	byChat := map[citybot.ChatID][]string{}
	for _, r := range rows {
		byChat[r.Out.Chat] = append(byChat[r.Out.Chat], r.Out.Text)
	}
	if len(rows) != 3 || len(byChat) != 3 {
		t.Fatalf("%d rows in %d chats, want one per follower and one public post: %+v", len(rows), len(byChat), byChat)
	}
	if got := byChat[main.Chat]; !strings.Contains(got[0], "water cut in Mill Lane. Next update by 18:00.") || !strings.Contains(got[0], string(main.Ref)) {
		t.Errorf("English follower got %q", got)
	}
	if got := byChat[fr.Chat]; !strings.Contains(got[0], "coupure d'eau à Mill Lane") || !strings.Contains(got[0], "Nouvelles de la ville") {
		t.Errorf("French follower got %q, want the French text with the French frame", got)
	}
	if got := byChat["4242"]; got[0] != "We know about the water cut in Mill Lane. Next update by 18:00." {
		t.Errorf("public channel got %q, want the English text alone", got)
	}
	_, page := rg.do(officer, http.MethodGet, casePath(main, "?done=statement"), nil)
	if !strings.Contains(page, "olivia sent a holding statement to the citizens following this case (2).") || !strings.Contains(page, "Also posted on the public channels.") {
		t.Errorf("the case page does not say the statement was sent")
	}
}

// TestSurgeBanner: the inbox shows a surge in its quiet time with its
// main case and the statement link; a sensitive surge only to those who
// read sensitive cases; none once the quiet time is over.
func TestSurgeBanner(t *testing.T) {
	rg := newStatementRig(t)
	ctx := context.Background()
	c := rg.report("ana", "no water on Mill Lane", "water_sanitation", "en", citybot.UrgencyNormal)
	s := rg.report("bob", "a bribe at City Hall", "corruption", "en", citybot.UrgencyNormal)
	now := time.Now()
	for _, sg := range []citybot.Surge{
		{Topic: "water_sanitation", Places: []string{"Mill Lane"}, Keys: []string{"mill lane"}, Count: 9, Usual: 0.5, Case: c.ID, At: now, QuietUntil: now.Add(time.Hour)},
		{Topic: "corruption", Places: []string{"City Hall"}, Keys: []string{"city hall"}, Count: 6, Usual: 1, Case: s.ID, Sensitive: true, At: now, QuietUntil: now.Add(time.Hour)},
	} {
		if ok, err := rg.db.RecordSurge(ctx, sg, func(int64) []citybot.OutboxItem { return nil }); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	admin := rg.signIn(rg.account("ada", citybot.RoleAdmin, "a long enough password"))
	_, inbox := rg.do(officer, http.MethodGet, "/inbox", nil)
	want := fmt.Sprintf("Surge: 9 reports about water sanitation in the last hour (usually 0.5), at Mill Lane. Main case %s.", c.Ref)
	if !strings.Contains(inbox, want) || !strings.Contains(inbox, casePath(c, "/statement")) {
		t.Errorf("the officer's inbox lacks the banner %q with the statement link", want)
	}
	if strings.Contains(inbox, "City Hall") {
		t.Errorf("a sensitive surge is shown to an officer who may not read sensitive cases")
	}
	if _, inbox := rg.do(admin, http.MethodGet, "/inbox", nil); !strings.Contains(inbox, "City Hall") {
		t.Errorf("the admin's inbox lacks the sensitive surge")
	}
	_, page := rg.do(officer, http.MethodGet, casePath(c, ""), nil)
	if !strings.Contains(page, "This is the main case of a surge: 9 reports") {
		t.Errorf("the main case's page does not say it is the main case of a surge")
	}
}

// TestStatementFallbackLanguage: a follower whose language has no
// approved text gets the city's default language; when the default has
// none either, the officer is told which case needs which text and
// nothing is queued.
func TestStatementFallbackLanguage(t *testing.T) {
	rg := newStatementRig(t)
	ctx := context.Background()
	main := rg.report("ana", "no water on Mill Lane", "water_sanitation", "en", citybot.UrgencyNormal)
	fr := rg.report("bea", "plus d'eau rue du Moulin", "water_sanitation", "fr", citybot.UrgencyNormal)
	if err := rg.db.MergeCases(ctx, fr.ID, main.ID, "olivia", nil); err != nil {
		t.Fatal(err)
	}
	enOnly, err := rg.db.SaveStatementText(ctx, 0, "water_sanitation", "English only", "en", "A team is at {place}.", "mayor")
	if err != nil {
		t.Fatal(err)
	}
	frOnly, err := rg.db.SaveStatementText(ctx, 0, "water_sanitation", "French only", "fr", "Une équipe est à {place}.", "mayor")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{enOnly, frOnly} {
		lang := "en"
		if id == frOnly {
			lang = "fr"
		}
		if err := rg.db.ApproveStatementText(ctx, id, lang, 1, "mayor"); err != nil {
			t.Fatal(err)
		}
	}
	officer := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "a long enough password"))
	send := func(id int64) (*http.Response, string) {
		nonce, _ := rg.formNonce(officer, main, fmt.Sprintf("?template=%d", id))
		return rg.do(officer, http.MethodPost, casePath(main, "/statement"), url.Values{"template": {fmt.Sprint(id)}, "nonce": {nonce},
			"blank_place": {"Mill Lane"}, "action": {"send"}})
	}
	resp, body := send(frOnly)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, string(main.Ref)) {
		t.Errorf("French only, English follower: %d, want 400 naming case %s\n%s", resp.StatusCode, main.Ref, body)
	}
	if rows, _ := rg.db.OutboxItems(ctx, "statement:"); len(rows) != 0 {
		t.Fatalf("a refused statement queued %d rows", len(rows))
	}
	if resp, body := send(enOnly); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("English only: %d\n%s", resp.StatusCode, body)
	}
	rows, err := rg.db.OutboxItems(ctx, "statement:")
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows = %d, %v; want one per follower", len(rows), err)
	}
	for _, r := range rows {
		if !strings.Contains(r.Out.Text, "A team is at Mill Lane.") || !strings.Contains(r.Out.Text, "News from the city") {
			t.Errorf("row to %s = %q; want the English text in its English frame", r.Out.Chat, r.Out.Text)
		}
	}
}
