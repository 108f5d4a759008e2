package responder_test

import (
	"context"
	"strings"
	"testing"

	"citybot"
	"citybot/grouping"
	"citybot/responder"
)

// placeClassifier is fakeClassifier that also tags "Main Street" and
// "Mill Lane" as places.
type placeClassifier struct{ fakeClassifier }

func (p placeClassifier) Classify(text, hint string) citybot.Classification {
	c := p.fakeClassifier.Classify(text, hint)
	low := strings.ToLower(text)
	for _, name := range []string{"Main Street", "Mill Lane"} {
		if i := strings.Index(low, strings.ToLower(name)); i >= 0 {
			c.Places = append(c.Places, citybot.Place{Name: text[i : i+len(name)], Kind: "street", Span: citybot.Span{Start: i, End: i + len(name)}})
		}
	}
	return c
}

func groupingRig(t *testing.T) *rig {
	t.Helper()
	g, err := grouping.New(grouping.Options{Places: []grouping.Place{{Name: "Main Street"}, {Name: "Mill Lane"}}})
	if err != nil {
		t.Fatal(err)
	}
	return newRig(t, rigOptions{opts: responder.Options{Classifier: placeClassifier{}, Grouping: g}})
}

// TestGroupingJoinsAndTells: a second citizen reporting the same burst
// main is joined to the first one's case and told so, once, with both
// references; their next line follows their own case up; an unrelated
// report opens its own case; a sensitive one is never joined.
func TestGroupingJoinsAndTells(t *testing.T) {
	rg := groupingRig(t)
	ctx := context.Background()
	first := privateMsg("u1", 1, "Burst water main on Main Street, water everywhere")
	rg.handle(first)
	rg.drain()
	mainRef := caseRef(t, rg.bot.sentTo(first.Chat)[0].Text)

	second := privateMsg("u2", 1, "Water leak pouring on main street near the bakery")
	rg.handle(second)
	rg.handle(second) // redelivery
	rg.drain()
	sent := rg.bot.sentTo(second.Chat)
	if len(sent) != 1 {
		t.Fatalf("second citizen got %d messages, want 1: %+v", len(sent), sent)
	}
	ack := sent[0].Text
	if !strings.Contains(ack, "Other people have told us about the same problem") || !strings.Contains(ack, string(mainRef)) {
		t.Fatalf("joined acknowledgement:\n%s", ack)
	}
	own := caseRef(t, ack)
	if own == mainRef {
		t.Fatalf("the follower has no reference of their own: %s", ack)
	}
	c, err := rg.db.CaseByRef(ctx, own)
	if err != nil || c.Status != citybot.StatusDuplicate {
		t.Fatalf("follower case %+v, %v", c, err)
	}
	main, _ := rg.db.CaseByRef(ctx, mainRef)
	if c.DuplicateOf != main.ID {
		t.Errorf("follower follows %d, want %d", c.DuplicateOf, main.ID)
	}

	// Their next line joins their own case: no new case, no second ack.
	rg.handle(privateMsg("u2", 2, "Water still leaking on Main Street"))
	rg.drain()
	if n := len(rg.bot.sentTo(second.Chat)); n != 1 {
		t.Errorf("the follower's next line caused %d messages in all, want 1", n)
	}
	if cases, _ := rg.db.CitizenCases(ctx, c.Citizen, 10); len(cases) != 1 {
		t.Errorf("the follower has %d cases, want 1", len(cases))
	}

	// /status tells the follower where the case they follow stands.
	st := privateMsg("u2", 3, "")
	st.Command, st.Text = "status", "/status"
	rg.handle(st)
	rg.drain()
	got := rg.bot.sentTo(second.Chat)
	if last := got[len(got)-1].Text; !strings.Contains(last, string(own)) || !strings.Contains(last, "(with case "+string(mainRef)+")") {
		t.Errorf("the follower's /status:\n%s", last)
	}

	// Another problem at another place: its own case.
	other := privateMsg("u3", 1, "Huge pothole on Mill Lane")
	rg.handle(other)
	rg.drain()
	if ack := rg.bot.sentTo(other.Chat)[0].Text; strings.Contains(ack, "Other people") {
		t.Errorf("an unrelated report was joined:\n%s", ack)
	}
	// A bribe at the same street: never joined.
	bribe := privateMsg("u4", 1, "They want cash to repair the water leak on Main Street")
	rg.handle(bribe)
	rg.drain()
	bref := caseRef(t, rg.bot.sentTo(bribe.Chat)[0].Text)
	if bc, _ := rg.db.CaseByRef(ctx, bref); bc.Status == citybot.StatusDuplicate || !bc.Sensitive {
		t.Errorf("sensitive report %+v", bc)
	}
	v, err := rg.db.CaseView(ctx, main.ID)
	if err != nil || len(v.Merged) != 1 {
		t.Errorf("main case followers %+v, %v", v.Merged, err)
	}
}
