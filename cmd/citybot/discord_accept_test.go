package main

// Acceptance of issue 4 (Discord) through the whole pipeline: `citybot
// serve` run through run() (or as its own process), the real discordgo
// client talking to dcemu on 127.0.0.1, a real SQLite file in t.TempDir(),
// the real classifier, responder, outbox and dispatcher.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"citybot"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/store"
)

// dcToken is the bot token the Discord emulator accepts in these tests.
const dcToken = "dcaccept-bot-TOKEN.secret"

// dcWorld is a Discord emulator with a guild of listened channels and
// threads, and citizens.
type dcWorld struct {
	emu      *dcemu.Server
	channels []string // listened text channels
	threads  []string // public threads under the listened channels
	// combineAcks turns [outbox] combine_group_acks on in config. Off by
	// default here: the issue 4 tests pin one acknowledgement per case,
	// replying to its report, under loads spread so that channels keep
	// within their limit; combined acknowledgements in a busy channel
	// have their own tests (channel_acks_*_test.go).
	combineAcks bool
}

// newDCWorld starts dcemu with opts (the token set here) and creates
// nChannels listened channels and nThreads threads under them.
func newDCWorld(t *testing.T, opts dcemu.Options, nChannels, nThreads int) *dcWorld {
	t.Helper()
	opts.Token = dcToken
	emu, err := dcemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emu.Close)
	w := &dcWorld{emu: emu}
	for i := range nChannels {
		w.channels = append(w.channels, emu.AddChannel(fmt.Sprintf("ward-%02d", i)))
	}
	for i := range nThreads {
		th, err := emu.AddThread(w.channels[i%nChannels], fmt.Sprintf("thread-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		w.threads = append(w.threads, th)
	}
	return w
}

// config is serve's configuration for this world: Telegram off, Discord
// pointed at the emulator and listening in w.channels (threads under them
// are listened too), and an outbox that polls and retries quickly so that
// a retried send does not wait the production backoff (2 s, growing).
func (w *dcWorld) config(dbPath, extra string) string {
	quoted := make([]string, len(w.channels))
	for i, c := range w.channels {
		quoted[i] = fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf(`[store]
path = %q
[http]
addr = "127.0.0.1:0"
[log]
level = "debug"
format = "json"
[telegram]
enabled = false
[discord]
api_base = %q
guild_id = %q
channels = [%s]
[outbox]
poll_interval = "100ms"
base_backoff = "100ms"
max_backoff = "2s"
max_attempts = 30
combine_group_acks = %t
%s`, dbPath, w.emu.URL(), w.emu.GuildID(), strings.Join(quoted, ", "), w.combineAcks, withoutGrouping(extra))
}

// startServeAt runs `citybot serve` through run() on the config text
// (whose [store] path may be an existing database) and waits for its
// ready file and the Discord gateway session and slash commands.
func (w *dcWorld) startServeAt(t *testing.T, dbPath, config string, env map[string]string) *server {
	t.Helper()
	if env == nil {
		env = map[string]string{envDiscordToken: dcToken}
	}
	s := serveAt(t, env, writeConfig(t, config))
	s.dbPath = dbPath
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if err := w.emu.WaitConnected(ctx2); err != nil {
		t.Fatalf("discord gateway not connected: %v", err)
	}
	if _, err := w.emu.WaitCommands(ctx2, 4); err != nil {
		t.Fatalf("slash commands not registered: %v", err)
	}
	dcWaitReady(t, s.logs, 1)
	return s
}

// tail is the end of a long log, for failure messages.
func dcTail(s string) string {
	const n = 8000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// waitCond polls cond every 20 ms until it holds or d passes; it fails
// the test with what and the logs otherwise.
func waitCond(t *testing.T, d time.Duration, what func() string, s *server, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			logs := ""
			if s != nil {
				logs = dcTail(s.logs.String())
			}
			t.Fatalf("timed out after %v waiting for %s\nlogs:\n%s", d, what(), logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The texts the responder sends, recognised in English and French.
var (
	dcRefRE = regexp.MustCompile(`(?:registered as case|enregistré sous le dossier) ([0-9A-Z]{6})\b`)
)

// dcAckRef returns the case reference a message acknowledges, or "".
func dcAckRef(content string) string {
	if m := dcRefRE.FindStringSubmatch(content); m != nil {
		return m[1]
	}
	return ""
}

// dcIsStatus reports whether content answers /status for ref (one case,
// in a DM or a channel).
func dcIsStatus(content, ref string) bool {
	return regexp.MustCompile(`(?:Case|Dossier) ` + ref + `(?: \(| ?:)`).MatchString(content)
}

// dcIsNotFound reports whether content says ref is not among the
// citizen's cases.
func dcIsNotFound(content, ref string) bool {
	return strings.Contains(content, "no case "+ref) || strings.Contains(content, "pas de dossier "+ref)
}

// dcInbound reads, from the database at path once serve has stopped, the
// Discord messages citizens sent, keyed "chat/message id", with how many
// rows each has.
func dcInbound(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return inboundRows(t, db, "discord")
}

// inboundRows reads from db (SQLite or PostgreSQL) the messages citizens
// sent on platform, keyed "chat/message id", with how many rows each has.
func inboundRows(t *testing.T, db *sql.DB, platform string) map[string]int {
	t.Helper()
	rows, err := db.Query(`SELECT c.platform_chat_id, m.platform_message_id FROM messages m JOIN chats c ON c.id = m.chat_id
		WHERE m.direction = 'in' AND c.platform = '` + platform + `'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var chat, id string
		if err := rows.Scan(&chat, &id); err != nil {
			t.Fatal(err)
		}
		out[chat+"/"+id]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dcCases reads every case from the database at path.
func dcCases(t *testing.T, path string) []citybot.Case {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return allCases(t, db)
}

// allCases reads every case from db, whatever its status.
func allCases(t *testing.T, db *store.DB) []citybot.Case {
	t.Helper()
	all := []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged, citybot.StatusInProgress,
		citybot.StatusAnswered, citybot.StatusResolved, citybot.StatusClosed, citybot.StatusDuplicate}
	cases, err := db.Inbox(context.Background(), citybot.CaseFilter{Statuses: all, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// dcAcks counts, over every channel, the acknowledgements the bot sent
// per case reference, and where.
func dcAcks(emu *dcemu.Server) (count map[string]int, where map[string]string) {
	count, where = map[string]int{}, map[string]string{}
	for ch, ms := range emu.SentAll() {
		for _, m := range ms {
			if ref := dcAckRef(m.Content); ref != "" {
				count[ref]++
				where[ref] = ch
			}
		}
	}
	return count, where
}

// dcSentTotal is the number of messages the bot posted.
func dcSentTotal(emu *dcemu.Server) int {
	n := 0
	for _, ms := range emu.SentAll() {
		n += len(ms)
	}
	return n
}

// dcCitizen is a citizen of the load test, writing in one chat.
type dcCitizen struct {
	user   dcemu.User
	home   string // channel, thread or DM channel id
	dm     bool
	posted []dcemu.Message
	ref    string
}

var dcReports = []string{
	"There is a deep pothole in front of number %d on Harbour Street, cars swerve around it",
	"The street light at the corner of block %d has been dark all week",
	"Garbage bins at number %d on Oak Avenue have not been emptied for ten days",
	"Les poubelles du numéro %d rue Victor Hugo n'ont pas été ramassées depuis dix jours",
	"A fallen tree branch blocks the sidewalk near number %d Elm Street",
}

// TestDiscordAcceptLoad is the end-to-end acceptance run of issue 4: 200
// citizens (80 in DMs, 120 in 20 listened channels and 10 threads) send
// 1,000 messages (reports, follow-ups, an attachment, typed /status and
// /language), then run 100 slash commands (/status with their own
// reference, someone else's, or none; /language; /help; /report) and
// press 20 language buttons. Every message is stored exactly once, every
// case is acknowledged exactly once in its citizen's chat, /status
// answers from the citizen's own cases only, every interaction is
// answered within Discord's 3 s, and the bot sent exactly what was due.
//
// Rate limits: the emulator enforces Discord's real limits (5 messages
// per 5 s per channel, 50 requests per second) and serve runs with its
// defaults (5/5s, 45/s). Rather than loosen them, the load is spread as
// on a real server: at most four citizens per guild channel keeps each
// channel's bucket to about ten messages, so the run is bounded by the
// global 45/s (about 450 posts: ~10 s), and Stats().Exceeded must stay 0.
func TestDiscordAcceptLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test; skipped with -short")
	}
	w := newDCWorld(t, dcemu.Options{}, 20, 10)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	s := w.startServeAt(t, dbPath, w.config(dbPath, ""), nil)

	const (
		citizens = 200
		inDM     = 80
	)
	guildChats := append(append([]string{}, w.channels...), w.threads...)
	cs := make([]*dcCitizen, citizens)
	for i := range cs {
		c := &dcCitizen{user: w.emu.AddUser(fmt.Sprintf("Citizen %03d", i), false)}
		if i < inDM {
			ch, err := w.emu.DMChannel(c.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			c.home, c.dm = ch, true
		} else {
			c.home = guildChats[(i-inDM)%len(guildChats)]
		}
		cs[i] = c
	}
	post := func(c *dcCitizen, text string, opts ...dcemu.PostOptions) {
		t.Helper()
		m, err := w.emu.Post(c.home, c.user.ID, text, opts...)
		if err != nil {
			t.Fatal(err)
		}
		c.posted = append(c.posted, m)
	}

	// Phase 1: a report and three follow-ups each, interleaved across
	// citizens as on a busy server (one with a photo attached).
	start := time.Now()
	for round := range 4 {
		for i, c := range cs {
			switch round {
			case 0:
				post(c, fmt.Sprintf(dcReports[i%len(dcReports)], i+1))
			case 1:
				post(c, "It is getting worse every day, please send someone")
			case 2:
				post(c, "Here is a photo of it", dcemu.PostOptions{Attachments: []dcemu.Attachment{{Filename: "photo.jpg", ContentType: "image/jpeg", Size: 52000}}})
			case 3:
				post(c, "Thanks in advance")
			}
		}
	}
	waitCond(t, 90*time.Second, func() string {
		n, _ := dcAcks(w.emu)
		return fmt.Sprintf("200 acknowledgements (have %d)", len(n))
	}, s, func() bool { n, _ := dcAcks(w.emu); return len(n) >= citizens })
	refOwner := map[string]*dcCitizen{}
	for i, c := range cs {
		for _, m := range w.emu.Sent(c.home) {
			if ref := dcAckRef(m.Content); ref != "" && (c.dm || m.ReplyTo == c.posted[0].ID) {
				c.ref = ref
			}
		}
		if c.ref == "" {
			t.Fatalf("citizen %d: no acknowledgement with a reference in their chat", i)
		}
		if refOwner[c.ref] != nil {
			t.Fatalf("reference %s acknowledged to two citizens", c.ref)
		}
		refOwner[c.ref] = c
	}

	// Phase 2: a fifth message each. DM citizens type /status (one in
	// four: /language, which the bot answers with language buttons);
	// guild citizens type /status REF (every other one) or one more
	// follow-up.
	statusAsks := map[string]int{} // ref → /status REF asks by its owner
	var langAsk []*dcCitizen
	want := citizens
	for i, c := range cs {
		switch {
		case c.dm && i%4 == 0:
			post(c, "/language")
			langAsk = append(langAsk, c)
			want++
		case c.dm:
			post(c, "/status")
			want++
		case i%2 == 0:
			post(c, "/status "+c.ref)
			statusAsks[c.ref]++
			want++
		default:
			post(c, "Any news?")
		}
	}
	waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d bot messages (have %d)", want, dcSentTotal(w.emu)) },
		s, func() bool { return dcSentTotal(w.emu) >= want })

	// Phase 3: slash commands and button presses.
	type slash struct {
		c       *dcCitizen
		channel string
		name    string
		opts    map[string]string
		id      string
	}
	var slashes []*slash
	add := func(c *dcCitizen, channel, name string, opts map[string]string) *slash {
		sl := &slash{c: c, channel: channel, name: name, opts: opts}
		slashes = append(slashes, sl)
		return sl
	}
	dmC, guildC := cs[:inDM], cs[inDM:]
	for i := range 20 {
		add(dmC[i], dmC[i].home, "status", map[string]string{"ref": dmC[i].ref})
		statusAsks[dmC[i].ref]++
		add(guildC[i], guildC[i].home, "status", map[string]string{"ref": guildC[i].ref})
		statusAsks[guildC[i].ref]++
	}
	var foreign []*slash // /status with someone else's reference
	for i := range 5 {
		foreign = append(foreign, add(dmC[20+i], dmC[20+i].home, "status", map[string]string{"ref": guildC[50+i].ref}))
		foreign = append(foreign, add(guildC[20+i], guildC[20+i].home, "status", map[string]string{"ref": dmC[50+i].ref}))
	}
	var dmList, guildAsk []*slash
	for i := range 10 {
		dmList = append(dmList, add(dmC[30+i], dmC[30+i].home, "status", nil))
		guildAsk = append(guildAsk, add(guildC[30+i], guildC[30+i].home, "status", nil))
	}
	var langSet, helps, reports []*slash
	for i := range 10 {
		langSet = append(langSet, add(dmC[41+2*i], dmC[41+2*i].home, "language", map[string]string{"language": "fr"}))
		c := guildC[60+i]
		if i%2 == 0 {
			c = dmC[61+2*(i/2)]
		}
		helps = append(helps, add(c, c.home, "help", nil))
		// A DM citizen reports in a guild channel: a new case there.
		reports = append(reports, add(dmC[70+i], w.channels[i], "report",
			map[string]string{"text": fmt.Sprintf("Graffiti on the wall of the library on Main Street, panel %d", i)}))
	}
	want += len(slashes)
	wantCases := citizens + len(reports)
	var interactions []string
	for _, sl := range slashes {
		id, err := w.emu.SlashCommand(sl.channel, sl.c.user.ID, sl.name, sl.opts)
		if err != nil {
			t.Fatalf("/%s: %v", sl.name, err)
		}
		sl.id = id
		interactions = append(interactions, id)
	}
	pressed := map[*dcCitizen]string{}
	for i, c := range langAsk {
		var ask dcemu.Message
		for _, m := range w.emu.Sent(c.home) {
			if len(m.Buttons) > 0 {
				ask = m
			}
		}
		if ask.ID == "" {
			t.Fatalf("citizen %s: /language not answered with buttons", c.user.Name)
		}
		lang := []string{"fr", "en"}[i%2]
		id, err := w.emu.PressButton(c.home, c.user.ID, ask.ID, "lang:"+lang)
		if err != nil {
			t.Fatalf("press lang:%s: %v", lang, err)
		}
		pressed[c] = id
		interactions = append(interactions, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, id := range interactions {
		in, err := w.emu.WaitInteraction(ctx, id, func(in dcemu.Interaction) bool { return in.Acked && (in.Deleted || in.Edited) })
		if err != nil {
			t.Fatalf("interaction %s not answered: %v\n%s", id, err, dcTail(s.logs.String()))
		}
		if in.Late() {
			t.Errorf("interaction %s (%s %s) answered after %v, over Discord's %v", id, in.Kind, in.Command, in.AckAfter, dcemu.ResponseDeadline)
		}
	}
	waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d bot messages (have %d)", want, dcSentTotal(w.emu)) },
		s, func() bool { return dcSentTotal(w.emu) >= want })
	elapsed := time.Since(start)
	time.Sleep(500 * time.Millisecond) // let a wrong extra message show up
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	// Every message stored exactly once, and nothing else stored.
	inbound := dcInbound(t, dbPath)
	posted := 0
	for _, c := range cs {
		for _, m := range c.posted {
			posted++
			if n := inbound[m.ChannelID+"/"+m.ID]; n != 1 {
				t.Errorf("message %s in %s stored %d times", m.ID, m.ChannelID, n)
			}
		}
	}
	for _, sl := range slashes {
		if n := inbound[sl.channel+"/i"+sl.id]; n != 1 {
			t.Errorf("/%s interaction %s stored %d times", sl.name, sl.id, n)
		}
	}
	if posted != 1000 {
		t.Fatalf("posted %d messages, want 1000", posted)
	}
	if len(inbound) != posted+len(slashes) {
		t.Errorf("%d messages stored, want %d (1000 posted + %d slash commands)", len(inbound), posted+len(slashes), len(slashes))
	}

	// Every case acknowledged exactly once, in its citizen's chat.
	cases := dcCases(t, dbPath)
	if len(cases) != wantCases {
		t.Errorf("%d cases, want %d (one per citizen, one per /report elsewhere)", len(cases), wantCases)
	}
	acks, where := dcAcks(w.emu)
	dups := 0
	for _, k := range cases {
		if n := acks[string(k.Ref)]; n != 1 {
			t.Errorf("case %s acknowledged %d times", k.Ref, n)
			if n > 1 {
				dups += n - 1
			}
		}
		if where[string(k.Ref)] != string(k.Chat) {
			t.Errorf("case %s acknowledged in %s, its chat is %s", k.Ref, where[string(k.Ref)], k.Chat)
		}
	}
	if len(acks) != wantCases {
		t.Errorf("%d references acknowledged, want %d", len(acks), wantCases)
	}
	for _, sl := range reports {
		found := false
		for _, m := range w.emu.Sent(sl.channel) {
			if ref := dcAckRef(m.Content); ref != "" && refOwner[ref] == nil {
				found = true
			}
		}
		if !found {
			t.Errorf("/report in %s: no acknowledgement of a new case there", sl.channel)
		}
	}

	// /status: one answer per ask naming the citizen's own case; someone
	// else's reference is "not found"; a list names only own cases.
	statusSeen := map[string]int{}
	for _, ms := range w.emu.SentAll() {
		for _, m := range ms {
			if dcAckRef(m.Content) != "" {
				continue
			}
			for ref := range refOwner {
				if dcIsStatus(m.Content, ref) {
					statusSeen[ref]++
				}
			}
		}
	}
	for ref, n := range statusAsks {
		if statusSeen[ref] != n {
			t.Errorf("/status %s asked %d times by its owner, answered %d times", ref, n, statusSeen[ref])
		}
	}
	for ref, n := range statusSeen {
		if statusAsks[ref] == 0 {
			t.Errorf("case %s shown %d times though its owner never asked", ref, n)
		}
	}
	for _, sl := range foreign {
		other := sl.opts["ref"]
		nf := 0
		for _, m := range w.emu.Sent(sl.channel) {
			if dcIsNotFound(m.Content, other) {
				nf++
			}
		}
		if nf != 1 {
			t.Errorf("/status with someone else's reference %s in %s: %d \"not found\" answers, want 1", other, sl.channel, nf)
		}
	}
	ownList := func(c *dcCitizen, content string) {
		t.Helper()
		if !strings.Contains(content, c.ref) {
			t.Errorf("citizen %s: /status list %q lacks their case %s", c.user.Name, content, c.ref)
		}
		for ref, o := range refOwner {
			if o != c && strings.Contains(content, ref) {
				t.Errorf("citizen %s: /status list shows %s, someone else's case", c.user.Name, ref)
			}
		}
	}
	for _, c := range dmC {
		for _, m := range w.emu.Sent(c.home) {
			if strings.HasPrefix(m.Content, "Your cases:") || strings.HasPrefix(m.Content, "Vos dossiers") {
				ownList(c, m.Content)
			}
		}
	}
	for _, sl := range dmList {
		n := 0
		for _, m := range w.emu.Sent(sl.channel) {
			if strings.HasPrefix(m.Content, "Your cases:") || strings.HasPrefix(m.Content, "Vos dossiers") {
				n++
			}
		}
		want := 1 // this one, and the /status typed in phase 2 unless /language was typed
		if !slices.Contains(langAsk, sl.c) {
			want++
		}
		if n != want {
			t.Errorf("citizen %s: %d case lists, want %d", sl.c.user.Name, n, want)
		}
	}
	for _, sl := range guildAsk {
		n := 0
		for _, m := range w.emu.Sent(sl.channel) {
			if strings.Contains(m.Content, "To protect your privacy") || strings.Contains(m.Content, "protéger votre vie privée") {
				n++
			}
			if strings.Contains(m.Content, sl.c.ref) && dcAckRef(m.Content) == "" && !dcIsStatus(m.Content, sl.c.ref) {
				t.Errorf("/status without a reference in a channel named the case: %q", m.Content)
			}
		}
		if n < 1 {
			t.Errorf("/status without a reference in channel %s: no request for the reference", sl.channel)
		}
	}
	for _, sl := range langSet {
		if n := countSent(w.emu, sl.channel, "Langue choisie : Français."); n != 1 {
			t.Errorf("/language fr by %s: %d confirmations in French, want 1", sl.c.user.Name, n)
		}
	}
	for _, sl := range helps {
		if countSent(w.emu, sl.channel, "Write your report in plain words")+countSent(w.emu, sl.channel, "Écrivez votre signalement") < 1 {
			t.Errorf("/help in %s: no help text", sl.channel)
		}
	}
	for i, c := range langAsk {
		in, _ := w.emu.Interaction(pressed[c])
		wantText := []string{"Langue choisie : Français.", "Language set: English."}[i%2]
		if in.Content != wantText {
			t.Errorf("language button of %s answered %q, want %q", c.user.Name, in.Content, wantText)
		}
	}

	sent := dcSentTotal(w.emu)
	if sent != want {
		t.Errorf("bot sent %d messages, want %d (an acknowledgement per case, an answer per command)", sent, want)
	}
	st := w.emu.Stats()
	if st.Exceeded != 0 {
		t.Errorf("Discord's rate limits exceeded %d times", st.Exceeded)
	}
	logs := s.logs.String()
	if strings.Contains(logs, dcToken) || strings.Contains(logs, "Citizen 0") || strings.Contains(logs, cs[0].user.ID) {
		t.Error("logs reveal the bot token or a citizen's identity")
	}
	t.Logf("1000 messages + %d slash commands + %d button presses from %d citizens: %d cases, %d bot messages in %v (%.1f msg/s in, %.1f bot msg/s out); duplicates %d; rate limits exceeded %d; REST requests %d",
		len(slashes), len(pressed), citizens, len(cases), sent, elapsed.Round(time.Millisecond),
		float64(posted+len(slashes))/elapsed.Seconds(), float64(sent)/elapsed.Seconds(), dups, st.Exceeded, st.Requests)
}

// countSent counts the bot's messages in channel containing text.
func countSent(emu *dcemu.Server, channel, text string) int {
	n := 0
	for _, m := range emu.Sent(channel) {
		if strings.Contains(m.Content, text) {
			n++
		}
	}
	return n
}

// dcTraffic is what a test posted, for the checks after shutdown.
type dcTraffic struct {
	mu     sync.Mutex
	posted []dcemu.Message
}

func (tr *dcTraffic) post(t *testing.T, emu *dcemu.Server, ch, user, text string) dcemu.Message {
	t.Helper()
	m, err := emu.Post(ch, user, text)
	if err != nil {
		t.Error(err)
		return m
	}
	tr.mu.Lock()
	tr.posted = append(tr.posted, m)
	tr.mu.Unlock()
	return m
}

// checkStoredOnce checks that every posted message is stored exactly once
// and that nothing else is: extra counts the other inbound rows expected
// (slash commands).
func (tr *dcTraffic) checkStoredOnce(t *testing.T, dbPath string, extra int) {
	t.Helper()
	inbound := dcInbound(t, dbPath)
	missing := 0
	for _, m := range tr.posted {
		switch n := inbound[m.ChannelID+"/"+m.ID]; {
		case n == 0:
			missing++
		case n > 1:
			t.Errorf("message %s stored %d times", m.ID, n)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d posted messages not stored", missing, len(tr.posted))
	}
	if len(inbound) != len(tr.posted)+extra {
		t.Errorf("%d messages stored, want %d", len(inbound), len(tr.posted)+extra)
	}
}

// checkAckedOnce checks that every case in the database is acknowledged
// exactly once, in its chat, and that the bot sent nothing but
// acknowledgements. It returns the number of cases and of duplicates.
func checkAckedOnce(t *testing.T, emu *dcemu.Server, dbPath string) (cases, dups int) {
	t.Helper()
	all := dcCases(t, dbPath)
	acks, where := dcAcks(emu)
	for _, k := range all {
		n := acks[string(k.Ref)]
		if n != 1 {
			t.Errorf("case %s acknowledged %d times", k.Ref, n)
		}
		if n > 1 {
			dups += n - 1
		}
		if where[string(k.Ref)] != string(k.Chat) {
			t.Errorf("case %s acknowledged in %s, its chat is %s", k.Ref, where[string(k.Ref)], k.Chat)
		}
	}
	if len(acks) != len(all) {
		t.Errorf("%d references acknowledged for %d cases", len(acks), len(all))
	}
	if sent := dcSentTotal(emu); sent != len(all) {
		t.Errorf("bot sent %d messages for %d cases", sent, len(all))
	}
	return len(all), dups
}

// TestDiscordAcceptRestart: messages posted in listened channels, threads
// and known DMs while citybot is stopped are all processed once after it
// starts again on the same database; a dropped gateway connection
// mid-traffic resumes without loss.
func TestDiscordAcceptRestart(t *testing.T) {
	t.Run("stopped", testDiscordRestartStopped)
	t.Run("gateway-drop", testDiscordGatewayDrop)
	t.Run("sigkill", testDiscordSIGKILL)
}

func testDiscordRestartStopped(t *testing.T) {
	w := newDCWorld(t, dcemu.Options{}, 3, 2)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	cfg := w.config(dbPath, "")
	var tr dcTraffic
	chats := append(append([]string{}, w.channels...), w.threads...)
	var users []dcemu.User
	var dms []string
	for i := range 10 {
		users = append(users, w.emu.AddUser(fmt.Sprintf("Early %d", i), false))
	}
	for i := range 3 {
		dm, err := w.emu.DMChannel(users[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		dms = append(dms, dm)
	}

	s := w.startServeAt(t, dbPath, cfg, nil)
	for i, u := range users {
		ch := chats[i%len(chats)]
		if i < len(dms) {
			ch = dms[i]
		}
		tr.post(t, w.emu, ch, u.ID, fmt.Sprintf(dcReports[i%len(dcReports)], i+1))
	}
	waitCond(t, 30*time.Second, func() string { return "10 acknowledgements" }, s, func() bool { return dcSentTotal(w.emu) >= len(users) })
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}

	// While stopped: follow-ups from known citizens (DMs included) and
	// reports from new ones, more than one history page (50) in the
	// first channel.
	before := len(tr.posted)
	var offliners []dcemu.User
	for i := range 60 {
		// Six new citizens, ten messages each: one case each.
		if i < 6 {
			offliners = append(offliners, w.emu.AddUser(fmt.Sprintf("Offline %d", i), false))
		}
		tr.post(t, w.emu, w.channels[0], offliners[i%6].ID, fmt.Sprintf("The fountain in square %d is leaking water everywhere (%d)", i%6, i))
	}
	for i, u := range users {
		ch := chats[i%len(chats)]
		if i < len(dms) {
			ch = dms[i]
		}
		tr.post(t, w.emu, ch, u.ID, "Still not fixed, it is getting worse")
	}
	for i := range 10 {
		u := w.emu.AddUser(fmt.Sprintf("Offline thread %d", i), false)
		tr.post(t, w.emu, w.threads[i%len(w.threads)], u.ID, fmt.Sprintf("Broken bench number %d in the park", i))
	}
	offline := len(tr.posted) - before

	start := time.Now()
	exceeded := dcExceededAfterWindow(t, w.emu)
	s = w.startServeAt(t, dbPath, cfg, nil)
	live := w.emu.AddUser("Live", false)
	tr.post(t, w.emu, w.channels[1], live.ID, "A car is parked on the bike lane of Bridge Street every morning")
	wantCases := len(users) + 6 + 10 + 1
	waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d acknowledgements (have %d)", wantCases, dcSentTotal(w.emu)) },
		s, func() bool { return dcSentTotal(w.emu) >= wantCases })
	caught := time.Since(start)
	time.Sleep(300 * time.Millisecond)
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	tr.checkStoredOnce(t, dbPath, 0)
	cases, dups := checkAckedOnce(t, w.emu, dbPath)
	if cases != wantCases {
		t.Errorf("%d cases, want %d", cases, wantCases)
	}
	exceeded()
	t.Logf("%d messages posted while stopped caught up and acknowledged in %v; duplicates %d", offline, caught.Round(time.Millisecond), dups)
}

func testDiscordGatewayDrop(t *testing.T) {
	w := newDCWorld(t, dcemu.Options{}, 6, 2)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	s := w.startServeAt(t, dbPath, w.config(dbPath, ""), nil)
	chats := append(append([]string{}, w.channels...), w.threads...)
	var tr dcTraffic
	const citizens = 48
	users := make([]dcemu.User, citizens)
	for i := range users {
		users[i] = w.emu.AddUser(fmt.Sprintf("Drop %d", i), false)
	}
	// Three messages each, paced, while the connection is cut twice;
	// what is posted while it is down reaches citybot when the session
	// resumes.
	var posted sync.WaitGroup
	var count atomicCount
	posted.Add(1)
	go func() {
		defer posted.Done()
		for round := range 3 {
			for i, u := range users {
				text := fmt.Sprintf(dcReports[i%len(dcReports)], i+1)
				if round > 0 {
					text = fmt.Sprintf("Follow-up %d: still there", round)
				}
				tr.post(t, w.emu, chats[i%len(chats)], u.ID, text)
				count.add()
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	for k, at := range []int{30, 90} {
		waitCond(t, 30*time.Second, func() string { return fmt.Sprintf("%d messages posted", at) }, s, func() bool { return count.get() >= at })
		w.emu.DropGateway()
		waitCond(t, 30*time.Second, func() string { return fmt.Sprintf("resume %d", k+1) }, s, func() bool { return w.emu.Stats().Resumes >= k+1 })
	}
	posted.Wait()
	waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d acknowledgements (have %d)", citizens, dcSentTotal(w.emu)) },
		s, func() bool { return dcSentTotal(w.emu) >= citizens })
	// A message after the drops still arrives live.
	late := w.emu.AddUser("After drop", false)
	tr.post(t, w.emu, w.channels[0], late.ID, "The traffic light at Pine and 3rd is stuck on red")
	waitCond(t, 30*time.Second, func() string { return "the acknowledgement after the drops" }, s, func() bool { return dcSentTotal(w.emu) >= citizens+1 })
	time.Sleep(300 * time.Millisecond)
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	st := w.emu.Stats()
	// Each drop must be followed by a RESUME. Under heavy CPU load
	// discordgo sometimes also re-identifies (a slow handshake); the
	// READY resync then reads the history, so loss and duplicates are
	// what decides, and the identify count is only logged.
	if st.Resumes < 2 {
		t.Errorf("two drops: %d resumes, want at least 2 (the session resumed after each drop)", st.Resumes)
	}
	if st.Exceeded != 0 {
		t.Errorf("rate limits exceeded %d times", st.Exceeded)
	}
	tr.checkStoredOnce(t, dbPath, 0)
	cases, dups := checkAckedOnce(t, w.emu, dbPath)
	if cases != citizens+1 {
		t.Errorf("%d cases, want %d", cases, citizens+1)
	}
	t.Logf("2 gateway drops during %d messages: %d resumes, %d identifies, %d cases, duplicates %d", len(tr.posted), st.Resumes, st.Identifies, cases, dups)
}

// atomicCount is a counter shared between a poster and the test.
type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCount) add() { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// testDiscordSIGKILL kills citybot's process with SIGKILL in the middle
// of a burst, posts more while it is dead, and starts it again on the
// same database.
func testDiscordSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test; skipped with -short")
	}
	w := newDCWorld(t, dcemu.Options{}, 4, 2)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "crash.db")
	cfg := writeConfig(t, w.config(dbPath, ""))
	ready := filepath.Join(dir, "ready.json")
	env := envDiscordToken + "=" + dcToken
	chats := append(append([]string{}, w.channels...), w.threads...)
	var tr dcTraffic

	first := startCitybot(t, cfg, ready, env)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := w.emu.WaitCommands(ctx, 4); err != nil {
		t.Fatal(err)
	}
	// A DM posted before the gateway session is ready never reaches
	// citybot (DM channels cannot be listed): wait for it.
	dcWaitReady(t, first.stderr, 1)
	// Twenty citizens write in DMs first, and are acknowledged: their DM
	// channels are known. (A DM channel whose first message was still on
	// the wire at the kill cannot be found again: Discord does not list
	// a bot's DM channels, and a new process cannot resume the dead
	// one's gateway session.)
	const inDM = 20
	var dmUsers []dcemu.User
	var dms []string
	for i := range inDM {
		u := w.emu.AddUser(fmt.Sprintf("Crash DM %d", i), false)
		dm, err := w.emu.DMChannel(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		dmUsers, dms = append(dmUsers, u), append(dms, dm)
		tr.post(t, w.emu, dm, u.ID, fmt.Sprintf(dcReports[i%len(dcReports)], i+1))
	}
	waitCond(t, 30*time.Second, func() string { return "the DM acknowledgements" }, nil, func() bool { return dcSentTotal(w.emu) >= inDM })
	// Then a burst: 40 reports in channels and threads, 20 follow-ups in
	// the DMs.
	const citizens = 60
	for i := inDM; i < citizens; i++ {
		u := w.emu.AddUser(fmt.Sprintf("Crash %d", i), false)
		tr.post(t, w.emu, chats[i%len(chats)], u.ID, fmt.Sprintf(dcReports[i%len(dcReports)], i+1))
		if i-inDM < inDM {
			tr.post(t, w.emu, dms[i-inDM], dmUsers[i-inDM].ID, "Any news? It is still there")
		}
	}
	// Kill it once some, but not all, acknowledgements went out (the
	// channel buckets of 5 per 5 s make the guild ones take seconds).
	waitCond(t, 60*time.Second, func() string { return "10 acknowledgements before the kill" }, nil, func() bool { return dcSentTotal(w.emu) >= inDM+10 })
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait()
	atKill := dcSentTotal(w.emu)
	if atKill >= citizens {
		t.Fatalf("every acknowledgement went out before the kill; the test proved nothing")
	}
	for i := range 20 {
		u := w.emu.AddUser(fmt.Sprintf("While dead %d", i), false)
		tr.post(t, w.emu, chats[i%len(chats)], u.ID, fmt.Sprintf("Overflowing bin number %d on Harbour Street", i))
		if i%2 == 0 {
			tr.post(t, w.emu, dms[i], dmUsers[i].ID, "Posted while citybot was down")
		}
	}

	if n := w.emu.Stats().Exceeded; n != 0 {
		t.Errorf("rate limits exceeded %d times before the kill", n)
	}
	exceeded := dcExceededAfterWindow(t, w.emu)
	second := startCitybot(t, cfg, ready, env)
	want := citizens + 20
	waitCond(t, 60*time.Second, func() string {
		acked := map[string]bool{}
		for ch, ms := range w.emu.SentAll() {
			if len(ms) > 0 {
				acked[ch] = true
			}
		}
		var miss []string
		for _, m := range tr.posted {
			if !acked[m.ChannelID] {
				miss = append(miss, m.ChannelID)
			}
		}
		return fmt.Sprintf("%d acknowledgements (have %d); chats never answered: %v; restarted process:\n%s", want, dcSentTotal(w.emu), miss, dcTail(second.stderr.String()))
	},
		nil, func() bool { n, _ := dcAcks(w.emu); return len(n) >= want })
	// Let the restarted process record its last sends, then stop it.
	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	waitCond(t, 30*time.Second, func() string { return "every case acknowledged in the database" }, nil, func() bool {
		waiting, err := db.Inbox(ctx, citybot.CaseFilter{Statuses: []citybot.CaseStatus{citybot.StatusNew}})
		return err == nil && len(waiting) == 0
	})
	db.Close()
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, dcTail(second.stderr.String()))
	}
	tr.checkStoredOnce(t, dbPath, 0)
	cases, dups := checkAckedOnce(t, w.emu, dbPath)
	if cases != want {
		t.Errorf("%d cases, want %d", cases, want)
	}
	exceeded()
	st := w.emu.Stats()
	t.Logf("killed after %d of %d acknowledgements; after restart: %d cases, duplicates %d (nonce hits %d, restart warned of possible duplicates: %v)",
		atKill, citizens, cases, dups, st.NonceHits, strings.Contains(second.stderr.String(), "possible duplicate"))
}

// dcExceededAfterWindow is called just before citybot starts again. The
// new process cannot know what the previous one sent in the last
// seconds, so in Discord's first window (5 s per channel, 1 s global) its
// first sends may meet a 429, which it honours; after that window, it
// must never exceed a limit. The returned check waits until the window
// has passed, and fails the test if a limit was exceeded after it; it
// logs the 429s met within the window.
func dcExceededAfterWindow(t *testing.T, emu *dcemu.Server) func() {
	t.Helper()
	const window = 5*time.Second + 500*time.Millisecond
	before := emu.Stats().Exceeded
	atWindow := make(chan int, 1)
	time.AfterFunc(window, func() { atWindow <- emu.Stats().Exceeded })
	return func() {
		t.Helper()
		n := <-atWindow
		if end := emu.Stats().Exceeded; end != n {
			t.Errorf("rate limits exceeded %d times after the first %v of the restart", end-n, window)
		}
		t.Logf("429s met in the first %v after the restart (earlier process's buckets): %d", window, n-before)
	}
}

// dcWaitReady waits until serve's logs say the Discord gateway session is
// ready (the client processed READY), n times in all.
func dcWaitReady(t *testing.T, logs *syncBuffer, n int) {
	t.Helper()
	waitCond(t, 30*time.Second, func() string { return "the Discord gateway ready\n" + dcTail(logs.String()) }, nil, func() bool {
		return strings.Count(logs.String(), `"msg":"gateway ready"`) >= n
	})
}

// TestDiscordAcceptFaults runs serve against a Discord emulator that
// answers a share of its channel-message calls (sends and history reads)
// with 429 (retry_after) and 500/502: every case is still acknowledged
// exactly once, every message stored once, and the bot stays within
// Discord's rate limits (the injected 429s are counted apart).
func TestDiscordAcceptFaults(t *testing.T) {
	w := newDCWorld(t, dcemu.Options{}, 4, 2)
	w.emu.SetFaults(dcemu.Faults{RateLimit: 0.15, ServerError: 0.10, RetryAfter: 200 * time.Millisecond, Seed: 7})
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	s := w.startServeAt(t, dbPath, w.config(dbPath, ""), nil)
	chats := append(append([]string{}, w.channels...), w.threads...)
	var tr dcTraffic
	const citizens = 48
	start := time.Now()
	for i := range citizens {
		u := w.emu.AddUser(fmt.Sprintf("Fault %d", i), false)
		ch := chats[i%len(chats)]
		if i%2 == 0 {
			dm, err := w.emu.DMChannel(u.ID)
			if err != nil {
				t.Fatal(err)
			}
			ch = dm
		}
		tr.post(t, w.emu, ch, u.ID, fmt.Sprintf(dcReports[i%len(dcReports)], i+1))
		tr.post(t, w.emu, ch, u.ID, "It has been like this for days")
	}
	waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d acknowledgements (have %d)", citizens, dcSentTotal(w.emu)) },
		s, func() bool { return dcSentTotal(w.emu) >= citizens })
	elapsed := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	tr.checkStoredOnce(t, dbPath, 0)
	cases, dups := checkAckedOnce(t, w.emu, dbPath)
	if cases != citizens {
		t.Errorf("%d cases, want %d", cases, citizens)
	}
	st := w.emu.Stats()
	if st.Injected429 == 0 || st.Injected5xx == 0 {
		t.Errorf("faults injected: %d 429s, %d 5xx; the test proved nothing", st.Injected429, st.Injected5xx)
	}
	if st.Exceeded != 0 {
		t.Errorf("rate limits exceeded %d times", st.Exceeded)
	}
	t.Logf("%d acknowledgements in %v through %d injected 429s and %d 5xx; duplicates %d; nonce hits %d; rate limits exceeded %d",
		cases, elapsed.Round(time.Millisecond), st.Injected429, st.Injected5xx, dups, st.NonceHits, st.Exceeded)
}

// TestDiscordAcceptBadInput interleaves hostile input with good reports:
// an empty message, a 10 MB one, invalid UTF-8, HTML, gateway events of
// unknown or malformed shape, a message without an author. Serve never
// crashes, skips what cannot be used (saying so in its log), stores the
// rest, and every good report is stored and acknowledged once. Then the
// city resets the bot token: serve stops with a clear error naming the
// variable, never the token.
func TestDiscordAcceptBadInput(t *testing.T) {
	w := newDCWorld(t, dcemu.Options{}, 2, 1)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	s := w.startServeAt(t, dbPath, w.config(dbPath, ""), nil)
	chats := append(append([]string{}, w.channels...), w.threads...)
	var tr dcTraffic
	var good []dcemu.Message
	huge := strings.Repeat("The pothole on Main Street is enormous. ", 10<<20/40)
	mallory := w.emu.AddUser("Mallory <b>", false)
	malDM, err := w.emu.DMChannel(mallory.ID)
	if err != nil {
		t.Fatal(err)
	}
	bad := []func(){
		func() { tr.post(t, w.emu, malDM, mallory.ID, "") },
		func() { tr.post(t, w.emu, chats[0], mallory.ID, "   ") },
		func() { tr.post(t, w.emu, chats[1], mallory.ID, huge) },
		func() {
			tr.post(t, w.emu, chats[2], mallory.ID, "bad bytes \xff\xfe\xc0 pothole \xed\xa0\x80 on Main Street")
		},
		func() {
			tr.post(t, w.emu, malDM, mallory.ID, `<script>alert(1)</script><img src=x onerror=alert(2)> broken light`)
		},
		func() {
			if err := w.emu.Dispatch("CITYBOT_UNKNOWN_EVENT", map[string]any{"x": 1}); err != nil {
				t.Error(err)
			}
		},
		func() {
			if err := w.emu.Dispatch("MESSAGE_CREATE", "not an object"); err != nil {
				t.Error(err)
			}
		},
		func() {
			// No author.
			if err := w.emu.Dispatch("MESSAGE_CREATE", map[string]any{"id": "123", "channel_id": chats[0], "content": "ghost", "type": 0}); err != nil {
				t.Error(err)
			}
		},
		func() {
			if err := w.emu.Dispatch("INTERACTION_CREATE", map[string]any{"id": "456", "type": 99, "token": "x", "channel_id": chats[0]}); err != nil {
				t.Error(err)
			}
		},
		func() {
			if err := w.emu.Dispatch("MESSAGE_UPDATE", map[string]any{"id": "789", "channel_id": chats[0]}); err != nil {
				t.Error(err)
			}
		},
	}
	for i, b := range bad {
		b()
		for j := range 3 {
			u := w.emu.AddUser(fmt.Sprintf("Good %d-%d", i, j), false)
			ch := chats[(i+j)%len(chats)]
			if j == 2 {
				if ch, err = w.emu.DMChannel(u.ID); err != nil {
					t.Fatal(err)
				}
			}
			good = append(good, tr.post(t, w.emu, ch, u.ID, fmt.Sprintf(dcReports[(i+j)%len(dcReports)], 10*i+j)))
		}
	}
	// Mallory's HTML, bytes and 10 MB open cases of their own (in three
	// chats); the empty and blank messages open none.
	wantCases := len(good) + 3
	waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d acknowledgements (have %d)", wantCases, dcSentTotal(w.emu)) },
		s, func() bool { n, _ := dcAcks(w.emu); return len(n) >= wantCases })
	time.Sleep(500 * time.Millisecond)
	for _, g := range good {
		n := 0
		for _, m := range w.emu.Sent(g.ChannelID) {
			if dcAckRef(m.Content) != "" && (m.ReplyTo == g.ID || m.ChannelID == g.ChannelID && m.ReplyTo == "") {
				n++
			}
		}
		if n < 1 {
			t.Errorf("good report %s in %s not acknowledged", g.ID, g.ChannelID)
		}
	}
	// The empty DM gets a request for words, nothing else.
	if n := countSent(w.emu, malDM, "Please describe the problem"); n != 1 {
		t.Errorf("empty DM: %d requests for words, want 1", n)
	}

	select {
	case err := <-s.done:
		t.Fatalf("serve stopped during bad input: %v\n%s", err, dcTail(s.logs.String()))
	default:
	}
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}
	logs := s.logs.String()
	if strings.Contains(logs, dcToken) {
		t.Error("the token shows in the logs")
	}
	if strings.Contains(logs, "Mallory") || strings.Contains(logs, "<script>") {
		t.Error("logs reveal a citizen's name or text")
	}
	if !strings.Contains(logs, "CITYBOT_UNKNOWN_EVENT") {
		t.Error("the unknown gateway event was not logged as skipped")
	}

	tr.checkStoredOnce(t, dbPath, 0)
	cases := dcCases(t, dbPath)
	acks, _ := dcAcks(w.emu)
	for _, k := range cases {
		if n := acks[string(k.Ref)]; n != 1 {
			t.Errorf("case %s acknowledged %d times", k.Ref, n)
		}
	}
	if len(cases) != wantCases {
		t.Errorf("%d cases, want %d", len(cases), wantCases)
	}
	// An acknowledgement per case, and the request for words.
	if sent := dcSentTotal(w.emu); sent != wantCases+1 {
		t.Errorf("bot sent %d messages, want %d", sent, wantCases+1)
	}
	db, err := store.Open(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, m := range tr.posted {
		text, truncated, _, err := db.MessageText(context.Background(), citybot.Discord, citybot.ChatID(m.ChannelID), citybot.PlatformMessageID(m.ID))
		if err != nil {
			t.Errorf("message %s: %v", m.ID, err)
			continue
		}
		if !utf8.ValidString(text) {
			t.Errorf("message %s stored as invalid UTF-8", m.ID)
		}
		if len(m.Content) > 1<<20 && (!truncated || len(text) > 1<<20) {
			t.Errorf("10 MB message stored with %d bytes, truncated %v", len(text), truncated)
		}
	}
}

// TestDiscordAcceptBothPlatforms drives Telegram (tgemu) and Discord
// (dcemu) citizens at the same time through one serve: each citizen is
// acknowledged once, on their own platform and chat; /status on each
// platform lists only that citizen's cases, and a reference from the
// other platform is "not found".
func TestDiscordAcceptBothPlatforms(t *testing.T) {
	tg := tgemu.New(tgemu.Options{})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	w := newDCWorld(t, dcemu.Options{}, 3, 1)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	cfg := strings.Replace(w.config(dbPath, ""), "[telegram]\nenabled = false\n",
		fmt.Sprintf("[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n", tg.Endpoint()), 1)
	s := w.startServeAt(t, dbPath, cfg, map[string]string{envDiscordToken: dcToken, envTelegramToken: tg.Token()})

	const n = 30
	tgUsers := make([]tgemu.User, n)
	dcUsers := make([]dcemu.User, n)
	dcChats := make([]string, n)
	guild := append(append([]string{}, w.channels...), w.threads...)
	for i := range n {
		tgUsers[i] = tgemu.User{ID: int64(880000 + i), FirstName: fmt.Sprintf("TG %d", i), LanguageCode: []string{"en", "fr"}[i%2]}
		dcUsers[i] = w.emu.AddUser(fmt.Sprintf("DC %d", i), false)
		if i%2 == 0 {
			dm, err := w.emu.DMChannel(dcUsers[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			dcChats[i] = dm
		} else {
			dcChats[i] = guild[i%len(guild)]
		}
	}
	var tr dcTraffic
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // Telegram citizens
		defer wg.Done()
		for i, u := range tgUsers {
			for _, text := range []string{fmt.Sprintf(dcReports[i%len(dcReports)], i+1), "Please hurry"} {
				if _, err := tg.Post(tgemu.Incoming{From: u, Text: text}); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	go func() { // Discord citizens, at the same time
		defer wg.Done()
		for i, u := range dcUsers {
			tr.post(t, w.emu, dcChats[i], u.ID, fmt.Sprintf(dcReports[(i+2)%len(dcReports)], i+1))
			tr.post(t, w.emu, dcChats[i], u.ID, "Please hurry")
		}
	}()
	wg.Wait()
	waitCond(t, 60*time.Second, func() string {
		return fmt.Sprintf("%d acknowledgements on each platform (telegram %d, discord %d)", n, len(tg.AllSent()), dcSentTotal(w.emu))
	}, s, func() bool { return len(tg.AllSent()) >= n && dcSentTotal(w.emu) >= n })

	// Each citizen's reference, from their own acknowledgement.
	tgRef := make([]string, n)
	for i, u := range tgUsers {
		for _, m := range tg.Sent(u.ID) {
			if ref := dcAckRef(m.Text); ref != "" {
				if tgRef[i] != "" {
					t.Errorf("telegram citizen %d acknowledged twice", i)
				}
				tgRef[i] = ref
			}
		}
		if tgRef[i] == "" {
			t.Fatalf("telegram citizen %d: no acknowledgement in their chat", i)
		}
	}
	dcRef := make([]string, n)
	for i := range dcUsers {
		for _, m := range w.emu.Sent(dcChats[i]) {
			if ref := dcAckRef(m.Content); ref != "" && (i%2 == 0 || m.ReplyTo == tr.first(dcChats[i], dcUsers[i].ID)) {
				dcRef[i] = ref
			}
		}
		if dcRef[i] == "" {
			t.Fatalf("discord citizen %d: no acknowledgement in their chat", i)
		}
	}

	// /status on each platform: Telegram citizens in private; Discord
	// citizens in DMs (typed) and in channels (slash command, with a
	// Telegram citizen's reference: not theirs).
	for i, u := range tgUsers {
		text := "/status"
		if i%3 == 0 {
			text = "/status " + dcRef[i] // a Discord citizen's case
		}
		if _, err := tg.Post(tgemu.Incoming{From: u, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	var inters []string
	for i, u := range dcUsers {
		if i%2 == 0 {
			tr.post(t, w.emu, dcChats[i], u.ID, "/status")
			continue
		}
		id, err := w.emu.SlashCommand(dcChats[i], u.ID, "status", map[string]string{"ref": tgRef[i]})
		if err != nil {
			t.Fatal(err)
		}
		inters = append(inters, id)
	}
	waitCond(t, 60*time.Second, func() string {
		return fmt.Sprintf("/status answers (telegram %d, discord %d)", len(tg.AllSent()), dcSentTotal(w.emu))
	}, s, func() bool { return len(tg.AllSent()) >= 2*n && dcSentTotal(w.emu) >= 2*n })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range inters {
		in, err := w.emu.WaitInteraction(ctx, id, func(in dcemu.Interaction) bool { return in.Acked && (in.Deleted || in.Edited) })
		if err != nil || in.Late() {
			t.Errorf("interaction %s: %+v, %v", id, in, err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	allRefs := append(append([]string{}, tgRef...), dcRef...)
	noOthers := func(platform string, i int, own, content string) {
		t.Helper()
		for _, r := range allRefs {
			if r != own && strings.Contains(content, r) && !dcIsNotFound(content, r) {
				t.Errorf("%s citizen %d: /status answer shows %s, someone else's case: %q", platform, i, r, content)
			}
		}
	}
	for i, u := range tgUsers {
		sent := tg.Sent(u.ID)
		if len(sent) != 2 {
			t.Errorf("telegram citizen %d got %d messages, want an acknowledgement and a /status answer", i, len(sent))
			continue
		}
		answer := sent[1].Text
		if i%3 == 0 {
			if !dcIsNotFound(answer, dcRef[i]) {
				t.Errorf("telegram citizen %d asking for Discord case %s: %q, want not found", i, dcRef[i], answer)
			}
		} else if !strings.Contains(answer, tgRef[i]) {
			t.Errorf("telegram citizen %d: /status %q lacks their case %s", i, answer, tgRef[i])
		}
		noOthers("telegram", i, tgRef[i], answer)
	}
	for i := range dcUsers {
		var answers []string
		for _, m := range w.emu.Sent(dcChats[i]) {
			if dcAckRef(m.Content) == "" && (i%2 == 0 || strings.Contains(m.Content, tgRef[i])) {
				answers = append(answers, m.Content)
			}
		}
		if len(answers) != 1 {
			t.Errorf("discord citizen %d: %d /status answers, want 1: %q", i, len(answers), answers)
			continue
		}
		if i%2 == 1 {
			if !dcIsNotFound(answers[0], tgRef[i]) {
				t.Errorf("discord citizen %d asking for Telegram case %s: %q, want not found", i, tgRef[i], answers[0])
			}
		} else if !strings.Contains(answers[0], dcRef[i]) {
			t.Errorf("discord citizen %d: /status %q lacks their case %s", i, answers[0], dcRef[i])
		}
		noOthers("discord", i, dcRef[i], answers[0])
	}
	if got := len(tg.AllSent()); got != 2*n {
		t.Errorf("telegram: bot sent %d messages, want %d", got, 2*n)
	}
	if got := dcSentTotal(w.emu); got != 2*n {
		t.Errorf("discord: bot sent %d messages, want %d", got, 2*n)
	}
	cases := dcCases(t, dbPath)
	byPlatform := map[citybot.Platform]int{}
	for _, k := range cases {
		byPlatform[k.Platform]++
	}
	if byPlatform[citybot.Telegram] != n || byPlatform[citybot.Discord] != n || len(cases) != 2*n {
		t.Errorf("cases per platform %v, want %d each", byPlatform, n)
	}
	tr.checkStoredOnce(t, dbPath, len(inters))
	if err := tg.CheckRates(tgemu.DefaultLimits()); err != nil {
		t.Errorf("over Telegram's limits: %v", err)
	}
	if st := w.emu.Stats(); st.Exceeded != 0 {
		t.Errorf("over Discord's limits %d times", st.Exceeded)
	}
}

// first returns the id of user's first posted message in channel.
func (tr *dcTraffic) first(channel, user string) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, m := range tr.posted {
		if m.ChannelID == channel && m.AuthorID == user {
			return m.ID
		}
	}
	return ""
}

// TestDiscordAcceptTokenRevoked: the city resets the bot token while
// citybot serves. Serve stops with a clear error naming the variable that
// holds the token, never the token itself; what was stored stays.
func TestDiscordAcceptTokenRevoked(t *testing.T) {
	w := newDCWorld(t, dcemu.Options{}, 1, 0)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	s := w.startServeAt(t, dbPath, w.config(dbPath, ""), nil)
	var tr dcTraffic
	u := w.emu.AddUser("Before reset", false)
	tr.post(t, w.emu, w.channels[0], u.ID, "The playground gate on Oak Avenue is broken")
	waitCond(t, 30*time.Second, func() string { return "the acknowledgement" }, s, func() bool { return dcSentTotal(w.emu) >= 1 })

	w.emu.SetToken("a-new-token-serve-does-not-have")
	w.emu.DropGateway()
	var runErr error
	select {
	case runErr = <-s.done:
		s.done <- runErr
	case <-time.After(30 * time.Second):
		t.Fatalf("serve still running 30s after its token was revoked\n%s", dcTail(s.logs.String()))
	}
	if runErr == nil || !errors.Is(runErr, citybot.ErrForbidden) || !strings.Contains(runErr.Error(), envDiscordToken) {
		t.Errorf("serve with a revoked token returned %v; want a forbidden error naming %s", runErr, envDiscordToken)
	}
	if exitCode(runErr) != exitRuntime {
		t.Errorf("exit code %d, want %d", exitCode(runErr), exitRuntime)
	}
	if strings.Contains(s.logs.String(), dcToken) || strings.Contains(fmt.Sprint(runErr), dcToken) {
		t.Error("the token shows in the logs or the error")
	}
	tr.checkStoredOnce(t, dbPath, 0)
}
