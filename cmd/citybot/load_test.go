package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram/tgemu"
	"citybot/store"
)

// TestServeLoad is the end-to-end acceptance run through serve, the real
// tgbotapi client and the Telegram emulator (with Telegram's limits
// enforced): 200 citizens, 150 in private chats and 50 in ten listened
// groups, send 1,000 messages (reports, follow-ups, photos with captions,
// locations, /status commands) plus 40 edits. Every message is stored
// once (edits replace the text), every citizen has exactly one case,
// every case is acknowledged exactly once with its reference, /status
// answers with the right reference, and no limit is exceeded.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test; skipped with -short")
	}
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()

	const (
		citizens = 200
		private  = 150
		groups   = 10
	)
	groupID := func(g int) int64 { return -1001000000100 - int64(g) }
	var listen []string
	for g := range groups {
		listen = append(listen, strconv.FormatInt(groupID(g), 10))
	}
	s := startServe(t, map[string]string{envTelegramToken: emu.Token()}, fmt.Sprintf(`[telegram]
api_endpoint = %q
poll_timeout = "1s"
listen_groups = [%s]
[discord]
enabled = false
[outbox]
poll_interval = "200ms"
`, emu.Endpoint(), strings.Join(listen, ", ")))

	type citizen struct {
		user    tgemu.User
		chat    int64
		posted  []tgemu.Posted
		edited  string // new text of the first message, if edited
		ref     string // from the acknowledgement
		ackText string
	}
	cs := make([]*citizen, citizens)
	for i := range cs {
		u := tgemu.User{ID: int64(700000 + i), FirstName: fmt.Sprintf("Citizen %d", i), LanguageCode: []string{"en", "fr"}[i%2]}
		c := &citizen{user: u}
		if i >= private {
			c.chat = groupID((i - private) % groups)
		} else {
			c.chat = u.ID
		}
		cs[i] = c
	}
	post := func(c *citizen, in tgemu.Incoming) {
		t.Helper()
		in.From, in.Chat = c.user, c.chat
		if c.chat < 0 {
			in.ChatTitle = "Neighbourhood " + strconv.FormatInt(-c.chat%100, 10)
		}
		p, err := emu.Post(in)
		if err != nil {
			t.Fatal(err)
		}
		c.posted = append(c.posted, p)
	}
	texts := []string{
		"There is a deep pothole in front of number %d, cars swerve around it",
		"Les poubelles du numéro %d n'ont pas été ramassées depuis dix jours",
		"The street light at the corner of block %d has been dark all week",
		"Pas d'eau au robinet depuis ce matin au numéro %d",
	}
	// Phase 1: four messages each, and an edit of every fifth report.
	for i, c := range cs {
		post(c, tgemu.Incoming{Text: fmt.Sprintf(texts[i%len(texts)], i)})
		post(c, tgemu.Incoming{Text: "It is getting worse every day, please send someone"})
		post(c, tgemu.Incoming{Text: "Photo of the problem", Media: tgemu.MediaPhoto})
		post(c, tgemu.Incoming{Location: &tgemu.Location{Latitude: 41.49 + float64(i)/1e4, Longitude: -71.31}})
	}
	for i, c := range cs {
		if i%5 == 0 {
			c.edited = fmt.Sprintf("EDITED: correction, it is at number %d bis", i)
			if _, err := emu.Edit(c.chat, c.posted[0].MessageID, c.edited); err != nil {
				t.Fatal(err)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	refRE := regexp.MustCompile(`\b[0-9A-Z]{6}\b`)
	// Every report is acknowledged (in a group, as a reply to it).
	err := emu.WaitFor(ctx, func() bool { return len(emu.AllSent()) >= citizens })
	if err != nil {
		t.Fatalf("%d of %d acknowledgements: %v", len(emu.AllSent()), citizens, err)
	}
	for _, c := range cs {
		for _, m := range emu.Sent(c.chat) {
			if c.chat > 0 || m.ReplyTo == c.posted[0].MessageID {
				c.ackText = m.Text
				c.ref = refRE.FindString(m.Text)
			}
		}
		if c.ref == "" {
			t.Fatalf("citizen %d: no acknowledgement with a reference", c.user.ID)
		}
	}

	// Phase 2: a fifth message each: /status (every other citizen; with the
	// reference in groups) or one more follow-up.
	statusAsked := 0
	for i, c := range cs {
		switch {
		case i%2 == 1:
			post(c, tgemu.Incoming{Text: "Any news?"})
		case c.chat > 0:
			post(c, tgemu.Incoming{Text: "/status"})
			statusAsked++
		default:
			post(c, tgemu.Incoming{Text: "/status " + c.ref})
			statusAsked++
		}
	}
	if err := emu.WaitFor(ctx, func() bool { return len(emu.AllSent()) >= citizens+statusAsked }); err != nil {
		t.Fatalf("%d of %d messages sent: %v", len(emu.AllSent()), citizens+statusAsked, err)
	}
	// Let any extra (wrong) message show up before counting.
	time.Sleep(500 * time.Millisecond)
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}

	posted := 0
	for _, c := range cs {
		posted += len(c.posted)
	}
	if posted != 1000 {
		t.Fatalf("posted %d messages, want 1000", posted)
	}
	sent := emu.AllSent()
	if len(sent) != citizens+statusAsked {
		t.Errorf("bot sent %d messages, want %d (one acknowledgement per case, one answer per /status)", len(sent), citizens+statusAsked)
	}
	if err := emu.CheckRates(tgemu.DefaultLimits()); err != nil {
		t.Errorf("over Telegram's limits: %v", err)
	}

	db, err := store.Open(context.Background(), s.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress,
		citybot.StatusAnswered, citybot.StatusResolved, citybot.StatusClosed, citybot.StatusDuplicate}
	cases, err := db.Inbox(ctx, citybot.CaseFilter{Statuses: all, Limit: 10 * citizens})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != citizens {
		t.Errorf("%d cases, want %d: every follow-up joins its citizen's case", len(cases), citizens)
	}
	byRef := map[string]citybot.Case{}
	for _, c := range cases {
		byRef[string(c.Ref)] = c
	}
	for i, c := range cs {
		kase, ok := byRef[c.ref]
		switch {
		case !ok:
			t.Errorf("citizen %d: acknowledged reference %s is no case", i, c.ref)
			continue
		case kase.Status != citybot.StatusAcknowledged:
			t.Errorf("case %s is %s, want acknowledged", c.ref, kase.Status)
		case string(kase.Chat) != strconv.FormatInt(c.chat, 10):
			t.Errorf("case %s is in chat %s, want %d", c.ref, kase.Chat, c.chat)
		}
		// Every message stored, once, with the edited text where edited.
		for j, p := range c.posted {
			text, _, _, err := db.MessageText(ctx, citybot.Telegram, citybot.ChatID(strconv.FormatInt(c.chat, 10)), citybot.PlatformMessageID(strconv.Itoa(p.MessageID)))
			if err != nil {
				t.Errorf("citizen %d message %d not stored: %v", i, j, err)
				continue
			}
			if j == 0 && c.edited != "" && text != c.edited {
				t.Errorf("citizen %d: edited report stored as %q", i, text)
			}
		}
		// /status answered with the citizen's reference.
		if i%2 == 0 {
			var answer string
			for _, m := range emu.Sent(c.chat) {
				if m.Text != c.ackText && strings.Contains(m.Text, c.ref) && (c.chat > 0 || m.ReplyTo == c.posted[4].MessageID || m.ReplyTo == 0) {
					answer = m.Text
				}
			}
			if answer == "" {
				t.Errorf("citizen %d: no /status answer naming %s", i, c.ref)
			}
		}
	}
	// Acknowledged exactly once: one message per chat carries each case's
	// acknowledgement text.
	for _, c := range cs {
		n := 0
		for _, m := range emu.Sent(c.chat) {
			if m.Text == c.ackText {
				n++
			}
		}
		if n != 1 {
			t.Errorf("case %s acknowledged %d times", c.ref, n)
		}
	}
	t.Logf("1000 messages + 40 edits from %d citizens: %d cases, %d bot messages, %d sends refused by the emulator's limits",
		citizens, len(cases), len(sent), emu.Stats().RateLimited)
}
