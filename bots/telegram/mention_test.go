package telegram_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// TestSendMentions: each mention becomes a text mention of its person over
// its span, with offsets and lengths in UTF-16 units (after emoji and
// Arabic letters), and nothing else in the text is parsed; a span
// outside the text, out of order or inside a character, or a user id
// that is not a number, is refused before any call.
func TestSendMentions(t *testing.T) {
	e := newEnv(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	b := e.bot(t, func(o *telegram.Options) { o.PerChat = telegram.Rate{N: -1} })
	if !b.Mentions() {
		t.Fatal("the Telegram bot does not name people")
	}
	const group int64 = -4242
	if _, err := e.emu.Post(tgemu.Incoming{Chat: group, From: alice(), Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	text := "شكرًا 😀 @everyone\n• AB-12\n• CD-34, EF-56"
	i1, i2 := strings.Index(text, "AB-12"), strings.Index(text, "CD-34")
	o := out(group, text)
	o.Mentions = []citybot.Mention{{User: "5001", Start: i1, End: i1 + len("AB-12")}, {User: "5002", Start: i2, End: len(text)}}
	if _, err := b.Send(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	got := e.emu.Sent(group)
	if len(got) != 1 || got[0].Text != text || got[0].ParseMode != "" {
		t.Fatalf("sent = %+v", got)
	}
	want := []tgemu.Mention{
		{User: 5001, Offset: citybot.UTF16Len(text[:i1]), Length: 5},
		{User: 5002, Offset: citybot.UTF16Len(text[:i2]), Length: citybot.UTF16Len(text[i2:])},
	}
	if !slices.Equal(got[0].Mentions, want) {
		t.Errorf("mentions = %+v, want %+v", got[0].Mentions, want)
	}
	for _, bad := range [][]citybot.Mention{
		{{User: "alice", Start: i1, End: i1 + 2}},
		{{User: "5001", Start: i1, End: len(text) + 1}},
		{{User: "5001", Start: 1, End: 4}}, // inside the first Arabic letter
		{{User: "5001", Start: i2, End: i2 + 1}, {User: "5002", Start: i1, End: i1 + 1}},
	} {
		o.Mentions = bad
		if _, err := b.Send(context.Background(), o); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("mentions %+v: %v, want ErrInvalid", bad, err)
		}
	}
	if n := len(e.emu.Sent(group)); n != 1 {
		t.Errorf("%d messages after refused mentions, want 1", n)
	}
}
