package responder_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"citybot"
	"citybot/casework"
)

// caseIn returns the case a citizen's chat opened.
func caseIn(t *testing.T, rg *rig, chat string) citybot.Case {
	t.Helper()
	items, _, err := rg.db.InboxPage(context.Background(), citybot.InboxQuery{Statuses: []citybot.CaseStatus{
		citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress, citybot.StatusAnswered,
		citybot.StatusResolved, citybot.StatusClosed, citybot.StatusDuplicate}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if string(it.Case.Chat) == chat {
			return it.Case
		}
	}
	t.Fatalf("no case in chat %s", chat)
	return citybot.Case{}
}

func newOfficer(t *testing.T, rg *rig) *casework.Officer {
	t.Helper()
	o, err := casework.NewOfficer(casework.OfficerOptions{Store: rg.db, Notify: rg.d.Notify, Policy: testPolicy(t)})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func lastText(t *testing.T, rg *rig, chat string) string {
	t.Helper()
	sent := rg.bot.sentTo(citybot.ChatID(chat))
	if len(sent) == 0 {
		t.Fatalf("nothing sent to %s", chat)
	}
	return sent[len(sent)-1].Text
}

func TestOfficerAnswerStatusAndMergeReachCitizens(t *testing.T) {
	ctx := context.Background()
	rg := newRig(t, rigOptions{})
	o := newOfficer(t, rg)
	rg.handle(privateMsg("ana", 1, "There is a pothole on Main Street"))
	rg.handle(privateMsg("bob", 1, "il y a un nid-de-poule rue Haute"))
	rg.drain()
	ana, bob := caseIn(t, rg, "chat-ana"), caseIn(t, rg, "chat-bob")

	// An answer reaches the citizen on their platform, once per nonce.
	for range 2 {
		if _, err := o.Answer(ctx, ana.ID, "olivia", "We will fix it <b>this week</b>.", "n1"); err != nil {
			t.Fatal(err)
		}
	}
	rg.drain()
	n := 0
	for _, out := range rg.bot.sentTo("chat-ana") {
		if strings.Contains(out.Text, "this week") {
			n++
			if !strings.Contains(out.Text, string(ana.Ref)) {
				t.Errorf("answer %q lacks the reference %s", out.Text, ana.Ref)
			}
		}
	}
	if n != 1 {
		t.Fatalf("answer sent %d times, want 1", n)
	}
	if got, _ := rg.db.Case(ctx, ana.ID); got.Status != citybot.StatusAnswered {
		t.Errorf("status after answer = %s, want answered", got.Status)
	}

	// A status change is told in the citizen's language.
	if _, err := o.ChangeStatus(ctx, bob.ID, citybot.StatusChange{To: citybot.StatusInProgress, Actor: "olivia"}, "s1"); err != nil {
		t.Fatal(err)
	}
	rg.drain()
	if txt := lastText(t, rg, "chat-bob"); !strings.Contains(txt, "Votre dossier "+string(bob.Ref)) || !strings.Contains(txt, "en cours") {
		t.Errorf("French status notice = %q", txt)
	}

	// A forbidden transition fails and tells nobody.
	before := len(rg.bot.sentTo("chat-bob"))
	if _, err := o.ChangeStatus(ctx, bob.ID, citybot.StatusChange{To: citybot.StatusAcknowledged, Actor: "olivia"}, "s2"); !errors.Is(err, citybot.ErrInvalid) {
		t.Fatalf("in_progress → acknowledged: err = %v, want ErrInvalid", err)
	}
	rg.drain()
	if after := len(rg.bot.sentTo("chat-bob")); after != before {
		t.Errorf("a refused change sent %d messages", after-before)
	}

	// Merge bob's case into ana's: both are told, and bob follows ana's case.
	if err := o.Merge(ctx, bob.ID, ana.ID, "olivia"); err != nil {
		t.Fatal(err)
	}
	rg.drain()
	if txt := lastText(t, rg, "chat-bob"); !strings.Contains(txt, string(ana.Ref)) || !strings.Contains(txt, "fusionn") {
		t.Errorf("merge notice to bob = %q", txt)
	}
	if txt := lastText(t, rg, "chat-ana"); !strings.Contains(txt, "merged into your case") {
		t.Errorf("merge notice to ana = %q", txt)
	}
	if _, err := o.ChangeStatus(ctx, ana.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "olivia"}, "s3"); err != nil {
		t.Fatal(err)
	}
	rg.drain()
	if txt := lastText(t, rg, "chat-bob"); !strings.Contains(txt, "résolu") {
		t.Errorf("bob was not told the surviving case is resolved: %q", txt)
	}
	if txt := lastText(t, rg, "chat-ana"); !strings.Contains(txt, "resolved") {
		t.Errorf("ana was not told her case is resolved: %q", txt)
	}
	if got, _ := rg.db.Case(ctx, bob.ID); got.Status != citybot.StatusDuplicate || got.DuplicateOf != ana.ID {
		t.Errorf("merged case = %s of %d", got.Status, got.DuplicateOf)
	}
}

func TestOfficerRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	rg := newRig(t, rigOptions{noRun: true})
	o := newOfficer(t, rg)
	rg.handle(privateMsg("ana", 1, "pothole"))
	c := caseIn(t, rg, "chat-ana")
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"empty answer", func() error { _, err := o.Answer(ctx, c.ID, "olivia", "  ", "n"); return err }(), citybot.ErrInvalid},
		{"bad nonce", func() error { _, err := o.Answer(ctx, c.ID, "olivia", "ok", "a b"); return err }(), citybot.ErrInvalid},
		{"huge answer", func() error {
			_, err := o.Answer(ctx, c.ID, "olivia", strings.Repeat("x", casework.MaxAnswer+1), "n")
			return err
		}(), citybot.ErrInvalid},
		{"unknown case", func() error { _, err := o.Answer(ctx, 999, "olivia", "ok", "n"); return err }(), citybot.ErrNotFound},
		{"status duplicate", func() error {
			_, err := o.ChangeStatus(ctx, c.ID, citybot.StatusChange{To: citybot.StatusDuplicate, Actor: "o"}, "n")
			return err
		}(), citybot.ErrInvalid},
		{"close without reason", func() error {
			_, err := o.ChangeStatus(ctx, c.ID, citybot.StatusChange{To: citybot.StatusClosed, Actor: "o"}, "n")
			return err
		}(), citybot.ErrInvalid},
		{"merge into itself", o.Merge(ctx, c.ID, c.ID, "o"), citybot.ErrInvalid},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if n := len(rg.bot.allSent()); n != 0 {
		t.Errorf("%d messages sent after refused actions", n)
	}
}
