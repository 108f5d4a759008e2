package main

// Acceptance test of issue 15 ("one issue, many voices"): 30 citizens
// report one burst water main on Telegram and Discord (privately and in
// the city's channel), in English and French, among unrelated reports,
// through the real clients against both emulators, while serve runs as
// in production on a real SQLite file seeded with ordinary weeks. It
// covers grouping, the surge alert and holding statements in one run;
// the channel half of the acceptance (combined acknowledgements)
// is channel_acks_accept_test.go.

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/classifier"
	"citybot/store"
)

// surgeReport is one line of grouping/testdata/surge.tsv.
type surgeReport struct {
	id, incident, platform, lang, text string
}

// readSurge reads the scene: the burst main's 30 reports and 10
// unrelated ones (one a bribe at the same street), in time order.
func readSurge(t *testing.T) []surgeReport {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "grouping", "testdata", "surge.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []surgeReport
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 7 {
			t.Fatalf("surge.tsv: %d columns in %q", len(cols), line)
		}
		out = append(out, surgeReport{id: cols[0], incident: cols[1], platform: cols[3], lang: cols[4], text: cols[6]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// surgeCity is the test city's gazetteer and near places (from
// grouping/testdata/city.toml) as serve's configuration.
func surgeCity(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "grouping", "testdata", "city.toml"))
	if err != nil {
		t.Fatal(err)
	}
	places, near, ok := strings.Cut(string(b), "# Near")
	if !ok {
		t.Fatal("city.toml: no near places")
	}
	var groups []string
	for _, m := range regexp.MustCompile(`places = (\[[^\]]*\])`).FindAllStringSubmatch(near, -1) {
		groups = append(groups, m[1])
	}
	return strings.ReplaceAll(places, "[[places]]", "[[classifier.places]]") +
		"\n[grouping]\nnear = [" + strings.Join(groups, ", ") + "]\n"
}

var refIn = regexp.MustCompile(`\b[ACEFHKMNPRTWXY34679]{6}\b`)

// seClock is the seeding clock: the history is written in the past.
type seClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *seClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *seClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var (
	seNonce = regexp.MustCompile(`name="nonce" value="([A-Za-z0-9_-]+)"`)
	seRef   = regexp.MustCompile(`Main case: ([A-Z0-9]+)`)
)

// TestAcceptManyVoices: the burst main's 30 reporters end in one case
// (the reports grouping only suggested are merged by an officer with one
// action each in the console), each acknowledged once and none told
// about another problem; the officers' Telegram chat gets exactly one
// surge alert (the main case, the count, the place, a console link, no
// citizen's name), however many checks run after; an official approves
// a holding statement in English and French in the console and an
// officer sends it from the case, public too, pressing Send twice: each
// of the 30 gets it once in their language and the city's public
// channel once; an officer's answer reaches all 30 once; resolving the
// case asks every one of them "Is it fixed?" once; a follower's "Not
// fixed" reopens it once and tells the others once.
func TestAcceptManyVoices(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve against both emulators")
	}
	reports := readSurge(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "citybot.db")
	const (
		officersChat = int64(-100900)
		topic        = "water_sanitation"
		place        = "Harbour Road"
	)
	{
		// The history: the city started two months ago; each of the past
		// eight weeks had one water report on Harbour Road in this hour,
		// so the surge is measured against a usual rate, not nothing.
		ctx := context.Background()
		now := time.Now().UTC()
		clk := &seClock{t: now.AddDate(0, 0, -60)}
		db, err := store.Open(ctx, dbPath, store.Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		clf, err := classifier.New(DefaultConfig().Classifier)
		if err != nil {
			t.Fatal(err)
		}
		seed := func(i int, text string, at time.Time, places []citybot.Place) {
			t.Helper()
			clk.Set(at)
			cl := clf.Classify(text, "en")
			cl.Places = places
			if _, err := db.Ingest(ctx, citybot.Intake{
				Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint(500000 + i)), ChatKind: citybot.ChatPrivate,
					ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint(500000 + i)), Name: "Past Citizen"}, Text: text, SentAt: at},
				Classification: &cl, Mode: citybot.CaseJoinOrOpen, Window: time.Minute,
			}, nil); err != nil {
				t.Fatal(err)
			}
		}
		seed(0, "The streetlight on Oak Street is broken", now.AddDate(0, 0, -60), nil)
		for k := 1; k <= 8; k++ {
			text := "Water leak on Harbour Road"
			if got := clf.Classify(text, "en").Topic.Label; got != topic {
				t.Fatalf("the history's report is %s, want %s", got, topic)
			}
			seed(k, text, now.AddDate(0, 0, -7*k).Add(-20*time.Minute), []citybot.Place{{Name: place, Kind: "street"}})
		}
		clk.Set(now)
		h, err := bcrypt.GenerateFromPassword([]byte("a long test passphrase"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateAccount(ctx, "olivia", citybot.RoleOfficer, string(h), "test"); err != nil {
			t.Fatal(err)
		}
		// The official who approves holding statements signs in with a
		// one-time code.
		mayor, err := db.CreateAccount(ctx, "mayor", citybot.RoleOfficial, string(h), "test")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.StartTOTP(ctx, mayor.ID, testTOTPSecret); err != nil {
			t.Fatal(err)
		}
		if err := db.ActivateTOTP(ctx, mayor.ID, testTOTPSecret, 0, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tg := tgemu.New(tgemu.Options{})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	w := newDCWorld(t, dcemu.Options{}, 1, 0)
	// The city's public channel, where a holding statement may also go.
	news := w.emu.AddChannel("city-news")
	// The officers' chat, where surge alerts go.
	officer := tgemu.User{ID: 7001, FirstName: "Olivia", LanguageCode: "en"}
	if _, err := tg.Post(tgemu.Incoming{Chat: officersChat, ChatTitle: "officers", From: officer, Text: "hello team"}); err != nil {
		t.Fatal(err)
	}
	// "Is it fixed?" a day after a case is resolved, checked every
	// second (the test moves the resolution a day back); the surge
	// detector checks every second too.
	extra := fmt.Sprintf(`[digest]
followup_days = 1
[[digest.channels]]
platform = "discord"
chat = %q
language = "en"
[schedule]
followups = "@every 1s"
[web]
insecure_cookies = true
public_base_url = "https://city.example"
[alerts]
telegram_chats = [%d]
[surge]
check_every = "1s"
min_reports = 5
factor = 3
`, news, officersChat) + surgeCity(t)
	cfg := strings.Replace(w.config(dbPath, extra), "[telegram]\nenabled = false\n",
		fmt.Sprintf("[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n", tg.Endpoint()), 1)
	s := w.startServeAt(t, dbPath, cfg, map[string]string{envDiscordToken: dcToken, envTelegramToken: tg.Token()})
	db := acceptOpenDB(t, dbPath)

	type citizen struct {
		surgeReport
		tgUser tgemu.User
		dcUser dcemu.User
		dm     string
		// inChannel: the report is written in the city's Discord
		// channel, whose answers reply to it there (msgID); anything
		// private reaches the citizen's direct messages.
		inChannel bool
		msgID     string
	}
	var cits []*citizen
	discordN := 0
	for i, r := range reports {
		c := &citizen{surgeReport: r}
		if r.platform == "telegram" {
			// Telegram says which language the citizen's app is in.
			c.tgUser = tgemu.User{ID: int64(880000 + i), FirstName: "Citizen " + r.id, LanguageCode: r.lang}
		} else {
			c.dcUser = w.emu.AddUser("Citizen "+r.id, false)
			dm, err := w.emu.DMChannel(c.dcUser.ID)
			if err != nil {
				t.Fatal(err)
			}
			c.dm = dm
			// A few write in the channel (its 5 messages per 5 s
			// make each one slow), the others privately.
			c.inChannel = discordN%4 == 1
			discordN++
		}
		cits = append(cits, c)
	}
	type msg struct {
		text    string
		buttons []string // Data / CustomID
		id      string   // message id (Telegram: a number)
	}
	received := func(c *citizen) []msg {
		var out []msg
		if c.platform == "telegram" {
			for _, m := range tg.Sent(c.tgUser.ID) {
				mm := msg{text: m.Text, id: fmt.Sprint(m.MessageID)}
				for _, row := range m.Buttons {
					for _, b := range row {
						mm.buttons = append(mm.buttons, b.Data)
					}
				}
				out = append(out, mm)
			}
			return out
		}
		var dc []dcemu.Message
		if c.inChannel {
			for _, m := range w.emu.Sent(w.channels[0]) {
				if m.ReplyTo == c.msgID {
					dc = append(dc, m)
				}
			}
		}
		for _, m := range append(dc, w.emu.Sent(c.dm)...) {
			mm := msg{text: m.Content, id: m.ID}
			for _, row := range m.Buttons {
				for _, b := range row {
					mm.buttons = append(mm.buttons, b.CustomID)
				}
			}
			out = append(out, mm)
		}
		return out
	}
	count := func(c *citizen, pred func(msg) bool) int {
		n := 0
		for _, m := range received(c) {
			if pred(m) {
				n++
			}
		}
		return n
	}

	// The reports, one after the other in the scene's order (each stored,
	// and acknowledged, before the next): its 20 minutes pass in seconds
	// here, all within grouping's window and the hour its rules weigh.
	for _, c := range cits {
		if c.platform == "telegram" {
			if _, err := tg.Post(tgemu.Incoming{From: c.tgUser, Text: c.text}); err != nil {
				t.Fatal(err)
			}
		} else if c.inChannel {
			m, err := w.emu.Post(w.channels[0], c.dcUser.ID, c.text)
			if err != nil {
				t.Fatal(err)
			}
			c.msgID = m.ID
		} else if _, err := w.emu.Post(c.dm, c.dcUser.ID, c.text); err != nil {
			t.Fatal(err)
		}
		waitCond(t, 60*time.Second, func() string { return "the acknowledgement of " + c.id }, s, func() bool { return len(received(c)) >= 1 })
	}
	time.Sleep(500 * time.Millisecond) // nothing more should come
	ownRef := map[string]string{}      // report id → its case's reference
	var mainRef string
	var burst []*citizen
	for _, c := range cits {
		got := received(c)
		if len(got) != 1 {
			t.Fatalf("%s got %d messages, want one acknowledgement: %q", c.id, len(got), got)
		}
		refs := refIn.FindAllString(got[0].text, -1)
		if len(refs) == 0 {
			t.Fatalf("%s: no reference in %q", c.id, got[0].text)
		}
		ownRef[c.id] = refs[0]
		if c.incident == "s-main" {
			burst = append(burst, c)
			if mainRef == "" {
				mainRef = refs[0]
			}
		}
	}
	if len(burst) != 30 {
		t.Fatalf("%d reports of the burst main in the scene, want 30", len(burst))
	}
	caseOf := func(ref string) (id int64, status string, dupOf int64) {
		t.Helper()
		var d *int64
		if err := db.QueryRow(`SELECT id, status, duplicate_of FROM cases WHERE ref = ?`, ref).Scan(&id, &status, &d); err != nil {
			t.Fatalf("case %s: %v", ref, err)
		}
		if d != nil {
			dupOf = *d
		}
		return id, status, dupOf
	}
	mainID, _, _ := caseOf(mainRef)

	// Joined reports were told so, in their language, with the case's
	// reference; no unrelated report was joined or told of it.
	joined := 0
	var suggested []*citizen
	for _, c := range burst[1:] {
		ack := received(c)[0].text
		_, status, dup := caseOf(ownRef[c.id])
		switch {
		case status == "duplicate" && dup == mainID:
			joined++
			// In the citizen's language: Telegram says it; on Discord
			// the words of a short message tell it, not always rightly.
			said := map[string]string{"en": "Other people have told us about the same problem", "fr": "D'autres personnes nous ont signalé le même problème"}
			inLang := strings.Contains(ack, said[c.lang]) || (c.platform == "discord" && (strings.Contains(ack, said["en"]) || strings.Contains(ack, said["fr"])))
			if !strings.Contains(ack, mainRef) || !inLang {
				t.Errorf("%s (%s) joined, told %q", c.id, c.lang, ack)
			}
		case status == "duplicate":
			t.Errorf("%s joined case %d, not the burst main's", c.id, dup)
		default:
			suggested = append(suggested, c)
		}
	}
	for _, c := range cits {
		if c.incident == "s-main" {
			continue
		}
		_, status, dup := caseOf(ownRef[c.id])
		if status == "duplicate" || dup != 0 || strings.Contains(received(c)[0].text, mainRef) {
			t.Errorf("unrelated report %s (%s) was joined or told of the burst main: %q", c.id, c.incident, received(c)[0].text)
		}
	}
	t.Logf("the burst main: 1 case, %d reports joined it, %d suggested to officers", joined, len(suggested))
	if joined < 20 {
		t.Errorf("only %d of 29 reports joined the burst main's case", joined)
	}

	// An officer merges the suggested ones, one action each, in the
	// console.
	base := "http://" + s.ready.HTTPAddr
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Client{Jar: jar}
	get := func(path string) string {
		t.Helper()
		resp, err := web.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	csrfIn := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	post := func(path string, form url.Values) {
		t.Helper()
		m := csrfIn.FindStringSubmatch(get("/inbox"))
		if m == nil {
			t.Fatal("no form token on the inbox")
		}
		form.Set("csrf", m[1])
		resp, err := web.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("POST %s: %d\n%s", path, resp.StatusCode, b)
		}
	}
	resp, err := web.PostForm(base+"/login", url.Values{"name": {"olivia"}, "password": {"a long test passphrase"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(suggested) > 0 && !strings.Contains(get("/inbox"), "like this one") {
		t.Errorf("the inbox does not show the suggestions")
	}
	for _, c := range suggested {
		id, _, _ := caseOf(ownRef[c.id])
		page := get(fmt.Sprintf("/cases/%d", id))
		if !strings.Contains(page, fmt.Sprintf("/cases/%d/suggestions/%d", id, mainID)) {
			t.Errorf("%s's case (%s) does not suggest the burst main's", c.id, c.text)
			continue
		}
		post(fmt.Sprintf("/cases/%d/suggestions/%d", id, mainID), url.Values{"do": {"merge"}})
	}
	var followers int
	if err := db.QueryRow(`SELECT followers FROM cases WHERE id = ?`, mainID).Scan(&followers); err != nil || followers != 29 {
		t.Fatalf("the burst main's case has %d followers (%v), want 29", followers, err)
	}
	if page := get(fmt.Sprintf("/cases/%d", mainID)); !strings.Contains(page, "30 citizens") {
		t.Errorf("the case page does not say 30 citizens reported it")
	}

	// The surge alert: once in the officers' chat, with the grouped case,
	// the count and the place, and no citizen's name.
	surgeAlerts := func() []string {
		var out []string
		for _, m := range tg.Sent(officersChat) {
			if strings.Contains(m.Text, "Surge:") {
				out = append(out, m.Text)
			}
		}
		return out
	}
	waitCond(t, 30*time.Second, func() string { return "the surge alert in the officers' chat" }, s, func() bool { return len(surgeAlerts()) > 0 })
	alert := surgeAlerts()[0]
	if m := seRef.FindStringSubmatch(alert); m == nil || m[1] != mainRef || !strings.Contains(alert, place) ||
		!strings.Contains(alert, fmt.Sprintf("https://city.example/cases/%d", mainID)) {
		t.Errorf("surge alert %q: want the main case %s, %s and its console link", alert, mainRef, place)
	}
	if m := regexp.MustCompile(`Surge: (\d+) reports`).FindStringSubmatch(alert); m == nil {
		t.Errorf("surge alert %q gives no count", alert)
	} else if n, _ := strconv.Atoi(m[1]); n < 5 || n > len(cits) {
		// The count takes the topic's reports across the city too.
		t.Errorf("surge alert %q: count %d, want between min_reports and the scene's %d reports", alert, n, len(cits))
	}
	t.Logf("the surge alert: %q", alert)
	if !strings.Contains(get("/inbox"), "Main case "+mainRef) {
		t.Errorf("the inbox shows no surge banner with the main case %s", mainRef)
	}
	if strings.Contains(alert, "Citizen ") {
		t.Errorf("surge alert names a citizen: %q", alert)
	}

	// An official approves a holding statement, in English and French,
	// in the console.
	mayorJar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	mayor := &http.Client{Jar: mayorJar}
	mayorPost := func(path string, form url.Values) string {
		t.Helper()
		resp, err := mayor.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the official's POST %s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	mayorPost("/login", url.Values{"name": {"mayor"}, "password": {"a long test passphrase"}})
	code, err := totp.GenerateCode(testTOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	mayorPost("/login/code", url.Values{"code": {code}})
	mayorForm := func(form url.Values) url.Values {
		t.Helper()
		resp, err := mayor.Get(base + "/statements")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := csrfIn.FindStringSubmatch(string(b))
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("the official's statements page: %d, no form token\n%s", resp.StatusCode, b)
		}
		form.Set("csrf", m[1])
		return form
	}
	mayorPost("/statements", mayorForm(url.Values{"topic": {topic}, "name": {"Water cut"}, "language": {"en"},
		"text": {"We know about the water cut in {place}. A team is on site. Next update by {time}."}}))
	var tplID int64
	if err := db.QueryRow(`SELECT id FROM statement_templates WHERE name = 'Water cut'`).Scan(&tplID); err != nil {
		t.Fatalf("the saved statement: %v", err)
	}
	tpl := strconv.FormatInt(tplID, 10)
	mayorPost("/statements", mayorForm(url.Values{"template": {tpl}, "language": {"fr"},
		"text": {"Nous savons pour la coupure d'eau à {place}. Une équipe est sur place. Prochain point à {time}."}}))
	for _, l := range []string{"en", "fr"} {
		var version int
		if err := db.QueryRow(`SELECT version FROM statement_texts WHERE template_id = ? AND language = ?`, tplID, l).Scan(&version); err != nil {
			t.Fatalf("the %s statement text: %v", l, err)
		}
		mayorPost("/statements/approve", mayorForm(url.Values{"template": {tpl}, "language": {l}, "version": {strconv.Itoa(version)}}))
	}

	// The officer sends it from the case, public too, with its blanks
	// filled, and presses Send twice.
	page := get(fmt.Sprintf("/cases/%d/statement?template=%s", mainID, tpl))
	csrf, nonce := csrfIn.FindStringSubmatch(page), seNonce.FindStringSubmatch(page)
	if csrf == nil || nonce == nil {
		t.Fatalf("the statement form has no token or nonce:\n%s", page)
	}
	stmtForm := url.Values{"csrf": {csrf[1]}, "nonce": {nonce[1]}, "template": {tpl},
		"blank_place": {place}, "blank_time": {"18:00"}, "public": {"1"}, "action": {"send"}}
	for range 2 {
		resp, err := web.PostForm(base+fmt.Sprintf("/cases/%d/statement", mainID), stmtForm)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Holding statement queued") {
			t.Fatalf("send the statement: %d\n%s", resp.StatusCode, b)
		}
	}
	stmtText := map[string]string{"en": "A team is on site. Next update by 18:00.", "fr": "Une équipe est sur place. Prochain point à 18:00."}
	hasStmt := func(lang string) func(msg) bool {
		return func(m msg) bool { return strings.Contains(m.text, stmtText[lang]) }
	}
	isStmt := func(m msg) bool { return hasStmt("en")(m) || hasStmt("fr")(m) }
	publicPosts := func() int {
		n := 0
		for _, m := range w.emu.Sent(news) {
			if strings.Contains(m.Content, stmtText["en"]) {
				n++
			}
		}
		return n
	}
	waitCond(t, 60*time.Second, func() string { return "the holding statement in every chat and the public channel" }, s, func() bool {
		for _, c := range burst {
			if count(c, isStmt) < 1 {
				return false
			}
		}
		return publicPosts() > 0
	})
	if page := get(fmt.Sprintf("/cases/%d", mainID)); !strings.Contains(page, fmt.Sprintf("olivia sent a holding statement to the citizens following this case (%d).", len(burst))) {
		t.Errorf("the case page does not say the statement went to the %d followers", len(burst))
	}

	// An answer reaches all 30 once.
	const answer = "A repair crew is on Harbour Road; the water will be cut until noon."
	post(fmt.Sprintf("/cases/%d/answer", mainID), url.Values{"text": {answer}, "nonce": {"grouping-answer-1"}})
	has := func(sub string) func(msg) bool { return func(m msg) bool { return strings.Contains(m.text, sub) } }
	waitCond(t, 60*time.Second, func() string { return "the answer in every chat" }, s, func() bool {
		for _, c := range burst {
			if count(c, has(answer)) < 1 {
				return false
			}
		}
		return true
	})
	// Resolved: "Is it fixed?" reaches all 30 once.
	post(fmt.Sprintf("/cases/%d/status", mainID), url.Values{"to": {"resolved"}, "nonce": {"grouping-resolve-1"}})
	// A day passes: the resolution is moved a day back.
	waitCond(t, 30*time.Second, func() string { return "the resolution" }, s, func() bool {
		var st string
		return db.QueryRow(`SELECT status FROM cases WHERE id = ?`, mainID).Scan(&st) == nil && st == "resolved"
	})
	rw, err := sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.Exec(`UPDATE cases SET resolved_at = ? WHERE id = ?`,
		time.Now().UTC().Add(-25*time.Hour).Format("2006-01-02T15:04:05.000000Z"), mainID); err != nil {
		t.Fatal(err)
	}
	isAsk := func(m msg) bool { return len(m.buttons) == 2 && strings.HasPrefix(m.buttons[1], "fx:n:") }
	waitCond(t, 60*time.Second, func() string {
		var lack []string
		for _, c := range burst {
			if count(c, isAsk) < 1 {
				lack = append(lack, fmt.Sprintf("%s %q", c.id, received(c)))
			}
		}
		return `"Is it fixed?" in every chat; not in ` + strings.Join(lack, "; ")
	}, s, func() bool {
		for _, c := range burst {
			if count(c, isAsk) < 1 {
				return false
			}
		}
		return true
	})
	// One follower on Telegram says it is not fixed.
	var presser *citizen
	for _, c := range burst[1:] {
		if c.platform == "telegram" {
			presser = c
			break
		}
	}
	var ask msg
	for _, m := range received(presser) {
		if isAsk(m) {
			ask = m
		}
	}
	var askID int
	fmt.Sscan(ask.id, &askID)
	if _, err := tg.Press(presser.tgUser.ID, askID, presser.tgUser, ask.buttons[1]); err != nil {
		t.Fatal(err)
	}
	waitCond(t, 30*time.Second, func() string { return "the reopening" }, s, func() bool {
		var st string
		return db.QueryRow(`SELECT status FROM cases WHERE id = ?`, mainID).Scan(&st) == nil && st == "in_progress"
	})
	reopened := map[string]string{"en": "is open again", "fr": "est rouvert"}
	waitCond(t, 60*time.Second, func() string { return "the reopening notice in every other chat" }, s, func() bool {
		for _, c := range burst {
			if c != presser && count(c, func(m msg) bool {
				return strings.Contains(m.text, reopened["en"]) || strings.Contains(m.text, reopened["fr"])
			}) < 1 {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second) // two more runs of the follow-up job: nothing more should come
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}
	for _, c := range burst {
		isReopen := func(m msg) bool {
			return strings.Contains(m.text, reopened["en"]) || strings.Contains(m.text, reopened["fr"])
		}
		acks := count(c, func(m msg) bool { return m.text == received(c)[0].text })
		wantReopen := 1
		if c == presser {
			wantReopen = 0
		}
		// A statement in the citizen's language: Telegram says it; on
		// Discord the words of the report told it, not always rightly.
		stmts := count(c, hasStmt(c.lang))
		if c.platform == "discord" {
			stmts = count(c, isStmt)
		}
		if acks != 1 || stmts != 1 || count(c, isStmt) != 1 || count(c, has(answer)) != 1 || count(c, isAsk) != 1 || count(c, isReopen) != wantReopen {
			t.Errorf("%s (%s, %s): acknowledgement %d, holding statement %d (%d in their language), answer %d, \"Is it fixed?\" %d, reopening %d times",
				c.id, c.platform, c.lang, acks, count(c, isStmt), stmts, count(c, has(answer)), count(c, isAsk), count(c, isReopen))
		}
	}
	if n := publicPosts(); n != 1 {
		t.Errorf("the public channel got the holding statement %d times, want 1", n)
	}
	// The detector checked every second throughout: still one alert.
	if n := len(surgeAlerts()); n != 1 {
		t.Errorf("%d surge alerts in the officers' chat, want exactly 1: %q", n, surgeAlerts())
	}
	for _, c := range cits {
		if c.incident != "s-main" && len(received(c)) != 1 {
			t.Errorf("unrelated report %s got %d messages", c.id, len(received(c)))
		}
	}
	if n := acceptCount(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = 'case.status' AND actor = 'citizen' AND subject = ?`, fmt.Sprintf("case:%d", mainID)); n != 1 {
		t.Errorf("%d reopenings audited, want 1", n)
	}
}
