package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"citybot"
)

// Citizen text published as a place (Open311 address and description,
// the CSV's places): markup, a neighbour's name, a libel dressed as a
// street and a right-to-left override never reach public output, while
// a real street still does. The digest names the approving office, never
// the official's account; public pages vary by Accept-Language; only
// Open311 is shared with other sites, without credentials.
func TestPublicOutputSafe(t *testing.T) {
	rg := newPubRig(t)
	texts := []string{
		"Huge pothole on Evil<img/src/onerror=alert(1)>Foo Street, please fix",
		"Il y a des ordures dans la cour de Mme Dupont depuis une semaine",
		"Pothole on Mayor Is A Thief Street again",
		"Streetlight out on Gare\u202eRoad Street tonight",
		"Nid-de-poule énorme rue de la République",
	}
	var refs []citybot.CaseRef
	for i, text := range texts {
		at := pubWeek.Add(time.Duration(9+i*5) * time.Hour)
		c := rg.say(at, citybot.Telegram, fmt.Sprint(7000+i), "Someone", "", text)
		refs = append(refs, c.Ref)
		rg.clock.Set(at.Add(time.Hour))
		if _, err := rg.off.Answer(rg.ctx, c.ID, "olivia", "We are on it.", fmt.Sprintf("a%d", i)); err != nil {
			t.Fatal(err)
		}
		rg.clock.Set(at.Add(3 * time.Hour))
		if _, err := rg.off.ChangeStatus(rg.ctx, c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, fmt.Sprintf("s%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A place straight from storage, as a classifier or an import could
	// leave it: a bidi override inside a street name.
	in := citybot.Intake{Message: citybot.Message{Platform: citybot.Discord, Chat: "d1", ChatKind: citybot.ChatPrivate, ID: "d1",
		Sender: citybot.Sender{ID: "d1"}, Text: "lamp out", SentAt: pubWeek.Add(40 * time.Hour)},
		Mode: citybot.CaseJoinOrOpen, Window: time.Minute,
		Classification: &citybot.Classification{Topic: citybot.Scored{Label: "street_lighting", Confidence: 0.9},
			Urgency: citybot.UrgencyNormal, Language: "en", Model: "test",
			Places: []citybot.Place{{Name: "Baker \u202eteertS Street", Kind: "street"}}}}
	rg.clock.Set(pubWeek.Add(40 * time.Hour))
	if _, err := rg.db.Ingest(rg.ctx, in, nil); err != nil {
		t.Fatal(err)
	}
	rg.clock.Set(pubWeek.Add(7*24*time.Hour + 8*time.Hour))
	if err := rg.dg.DraftLastWeek(rg.ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := rg.db.Digests(rg.ctx, 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("draft: %v", err)
	}
	if _, err := rg.dg.Decide(rg.ctx, ds[0].ID, citybot.DigestDecision{Approve: true, Actor: "mayor"}); err != nil {
		t.Fatal(err)
	}
	week := string(ds[0].Week)

	forbidden := []string{"<img", "onerror", "Dupont", "Thief", "\u202e", "Evil"}
	var all strings.Builder
	for _, path := range []string{"/open311/v2/requests.json", "/open311/v2/requests.xml",
		"/open311/v2/requests.json?start_date=2026-11-01T00:00:00Z", "/public/cases.csv?from=2026-11-01",
		"/public/", "/public/?lang=fr", "/public/digests/" + week, "/public/digests/" + week + "?lang=fr"} {
		code, body, h := rg.get(path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		all.WriteString(body)
		bads := forbidden
		if strings.HasPrefix(path, "/public/digests/") || strings.HasPrefix(path, "/public/?") || path == "/public/" {
			// The digest quotes citizens (redacted, escaped, approved by
			// an official): only raw markup and invisible characters
			// are checked there.
			bads = []string{"<img/src", "\u202e"}
		}
		for _, bad := range bads {
			if strings.Contains(body, bad) {
				i := strings.Index(body, bad)
				t.Errorf("GET %s publishes %q: …%s…", path, bad, body[max(0, i-60):min(len(body), i+60)])
			}
		}
		if !strings.Contains(h.Get("Vary"), "Accept-Language") {
			t.Errorf("GET %s: Vary %q, want Accept-Language", path, h.Get("Vary"))
		}
		if h.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("GET %s: Access-Control-Allow-Credentials is set", path)
		}
		cors := h.Get("Access-Control-Allow-Origin")
		if strings.HasPrefix(path, "/open311/") != (cors == "*") {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q", path, cors)
		}
		if strings.HasPrefix(path, "/public/digests/") && strings.Contains(body, "mayor") {
			t.Errorf("GET %s names the approving official's account", path)
		}
	}
	// The real street is still published.
	if !strings.Contains(all.String(), "rue de la République") {
		t.Errorf("the real street is missing from public output")
	}
	// Every case is listed, by reference, even those whose place was withheld.
	_, body, _ := rg.get("/open311/v2/requests.json?start_date=2026-11-01T00:00:00Z", nil)
	for _, ref := range refs {
		if !strings.Contains(body, string(ref)) {
			t.Errorf("case %s missing from Open311", ref)
		}
	}
}
