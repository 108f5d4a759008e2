package telegram_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

const (
	plainGroup  int64 = -4001          // a group where only addressed messages count
	listenGroup int64 = -1001000000777 // a listening supergroup
)

// TestTranslation posts every kind of update through the emulator and the
// real tgbotapi client, and checks what the handler receives, and that
// skipped updates are still confirmed.
func TestTranslation(t *testing.T) {
	e := newEnv(t, tgemu.Options{BotUsername: "CityHallBot"})
	b := e.bot(t, func(o *telegram.Options) { o.ListenGroups = []int64{listenGroup} })
	h := newHandler()
	h.reply = "Thanks, noted"
	stop := run(t, b, h)
	ctx := context.Background()

	post := func(in tgemu.Incoming) tgemu.Posted {
		t.Helper()
		p, err := e.emu.Post(in)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The bot speaks first in the plain group, so a citizen can reply to it.
	post(tgemu.Incoming{Chat: plainGroup, ChatTitle: "Rue du Port", From: bob(), Text: "/start"})
	waitFor(t, "the /start in the group", func() bool { return len(h.messages()) == 1 })
	botMsg, err := b.Send(ctx, citybot.Outgoing{Chat: citybot.ChatID(i64toa(plainGroup)), ChatKind: citybot.ChatGroup, Text: "Hello, group",
		Buttons: [][]citybot.Button{{{Label: "Roads", Data: "cat:roads"}, {Label: "Water", Data: "cat:water"}}}})
	if err != nil {
		t.Fatal(err)
	}
	botID := mustAtoi(t, string(botMsg.ID))

	type want struct {
		taken   bool
		text    string
		kind    citybot.ChatKind
		command string
		args    string
		edit    bool
		attach  []citybot.AttachmentKind
		loc     bool
		replyTo int
		title   string
	}
	cases := []struct {
		name string
		in   tgemu.Incoming
		want want
	}{
		{"private text", tgemu.Incoming{From: alice(), Text: "Il y a un nid-de-poule rue Victor Hugo"},
			want{taken: true, text: "Il y a un nid-de-poule rue Victor Hugo", kind: citybot.ChatPrivate}},
		{"start command", tgemu.Incoming{From: alice(), Text: "/start"},
			want{taken: true, text: "/start", kind: citybot.ChatPrivate, command: "start"}},
		{"status with args", tgemu.Incoming{From: alice(), Text: "/status  AB-123 "},
			want{taken: true, text: "/status  AB-123 ", kind: citybot.ChatPrivate, command: "status", args: "AB-123"}},
		{"command with our name", tgemu.Incoming{From: alice(), Text: "/Help@cityhallbot"},
			want{taken: true, text: "/Help@cityhallbot", kind: citybot.ChatPrivate, command: "help"}},
		{"language", tgemu.Incoming{From: alice(), Text: "/language fr"},
			want{taken: true, text: "/language fr", kind: citybot.ChatPrivate, command: "language", args: "fr"}},
		{"report", tgemu.Incoming{From: alice(), Text: "/report broken light"},
			want{taken: true, text: "/report broken light", kind: citybot.ChatPrivate, command: "report", args: "broken light"}},
		{"photo with caption", tgemu.Incoming{From: alice(), Text: "Voici la photo", Media: tgemu.MediaPhoto},
			want{taken: true, text: "Voici la photo", kind: citybot.ChatPrivate, attach: []citybot.AttachmentKind{citybot.AttachPhoto}}},
		{"voice note", tgemu.Incoming{From: alice(), Media: tgemu.MediaVoice},
			want{taken: true, kind: citybot.ChatPrivate, attach: []citybot.AttachmentKind{citybot.AttachVoice}}},
		{"video", tgemu.Incoming{From: alice(), Media: tgemu.MediaVideo, Text: "flood"},
			want{taken: true, text: "flood", kind: citybot.ChatPrivate, attach: []citybot.AttachmentKind{citybot.AttachVideo}}},
		{"document", tgemu.Incoming{From: alice(), Media: tgemu.MediaDocument},
			want{taken: true, kind: citybot.ChatPrivate, attach: []citybot.AttachmentKind{citybot.AttachDocument}}},
		{"location", tgemu.Incoming{From: alice(), Location: &tgemu.Location{Latitude: 48.85, Longitude: 2.35}},
			want{taken: true, kind: citybot.ChatPrivate, attach: []citybot.AttachmentKind{citybot.AttachLocation}, loc: true}},
		{"group mention", tgemu.Incoming{Chat: plainGroup, From: alice(), Text: "@CityHallBot the bins were not collected"},
			want{taken: true, text: "@CityHallBot the bins were not collected", kind: citybot.ChatGroup, title: "Rue du Port"}},
		{"group mention any case", tgemu.Incoming{Chat: plainGroup, From: alice(), Text: "hey @cityhallbot!"},
			want{taken: true, text: "hey @cityhallbot!", kind: citybot.ChatGroup, title: "Rue du Port"}},
		{"group chatter", tgemu.Incoming{Chat: plainGroup, From: alice(), Text: "who is coming tonight?"},
			want{taken: false}},
		{"group mention of a longer name", tgemu.Incoming{Chat: plainGroup, From: alice(), Text: "ask @CityHallBotFan"},
			want{taken: false}},
		{"group command for another bot", tgemu.Incoming{Chat: plainGroup, From: alice(), Text: "/start@OtherBot"},
			want{taken: false}},
		{"group reply to the bot", tgemu.Incoming{Chat: plainGroup, From: alice(), Text: "it is still broken", ReplyTo: botID},
			want{taken: true, text: "it is still broken", kind: citybot.ChatGroup, replyTo: botID, title: "Rue du Port"}},
		{"group bare command", tgemu.Incoming{Chat: plainGroup, From: alice(), Text: "/help"},
			want{taken: true, text: "/help", kind: citybot.ChatGroup, command: "help", title: "Rue du Port"}},
		{"listening group chatter", tgemu.Incoming{Chat: listenGroup, ChatTitle: "Quartier Nord", From: bob(), Text: "streetlight out on 5th"},
			want{taken: true, text: "streetlight out on 5th", kind: citybot.ChatGroup, title: "Quartier Nord"}},
		{"message from another bot", tgemu.Incoming{Chat: listenGroup, From: tgemu.User{ID: 777, IsBot: true, FirstName: "Spam"}, Text: "buy now"},
			want{taken: false}},
		{"empty message", tgemu.Incoming{From: bob()},
			want{taken: false}},
	}
	var posted []tgemu.Posted
	for _, c := range cases {
		posted = append(posted, post(c.in))
	}
	// An edit, a button press and kinds the adapter does not handle.
	first := posted[0]
	if _, err := e.emu.Edit(first.Chat, first.MessageID, "Il y a DEUX nids-de-poule"); err != nil {
		t.Fatal(err)
	}
	press, err := e.emu.Press(plainGroup, botID, bob(), "cat:water")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"poll", "my_chat_member", "message_reaction", "a_kind_from_the_future"} {
		if _, err := e.emu.PostRaw(kind, json.RawMessage(`{"id":"x","weird":[1,2,{"deep":null}]}`)); err != nil {
			t.Fatal(err)
		}
	}
	last := post(tgemu.Incoming{From: bob(), Text: "last one"})

	waitFor(t, "every update confirmed", func() bool {
		_, ok := h.find(bob().ID, last.MessageID)
		return ok && e.emu.Pending() == 0
	})
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := posted[i]
			got, ok := h.find(p.Chat, p.MessageID)
			if ok != c.want.taken {
				t.Fatalf("taken = %v, want %v", ok, c.want.taken)
			}
			if !ok {
				return
			}
			w := c.want
			if got.Platform != citybot.Telegram || got.Text != w.text || got.ChatKind != w.kind || got.Command != w.command ||
				got.Args != w.args || got.Edit || got.ChatTitle != w.title {
				t.Errorf("got %+v, want %+v", got, w)
			}
			if w.replyTo != 0 && got.ReplyTo != citybot.PlatformMessageID(itoa(w.replyTo)) {
				t.Errorf("ReplyTo = %q, want %d", got.ReplyTo, w.replyTo)
			}
			var kinds []citybot.AttachmentKind
			for _, a := range got.Attachments {
				kinds = append(kinds, a.Kind)
				if a.Kind != citybot.AttachLocation && a.FileID == "" {
					t.Errorf("attachment %s has no file id", a.Kind)
				}
			}
			if strings.Join(kindStrings(kinds), ",") != strings.Join(kindStrings(w.attach), ",") {
				t.Errorf("attachments = %v, want %v", kinds, w.attach)
			}
			if (got.Location != nil) != w.loc {
				t.Errorf("location = %v, want present=%v", got.Location, w.loc)
			}
			if got.SentAt.IsZero() || got.SentAt.Location().String() != "UTC" {
				t.Errorf("SentAt = %v, want a UTC time", got.SentAt)
			}
		})
	}

	// The private text carried its sender as Telegram describes them.
	m, _ := h.find(first.Chat, first.MessageID)
	if m.Sender.ID != "5001" || m.Sender.Name != "Alice Dupont" || m.Sender.Handle != "alice_d" || m.Sender.LanguageCode != "fr" {
		t.Errorf("sender = %+v", m.Sender)
	}
	if m.Chat != "5001" || m.ID != citybot.PlatformMessageID(itoa(first.MessageID)) {
		t.Errorf("ids = %q/%q", m.Chat, m.ID)
	}
	if loc := findLoc(h, posted); loc == nil || loc.Latitude != 48.85 || loc.Longitude != 2.35 {
		t.Errorf("location = %+v", loc)
	}

	// The edit arrives as a second delivery of the same id.
	var edits []citybot.Message
	for _, m := range h.messages() {
		if m.Edit {
			edits = append(edits, m)
		}
	}
	if len(edits) != 1 || edits[0].ID != m.ID || edits[0].Text != "Il y a DEUX nids-de-poule" {
		t.Errorf("edits = %+v", edits)
	}

	// The press became an Action, answered with the handler's text.
	acts := h.acts()
	if len(acts) != 1 || acts[0].Data != "cat:water" || acts[0].ID != press.CallbackID ||
		acts[0].Message != botMsg.ID || acts[0].Chat != citybot.ChatID(i64toa(plainGroup)) || acts[0].Sender.ID != "5002" {
		t.Errorf("actions = %+v", acts)
	}
	answers := e.emu.Answers()
	if len(answers) != 1 || answers[0].QueryID != press.CallbackID || answers[0].Text != "Thanks, noted" {
		t.Errorf("callback answers = %+v", answers)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(e.logs.String(), "a_kind_from_the_future") && !strings.Contains(e.logs.String(), `"kind":"unknown"`) {
		t.Errorf("unknown kinds were not logged as skipped")
	}
}

func kindStrings(ks []citybot.AttachmentKind) []string {
	var out []string
	for _, k := range ks {
		out = append(out, string(k))
	}
	return out
}

func findLoc(h *fakeHandler, posted []tgemu.Posted) *citybot.Location {
	for _, m := range h.messages() {
		if m.Location != nil {
			return m.Location
		}
	}
	return nil
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("not a decimal id: %q", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}
