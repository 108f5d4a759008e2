package responder_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"
)

// casesIn counts the cases, of any status, in chat.
func casesIn(t *testing.T, rg *rig, chat string) int {
	t.Helper()
	items, _, err := rg.db.InboxPage(context.Background(), citybot.InboxQuery{Statuses: []citybot.CaseStatus{
		citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress, citybot.StatusAnswered,
		citybot.StatusResolved, citybot.StatusClosed, citybot.StatusDuplicate}, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range items {
		if string(it.Case.Chat) == chat {
			n++
		}
	}
	return n
}

// caseOfMessage reloads case c from the store.
func caseOfMessage(t *testing.T, rg *rig, c citybot.Case) citybot.Case {
	t.Helper()
	got, err := rg.db.Case(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A bribe reported as a follow-up in a group turns the pothole case
// sensitive: the citizen gets the identity-protection notice once, in
// private; the group hears neither the topic nor the allegation; later
// officer notices go private too.
func TestFollowUpBribeMakesCaseSensitive(t *testing.T) {
	ctx := context.Background()
	logs := &logBuf{}
	rg, o := privateRig(t, logs, nil)
	const user = "u-48213"
	rg.handle(groupMsg(user, "grp", 1, "There is a pothole on Main Street"))
	rg.drain()
	pothole := caseIn(t, rg, "grp")
	if pothole.Sensitive || pothole.Topic != "roads" {
		t.Fatalf("pothole case: %+v", pothole)
	}
	groupBefore := len(rg.bot.sentTo("grp"))

	bribe := groupMsg(user, "grp", 2, "The road inspector wants 300 cash before he fixes it")
	rg.handle(bribe)
	rg.handle(bribe) // redelivered: nothing twice
	rg.drain()

	c := caseOfMessage(t, rg, pothole)
	if !c.Sensitive || c.Topic != "roads" {
		t.Fatalf("after the follow-up: sensitive=%v topic=%q", c.Sensitive, c.Topic)
	}
	msgs, err := rg.db.CaseMessages(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var marks []bool
	for _, m := range msgs {
		if m.Direction == citybot.Inbound {
			marks = append(marks, m.Sensitive)
		}
	}
	if len(marks) != 2 || marks[0] || !marks[1] {
		t.Fatalf("inbound messages of the case, sensitive marks %v; want [false true]", marks)
	}
	dm := rg.bot.sentTo(citybot.ChatID("dm-" + user))
	notices := 0
	for _, out := range dm {
		if strings.Contains(out.Text, sensitiveNotice(t, "en")) {
			notices++
			if !strings.Contains(out.Text, string(c.Ref)) {
				t.Errorf("the private notice does not name the case: %q", out.Text)
			}
		}
	}
	if notices != 1 {
		t.Errorf("%d private protection notices, want 1:\n%s", notices, texts(dm))
	}
	group := rg.bot.sentTo("grp")[groupBefore:]
	if len(group) != 1 {
		t.Errorf("the group got %d messages after the bribe report, want 1:\n%s", len(group), texts(group))
	}
	for _, g := range group {
		for _, bad := range []string{"corruption", "cash", "inspector", "sensitive matter", "roads"} {
			if strings.Contains(strings.ToLower(g.Text), bad) {
				t.Errorf("group message %q contains %q", g.Text, bad)
			}
		}
	}

	// A third message (sensitive again) sends no second notice.
	rg.handle(groupMsg(user, "grp", 3, "He asked for more cash today"))
	rg.drain()
	again := 0
	for _, out := range rg.bot.sentTo(citybot.ChatID("dm-" + user)) {
		if strings.Contains(out.Text, sensitiveNotice(t, "en")) {
			again++
		}
	}
	if again != 1 {
		t.Errorf("%d protection notices after a second sensitive message, want 1", again)
	}

	// The officer's answer now goes private (flag, not topic).
	groupBefore = len(rg.bot.sentTo("grp"))
	if _, err := o.Answer(ctx, c.ID, "olivia", "We opened an inquiry.", "n1"); err != nil {
		t.Fatal(err)
	}
	rg.drain()
	if !strings.Contains(texts(rg.bot.sentTo(citybot.ChatID("dm-"+user))), "We opened an inquiry.") {
		t.Error("the answer did not go to the private chat")
	}
	for _, g := range rg.bot.sentTo("grp")[groupBefore:] {
		if strings.Contains(g.Text, "inquiry") {
			t.Errorf("the group heard the answer: %q", g.Text)
		}
	}
	if strings.Contains(logs.String(), user) {
		t.Errorf("a log line names the user id")
	}
}

// In a private chat the same follow-up gets the notice in that chat.
func TestFollowUpBribePrivateChat(t *testing.T) {
	rg := newRig(t, rigOptions{})
	rg.handle(privateMsg("u1", 1, "There is a pothole on Main Street"))
	rg.handle(privateMsg("u1", 2, "un agent m'a demandé 200 euros en liquide"))
	rg.drain()
	sent := rg.bot.sentTo("chat-u1")
	n := 0
	for _, out := range sent {
		if strings.Contains(out.Text, sensitiveNotice(t, "en")) || strings.Contains(out.Text, sensitiveNotice(t, "fr")) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d protection notices in the private chat, want 1:\n%s", n, texts(sent))
	}
}

// A new case whose classification says sensitive (topic not sensitive)
// gets the notice and keeps the topic out of a group.
func TestClassifiedSensitiveNewCase(t *testing.T) {
	rg := newRig(t, rigOptions{})
	m := groupMsg("u2", "grp", 1, "The permit clerk wants cash to stamp my file")
	rg.handle(m)
	rg.drain()
	c := caseIn(t, rg, "grp")
	if !c.Sensitive || len(c.SensitiveCues) == 0 {
		t.Fatalf("case not sensitive: %+v", c)
	}
	got := texts(rg.bot.sentTo("grp"))
	if !strings.Contains(got, sensitiveNotice(t, "en")) || strings.Contains(got, "We understood") {
		t.Fatalf("group acknowledgement:\n%s", got)
	}
}

// Feedback opens no case: thanks joins the latest case (even resolved),
// with one short reply in the citizen's language; greetings, "ok" and
// questions about the bot get a short reply and join nothing.
func TestFeedbackIsNotAReport(t *testing.T) {
	ctx := context.Background()
	rg := newRig(t, rigOptions{})
	rg.handle(privateMsg("u1", 1, "There is a pothole on Main Street"))
	rg.drain()
	c := caseIn(t, rg, "chat-u1")
	if _, err := rg.db.SetCaseStatus(ctx, c.ID, citybot.StatusChange{To: citybot.StatusResolved, Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	before := len(rg.bot.sentTo("chat-u1"))
	thanks := privateMsg("u1", 2, "Merci beaucoup pour la réparation")
	rg.handle(thanks)
	rg.handle(thanks) // redelivery
	rg.drain()
	after := rg.bot.sentTo("chat-u1")[before:]
	if len(after) != 1 || after[0].Text != "Merci ! Nous l'avons transmis à l'équipe." {
		t.Fatalf("replies to thanks: %q", texts(after))
	}
	cases, err := rg.db.CitizenCases(ctx, c.Citizen, 10)
	if err != nil || len(cases) != 1 {
		t.Fatalf("thanks opened a case: %d cases (%v)", len(cases), err)
	}
	conv, err := rg.db.Conversation(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	thanked := 0
	for _, e := range conv {
		if e.Direction == "in" && e.Intent == citybot.IntentThanks {
			thanked++
		}
	}
	if thanked != 1 {
		t.Fatalf("%d thanks on the case, want 1", thanked)
	}
	if got, _ := rg.db.Case(ctx, c.ID); got.Status != citybot.StatusResolved {
		t.Fatalf("thanks changed the case status to %s", got.Status)
	}

	// "ok" after an open case joins it (officers read it), opens none.
	rg.handle(privateMsg("u2", 1, "There is a pothole on Elm Street"))
	rg.handle(privateMsg("u2", 2, "ok"))
	rg.drain()
	open := caseIn(t, rg, "chat-u2")
	if n := casesIn(t, rg, "chat-u2"); n != 1 {
		t.Fatalf("%d cases after ok, want 1", n)
	}
	conv, err = rg.db.Conversation(ctx, open.ID)
	if err != nil {
		t.Fatal(err)
	}
	var acks int
	for _, e := range conv {
		if e.Direction == "in" && e.Intent == citybot.IntentAck {
			acks++
		}
	}
	if acks != 1 {
		t.Fatalf("%d acks in the open case, want 1", acks)
	}
	if tags, _ := rg.db.CaseTags(ctx, open.ID); len(tags) == 0 || countKind(tags, "topic") != 1 {
		t.Fatalf("ok added classifier tags: %+v", tags)
	}

	for _, tt := range []struct {
		user, text, want string
	}{
		{"u3", "Thanks a lot!", "Thank you! We passed it on to the team."}, // no earlier case
		{"u4", "hello", "Hello! To report a problem"},
		{"u5", "ok", "Noted."},
		{"u6", "who are you?", "/status — your cases"},
	} {
		t.Run(tt.text, func(t *testing.T) {
			rg.handle(privateMsg(tt.user, 1, tt.text))
			rg.drain()
			sent := rg.bot.sentTo(citybot.ChatID("chat-" + tt.user))
			if len(sent) != 1 || !strings.Contains(sent[0].Text, tt.want) {
				t.Fatalf("replies %q, want one containing %q", texts(sent), tt.want)
			}
			if n := casesIn(t, rg, "chat-"+tt.user); n != 0 {
				t.Fatalf("%q opened %d cases", tt.text, n)
			}
		})
	}
}

// The digest counts thanks as thanks, never as reports, and never quotes
// or places a sensitive case, even one whose topic is not sensitive.
func TestDigestThanksAndSensitiveCases(t *testing.T) {
	rg := newDgRig(t, nil)
	at := weekStart.Add(9 * time.Hour)
	pothole := rg.report(at, "u1", "There is a pothole on Main Street")
	rg.answer(at.Add(time.Hour), pothole, "Fixed this morning.")
	rg.status(at.Add(2*time.Hour), pothole, citybot.StatusResolved)
	bribe := rg.report(at.Add(3*time.Hour), "u2", "The pothole crew on Main Street wants cash to fix my street")
	if !bribe.Sensitive || bribe.Topic != "roads" {
		t.Fatalf("the bribe case: %+v", bribe)
	}
	rg.answer(at.Add(4*time.Hour), bribe, "We opened an inquiry.")
	rg.status(at.Add(5*time.Hour), bribe, citybot.StatusResolved)
	say := func(at time.Time, user, text string) {
		t.Helper()
		rg.clock.Set(at)
		rg.msgID++
		if err := rg.resp.HandleMessage(rg.ctx, citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(user),
			ChatKind: citybot.ChatPrivate, ID: citybot.PlatformMessageID(fmt.Sprint(rg.msgID)),
			Sender: citybot.Sender{ID: citybot.UserID(user)}, Text: text, SentAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	say(at.Add(6*time.Hour), "u1", "Thank you for the repair!")
	say(at.Add(7*time.Hour), "u3", "Merci beaucoup")
	say(at.Add(8*time.Hour), "u3", "Merci encore") // the same citizen: counted once

	d, err := rg.dg.Compute(rg.ctx, at, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Figures.Received != 2 || d.Figures.Thanks != 2 {
		t.Fatalf("figures: %d reports (want 2), %d thanks (want 2)", d.Figures.Received, d.Figures.Thanks)
	}
	if !strings.Contains(d.Texts["en"], "2 citizens said thank you.") || !strings.Contains(d.Texts["fr"], "2 habitants ont dit merci.") {
		t.Errorf("texts lack the thanks:\n%s\n%s", d.Texts["en"], d.Texts["fr"])
	}
	if len(d.Examples) != 1 || strings.Contains(d.Examples[0].Said+d.Examples[0].Did, "cash") || strings.Contains(d.Examples[0].Did, "inquiry") {
		t.Errorf("examples %+v: want the pothole only", d.Examples)
	}
}

func countKind(tags []citybot.Tag, kind string) int {
	n := 0
	for _, t := range tags {
		if t.Kind == kind {
			n++
		}
	}
	return n
}

// In a group, a greeting, an "ok" or a thank-you about no case of the
// citizen's is chatter among citizens: stored, never answered. A thank-you
// for the citizen's own case and a question about the bot are answered.
func TestGroupFeedbackIsNotAnsweredUnlessAboutTheBot(t *testing.T) {
	rg := newRig(t, rigOptions{})
	rg.handle(groupMsg("g1", "grp", 1, "hello"))
	rg.handle(groupMsg("g2", "grp", 2, "ok"))
	rg.handle(groupMsg("g3", "grp", 3, "Thanks everyone"))
	rg.drain()
	if sent := rg.bot.sentTo("grp"); len(sent) != 0 {
		t.Fatalf("group chatter answered: %q", texts(sent))
	}
	if n := casesIn(t, rg, "grp"); n != 0 {
		t.Fatalf("group chatter opened %d cases", n)
	}

	rg.handle(groupMsg("g4", "grp", 4, "There is a pothole on Main Street"))
	rg.drain()
	before := len(rg.bot.sentTo("grp"))
	rg.handle(groupMsg("g4", "grp", 5, "Thank you for the quick answer"))
	rg.handle(groupMsg("g5", "grp", 6, "who are you?"))
	rg.drain()
	after := rg.bot.sentTo("grp")[before:]
	if len(after) != 2 || !strings.Contains(after[0].Text, "Thank you") || !strings.Contains(after[1].Text, "/status") {
		t.Fatalf("replies in the group: %q; want the thanks reply then help", texts(after))
	}
}
