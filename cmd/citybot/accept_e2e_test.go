package main

// Acceptance tests of issue 3 (see also accept_crash_test.go,
// accept_fault_test.go, accept_badinput_test.go, accept_bench_test.go).
// Everything runs against the real tgbotapi client talking to the tgemu
// emulator on 127.0.0.1, with real SQLite files in t.TempDir(). The
// database is read after the fact through database/sql with the SQLite
// driver that the store package registers (this package imports no driver
// itself).

import (
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"citybot/bots/telegram/tgemu"
)

// acceptStartEmulator starts a Telegram emulator on 127.0.0.1 for the
// test and closes it at the end.
func acceptStartEmulator(t testing.TB, opts tgemu.Options) *tgemu.Server {
	t.Helper()
	emu := tgemu.New(opts)
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}

// acceptOpenDB opens a citybot database file read-only with plain SQL, to
// count rows the store's API does not count.
func acceptOpenDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// acceptCount runs a COUNT query.
func acceptCount(t testing.TB, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// acceptStoredIn counts the stored inbound rows of one Telegram message.
func acceptStoredIn(t testing.TB, db *sql.DB, chat int64, id int) int {
	t.Helper()
	return acceptCount(t, db, `SELECT COUNT(*) FROM messages m JOIN chats c ON c.id = m.chat_id
		WHERE c.platform = 'telegram' AND c.platform_chat_id = ? AND m.platform_message_id = ? AND m.direction = 'in'`,
		strconv.FormatInt(chat, 10), strconv.Itoa(id))
}

// acceptEventually polls cond every 25 ms until it holds or timeout
// passes; then it fails the test with what cond last said.
func acceptEventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, why)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// ackRE finds the reference in an acknowledgement (English or French
// catalog); /status answers quote references too but never with these
// words.
var ackRE = regexp.MustCompile(`(?:registered as case|enregistré sous le dossier) ([A-Z0-9]+)\.`)

// acceptAcks counts, per chat and case reference, the acknowledgements
// the emulator received from the bot.
func acceptAcks(emu *tgemu.Server) map[int64]map[string]int {
	out := map[int64]map[string]int{}
	for _, m := range emu.AllSent() {
		for _, sm := range ackRE.FindAllStringSubmatch(m.Text, -1) {
			if out[m.Chat] == nil {
				out[m.Chat] = map[string]int{}
			}
			out[m.Chat][sm[1]]++
		}
	}
	return out
}

// acceptUnsent describes the outbox rows not yet sent, for failure
// messages.
func acceptUnsent(t testing.TB, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT id, kind, chat, state, attempts, next_attempt_at, last_error FROM outbox
		WHERE state <> 'sent' ORDER BY id LIMIT 10`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, attempts int
		var kind, chat, state, next, lastErr string
		if err := rows.Scan(&id, &kind, &chat, &state, &attempts, &next, &lastErr); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "\n  row %d %s chat %s: %s, %d attempts, next %s, last error %q", id, kind, chat, state, attempts, next, lastErr)
	}
	return b.String()
}

// acceptCase is a case as stored.
type acceptCase struct {
	ref, chat, user, status string
	lat                     sql.NullFloat64
}

func acceptCases(t testing.TB, db *sql.DB) []acceptCase {
	t.Helper()
	rows, err := db.Query(`SELECT cs.ref, ch.platform_chat_id, ci.platform_user_id, cs.status, cs.latitude
		FROM cases cs JOIN chats ch ON ch.id = cs.chat_id JOIN citizen_identities ci ON ci.citizen_id = cs.citizen_id
		ORDER BY cs.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []acceptCase
	for rows.Next() {
		var c acceptCase
		if err := rows.Scan(&c.ref, &c.chat, &c.user, &c.status, &c.lat); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// acceptCheckAcks asserts that every stored case got exactly one
// acknowledgement with its reference in its own chat, and that no
// acknowledgement names a case that does not exist there. It returns the
// number of cases acknowledged more than once.
func acceptCheckAcks(t testing.TB, emu *tgemu.Server, cases []acceptCase) (dups int) {
	t.Helper()
	acks := acceptAcks(emu)
	known := map[string]bool{}
	for _, c := range cases {
		chat, _ := strconv.ParseInt(c.chat, 10, 64)
		known[c.chat+"/"+c.ref] = true
		switch n := acks[chat][c.ref]; {
		case n == 0:
			t.Errorf("case %s (chat %s) was never acknowledged", c.ref, c.chat)
		case n > 1:
			dups++
			t.Errorf("case %s was acknowledged %d times", c.ref, n)
		}
	}
	for chat, refs := range acks {
		for ref := range refs {
			if !known[strconv.FormatInt(chat, 10)+"/"+ref] {
				t.Errorf("chat %d received an acknowledgement of %s, which is not a case of that chat", chat, ref)
			}
		}
	}
	return dups
}

// e2eTexts are benign reports (nothing critical: the test counts
// acknowledgements, not emergency notices).
var e2eTexts = []string{
	"There is a deep pothole on Main Street near the bakery",
	"Le lampadaire de la rue Victor Hugo ne marche plus depuis une semaine",
	"The garbage bins on Oak Avenue have not been emptied for ten days",
	"Les poubelles du parc Monceau débordent",
	"The bench in the central park is broken",
	"Le trottoir devant l'école est abîmé",
	"The bus stop shelter on Elm Street has a cracked window",
	"Il y a des graffitis sur le mur de la mairie",
}

// e2eCitizen is one simulated citizen and what the test expects of them.
type e2eCitizen struct {
	user       tgemu.User
	group      int64
	listen     bool // group is a listening group
	privMsg    int  // first private message id
	groupMsg   int  // first group message id
	privRef    string
	groupRef   string
	editChat   int64
	editMsg    int
	editText   string
	command    string // private command sent in phase 2
	commandMsg int
	other      string // another citizen's ref, for /status OTHER
	groupCmd   int    // message id of /status REF in the group, or 0
}

// TestAcceptEndToEnd: 200 citizens send 1,000 updates (private and group
// messages, edits, commands, photos, locations, voice notes) through the
// real tgbotapi client; every message meant for the bot is stored
// exactly once, every case is acknowledged exactly once with its
// reference, /status answers with the citizen's own cases only, edits
// update the stored text, and no chat receives more than its rate.
//
// Rates. Per chat and per group the Telegram defaults hold, in citybot
// (config defaults) and in the emulator (which answers 429 past them):
// 3 per 3 s per chat, 20 per minute per group. Group traffic is spread
// over 40 groups of 5 citizens, so no group needs more than 10 sends and
// the 20/min group limit never delays the test. Only the global limit is
// raised, in both, from 30/s to 200/s: about 650 replies at 30/s would
// take 22 s by themselves. TestAcceptFaults proves the defaults.
func TestAcceptEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 messages end to end; skipped with -short")
	}
	const (
		nCitizens = 200
		nGroups   = 40
	)
	limits := tgemu.DefaultLimits()
	limits.Global = tgemu.Rule{N: 200, Window: time.Second}
	emu := acceptStartEmulator(t, tgemu.Options{Limits: limits})

	groupID := func(g int) int64 { return -1001000000100 - int64(g) }
	var listen []string
	for g := 0; g < nGroups; g += 2 {
		listen = append(listen, strconv.FormatInt(groupID(g), 10))
	}
	s := startServe(t, map[string]string{envTelegramToken: emu.Token()}, fmt.Sprintf(`[telegram]
api_endpoint = %q
poll_timeout = "1s"
listen_groups = [%s]
rate_global = "200/1s"
[discord]
enabled = false
[outbox]
workers = 16
poll_interval = "200ms"
# One acknowledgement per case, replying to its report: combined ones in
# a busy group have their own tests (channel_acks_*_test.go).
combine_group_acks = false
`, emu.Endpoint(), strings.Join(listen, ", ")))

	post := func(in tgemu.Incoming) tgemu.Posted {
		t.Helper()
		p, err := emu.Post(in)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	type key struct {
		chat int64
		id   int
	}
	stored := map[key]bool{} // messages that must be stored (true) or must not (false)
	updates := 0

	// Phase 1: every citizen reports privately (text, photo with a
	// caption, a bare location, or a voice note with a caption) and in
	// their group (listening groups hear everything; in the others the
	// citizen mentions @citybot).
	cz := make([]*e2eCitizen, nCitizens)
	langs := []string{"en", "fr", ""}
	for i := range cz {
		g := i % nGroups
		c := &e2eCitizen{
			user:   tgemu.User{ID: int64(10001 + i), FirstName: fmt.Sprintf("Zorblat%d", i), LastName: "Quintessa", LanguageCode: langs[i%3]},
			group:  groupID(g),
			listen: g%2 == 0,
		}
		cz[i] = c
		text := fmt.Sprintf("%s (report %d)", e2eTexts[i%len(e2eTexts)], i)
		in := tgemu.Incoming{From: c.user, Text: text}
		switch i % 4 {
		case 1:
			in.Media = tgemu.MediaPhoto
		case 2:
			in.Text = ""
			in.Location = &tgemu.Location{Latitude: 48.85 + float64(i)/1000, Longitude: 2.35}
		case 3:
			in.Media = tgemu.MediaVoice
		}
		c.privMsg = post(in).MessageID
		stored[key{c.user.ID, c.privMsg}] = true

		gtext := fmt.Sprintf("%s (group report %d)", e2eTexts[(i+3)%len(e2eTexts)], i)
		if !c.listen {
			gtext = "@citybot " + gtext
		}
		c.groupMsg = post(tgemu.Incoming{Chat: c.group, ChatTitle: fmt.Sprintf("Quarter %d", g), From: c.user, Text: gtext}).MessageID
		stored[key{c.group, c.groupMsg}] = true
		updates += 2
	}

	// Every citizen learns their references from the acknowledgements,
	// as a person would.
	acceptEventually(t, 40*time.Second, func() (bool, string) {
		acks := 0
		for _, c := range cz {
			for _, m := range emu.Sent(c.user.ID) {
				if sm := ackRE.FindStringSubmatch(m.Text); sm != nil {
					c.privRef = sm[1]
				}
			}
			if c.privRef != "" {
				acks++
			}
		}
		for _, c := range cz {
			for _, m := range emu.Sent(c.group) {
				if sm := ackRE.FindStringSubmatch(m.Text); sm != nil && m.ReplyTo == c.groupMsg {
					c.groupRef = sm[1]
				}
			}
			if c.groupRef != "" {
				acks++
			}
		}
		return acks == 2*nCitizens, fmt.Sprintf("%d of %d acknowledgements", acks, 2*nCitizens)
	})
	// /status reads the case status, which becomes acknowledged when the
	// acknowledgement's send is recorded: wait for that too.
	live := acceptOpenDB(t, s.dbPath)
	acceptEventually(t, 20*time.Second, func() (bool, string) {
		n := acceptCount(t, live, `SELECT COUNT(*) FROM cases WHERE status = 'acknowledged'`)
		return n == 2*nCitizens, fmt.Sprintf("%d cases acknowledged", n)
	})

	// Phase 2: an edit, a private command and one more message each.
	commands := []string{"/start", "/help", "/status", "/language fr", "/status OWN", "/status OTHER"}
	for i, c := range cz {
		// The edit: the private report, or (for bare locations, which
		// have no text) the group report.
		c.editChat, c.editMsg = c.user.ID, c.privMsg
		c.editText = fmt.Sprintf("%s, edited: it got worse (report %d)", e2eTexts[i%len(e2eTexts)], i)
		if i%4 == 2 {
			c.editChat, c.editMsg = c.group, c.groupMsg
			if !c.listen {
				c.editText = "@citybot " + c.editText
			}
		}
		if _, err := emu.Edit(c.editChat, c.editMsg, c.editText); err != nil {
			t.Fatal(err)
		}

		cmd := commands[i%len(commands)]
		switch cmd {
		case "/status OWN":
			cmd = "/status " + c.privRef
		case "/status OTHER":
			c.other = cz[(i+1)%nCitizens].privRef
			cmd = "/status " + c.other
		}
		c.command = cmd
		c.commandMsg = post(tgemu.Incoming{From: c.user, Text: cmd}).MessageID
		stored[key{c.user.ID, c.commandMsg}] = true

		switch i % 3 {
		case 0: // a private follow-up joins the private case, no reply
			id := post(tgemu.Incoming{From: c.user, Media: tgemu.MediaPhoto, Text: fmt.Sprintf("Here is another view (follow-up %d)", i)}).MessageID
			stored[key{c.user.ID, id}] = true
		case 1: // group chatter: heard in listening groups, ignored elsewhere
			id := post(tgemu.Incoming{Chat: c.group, From: c.user, Text: fmt.Sprintf("Anyone else noticed? (chatter %d)", i)}).MessageID
			stored[key{c.group, id}] = c.listen
		case 2: // /status REF in the group: answered in the group, no topic
			c.groupCmd = post(tgemu.Incoming{Chat: c.group, From: c.user, Text: "/status " + c.groupRef}).MessageID
			stored[key{c.group, c.groupCmd}] = true
		}
		updates += 3
	}
	if updates != 5*nCitizens {
		t.Fatalf("posted %d updates, want %d", updates, 5*nCitizens)
	}
	want := 0
	for _, ok := range stored {
		if ok {
			want++
		}
	}

	// Everything is handled (confirmed to the emulator) and sent.
	acceptEventually(t, 40*time.Second, func() (bool, string) {
		pending := emu.Pending()
		in := acceptCount(t, live, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`)
		out := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
		return pending == 0 && in == want && out == 0,
			fmt.Sprintf("%d updates unconfirmed, %d/%d messages stored, %d replies to send", pending, in, want, out)
	})
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	db := acceptOpenDB(t, s.dbPath)
	// Stored exactly once; chatter in non-listening groups not at all.
	for k, ok := range stored {
		n := acceptStoredIn(t, db, k.chat, k.id)
		if ok && n != 1 {
			t.Errorf("message %d in chat %d stored %d times, want 1", k.id, k.chat, n)
		}
		if !ok && n != 0 {
			t.Errorf("group chatter %d in non-listening group %d was stored", k.id, k.chat)
		}
	}
	if n := acceptCount(t, db, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`); n != want {
		t.Errorf("%d inbound messages stored, want %d", n, want)
	}

	// One case per citizen and chat, each acknowledged exactly once.
	cases := acceptCases(t, db)
	if len(cases) != 2*nCitizens {
		t.Errorf("%d cases, want %d (one private and one group case per citizen)", len(cases), 2*nCitizens)
	}
	acceptCheckAcks(t, emu, cases)
	for _, c := range cases {
		if c.status != "acknowledged" {
			t.Errorf("case %s is %s, want acknowledged", c.ref, c.status)
		}
	}
	// Everything queued went out once; nothing failed.
	if n, m := acceptCount(t, db, `SELECT COUNT(*) FROM outbox WHERE state = 'sent'`), len(emu.AllSent()); n != m {
		t.Errorf("%d outbox rows sent, the emulator received %d messages", n, m)
	}
	if n := acceptCount(t, db, `SELECT COUNT(*) FROM outbox WHERE state <> 'sent'`); n != 0 {
		t.Errorf("%d outbox rows not sent", n)
	}

	allRefs := map[string]bool{}
	for _, c := range cz {
		allRefs[c.privRef], allRefs[c.groupRef] = true, true
	}
	for i, c := range cz {
		// Edits updated the stored text and kept the old one.
		var text string
		if err := db.QueryRow(`SELECT m.text FROM messages m JOIN chats ch ON ch.id = m.chat_id
			WHERE ch.platform_chat_id = ? AND m.platform_message_id = ? AND m.direction = 'in'`,
			strconv.FormatInt(c.editChat, 10), strconv.Itoa(c.editMsg)).Scan(&text); err != nil {
			t.Fatalf("edited message of citizen %d: %v", i, err)
		}
		if text != c.editText {
			t.Errorf("citizen %d: stored text %q, want the edited %q", i, text, c.editText)
		}
		if n := acceptCount(t, db, `SELECT COUNT(*) FROM message_edits e JOIN messages m ON m.id = e.message_id
			JOIN chats ch ON ch.id = m.chat_id WHERE ch.platform_chat_id = ? AND m.platform_message_id = ?`,
			strconv.FormatInt(c.editChat, 10), strconv.Itoa(c.editMsg)); n != 1 {
			t.Errorf("citizen %d: %d earlier versions kept, want 1", i, n)
		}

		// Attachments were kept.
		wantKind := map[int]string{1: "photo", 2: "location", 3: "voice"}[i%4]
		if wantKind != "" {
			if n := acceptCount(t, db, `SELECT COUNT(*) FROM attachments a JOIN messages m ON m.id = a.message_id
				JOIN chats ch ON ch.id = m.chat_id WHERE ch.platform_chat_id = ? AND m.platform_message_id = ? AND a.kind = ?`,
				strconv.FormatInt(c.user.ID, 10), strconv.Itoa(c.privMsg), wantKind); n != 1 {
				t.Errorf("citizen %d: %d %s attachments, want 1", i, n, wantKind)
			}
		}

		// The private command's answer: the only private message that is
		// not the acknowledgement.
		var replies []string
		for _, m := range emu.Sent(c.user.ID) {
			if !ackRE.MatchString(m.Text) {
				replies = append(replies, m.Text)
			}
		}
		if len(replies) != 1 {
			t.Errorf("citizen %d (%s): %d private replies besides the acknowledgement, want 1: %q", i, c.command, len(replies), replies)
			continue
		}
		reply := replies[0]
		switch {
		case c.command == "/start":
			if !strings.HasPrefix(reply, "Hello!") && !strings.HasPrefix(reply, "Bonjour") {
				t.Errorf("citizen %d: /start answered %q", i, reply)
			}
		case c.command == "/help":
			if !strings.Contains(reply, "/status") {
				t.Errorf("citizen %d: /help answered %q", i, reply)
			}
		case c.command == "/language fr":
			if !strings.HasPrefix(reply, "Langue choisie") {
				t.Errorf("citizen %d: /language fr answered %q", i, reply)
			}
		case c.command == "/status":
			for ref := range allRefs {
				mine := ref == c.privRef || ref == c.groupRef
				if has := strings.Contains(reply, ref); has != mine {
					t.Errorf("citizen %d: /status lists %s: %v, want %v: %q", i, ref, has, mine, reply)
				}
			}
		case c.other != "":
			if !strings.Contains(reply, "found no case "+c.other) && !strings.Contains(reply, "pas de dossier "+c.other) {
				t.Errorf("citizen %d: /status of another's case %s answered %q", i, c.other, reply)
			}
		default: // /status own ref
			// With the time the city aims to answer such a report
			// within ([sla]: no history yet) and whether it is past.
			if !regexp.MustCompile(`^(Case|Dossier) ` + c.privRef + ` \(.+\) ?: (received, waiting for an officer|reçu, en attente d'un agent)\.\n` +
				`(We aim to answer this kind of report within .+\. Your case is still within that time|Nous essayons de répondre à ce genre de signalement en moins de .+\. Votre dossier est encore dans ce délai)\.$`).MatchString(reply) {
				t.Errorf("citizen %d: /status %s answered %q", i, c.privRef, reply)
			}
		}

		// /status REF in the group: a reply to the command, with the
		// status but not the topic.
		if c.groupCmd != 0 {
			var got []string
			for _, m := range emu.Sent(c.group) {
				if m.ReplyTo == c.groupCmd {
					got = append(got, m.Text)
				}
			}
			if len(got) != 1 || !regexp.MustCompile(`^(Case|Dossier) `+c.groupRef+` ?: [^()]+\.$`).MatchString(got[0]) {
				t.Errorf("citizen %d: group /status %s answered %q", i, c.groupRef, got)
			}
		}
	}

	// Locations are kept on the case.
	for _, cs := range cases {
		uid, _ := strconv.Atoi(cs.user)
		i := uid - 10001
		if cs.chat == cs.user && i%4 == 2 && !cs.lat.Valid {
			t.Errorf("case %s opened by a location has none", cs.ref)
		}
	}

	// Rates: the emulator enforced the configured limits; the bot kept to
	// them on its own.
	if err := emu.CheckRates(limits); err != nil {
		t.Error(err)
	}
	st := emu.Stats()
	t.Logf("%d updates, %d stored, %d cases, %d messages sent, emulator stats: rate-limited %d, calls %v",
		updates, want, len(cases), len(emu.AllSent()), st.RateLimited, st.Calls)
	if logs := s.logs.String(); strings.Contains(logs, "Zorblat") || strings.Contains(logs, "Quintessa") {
		t.Error("logs reveal citizens' names")
	}
}
