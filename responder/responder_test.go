package responder_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"citybot"
	"citybot/bots"
	"citybot/classifier"
	"citybot/locale"
	"citybot/responder"
	"citybot/store"
)

// caseRef finds the reference in an acknowledgement.
func caseRef(t *testing.T, text string) citybot.CaseRef {
	t.Helper()
	for _, marker := range []string{"as case ", "sous le dossier ", "your report "} {
		if i := strings.Index(text, marker); i >= 0 {
			rest := text[i+len(marker):]
			if len(rest) >= 6 {
				return citybot.CaseRef(rest[:6])
			}
		}
	}
	t.Fatalf("no reference in %q", text)
	return ""
}

func TestNewCaseAckedOnceAndFollowUpJoins(t *testing.T) {
	rg := newRig(t, rigOptions{})
	ctx := context.Background()
	m := privateMsg("u1", 1, "There is a huge pothole on Main Street")
	rg.handle(m)
	rg.handle(m) // redelivery
	rg.drain()
	sent := rg.bot.sentTo(m.Chat)
	if len(sent) != 1 {
		t.Fatalf("%d messages sent, want one acknowledgement: %+v", len(sent), sent)
	}
	ack := sent[0].Text
	ref := caseRef(t, ack)
	for _, want := range []string{"roads and pavements", "/status " + string(ref), "city officer"} {
		if !strings.Contains(ack, want) {
			t.Errorf("ack lacks %q:\n%s", want, ack)
		}
	}
	if strings.Contains(ack, "112") {
		t.Errorf("a normal case got the emergency number:\n%s", ack)
	}
	c, err := rg.db.CaseByRef(ctx, ref)
	if err != nil || c.Status != citybot.StatusAcknowledged {
		t.Fatalf("case after ack: %+v, %v", c, err)
	}
	// A follow-up within the window joins the case and sends nothing.
	rg.handle(privateMsg("u1", 2, "It is getting bigger"))
	// A reply to the bot's acknowledgement joins it too.
	reply := privateMsg("u1", 3, "Photo attached")
	reply.ReplyTo = "bot-1"
	reply.Attachments = []citybot.Attachment{{Kind: citybot.AttachPhoto, FileID: "f1"}}
	rg.handle(reply)
	rg.drain()
	if n := len(rg.bot.sentTo(m.Chat)); n != 1 {
		t.Errorf("follow-ups caused %d sends in total, want 1", n)
	}
	cases, err := rg.db.CitizenCases(ctx, c.Citizen, 10)
	if err != nil || len(cases) != 1 {
		t.Errorf("citizen has %d cases (%v), want 1", len(cases), err)
	}
	if rg.bot.callCount("in:1:ack#1") != 1 {
		t.Errorf("ack sent %d times", rg.bot.callCount("in:1:ack#1"))
	}
}

func TestLanguageChoice(t *testing.T) {
	rg := newRig(t, rigOptions{})
	ctx := context.Background()
	tests := []struct {
		name   string
		msg    citybot.Message
		before func(m citybot.Message)
		want   string // a phrase of the expected catalog
	}{
		{"platform code fr", func() citybot.Message {
			m := privateMsg("fr1", 1, "Pothole here")
			m.Sender.LanguageCode = "fr-CA"
			return m
		}(), nil, "Merci. Votre signalement est enregistré sous le dossier"},
		{"detected fr", privateMsg("fr2", 1, "Il y a une coupure d'eau rue Victor Hugo"), nil, "l'eau et l'assainissement"},
		{"platform code beats detection", func() citybot.Message {
			m := privateMsg("en1", 1, "Il y a une coupure d'eau")
			m.Sender.LanguageCode = "en"
			return m
		}(), nil, "Thank you. Your report is registered as case"},
		{"stored preference beats platform code", func() citybot.Message {
			m := privateMsg("pref", 5, "Water cut since this morning")
			m.Sender.LanguageCode = "en-GB"
			return m
		}(), func(m citybot.Message) {
			toast, err := rg.r.HandleAction(ctx, citybot.Action{Platform: m.Platform, Chat: m.Chat, ID: "cb1", Sender: m.Sender, Data: "lang:fr"})
			if err != nil || toast != "Langue choisie : Français." {
				t.Errorf("HandleAction = %q, %v", toast, err)
			}
		}, "Merci."},
		{"unknown language falls back to the default", func() citybot.Message {
			m := privateMsg("de1", 1, "Pothole")
			m.Sender.LanguageCode = "de"
			return m
		}(), nil, "Thank you."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before(tt.msg)
			}
			rg.handle(tt.msg)
			rg.drain()
			sent := rg.bot.sentTo(tt.msg.Chat)
			if len(sent) != 1 || !strings.Contains(sent[0].Text, tt.want) {
				t.Errorf("sent %+v, want one text containing %q", sent, tt.want)
			}
		})
	}
}

func TestLanguageCommand(t *testing.T) {
	rg := newRig(t, rigOptions{})
	m := privateMsg("u1", 1, "/language")
	m.Command = "language"
	rg.handle(m)
	m2 := privateMsg("u1", 2, "/language fr")
	m2.Command, m2.Args = "language", "fr"
	rg.handle(m2)
	rg.handle(privateMsg("u1", 3, "Pothole on the bridge"))
	rg.drain()
	sent := rg.bot.sentTo(m.Chat)
	if len(sent) != 3 {
		t.Fatalf("sent %d, want 3", len(sent))
	}
	// No Languages option: every shipped catalog is offered, each by its
	// own name, English first.
	var got []string
	for _, row := range sent[0].Buttons {
		for _, b := range row {
			got = append(got, b.Label+"="+b.Data)
		}
	}
	want := []string{"English=lang:en", "العربية=lang:ar", "Español=lang:es", "Français=lang:fr", "Português=lang:pt", "Kiswahili=lang:sw"}
	if !slices.Equal(got, want) {
		t.Errorf("/language buttons = %v, want %v", got, want)
	}
	if sent[1].Text != "Langue choisie : Français." || !strings.HasPrefix(sent[2].Text, "Merci.") {
		t.Errorf("after /language fr: %q, %q", sent[1].Text, sent[2].Text)
	}
}

func TestCriticalGetsEmergencyNumberFirst(t *testing.T) {
	rg := newRig(t, rigOptions{})
	m := privateMsg("u1", 1, "Strong gas smell in the building")
	rg.handle(m)
	// A normal case that a follow-up makes critical gets the number too.
	m2 := privateMsg("u2", 1, "Water leak in the street")
	rg.handle(m2)
	rg.drain()
	rg.handle(privateMsg("u2", 2, "Now there is danger, the wall is falling"))
	rg.drain()
	first := rg.bot.sentTo(m.Chat)
	if len(first) != 1 || !strings.HasPrefix(first[0].Text, "If anyone is in danger, call 112 now.") {
		t.Errorf("critical ack = %+v", first)
	}
	second := rg.bot.sentTo(m2.Chat)
	if len(second) != 2 || strings.Contains(second[0].Text, "112") || !strings.Contains(second[1].Text, "112") {
		t.Errorf("escalation: %+v", second)
	}
}

func TestStatusOnlyOwnCases(t *testing.T) {
	rg := newRig(t, rigOptions{})
	a := privateMsg("alice", 1, "Pothole in front of number 12")
	rg.handle(a)
	rg.drain()
	refA := caseRef(t, rg.bot.sentTo(a.Chat)[0].Text)

	status := func(user string, id int, args string, kind citybot.ChatKind) string {
		m := privateMsg(user, id, "/status "+args)
		m.Command, m.Args = "status", args
		if kind != "" {
			m.ChatKind, m.Chat = kind, "group-1"
		}
		rg.handle(m)
		rg.drain()
		sent := rg.bot.sentTo(m.Chat)
		return sent[len(sent)-1].Text
	}
	if got := status("bob", 1, string(refA), ""); !strings.Contains(got, "I found no case "+string(refA)) || strings.Contains(got, "roads") {
		t.Errorf("bob asking alice's case: %q", got)
	}
	if got := status("bob", 2, "", ""); !strings.Contains(got, "You have no case yet") {
		t.Errorf("bob's list: %q", got)
	}
	if got := status("alice", 2, strings.ToLower(string(refA)), ""); got != "Case "+string(refA)+" (roads and pavements): received, waiting for an officer." {
		t.Errorf("alice's case: %q", got)
	}
	if got := status("alice", 3, "", ""); !strings.Contains(got, string(refA)) || !strings.HasPrefix(got, "Your cases:") {
		t.Errorf("alice's list: %q", got)
	}
	// In a group: no topic, and no list.
	if got := status("alice", 4, string(refA), citybot.ChatGroup); got != "Case "+string(refA)+": received, waiting for an officer." {
		t.Errorf("group status: %q", got)
	}
	if got := status("alice", 5, "", citybot.ChatGroup); strings.Contains(got, string(refA)) {
		t.Errorf("group list revealed a case: %q", got)
	}
}

func TestGroupAckRepliesToMessage(t *testing.T) {
	rg := newRig(t, rigOptions{})
	m := privateMsg("u1", 77, "Streetlight broken at the park")
	m.ChatKind, m.Chat, m.ChatTitle = citybot.ChatGroup, "city-group", "City"
	rg.handle(m)
	// An empty message in a group gets no answer.
	empty := privateMsg("u9", 78, "")
	empty.ChatKind, empty.Chat = citybot.ChatGroup, "city-group"
	rg.handle(empty)
	rg.drain()
	sent := rg.bot.sentTo("city-group")
	if len(sent) != 1 || sent[0].ReplyTo != "77" || !strings.Contains(sent[0].Text, "personal details") || strings.Contains(sent[0].Text, "N u1") {
		t.Errorf("group ack = %+v", sent)
	}
}

func TestFollowUpNoteAtMostOncePerInterval(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	rg := newRig(t, rigOptions{clock: clock})
	send := func(user string, id int, text string, edit bool) []citybot.Outgoing {
		t.Helper()
		m := privateMsg(user, id, text)
		m.Edit = edit
		if user == "fr" {
			m.Sender.LanguageCode = "fr"
		}
		if user == "grp" {
			m.ChatKind, m.Chat = citybot.ChatGroup, "city-group"
		}
		rg.handle(m)
		rg.drain()
		return rg.bot.sentTo(m.Chat)
	}
	sent := send("u1", 1, "Pothole on Main Street", false)
	if len(sent) != 1 {
		t.Fatalf("%d sends after the first message, want the acknowledgement", len(sent))
	}
	ref := string(caseRef(t, sent[0].Text))
	// Lines typed right after the acknowledgement get nothing more.
	clock.Advance(time.Minute)
	send("u1", 2, "It is deep", false)
	if sent = send("u1", 3, "Near the bakery", false); len(sent) != 1 {
		t.Fatalf("lines right after the ack caused %d sends, want only the ack: %+v", len(sent), sent)
	}
	// Later, a follow-up gets one short note, and the next line none.
	clock.Advance(11 * time.Minute)
	sent = send("u1", 4, "Still there today", false)
	if len(sent) != 2 || sent[1].Text != "Added to your case "+ref+"." || !strings.HasSuffix(sent[1].Key, ":notice#1") {
		t.Fatalf("follow-up after 12 min: %+v", sent)
	}
	clock.Advance(5 * time.Minute)
	if sent = send("u1", 5, "A car hit it", false); len(sent) != 2 {
		t.Fatalf("second follow-up within the interval caused a send: %+v", sent[2:])
	}
	// An edit never gets a note.
	clock.Advance(11 * time.Minute)
	if sent = send("u1", 5, "A car hit it this morning", true); len(sent) != 2 {
		t.Fatalf("an edit caused a send: %+v", sent[2:])
	}
	if sent = send("u1", 6, "Please hurry", false); len(sent) != 3 || sent[2].Text != "Added to your case "+ref+"." {
		t.Fatalf("follow-up 11 min after the last note: %+v", sent)
	}
	if n := rg.bot.callCount("in:1:ack#1"); n != 1 {
		t.Errorf("ack sent %d times", n)
	}

	// In French, and in a group (a reply to the message, no topic).
	send("fr", 1, "Il y a un nid-de-poule", false)
	clock.Advance(15 * time.Minute)
	sent = send("fr", 2, "Toujours là", false)
	if len(sent) != 2 || sent[1].Text != "Ajouté à votre dossier "+string(caseRef(t, sent[0].Text))+"." {
		t.Errorf("French follow-up: %+v", sent)
	}
	send("grp", 10, "Pothole by the school", false)
	clock.Advance(15 * time.Minute)
	sent = send("grp", 11, "Still there", false)
	if len(sent) != 2 || sent[1].ReplyTo != "11" || !strings.HasPrefix(sent[1].Text, "Added to your case ") {
		t.Errorf("group follow-up: %+v", sent)
	}
}

func TestFollowUpNotesOff(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	rg := newRig(t, rigOptions{clock: clock, opts: responder.Options{FollowUpInterval: -1}})
	rg.handle(privateMsg("u1", 1, "Pothole on Main Street"))
	clock.Advance(20 * time.Minute)
	rg.handle(privateMsg("u1", 2, "Still there"))
	rg.drain()
	if sent := rg.bot.sentTo("chat-u1"); len(sent) != 1 {
		t.Errorf("with notes off, %d sends, want the acknowledgement only", len(sent))
	}
}

func TestSensitiveTopicAck(t *testing.T) {
	tests := []struct {
		name      string
		lang      string
		text      string
		group     bool
		sensitive []string // the policy's sensitive topics; nil keeps the test city's
		want      []string // in the acknowledgement
		notWant   []string
	}{
		{name: "english private", lang: "en", text: "An officer asked me for a bribe",
			want:    []string{"as case ", "about: corruption", sensitiveNotice(t, "en")},
			notWant: []string{"private chat to go on"}},
		{name: "french private", lang: "fr", text: "Un agent m'a demandé un pot-de-vin",
			want:    []string{"sous le dossier ", "concerne : la corruption", sensitiveNotice(t, "fr")},
			notWant: []string{"Thank you", "message privé pour continuer"}},
		{name: "english group", lang: "en", text: "An officer asked me for a bribe", group: true,
			want:    []string{"as case ", sensitiveNotice(t, "en"), "write to me in a private chat"},
			notWant: []string{"corruption", "We understood", "phone, address"}},
		{name: "french group", lang: "fr", text: "Un agent m'a demandé un pot-de-vin", group: true,
			want:    []string{"sous le dossier ", sensitiveNotice(t, "fr"), "écrivez-moi en message privé"},
			notWant: []string{"corruption", "Nous avons compris"}},
		{name: "not sensitive", lang: "en", text: "Pothole on Main Street",
			want: []string{"roads and pavements"}, notWant: []string{sensitiveNotice(t, "en")}},
		{name: "explicitly none", lang: "en", text: "An officer asked me for a bribe", sensitive: []string{},
			want: []string{"about: corruption"}, notWant: []string{sensitiveNotice(t, "en")}},
		{name: "city's own list", lang: "en", text: "Pothole on Main Street", sensitive: []string{"roads"},
			want: []string{sensitiveNotice(t, "en")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := newRig(t, rigOptions{city: func(c *citybot.PolicyConfig) {
				if tt.sensitive != nil {
					c.SensitiveTopics = tt.sensitive
				}
			}})
			m := privateMsg("u1", 1, tt.text)
			m.Sender.LanguageCode = tt.lang
			if tt.group {
				m.ChatKind, m.Chat = citybot.ChatGroup, "city-group"
			}
			rg.handle(m)
			rg.drain()
			sent := rg.bot.sentTo(m.Chat)
			if len(sent) != 1 {
				t.Fatalf("%d messages sent, want one acknowledgement", len(sent))
			}
			ack := sent[0].Text
			for _, w := range tt.want {
				if !strings.Contains(ack, w) {
					t.Errorf("ack lacks %q:\n%s", w, ack)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(ack, w) {
					t.Errorf("ack has %q:\n%s", w, ack)
				}
			}
		})
	}
}

func TestCommands(t *testing.T) {
	rg := newRig(t, rigOptions{})
	cmds := []struct{ cmd, args, want string }{
		{"start", "", "What is stored"},
		{"help", "", "/status REF"},
		{"frobnicate", "", "/status REF"},
		{"HELP@citybot", "", "/status REF"},
		{"report", "", "Please describe the problem"},
		{"report", "pothole near the school", "Your report is registered as case"},
	}
	for i, c := range cmds {
		m := privateMsg("u1", i+1, "/"+c.cmd+" "+c.args)
		m.Command, m.Args = c.cmd, c.args
		rg.handle(m)
		rg.drain()
		sent := rg.bot.sentTo(m.Chat)
		if len(sent) != i+1 || !strings.Contains(sent[i].Text, c.want) {
			t.Errorf("/%s %s: sent %d, last %q; want %q", c.cmd, c.args, len(sent), sent[len(sent)-1].Text, c.want)
		}
	}
}

func TestLongTextSplitInOrder(t *testing.T) {
	rg := newRig(t, rigOptions{city: func(c *citybot.PolicyConfig) { c.MaxText[citybot.Telegram] = 40 }})
	rg.bot.maxText = 40
	m := privateMsg("u1", 1, "pothole")
	rg.handle(m)
	rg.drain()
	sent := rg.bot.sentTo(m.Chat)
	if len(sent) < 3 {
		t.Fatalf("ack split in %d parts, want several", len(sent))
	}
	var whole strings.Builder
	for i, o := range sent {
		if want := fmt.Sprintf("in:1:ack#%d", i+1); o.Key != want {
			t.Errorf("part %d key %q, want %q", i, o.Key, want)
		}
		whole.WriteString(o.Text)
	}
	if !strings.HasPrefix(whole.String(), "Thank you. Your report is registered as case ") || !strings.HasSuffix(whole.String(), ".") {
		t.Errorf("parts do not rebuild the text: %q", whole.String())
	}
	ref := caseRef(t, whole.String())
	if c, err := rg.db.CaseByRef(context.Background(), ref); err != nil || c.Status != citybot.StatusAcknowledged {
		t.Errorf("split ack did not acknowledge: %+v %v", c, err)
	}
}

func TestSplit(t *testing.T) {
	long := strings.Repeat("word ", 30) + "\n" + strings.Repeat("é", 50)
	emoji := strings.Repeat("🚧", 30)                 // 30 runes, 60 UTF-16 units
	marks := strings.Repeat("e\u0301", 40)           // e + combining acute accent
	family := strings.Repeat("👩\u200d👩\u200d👧 ", 10) // ZWJ sequences
	flags := strings.Repeat("🇫🇷🇧🇪", 10)              // pairs of regional indicators
	tests := []struct {
		text string
		max  int
	}{
		{"", 10}, {"short", 10}, {long, 16}, {long, 7}, {strings.Repeat("x", 100), 33}, {"a\nb\nc\nd", 2},
		{emoji, 10}, {emoji, 7}, {emoji, 1}, {marks, 9}, {family, 12}, {flags, 6}, {flags, 10}, {"🚧" + strings.Repeat("a", 20), 3},
	}
	for _, tt := range tests {
		parts := responder.Split(tt.text, tt.max)
		if strings.Join(parts, "") != tt.text {
			t.Errorf("Split(%q, %d) loses text: %q", tt.text, tt.max, parts)
		}
		for i, p := range parts {
			n := len(utf16.Encode([]rune(p)))
			if (n > tt.max && utf8.RuneCountInString(p) > 1) || (p == "" && tt.text != "") || !utf8.ValidString(p) {
				t.Errorf("Split(%.20q, %d) gave part %q (%d UTF-16 units)", tt.text, tt.max, p, n)
			}
			if r, _ := utf8.DecodeRuneInString(p); i > 0 && (r == '\u0301' || r == '\u200d') {
				t.Errorf("Split(%.20q, %d): part %d starts inside a character: %q", tt.text, tt.max, i, p)
			}
			if r, _ := utf8.DecodeLastRuneInString(p); i < len(parts)-1 && r == '\u200d' {
				t.Errorf("Split(%.20q, %d): part %d ends on a joiner: %q", tt.text, tt.max, i, p)
			}
			if n := strings.Count(tt.text, "🇫") + strings.Count(tt.text, "🇧"); n > 0 {
				ri := 0
				for _, r := range p {
					if r >= 0x1F1E6 && r <= 0x1F1FF {
						ri++
					}
				}
				if ri%2 == 1 {
					t.Errorf("Split(%.20q, %d): part %d splits a flag: %q", tt.text, tt.max, i, p)
				}
			}
		}
	}
	// 30 emoji are 60 units: within 2000, one part; within 40, two.
	if n := len(responder.Split(emoji, 40)); n != 2 {
		t.Errorf("Split(30 emoji, 40) gave %d parts, want 2 (emoji count two units)", n)
	}
	// Cuts prefer a paragraph, then a sentence, then a space.
	prefs := []struct {
		text  string
		max   int
		first string
	}{
		{"hello world again", 12, "hello world "},
		{"First part here.\n\nSecond part, with words that go on", 30, "First part here.\n\n"},
		{"One sentence ends here. Another one goes on and on", 32, "One sentence ends here. "},
		{"Une phrase se termine ici ! Une autre continue encore", 36, "Une phrase se termine ici ! "},
	}
	for _, p := range prefs {
		if parts := responder.Split(p.text, p.max); parts[0] != p.first {
			t.Errorf("Split(%q, %d) first part %q, want %q", p.text, p.max, parts[0], p.first)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	m := privateMsg("u1", 1, "pothole")
	rg.bot.script[m.Chat] = []sendResult{
		{&citybot.RetryAfterError{After: 80 * time.Millisecond, Throttled: true}},
		{&citybot.RetryAfterError{After: 80 * time.Millisecond, Throttled: true}},
	}
	rg.handle(m)
	rg.start()
	rg.drain()
	times := rg.bot.times["in:1:ack#1"]
	if len(times) != 3 || len(rg.bot.sentTo(m.Chat)) != 1 {
		t.Fatalf("calls %d, delivered %d; want 3 calls, 1 delivery", len(times), len(rg.bot.sentTo(m.Chat)))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 80*time.Millisecond {
			t.Errorf("retry %d after %v, before the 80ms asked", i, gap)
		}
	}
	it, err := rg.db.OutboxItem(context.Background(), "in:1:ack#1")
	if err != nil || it.State != citybot.OutboxSent || it.Attempts != 0 {
		t.Errorf("row = %+v, %v; throttling must not count attempts", it, err)
	}
}

func TestPermanentFailureStops(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	m := privateMsg("u1", 1, "pothole")
	rg.bot.script[m.Chat] = []sendResult{{fmt.Errorf("bot blocked by user in chat %s: %w", m.Chat, citybot.ErrPermanent)}}
	rg.handle(m)
	m2 := privateMsg("u2", 1, "pothole")
	rg.bot.script[m2.Chat] = []sendResult{{errors.New("502 bad gateway")}, {errors.New("timeout")}}
	rg.handle(m2)
	rg.start()
	rg.drain()
	ctx := context.Background()
	it, _ := rg.db.OutboxItem(ctx, "in:1:ack#1")
	if it.State != citybot.OutboxFailed || rg.bot.callCount("in:1:ack#1") != 1 || it.Attempts != 1 {
		t.Errorf("permanent: %+v after %d calls", it, rg.bot.callCount("in:1:ack#1"))
	}
	if strings.Contains(it.LastError, string(m.Chat)) || !strings.Contains(it.LastError, "<chat>") {
		t.Errorf("last error not redacted: %q", it.LastError)
	}
	it2, _ := rg.db.OutboxItem(ctx, "in:2:ack#1")
	if it2.State != citybot.OutboxSent || it2.Attempts != 2 || rg.bot.callCount("in:2:ack#1") != 3 {
		t.Errorf("transient: %+v after %d calls", it2, rg.bot.callCount("in:2:ack#1"))
	}
}

func TestTransientFailuresGiveUp(t *testing.T) {
	rg := newRig(t, rigOptions{dopts: responder.DispatcherOptions{MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}})
	rg.bot.fail = func(out citybot.Outgoing) error { return errors.New("connection reset") }
	m := privateMsg("u1", 1, "pothole")
	rg.handle(m)
	rg.drain()
	it, _ := rg.db.OutboxItem(context.Background(), "in:1:ack#1")
	if it.State != citybot.OutboxFailed || it.Attempts != 3 || rg.bot.callCount("in:1:ack#1") != 3 {
		t.Errorf("row %+v after %d calls; want failed after 3", it, rg.bot.callCount("in:1:ack#1"))
	}
}

func TestEditUpdatesAndReclassifies(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	ctx := context.Background()
	m := privateMsg("u1", 1, "pothole")
	rg.handle(m)
	m.Edit, m.Text = true, "gas leak here"
	rg.handle(m)
	text, _, _, err := rg.db.MessageText(ctx, m.Platform, m.Chat, m.ID)
	if err != nil || text != "gas leak here" {
		t.Errorf("stored %q, %v", text, err)
	}
	// The edit made the case critical: the emergency number follows.
	items, _ := rg.db.OutboxItems(ctx, "")
	if len(items) != 2 || items[0].Kind != citybot.OutboxAck || items[1].Kind != citybot.OutboxNotice ||
		!strings.HasPrefix(items[1].Out.Text, "If anyone is in danger, call 112") {
		t.Fatalf("after the edit: %+v", items)
	}
	c, err := rg.db.Case(ctx, items[0].Case)
	if err != nil || c.Topic != "public_safety" || c.Urgency != citybot.UrgencyCritical {
		t.Errorf("case after edit: %+v, %v", c, err)
	}
	// The same edit delivered again, and another edit of the now critical
	// case, queue nothing.
	rg.handle(m)
	m.Text = "gas leak here, fixed now, pothole"
	rg.handle(m)
	if items, _ := rg.db.OutboxItems(ctx, ""); len(items) != 2 {
		t.Errorf("repeated edits queued: %+v", items)
	}
}

func TestBadInput(t *testing.T) {
	rg := newRig(t, rigOptions{})
	ctx := context.Background()
	tests := []struct {
		name, text string
		reply      string
	}{
		{"empty", "", "Please describe the problem"},
		{"huge", strings.Repeat("pothole ", 10<<20/8), "Your report is registered"},
		{"invalid utf8", "pothole \xff\xfe\xfd", "Your report is registered"},
		{"controls", "pothole\x00\x01\x1b[31m", "Your report is registered"},
		{"html", "<script>alert(1)</script> pothole", "Your report is registered"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := privateMsg(fmt.Sprint("bad", i), 1, tt.text)
			if err := rg.r.HandleMessage(ctx, m); err != nil {
				t.Fatalf("HandleMessage: %v", err)
			}
			rg.drain()
			sent := rg.bot.sentTo(m.Chat)
			if len(sent) != 1 || !strings.Contains(sent[0].Text, tt.reply) {
				t.Errorf("sent %+v", sent)
			}
			text, _, _, err := rg.db.MessageText(ctx, m.Platform, m.Chat, m.ID)
			if err != nil || !utf8.ValidString(text) || len(text) > citybot.MaxStoredText {
				t.Errorf("stored %d bytes, valid %v, %v", len(text), utf8.ValidString(text), err)
			}
		})
	}
	// A bot's own message is skipped, not stored.
	m := privateMsg("botty", 1, "pothole")
	m.Sender.IsBot = true
	if err := rg.r.HandleMessage(ctx, m); err != nil {
		t.Errorf("bot message: %v", err)
	}
	if _, _, _, err := rg.db.MessageText(ctx, m.Platform, m.Chat, m.ID); !errors.Is(err, citybot.ErrNotFound) {
		t.Errorf("bot message stored: %v", err)
	}
}

func TestConcurrentHandleMessage(t *testing.T) {
	rg := newRig(t, rigOptions{})
	ctx := context.Background()
	const (
		workers  = 8
		citizens = 40
		perCit   = 5
	)
	// Each citizen sends perCit messages; every message is delivered
	// twice, by different goroutines.
	var msgs []citybot.Message
	for c := range citizens {
		for i := range perCit {
			msgs = append(msgs, privateMsg(fmt.Sprint("c", c), i+1, "pothole number "+fmt.Sprint(i)))
		}
	}
	work := make(chan citybot.Message)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range work {
				if err := rg.r.HandleMessage(ctx, m); err != nil {
					t.Errorf("HandleMessage: %v", err)
				}
			}
		}()
	}
	for _, m := range append(msgs, msgs...) {
		work <- m
	}
	close(work)
	wg.Wait()
	rg.drain()
	sent := rg.bot.allSent()
	if len(sent) != citizens {
		t.Errorf("%d acknowledgements for %d citizens (one case each)", len(sent), citizens)
	}
	seen := map[string]bool{}
	for _, o := range sent {
		if seen[o.Key] {
			t.Errorf("%s sent twice", o.Key)
		}
		seen[o.Key] = true
	}
	for c := range citizens {
		for i := range perCit {
			if _, _, _, err := rg.db.MessageText(ctx, citybot.Telegram, citybot.ChatID(fmt.Sprint("chat-c", c)), citybot.PlatformMessageID(fmt.Sprint(i+1))); err != nil {
				t.Errorf("message %d of citizen %d lost: %v", i+1, c, err)
			}
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := responder.New(responder.Options{}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("no store: %v", err)
	}
	rg := newRig(t, rigOptions{noRun: true})
	if _, err := responder.New(responder.Options{Store: rg.db, Classifier: fakeClassifier{}}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("no policy: %v", err)
	}
	xx := testPolicy(t, func(c *citybot.PolicyConfig) { c.Languages = []string{"en", "xx"} })
	if _, err := responder.New(responder.Options{Store: rg.db, Classifier: fakeClassifier{}, Policy: xx}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("language without catalog: %v", err)
	}
	// A new language through a catalog; missing texts fall back to English.
	de := testPolicy(t, func(c *citybot.PolicyConfig) { c.Languages, c.DefaultLanguage = append(c.Languages, "de"), "de" })
	r, err := responder.New(responder.Options{Store: rg.db, Classifier: fakeClassifier{}, Policy: de,
		Catalogs: map[string]responder.Catalog{"de": {Name: "Deutsch", AckNew: "Danke. Ihr Fall ist {ref}."}}})
	if err != nil {
		t.Fatal(err)
	}
	m := privateMsg("u1", 1, "pothole")
	m.Sender.LanguageCode = "de-AT"
	if err := r.HandleMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	items, _ := rg.db.OutboxItems(context.Background(), "in:")
	if len(items) != 1 || !strings.HasPrefix(items[0].Out.Text, "Danke. Ihr Fall ist ") || !strings.Contains(items[0].Out.Text, "roads and pavements") {
		t.Errorf("de ack = %+v", items)
	}
	if _, err := responder.NewDispatcher(responder.DispatcherOptions{Store: rg.db}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("dispatcher without bots: %v", err)
	}
}

// The concrete store satisfies what the responder and the adapters need.
var (
	_ responder.Store       = (*store.DB)(nil)
	_ responder.OutboxStore = (*store.DB)(nil)
	_ bots.Cursors          = (*store.DB)(nil)
	_ responder.Classifier  = (*classifier.Classifier)(nil)
)

func TestCancelledContextIsNotStoredThenRedelivered(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := privateMsg("u1", 1, "pothole")
	if err := rg.r.HandleMessage(ctx, m); err == nil {
		t.Fatal("HandleMessage with a cancelled context returned nil")
	}
	if _, _, _, err := rg.db.MessageText(context.Background(), m.Platform, m.Chat, m.ID); !errors.Is(err, citybot.ErrNotFound) {
		t.Fatalf("message stored despite the error: %v", err)
	}
	rg.handle(m) // the adapter delivers it again
	items, _ := rg.db.OutboxItems(context.Background(), "")
	if len(items) != 1 || items[0].Kind != citybot.OutboxAck {
		t.Errorf("after redelivery: %+v", items)
	}
	// A message that can never be stored is skipped, not retried forever.
	if err := rg.r.HandleMessage(context.Background(), citybot.Message{Platform: "irc", Chat: "c", ID: "1", Text: "x"}); err != nil {
		t.Errorf("invalid message: %v", err)
	}
}

func TestPanickingBotIsRetried(t *testing.T) {
	rg := newRig(t, rigOptions{noRun: true})
	rg.bot.panics = 1
	m := privateMsg("u1", 1, "pothole")
	rg.handle(m)
	rg.start()
	rg.drain()
	it, _ := rg.db.OutboxItem(context.Background(), "in:1:ack#1")
	if it.State != citybot.OutboxSent || it.Attempts != 1 || len(rg.bot.sentTo(m.Chat)) != 1 {
		t.Errorf("after a panicking send: %+v", it)
	}
}

// A classifier that panics does not fail the intake (the adapter would
// redeliver the message and it would panic again): the message is stored
// unclassified, topic other with low confidence, and acknowledged.
func TestClassifierPanicStoresUnclassified(t *testing.T) {
	logs := &logBuf{}
	rg := newRig(t, rigOptions{opts: responder.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		Classifier: responder.ClassifierFunc(func(text, _ string) citybot.Classification {
			panic("classifier bug on " + text)
		}),
	}})
	ctx := context.Background()
	m := privateMsg("u1", 1, "Pothole zqx on Main Street")
	if err := rg.r.HandleMessage(ctx, m); err != nil {
		t.Fatalf("HandleMessage = %v, want nil", err)
	}
	rg.drain()
	sent := rg.bot.sentTo(m.Chat)
	if len(sent) != 1 {
		t.Fatalf("%d messages sent, want one acknowledgement", len(sent))
	}
	c, err := rg.db.CaseByRef(ctx, caseRef(t, sent[0].Text))
	if err != nil {
		t.Fatal(err)
	}
	if c.Topic != classifier.OtherTopic || c.Urgency != citybot.UrgencyNormal {
		t.Errorf("case %+v: want topic other, urgency normal", c)
	}
	tags, err := rg.db.CaseTags(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tags {
		if tg.Kind == "topic" && tg.Confidence > 0.1 {
			t.Errorf("topic tag %+v: want low confidence", tg)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "classifier panicked") || !strings.Contains(out, `"level":"ERROR"`) {
		t.Errorf("panic not logged at error level: %s", out)
	}
	if strings.Contains(out, "zqx") {
		t.Errorf("logs quote the citizen: %s", out)
	}
}

// A platform's regional tag is matched to a language the city speaks
// (pt-BR → pt, es-419 → es); a language the city does not speak, even a
// shipped one, gets the default language; so does a language it has
// nothing close to.
func TestPlatformLanguageMatched(t *testing.T) {
	rg := newRig(t, rigOptions{city: func(c *citybot.PolicyConfig) { c.Languages = []string{"en", "pt", "es", "ar"} }})
	tests := []struct{ user, code, want string }{
		{"u1", "pt-BR", "Obrigado. Seu aviso foi registrado como caso "},
		{"u2", "es-419", "Gracias. Su aviso quedó anotado como caso "},
		{"u3", "ar-EG", "شكرًا. سُجّل بلاغك تحت رقم القضية "},
		{"u4", "sw-KE", "Thank you. Your report is registered as case "},
		{"u5", "de-DE", "Thank you. Your report is registered as case "},
	}
	for _, tt := range tests {
		m := privateMsg(tt.user, 1, "pothole")
		m.Sender.LanguageCode = tt.code
		rg.handle(m)
	}
	rg.drain()
	for _, tt := range tests {
		sent := rg.bot.sentTo(citybot.ChatID("chat-" + tt.user))
		if len(sent) != 1 || !strings.HasPrefix(sent[0].Text, tt.want) {
			t.Errorf("%s: sent %+v, want a text starting %q", tt.code, sent, tt.want)
		}
	}
}

// The sensitive notice says who reads the case in the words of [web]
// sensitive_readers: roles in plain words, named accounts counted (never
// named), joined as each language lists things; every shipped language
// fills it.
func TestSensitiveNoticeNamesReaders(t *testing.T) {
	tests := []struct {
		lang  string
		roles []citybot.Role
		names int
		want  []string
	}{
		{"en", nil, 0, []string{"Only the city's console administrators can read it."}},
		{"en", []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficial}, 2,
			[]string{"Only the city's console administrators, the elected officials and 2 staff members named by the city can read it."}},
		{"en", []citybot.Role{citybot.RoleOfficer}, 1, []string{"Only the city officers who answer reports and 1 staff member named by the city can read it."}},
		{"fr", []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficial}, 0,
			[]string{"Seules ces personnes peuvent le lire : les administrateurs de la console de la ville et les élus."}},
		{"es", []citybot.Role{citybot.RoleAdmin}, 3, []string{"los administradores de la consola de la ciudad y 3 personas del personal"}},
		{"pt", []citybot.Role{citybot.RoleOfficial}, 0, []string{"Só estas pessoas podem ler: os eleitos."}},
		{"ar", []citybot.Role{citybot.RoleAdmin, citybot.RoleOfficial}, 0, []string{"مديرو لوحة المدينة والمسؤولون المنتخبون"}},
		{"sw", []citybot.Role{citybot.RoleAdmin}, 2, []string{"wasimamizi wa dashibodi ya jiji na wafanyakazi 2 waliotajwa na jiji"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v %d", tt.lang, tt.roles, tt.names), func(t *testing.T) {
			rg := newRig(t, rigOptions{opts: responder.Options{SensitiveReaderRoles: tt.roles, SensitiveReaderNames: tt.names}})
			m := privateMsg("u1", 1, "An officer asked me for a bribe")
			m.Sender.LanguageCode = tt.lang
			rg.handle(m)
			rg.drain()
			sent := rg.bot.sentTo(m.Chat)
			if len(sent) != 1 {
				t.Fatalf("%d messages sent, want one acknowledgement", len(sent))
			}
			for _, w := range tt.want {
				if !strings.Contains(sent[0].Text, w) {
					t.Errorf("ack lacks %q:\n%s", w, sent[0].Text)
				}
			}
			if strings.Contains(sent[0].Text, "{") {
				t.Errorf("a placeholder is left:\n%s", sent[0].Text)
			}
		})
	}
}

// sensitiveNotice is the sentence on identity protection that ends the
// acknowledgement of a sensitive case in lang, for a city whose sensitive
// cases only its console administrators read (the test city).
func sensitiveNotice(t *testing.T, lang string) string {
	t.Helper()
	s := locale.MustEmbedded()
	c := s.Catalog(lang)
	if c == nil {
		t.Fatalf("no catalog %q", lang)
	}
	return strings.ReplaceAll(c.Text("chat.sensitive"), "{readers}", c.Text("chat.readers_admin"))
}
