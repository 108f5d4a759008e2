package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"citybot"
)

// TestConversationShowsDeliveryUnknown: an acknowledgement a crash left
// ambiguous (not sent again) reads "delivery unknown" on the case page,
// not pending, sending or sent; a row still queued reads pending.
func TestConversationShowsDeliveryUnknown(t *testing.T) {
	rg := newRig(t, Options{})
	ctx := context.Background()
	c := rg.report("ann", "pothole on Main Street", "roads", "en", citybot.UrgencyNormal)
	out := func(key, text string) citybot.OutboxItem {
		return citybot.OutboxItem{Out: citybot.Outgoing{Key: key, Platform: c.Platform, Chat: c.Chat, Text: text}, Kind: citybot.OutboxNotice, Case: c.ID}
	}
	if _, err := rg.db.Enqueue(ctx, out("k1", "first answer"), out("k2", "second answer")); err != nil {
		t.Fatal(err)
	}
	heads, err := rg.db.OutboxHeads(ctx, []citybot.Platform{c.Platform}, 10)
	if err != nil || len(heads) == 0 {
		t.Fatalf("outbox heads: %v, %v", heads, err)
	}
	claimed, err := rg.db.ClaimOutboxIDs(ctx, "a-dead-instance", []citybot.OutboxID{heads[0].ID})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	if _, err := rg.db.MarkDeliveryUnknown(ctx, claimed[0].ID, "delivery unknown: test"); err != nil {
		t.Fatal(err)
	}
	u := rg.signIn(rg.account("olga", citybot.RoleOfficer, "a long enough password"))
	resp, body := rg.do(u, http.MethodGet, casePath(c, ""), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	state := map[string]string{}
	for _, item := range strings.Split(body, `<li class="msg out">`)[1:] {
		for _, text := range []string{"first answer", "second answer"} {
			if strings.Contains(item, text) {
				meta, _, _ := strings.Cut(item, `</li>`)
				state[text] = meta
			}
		}
	}
	if m := state["first answer"]; !strings.Contains(m, ">delivery unknown</span>") || strings.Contains(m, ">pending<") || strings.Contains(m, ">sending<") {
		t.Errorf("the ambiguous row is not shown as delivery unknown: %q", m)
	}
	if m := state["second answer"]; !strings.Contains(m, ">waiting</span>") || strings.Contains(m, "delivery unknown") {
		t.Errorf("the queued row is not shown as pending: %q", m)
	}
}
