package responder_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/casework"
	"citybot/responder"
)

// groupMsg is a message from user in the group chat.
func groupMsg(user, chat string, id int, text string) citybot.Message {
	return citybot.Message{
		Platform: citybot.Telegram, Chat: citybot.ChatID(chat), ChatKind: citybot.ChatGroup,
		ID: citybot.PlatformMessageID(fmt.Sprint(id)), Sender: citybot.Sender{ID: citybot.UserID(user), Name: "N " + user},
		Text: text, SentAt: time.Now(),
	}
}

// privateRig is a rig whose bot opens private chats, logging to logs.
func privateRig(t *testing.T, logs *logBuf, privateErr error) (*rig, *casework.Officer) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rg := newRig(t, rigOptions{privateChats: true, privateErr: privateErr,
		opts: responder.Options{Logger: logger}, dopts: responder.DispatcherOptions{Logger: logger}})
	o, err := casework.NewOfficer(casework.OfficerOptions{Store: rg.db, Notify: rg.d.Notify, Logger: logger, Policy: testPolicy(t)})
	if err != nil {
		t.Fatal(err)
	}
	return rg, o
}

func texts(outs []citybot.Outgoing) string {
	var b strings.Builder
	for _, o := range outs {
		b.WriteString(o.Text + "\n")
	}
	return b.String()
}

func TestSensitiveGroupCaseHearsPrivately(t *testing.T) {
	ctx := context.Background()
	logs := &logBuf{}
	rg, o := privateRig(t, logs, nil)
	const user, other = "u-73915", "u-55120"
	rg.handle(groupMsg(user, "grp", 1, "An officer asked me for a bribe at the permit desk"))
	rg.handle(groupMsg(other, "grp2", 1, "There is a pothole on Main Street"))
	rg.drain()
	bribe, pothole := caseIn(t, rg, "grp"), caseIn(t, rg, "grp2")
	if bribe.Topic != "corruption" || pothole.Topic == "corruption" {
		t.Fatalf("topics %q and %q", bribe.Topic, pothole.Topic)
	}
	before := len(rg.bot.sentTo("grp"))

	const answer = "We opened an inquiry into the permit desk."
	if _, err := o.Answer(ctx, bribe.ID, "olivia", answer, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.ChangeStatus(ctx, bribe.ID, citybot.StatusChange{To: citybot.StatusInProgress, Actor: "olivia"}, "n2"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Answer(ctx, pothole.ID, "olivia", "We will fix it this week.", "n3"); err != nil {
		t.Fatal(err)
	}
	rg.drain()

	dm := texts(rg.bot.sentTo(citybot.ChatID("dm-" + user)))
	if !strings.Contains(dm, answer) || !strings.Contains(dm, string(bribe.Ref)) {
		t.Errorf("the private chat did not get the answer:\n%s", dm)
	}
	if !strings.Contains(dm, "is now:") {
		t.Errorf("the private chat did not get the status notice:\n%s", dm)
	}
	group := rg.bot.sentTo("grp")[before:]
	if len(group) != 1 || group[0].Text != "The city has replied to case "+string(bribe.Ref)+" privately." {
		t.Errorf("the group got %q, want only the content-free line", texts(group))
	}
	for _, g := range group {
		for _, bad := range []string{answer, "corruption", "bribe", "is now"} {
			if strings.Contains(g.Text, bad) {
				t.Errorf("group message %q contains %q", g.Text, bad)
			}
		}
	}
	for _, out := range rg.bot.allSent() {
		if out.Chat == citybot.ChatID("dm-"+user) && (out.ChatKind != citybot.ChatPrivate || out.ReplyTo != "") {
			t.Errorf("private send %s: kind %q, reply to %q", out.Key, out.ChatKind, out.ReplyTo)
		}
	}

	// A case on another topic is still answered in its group.
	if got := lastText(t, rg, "grp2"); !strings.Contains(got, "We will fix it this week.") {
		t.Errorf("the non-sensitive group case got %q", got)
	}
	if n := len(rg.bot.sentTo(citybot.ChatID("dm-" + other))); n != 0 {
		t.Errorf("the non-sensitive case sent %d private messages", n)
	}
	for _, id := range []string{user, other} {
		if strings.Contains(logs.String(), id) {
			t.Errorf("a log line names the user id %s:\n%s", id, logs.String())
		}
	}
}

func TestSensitiveGroupCaseNeverFallsBackToGroup(t *testing.T) {
	const user = "u-88231"
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"refused", fmt.Errorf("user %s blocks the bot: %w", user, citybot.ErrPermanent)},
		{"malformed", fmt.Errorf("bad id %s: %w", user, citybot.ErrInvalid)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			logs := &logBuf{}
			rg, o := privateRig(t, logs, tc.err)
			rg.handle(groupMsg(user, "grp", 1, "An officer asked me for a bribe"))
			rg.drain()
			c := caseIn(t, rg, "grp")
			const answer = "We opened an inquiry."
			if _, err := o.Answer(ctx, c.ID, "olivia", answer, "n1"); err != nil {
				t.Fatal(err)
			}
			rg.drain()
			for _, out := range rg.bot.allSent() {
				if strings.Contains(out.Text, answer) {
					t.Errorf("the answer was sent to %s", out.Chat)
				}
			}
			items, err := rg.db.OutboxItems(ctx, fmt.Sprintf("officer:answer:%d:n1:%d#", c.ID, c.ID))
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].State != citybot.OutboxFailed || !strings.Contains(items[0].LastError, "private") {
				t.Fatalf("answer rows %+v, want one failed about the private chat", items)
			}
			if strings.Contains(items[0].LastError, user) || strings.Contains(logs.String(), user) {
				t.Errorf("the user id reached the outbox error or the logs: %q\n%s", items[0].LastError, logs.String())
			}
		})
	}
}

// A bot that cannot open private chats fails the private row.
func TestSensitiveGroupCaseWithoutCapabilityFails(t *testing.T) {
	ctx := context.Background()
	rg := newRig(t, rigOptions{})
	o := newOfficer(t, rg)
	rg.handle(groupMsg("u-1", "grp", 1, "An officer asked me for a bribe"))
	rg.drain()
	c := caseIn(t, rg, "grp")
	if _, err := o.Answer(ctx, c.ID, "olivia", "We opened an inquiry.", "n1"); err != nil {
		t.Fatal(err)
	}
	rg.drain()
	for _, out := range rg.bot.allSent() {
		if strings.Contains(out.Text, "inquiry") {
			t.Errorf("the answer was sent to %s", out.Chat)
		}
	}
	items, err := rg.db.OutboxItems(ctx, "officer:answer:")
	if err != nil {
		t.Fatal(err)
	}
	var failed int
	for _, it := range items {
		if it.State == citybot.OutboxFailed && (strings.Contains(it.LastError, "cannot open a private chat") || strings.Contains(it.LastError, "not supported")) {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("answer rows %+v, want one failed for want of a private chat", items)
	}
}
