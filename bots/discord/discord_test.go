package discord_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"citybot"
	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

var _ bots.Bot = (*discord.Bot)(nil)

// TestBot runs one Bot against the emulator through every kind of event
// and send. Subtests share the session because each discordgo Close costs
// a second.
func TestBot(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	h := newFakeHandler()
	cur := newFakeCursors()
	r := w.start(t, h, w.options(cur))
	bot := r.bot
	defer func() {
		if err := r.stop(t); err != nil {
			t.Errorf("run: %v", err)
		}
		noToken(t, "logs", w.logs.String())
	}()

	t.Run("commands registered", func(t *testing.T) {
		ctx := ctxT(t, 5*time.Second)
		names, err := w.emu.WaitCommands(ctx, 6)
		if err != nil {
			t.Fatalf("commands: %v (have %v)", err, names)
		}
		got := strings.Join(names, ",")
		if got != "report,status,language,help,mydata,forget" {
			t.Errorf("commands = %s", got)
		}
	})

	t.Run("channel message", func(t *testing.T) {
		p := w.post(t, w.general, w.alice.ID, "Streetlight out on Elm St", dcemu.PostOptions{
			Attachments: []dcemu.Attachment{{Filename: "lamp.jpg", ContentType: "image/jpeg", Size: 1234}, {Filename: "report.pdf", ContentType: "application/pdf", Size: 99}},
		})
		m := h.waitMessage(t, w.general, p.ID)
		if m.Platform != citybot.Discord || m.ChatKind != citybot.ChatGroup || m.ChatTitle != "general" || m.Text != "Streetlight out on Elm St" || m.Edit {
			t.Errorf("message = %+v", m)
		}
		if m.Sender.ID != citybot.UserID(w.alice.ID) || m.Sender.Name != "alice" || m.Sender.Handle != "alice" || m.Sender.IsBot {
			t.Errorf("sender = %+v", m.Sender)
		}
		if d := time.Since(m.SentAt); m.SentAt.Location() != time.UTC || d < 0 || d > time.Minute {
			t.Errorf("sent at %v", m.SentAt)
		}
		if len(m.Attachments) != 2 || m.Attachments[0].Kind != citybot.AttachPhoto || m.Attachments[0].Name != "lamp.jpg" ||
			m.Attachments[0].Size != 1234 || m.Attachments[0].FileID == "" || m.Attachments[1].Kind != citybot.AttachDocument {
			t.Errorf("attachments = %+v", m.Attachments)
		}
	})

	t.Run("thread, DM, reply and typed command", func(t *testing.T) {
		pt := w.post(t, w.thread, w.bob.ID, "still there")
		dm, err := w.emu.DMChannel(w.alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		pd := w.post(t, dm, w.alice.ID, "/status K7M4QX")
		pr := w.post(t, w.roads, w.bob.ID, "same here", dcemu.PostOptions{ReplyTo: pt.ID})
		if m := h.waitMessage(t, w.thread, pt.ID); m.ChatKind != citybot.ChatGroup || m.ChatTitle != "pothole on Main St" {
			t.Errorf("thread message = %+v", m)
		}
		if m := h.waitMessage(t, dm, pd.ID); m.ChatKind != citybot.ChatPrivate || m.ChatTitle != "" || m.Command != "status" || m.Args != "K7M4QX" {
			t.Errorf("dm message = %+v", m)
		}
		if m := h.waitMessage(t, w.roads, pr.ID); m.ReplyTo != "" && m.ReplyTo != citybot.PlatformMessageID(pt.ID) {
			t.Errorf("reply across channels kept: %+v", m)
		}
		same := w.post(t, w.roads, w.alice.ID, "me too", dcemu.PostOptions{ReplyTo: pr.ID})
		if m := h.waitMessage(t, w.roads, same.ID); m.ReplyTo != citybot.PlatformMessageID(pr.ID) {
			t.Errorf("reply to = %q, want %s", m.ReplyTo, pr.ID)
		}
	})

	t.Run("edit", func(t *testing.T) {
		p := w.post(t, w.general, w.bob.ID, "tree down on Oak Av")
		h.waitMessage(t, w.general, p.ID)
		if err := w.emu.Edit(w.general, p.ID, "tree down on Oak Avenue, blocking traffic"); err != nil {
			t.Fatal(err)
		}
		h.waitFor(t, "edit", func(h *fakeHandler) bool {
			for _, e := range h.edits {
				if string(e.ID) == p.ID && e.Edit && e.Text == "tree down on Oak Avenue, blocking traffic" {
					return true
				}
			}
			return false
		})
	})

	t.Run("ignored: own, other bots, unlisted channels", func(t *testing.T) {
		ctx := ctxT(t, 5*time.Second)
		sent, err := bot.Send(ctx, citybot.Outgoing{Key: "own-1", Chat: citybot.ChatID(w.general), Text: "Thanks, case K7M4QX opened"})
		if err != nil {
			t.Fatal(err)
		}
		pb := w.post(t, w.general, w.bot2.ID, "I am another bot")
		po := w.post(t, w.offtopic, w.alice.ID, "unrelated chatter")
		marker := w.post(t, w.general, w.alice.ID, "marker after ignored ones")
		h.waitMessage(t, w.general, marker.ID)
		for _, id := range []string{string(sent.ID), pb.ID} {
			if _, ok := h.get(w.general, id); ok {
				t.Errorf("message %s from a bot was handed over", id)
			}
		}
		if _, ok := h.get(w.offtopic, po.ID); ok {
			t.Error("message in an unlisted channel was handed over")
		}
	})

	t.Run("bad input", func(t *testing.T) {
		if err := w.emu.Dispatch("CITY_FESTIVAL_STARTED", map[string]any{"weird": []int{1, 2}}); err != nil {
			t.Fatal(err)
		}
		empty := w.post(t, w.general, w.alice.ID, "", dcemu.PostOptions{Attachments: []dcemu.Attachment{{Filename: "v.ogg", ContentType: "audio/ogg"}}})
		huge := w.post(t, w.general, w.alice.ID, strings.Repeat("é", 1<<20)+strings.Repeat("a", 8<<20)) // 10 MB
		bad := w.post(t, w.general, w.alice.ID, "bad \xff\xfe bytes <script>alert(1)</script>")
		if m := h.waitMessage(t, w.general, empty.ID); m.Text != "" || len(m.Attachments) != 1 || m.Attachments[0].Kind != citybot.AttachAudio {
			t.Errorf("empty = %+v", m)
		}
		if m := h.waitMessage(t, w.general, huge.ID); len(m.Text) <= citybot.MaxStoredText || len(m.Text) > citybot.MaxStoredText+utf8.UTFMax || !utf8.ValidString(m.Text) {
			t.Errorf("huge text: %d bytes, valid %v", len(m.Text), utf8.ValidString(m.Text))
		}
		if m := h.waitMessage(t, w.general, bad.ID); !utf8.ValidString(m.Text) || !strings.Contains(m.Text, "<script>") {
			t.Errorf("bad = %q", m.Text)
		}
		if logs := w.logs.String(); !strings.Contains(logs, "message text truncated") || !strings.Contains(logs, "event_type=CITY_FESTIVAL_STARTED") {
			t.Error("truncation or unknown event not logged")
		}
	})

	t.Run("slash commands", func(t *testing.T) {
		w.emu.SetLocale(w.bob.ID, "fr")
		cases := []struct {
			cmd        string
			opts       map[string]string
			user, chat string
			args       string
		}{
			{"report", map[string]string{"text": "Fuite d'eau rue Haute"}, w.bob.ID, w.roads, "Fuite d'eau rue Haute"},
			{"status", map[string]string{"ref": "K7M4QX"}, w.alice.ID, w.thread, "K7M4QX"},
			{"language", map[string]string{"language": "fr"}, w.bob.ID, w.general, "fr"},
			{"help", nil, w.alice.ID, w.general, ""},
		}
		for _, c := range cases {
			id, err := w.emu.SlashCommand(c.chat, c.user, c.cmd, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			m := h.waitMessage(t, c.chat, "i"+id)
			if m.Command != c.cmd || m.Args != c.args || m.Sender.ID != citybot.UserID(c.user) {
				t.Errorf("/%s → %+v", c.cmd, m)
			}
			if c.user == w.bob.ID && m.Sender.LanguageCode != "fr" {
				t.Errorf("/%s language = %q", c.cmd, m.Sender.LanguageCode)
			}
			in, err := w.emu.WaitInteraction(ctxT(t, 5*time.Second), id, func(in dcemu.Interaction) bool { return in.Deleted || in.Edited })
			if err != nil {
				t.Fatalf("/%s never finished: %v", c.cmd, err)
			}
			if in.Late() || !in.Ephemeral || in.AckType != 5 || !in.Deleted {
				t.Errorf("/%s answer = %+v", c.cmd, in)
			}
		}
		// The handler fails: the citizen is asked to try again.
		h.setFail(func(m citybot.Message) bool { return m.Command == "report" })
		id, err := w.emu.SlashCommand(w.general, w.alice.ID, "report", map[string]string{"text": "fails"})
		if err != nil {
			t.Fatal(err)
		}
		in, err := w.emu.WaitInteraction(ctxT(t, 5*time.Second), id, func(in dcemu.Interaction) bool { return in.Edited })
		h.setFail(nil)
		if err != nil || !strings.Contains(in.Content, "try again") || !in.Ephemeral {
			t.Errorf("failed command answer = %+v, %v", in, err)
		}
		if err := bot.Run(ctxT(t, time.Second), h); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second Run: %v", err)
		}
		// Unlisted channel: told where to write, nothing handed over.
		id, err = w.emu.SlashCommand(w.offtopic, w.bob.ID, "report", map[string]string{"text": "x"})
		if err != nil {
			t.Fatal(err)
		}
		in, err = w.emu.WaitInteraction(ctxT(t, 5*time.Second), id, func(in dcemu.Interaction) bool { return in.Edited })
		if err != nil || !strings.Contains(in.Content, "ne suit pas") {
			t.Errorf("unlisted channel answer = %+v, %v", in, err)
		}
		if _, ok := h.get(w.offtopic, "i"+id); ok {
			t.Error("command in an unlisted channel was handed over")
		}
	})

	t.Run("sandbox page drives the bot", func(t *testing.T) {
		post := func(path, body string) map[string]any {
			t.Helper()
			resp, err := http.Post(w.emu.URL()+path, "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
			}
			return out
		}
		got := post("/sandbox/command", `{"user":"carol","channel":"`+w.general+`","command":"report","options":{"text":"graffiti on the bridge"}}`)
		if got["acked"] != true || got["deleted"] != true {
			t.Errorf("sandbox command answer = %v", got)
		}
		h.waitMessage(t, w.general, "i"+got["id"].(string))
		p := post("/sandbox/post", `{"user":"carol","channel":"dm","content":"<b>hi</b>"}`)
		h.waitFor(t, "sandbox dm", func(h *fakeHandler) bool {
			for _, m := range h.msgs {
				if string(m.ID) == p["id"] && m.ChatKind == citybot.ChatPrivate && m.Text == "<b>hi</b>" {
					return true
				}
			}
			return false
		})
	})

	t.Run("buttons", func(t *testing.T) {
		ctx := ctxT(t, 5*time.Second)
		sent, err := bot.Send(ctx, citybot.Outgoing{
			Key: "ask-1", Chat: citybot.ChatID(w.roads), Text: "Is this answered?",
			Buttons: [][]citybot.Button{{{Label: "Yes", Data: "answered:yes"}, {Label: "No", Data: "answered:no"}}, {{Label: "Wrong topic?", Data: "topic:wrong"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		msgs := w.emu.Sent(w.roads)
		last := msgs[len(msgs)-1]
		if last.ID != string(sent.ID) || len(last.Buttons) != 2 || last.Buttons[0][1].CustomID != "answered:no" || last.Buttons[1][0].Label != "Wrong topic?" {
			t.Fatalf("sent = %+v", last)
		}
		id, err := w.emu.PressButton(w.roads, w.alice.ID, string(sent.ID), "answered:no")
		if err != nil {
			t.Fatal(err)
		}
		in, err := w.emu.WaitInteraction(ctx, id, func(in dcemu.Interaction) bool { return in.Edited })
		if err != nil {
			t.Fatal(err)
		}
		if in.Late() || !in.Ephemeral || in.Content != "Noted: answered:no" {
			t.Errorf("answer = %+v", in)
		}
		h.mu.Lock()
		a := h.actions[len(h.actions)-1]
		h.mu.Unlock()
		if a.Data != "answered:no" || a.Message != sent.ID || a.Chat != citybot.ChatID(w.roads) || a.ID != id || a.Sender.ID != citybot.UserID(w.alice.ID) {
			t.Errorf("action = %+v", a)
		}
	})

	t.Run("send", func(t *testing.T) {
		ctx := ctxT(t, 10*time.Second)
		ch := citybot.ChatID(w.thread)
		anchor := w.post(t, w.thread, w.alice.ID, "anchor")
		sent, err := bot.Send(ctx, citybot.Outgoing{Key: "reply-1", Chat: ch, ReplyTo: citybot.PlatformMessageID(anchor.ID), Text: "@everyone <b>2000</b> " + strings.Repeat("😀", 900)})
		if err != nil {
			t.Fatal(err)
		}
		got := w.emu.Sent(w.thread)
		last := got[len(got)-1]
		if last.ID != string(sent.ID) || last.ReplyTo != anchor.ID || !strings.HasPrefix(last.Content, "@everyone <b>2000</b>") || last.AllowedMentions == nil || len(last.AllowedMentions) != 0 {
			t.Errorf("sent = id %s reply to %s mentions %v content %.40q", last.ID, last.ReplyTo, last.AllowedMentions, last.Content)
		}
		if sent.SentAt.IsZero() || sent.SentAt.Location() != time.UTC {
			t.Errorf("sent at = %v", sent.SentAt)
		}
		// Same key again: Discord's nonce answers with the first message.
		again, err := bot.Send(ctx, citybot.Outgoing{Key: "reply-1", Chat: ch, ReplyTo: citybot.PlatformMessageID(anchor.ID), Text: "@everyone <b>2000</b> " + strings.Repeat("😀", 900)})
		if err != nil || again.ID != sent.ID || len(w.emu.Sent(w.thread)) != len(got) {
			t.Errorf("resend with same key: %v, %v; %d messages", again.ID, err, len(w.emu.Sent(w.thread)))
		}

		invalid := []citybot.Outgoing{
			{Chat: ch, Text: strings.Repeat("😀", 1001)}, // 2002 UTF-16 units, 1001 runes
			{Chat: ch, Text: strings.Repeat("a", 2001)},
			{Chat: ch, Text: "   "},
			{Chat: "not-an-id", Text: "hi"},
			{Chat: ch, Text: "x", Buttons: [][]citybot.Button{{{Label: "", Data: "d"}}}},
			{Chat: ch, Text: "x", Platform: citybot.Telegram},
		}
		for i, out := range invalid {
			if _, err := bot.Send(ctx, out); !errors.Is(err, citybot.ErrInvalid) {
				t.Errorf("invalid %d: err = %v", i, err)
			}
		}
		if _, err := bot.Send(ctx, citybot.Outgoing{Chat: ch, Text: strings.Repeat("😀", 1000)}); err != nil {
			t.Errorf("exactly 2000 units: %v", err)
		}
		if _, err := bot.Send(ctx, citybot.Outgoing{Chat: "123456789012345678", Text: "hi"}); !errors.Is(err, citybot.ErrPermanent) {
			t.Errorf("unknown channel: %v", err)
		}
		w.emu.Forbid(w.offtopic)
		_, err = bot.Send(ctx, citybot.Outgoing{Chat: citybot.ChatID(w.offtopic), Text: "hi"})
		if !errors.Is(err, citybot.ErrPermanent) {
			t.Errorf("forbidden channel: %v", err)
		}
		noToken(t, "error", err.Error())
		// Edit (bots.Editor) and PrivateChat.
		if err := bot.Edit(ctx, ch, sent.ID, citybot.Outgoing{Text: "edited answer"}); err != nil {
			t.Errorf("edit: %v", err)
		} else if ms := w.emu.Messages(w.thread); !containsEdited(ms, string(sent.ID), "edited answer") {
			t.Error("edit not applied")
		}
		dm, err := bot.PrivateChat(ctx, citybot.UserID(w.bob.ID))
		want, _ := w.emu.DMChannel(w.bob.ID)
		if err != nil || string(dm) != want {
			t.Errorf("private chat = %s, %v; want %s", dm, err, want)
		}
		if _, err := bot.PrivateChat(ctx, "someone"); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("private chat with a bad id: %v", err)
		}
		if d := bot.Limits().MaxText; d != 2000 {
			t.Errorf("MaxText = %d", d)
		}
	})

	t.Run("local limiter refuses without waiting", func(t *testing.T) {
		ctx := ctxT(t, 10*time.Second)
		var ra *citybot.RetryAfterError
		n := 0
		start := time.Now()
		for i := 0; i < 8; i++ {
			_, err := bot.Send(ctx, citybot.Outgoing{Chat: citybot.ChatID(w.general), Text: "burst"})
			if errors.As(err, &ra) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if ra == nil || !ra.Throttled || ra.After <= 0 || ra.After > 5*time.Second || n > 5 {
			t.Errorf("after %d sends: %+v", n, ra)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("sends blocked for %v", time.Since(start))
		}
		if s := w.emu.Stats(); s.Exceeded != 0 {
			t.Errorf("emulator saw %d requests over its limits", s.Exceeded)
		}
	})

	t.Run("dropped gateway resumes without loss", func(t *testing.T) {
		resumes := w.emu.Stats().Resumes
		w.emu.DropGateway()
		during := w.post(t, w.roads, w.alice.ID, "posted while the connection was down")
		ctx := ctxT(t, 10*time.Second)
		if err := w.emu.WaitStats(ctx, func(s dcemu.Stats) bool { return s.Resumes > resumes }); err != nil {
			t.Fatalf("no resume: %v", err)
		}
		h.waitMessage(t, w.roads, during.ID)
		w.emu.Reconnect() // op 7
		if err := w.emu.WaitStats(ctx, func(s dcemu.Stats) bool { return s.Resumes > resumes+1 }); err != nil {
			t.Fatalf("no resume after op 7: %v", err)
		}
		after := w.post(t, w.roads, w.bob.ID, "after op 7")
		h.waitMessage(t, w.roads, after.ID)
	})

	t.Run("invalidated session catches up from history", func(t *testing.T) {
		ids := w.emu.Stats().Identifies
		lost := w.post(t, w.general, w.bob.ID, "the gateway never delivered this", dcemu.PostOptions{Silent: true})
		lostThread := w.post(t, w.thread, w.bob.ID, "nor this", dcemu.PostOptions{Silent: true})
		w.emu.InvalidateSession()
		ctx := ctxT(t, 10*time.Second)
		if err := w.emu.WaitStats(ctx, func(s dcemu.Stats) bool { return s.Identifies > ids }); err != nil {
			t.Fatalf("no re-identify: %v", err)
		}
		h.waitMessage(t, w.general, lost.ID)
		h.waitMessage(t, w.thread, lostThread.ID)
	})

	t.Run("failed hand-over is retried in order", func(t *testing.T) {
		h.setFail(func(m citybot.Message) bool { return strings.HasPrefix(m.Text, "flaky") })
		a := w.post(t, w.general, w.alice.ID, "flaky one")
		b := w.post(t, w.general, w.alice.ID, "fine two")
		h.waitMessage(t, w.general, b.ID)
		if _, ok := h.get(w.general, a.ID); ok {
			t.Fatal("failing message stored")
		}
		h.setFail(nil)
		h.waitMessage(t, w.general, a.ID)
		if v, _ := cur.Cursor(t.Context(), "discord:channel:"+w.general); v == "" {
			t.Error("no cursor saved")
		}
		h.mu.Lock()
		order := h.order[citybot.ChatID(w.general)]
		h.mu.Unlock()
		// b was handed over live before a; the cursor never passed a
		// before a was stored.
		if order[len(order)-1] != citybot.PlatformMessageID(a.ID) {
			t.Errorf("a not stored last: %v", order[len(order)-3:])
		}
	})

	if _, dupes := h.count(); dupes > 3 {
		t.Errorf("%d duplicate deliveries", dupes)
	}
}

func containsEdited(ms []dcemu.Message, id, text string) bool {
	for _, m := range ms {
		if m.ID == id {
			return m.Content == text && m.Edited != nil && len(m.Buttons) == 0
		}
	}
	return false
}
