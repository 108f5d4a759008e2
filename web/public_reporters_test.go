package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestPublicReportedByCount: a problem several citizens reported says
// "reported by N citizens" on the public page and in Open311's
// description, never who; a sensitive case stays hidden however many
// reported it.
func TestPublicReportedByCount(t *testing.T) {
	rg := newPubRig(t)
	at := pubWeek.Add(9 * time.Hour)
	main := rg.say(at, citybot.Telegram, "1001", "Ada Lovelace", "@ada", "Water pipe burst on Station Road")
	for i, u := range []string{"1002", "1003"} {
		c := rg.say(at.Add(time.Duration(i+1)*time.Minute), citybot.Discord, u, "Grace Hopper", "@grace", "Water everywhere on Station Road")
		if c.ID != main.ID {
			if err := rg.db.MergeCases(rg.ctx, c.ID, main.ID, "olga", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	secret := rg.say(at.Add(time.Hour), citybot.Telegram, "1004", "Alan Turing", "@alan", "The clerk asked a bribe for the water permit")
	if !secret.Sensitive {
		t.Fatalf("the bribe is not sensitive: %+v", secret)
	}
	follower := rg.say(at.Add(61*time.Minute), citybot.Telegram, "1005", "Tim Berners", "@tim", "They want a bribe for the permit too")
	if follower.ID != secret.ID {
		if err := rg.db.MergeCases(rg.ctx, follower.ID, secret.ID, "olga", nil); err != nil {
			t.Fatal(err)
		}
	}

	code, body, _ := rg.get("/public/", nil)
	if code != http.StatusOK || !strings.Contains(body, "Problems many citizens reported") || !strings.Contains(body, "reported by 3 citizens") {
		t.Fatalf("public page (%d) lacks the count:\n%s", code, body)
	}
	_, fr, _ := rg.get("/public/?lang=fr", nil)
	if !strings.Contains(fr, "signalé par 3 habitants") {
		t.Errorf("French public page lacks the count")
	}
	_, js, _ := rg.get("/open311/v2/requests.json", nil)
	if !strings.Contains(js, "reported by 3 citizens") {
		t.Errorf("Open311 description lacks the count:\n%s", js)
	}
	for _, out := range []string{body, js} {
		for _, secretWord := range []string{"Ada", "Grace", "@grace", "bribe", string(secret.Ref), "reported by 2 citizens"} {
			if strings.Contains(out, secretWord) {
				t.Errorf("public output names %q", secretWord)
			}
		}
	}
}
