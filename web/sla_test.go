package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestInboxTimeLeft: each inbox row says the time left to its
// first-answer target, or how long it is overdue, or that it was
// answered; a passed promised date is flagged; sort=due puts the most
// overdue first and the answered last.
func TestInboxTimeLeft(t *testing.T) {
	later := time.Now().Add(3 * time.Hour)
	rg := newRig(t, Options{Now: func() time.Time { return later }, ServiceLevels: citybot.ServiceLevels{
		Targets: map[citybot.Urgency]time.Duration{citybot.UrgencyCritical: 30 * time.Minute, citybot.UrgencyHigh: 4 * time.Hour}}})
	olivia := rg.signIn(rg.account("olivia", citybot.RoleOfficer, "pw"))
	overdue := rg.report("1", "gas smell", "public_safety", "en", citybot.UrgencyCritical)
	soon := rg.report("2", "no water in the whole street", "water_sanitation", "en", citybot.UrgencyHigh)
	answered := rg.report("3", "fire in a bin", "public_safety", "en", citybot.UrgencyCritical)
	untargeted := rg.report("4", "a bench is broken", "parks", "en", citybot.UrgencyLow)
	if resp, body := rg.do(olivia, http.MethodPost, casePath(answered, "/answer"), map[string][]string{"text": {"On our way."}, "nonce": {"n1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", resp.StatusCode, body)
	}
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Truncate(24 * time.Hour)
	if err := rg.db.SetExpectedBy(context.Background(), soon.ID, &yesterday, "olivia"); err != nil {
		t.Fatal(err)
	}

	row := func(body string, c citybot.Case) string {
		i := strings.Index(body, ">"+string(c.Ref)+"<")
		if i < 0 {
			t.Fatalf("case %s not in the inbox", c.Ref)
		}
		end := strings.Index(body[i:], "</tr>")
		return body[i : i+end]
	}
	order := func(body string, cs ...citybot.Case) {
		t.Helper()
		last := -1
		for _, c := range cs {
			i := strings.Index(body, ">"+string(c.Ref)+"<")
			if i <= last {
				t.Errorf("case %s is not after the one before it in the order wanted", c.Ref)
			}
			last = i
		}
	}
	_, body := rg.do(olivia, http.MethodGet, "/inbox", nil)
	for _, tt := range []struct {
		c    citybot.Case
		want string
	}{
		{overdue, `<strong class="overdue">overdue by 2 h</strong>`},
		{soon, "1 h left"},
		{soon, "promised date passed"},
		{answered, `<span class="muted">answered</span>`},
		{untargeted, "no target"},
	} {
		if r := row(body, tt.c); !strings.Contains(r, tt.want) {
			t.Errorf("row of %s lacks %q: %s", tt.c.Ref, tt.want, r)
		}
	}
	if r := row(body, overdue); strings.Contains(r, "promised date passed") {
		t.Errorf("a case without a promise is flagged: %s", r)
	}
	order(body, overdue, answered, soon, untargeted)
	if !strings.Contains(body, `href="/inbox?sort=due"`) {
		t.Error("no link to sort by time left")
	}

	_, body = rg.do(olivia, http.MethodGet, "/inbox?sort=due", nil)
	order(body, overdue, soon, untargeted, answered)
	// The polled rows keep the order.
	_, rows := rg.do(olivia, http.MethodGet, "/inbox/rows?sort=due", nil)
	order(rows, overdue, soon, untargeted, answered)
	// With an urgency filter, only that urgency, by time left.
	_, rows = rg.do(olivia, http.MethodGet, "/inbox/rows?sort=due&urgency=critical", nil)
	order(rows, overdue, answered)
	if strings.Contains(rows, ">"+string(soon.Ref)+"<") {
		t.Error("the urgency filter is lost when sorting by time left")
	}
}
