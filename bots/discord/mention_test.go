package discord_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

// TestSendMentions: each mention becomes "<@id> " before its span, and
// only the people named are pinged (allowed_mentions lists them); a user
// written in the text, @everyone, or a malformed id pings no one.
func TestSendMentions(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bot, err := discord.New(ctx, w.options(newFakeCursors()))
	if err != nil {
		t.Fatal(err)
	}
	if !bot.Mentions() {
		t.Fatal("the Discord bot does not name people")
	}
	text := "Thanks @everyone <@" + w.bob.ID + ">\n• REF-1\n• REF-2, REF-3"
	i1 := strings.Index(text, "REF-1")
	i2 := strings.Index(text, "REF-2")
	out := citybot.Outgoing{Key: "combined-1", Chat: citybot.ChatID(w.roads), ChatKind: citybot.ChatGroup, Text: text,
		Mentions: []citybot.Mention{{User: citybot.UserID(w.alice.ID), Start: i1, End: i1 + 5}, {User: citybot.UserID(w.bot2.ID), Start: i2, End: len(text)}}}
	sent, err := bot.Send(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	got := w.emu.Sent(w.roads)
	last := got[len(got)-1]
	want := "Thanks @everyone <@" + w.bob.ID + ">\n• <@" + w.alice.ID + "> REF-1\n• <@" + w.bot2.ID + "> REF-2, REF-3"
	if last.ID != string(sent.ID) || last.Content != want {
		t.Errorf("content = %q, want %q", last.Content, want)
	}
	if !slices.Equal(last.Pinged, []string{w.alice.ID, w.bot2.ID}) || len(last.AllowedMentions) != 0 {
		t.Errorf("pinged %v (parse %v), want only the two named", last.Pinged, last.AllowedMentions)
	}
	if n := citybot.UTF16Len(last.Content) - citybot.UTF16Len(text); n > citybot.MentionOverhead(citybot.UserID(w.alice.ID))+citybot.MentionOverhead(citybot.UserID(w.bot2.ID)) {
		t.Errorf("mentions added %d units, over MentionOverhead", n)
	}
	for _, bad := range [][]citybot.Mention{
		{{User: "not-an-id", Start: 0, End: 2}},
		{{User: citybot.UserID(w.alice.ID), Start: 5, End: 2}},
		{{User: citybot.UserID(w.alice.ID), Start: 0, End: len(text) + 1}},
		{{User: citybot.UserID(w.alice.ID), Start: i2, End: i2 + 1}, {User: citybot.UserID(w.bob.ID), Start: i1, End: i1 + 1}},
	} {
		o := out
		o.Key, o.Mentions = "", bad
		if _, err := bot.Send(ctx, o); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("mentions %+v: %v, want ErrInvalid", bad, err)
		}
	}
}
