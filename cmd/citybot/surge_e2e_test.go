package main

// End-to-end test of issue 15's surge warning and holding statements:
// serve runs as in production (the real tgbotapi and discordgo clients
// against both local emulators, a real SQLite file seeded with normal
// weeks), citizens report a burst main on both platforms in two
// languages, an officer merges the reports and sends an approved holding
// statement from the console.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"citybot"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/classifier"
	"citybot/store"
)

// seClock is the seeding clock: the history is written in the past.
type seClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *seClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *seClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var (
	seCSRF  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	seNonce = regexp.MustCompile(`name="nonce" value="([A-Za-z0-9_-]+)"`)
	seRef   = regexp.MustCompile(`Main case: ([A-Z0-9]+)`)
)

// TestSurgeAndHoldingStatementEndToEnd: after eight ordinary weeks (one
// report on the topic at this hour each week), nine citizens report a
// burst main within minutes, on Telegram (privately, in English and
// French) and in a Discord channel, among two unrelated reports. The
// officers' Telegram chat gets exactly one surge alert (the count, the
// place, the main case's reference, a console link; no citizen's name),
// however many checks run after. An officer merges the reports into the
// main case with the console's Merge, then sends the approved holding
// statement with its blanks filled, public, and presses Send twice: each
// citizen receives it exactly once, in their language, and the city's
// public Discord channel once.
func TestSurgeAndHoldingStatementEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ctx := context.Background()
	const officersChat = int64(-100900)
	tg := acceptStartEmulator(t, tgemu.Options{Limits: tgemu.Limits{Disabled: true}})
	dc, err := dcemu.Start(dcemu.Options{Token: dcToken, HeartbeatInterval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	town, news := dc.AddChannel("town-square"), dc.AddChannel("city-news")
	officer := tgemu.User{ID: 7001, FirstName: "Olivia", LanguageCode: "en"}
	if _, err := tg.Post(tgemu.Incoming{Chat: officersChat, ChatTitle: "officers", From: officer, Text: "hello team"}); err != nil {
		t.Fatal(err)
	}

	burst := []struct {
		lang, text string
		discord    bool
	}{
		{"en", "A water main burst on Mill Lane, water is flooding the street", false},
		{"fr", "Une conduite d'eau a éclaté rue du Moulin, l'eau inonde la rue", false},
		{"en", "Burst water pipe on Mill Lane, the road is under water", false},
		{"fr", "Fuite d'eau énorme rue du Moulin, la rue est inondée", false},
		{"en", "Water pipe burst Mill Lane, water everywhere, no water at home", false},
		{"en", "Mill Lane is flooded, a water pipe burst an hour ago", false},
		{"fr", "Plus d'eau au robinet, une canalisation a éclaté rue du Moulin", false},
		{"en", "Water main broke on Mill Lane, water pouring into the street", true},
		{"fr", "Conduite d'eau cassée rue du Moulin, de l'eau partout", true},
	}
	clf, err := classifier.New(DefaultConfig().Classifier)
	if err != nil {
		t.Fatal(err)
	}
	topic := clf.Classify(burst[0].text, "en").Topic.Label
	for _, b := range burst {
		if got := clf.Classify(b.text, b.lang).Topic.Label; got != topic {
			t.Fatalf("the burst's reports must share a topic for this test: %q is %s, the first %s", b.text, got, topic)
		}
	}

	// The history: the city started two months ago; each of the past
	// eight weeks had one report on the topic in this hour.
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	now := time.Now().UTC()
	clk := &seClock{t: now.AddDate(0, 0, -60)}
	db, err := store.Open(ctx, dbPath, store.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	seed := func(i int, text string, at time.Time) {
		t.Helper()
		clk.Set(at)
		cl := clf.Classify(text, "en")
		if _, err := db.Ingest(ctx, citybot.Intake{
			Message: citybot.Message{Platform: citybot.Telegram, Chat: citybot.ChatID(fmt.Sprint(500000 + i)), ChatKind: citybot.ChatPrivate,
				ID: "1", Sender: citybot.Sender{ID: citybot.UserID(fmt.Sprint(500000 + i)), Name: "Past Citizen"}, Text: text, SentAt: at},
			Classification: &cl, Mode: citybot.CaseJoinOrOpen, Window: time.Minute,
		}, nil); err != nil {
			t.Fatal(err)
		}
	}
	seed(0, "The streetlight on Oak Street is broken", now.AddDate(0, 0, -60))
	for k := 1; k <= 8; k++ {
		seed(k, "Water leak on Mill Lane", now.AddDate(0, 0, -7*k).Add(-20*time.Minute))
	}
	clk.Set(now)
	hash, err := bcrypt.GenerateFromPassword([]byte("a long test passphrase"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAccount(ctx, "olivia", citybot.RoleOfficer, string(hash), "test"); err != nil {
		t.Fatal(err)
	}
	// The statement the officials approved in advance (their page is
	// tested in package web).
	tplID, err := db.SaveStatementText(ctx, 0, topic, "Water cut", "en", "We know about the water cut in {place}. A team is on site. Next update by {time}.", "mayor")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveStatementText(ctx, tplID, "", "", "fr", "Nous savons pour la coupure d'eau à {place}. Une équipe est sur place. Prochain point à {time}.", "mayor"); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"en", "fr"} {
		if err := db.ApproveStatementText(ctx, tplID, l, 1, "mayor"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := startServeDB(t, map[string]string{envTelegramToken: tg.Token(), envDiscordToken: dcToken}, dbPath, fmt.Sprintf(`[telegram]
api_endpoint = %q
poll_timeout = "1s"
[discord]
api_base = %q
guild_id = %q
channels = [%q]
[web]
insecure_cookies = true
public_base_url = "https://city.example"
[alerts]
telegram_chats = [%d]
[surge]
check_every = "1s"
min_reports = 5
factor = 3
[[digest.channels]]
platform = "discord"
chat = %q
language = "en"
[outbox]
poll_interval = "100ms"
`, tg.Endpoint(), dc.URL(), dc.GuildID(), town, officersChat, news))
	if err := dc.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	// The burst, and two unrelated reports.
	type citizen struct {
		tg   tgemu.User
		dc   dcemu.User
		lang string
		msg  string // Discord message id
		ref  string
	}
	var cz []*citizen
	for i, b := range burst {
		c := &citizen{lang: b.lang}
		if b.discord {
			c.dc = dc.AddUser(fmt.Sprintf("dweller%d", i), false)
			m, err := dc.Post(town, c.dc.ID, b.text)
			if err != nil {
				t.Fatal(err)
			}
			c.msg = m.ID
		} else {
			c.tg = tgemu.User{ID: int64(8100 + i), FirstName: fmt.Sprintf("Zorblat%d", i), LastName: "Quintessa", LanguageCode: b.lang}
			if _, err := tg.Post(tgemu.Incoming{From: c.tg, Text: b.text}); err != nil {
				t.Fatal(err)
			}
		}
		cz = append(cz, c)
	}
	for i, text := range []string{"The streetlight on Oak Street is broken again", "A big pothole on Station Road"} {
		if _, err := tg.Post(tgemu.Incoming{From: tgemu.User{ID: int64(8900 + i), FirstName: "Other", LanguageCode: "en"}, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	acceptEventually(t, 60*time.Second, func() (bool, string) {
		missing := 0
		for _, c := range cz {
			if c.ref != "" {
				continue
			}
			if c.msg == "" {
				for _, m := range tg.Sent(c.tg.ID) {
					if r := ackRE.FindStringSubmatch(m.Text); r != nil {
						c.ref = r[1]
					}
				}
			} else {
				for _, m := range dc.Sent(town) {
					if r := ackRE.FindStringSubmatch(m.Content); r != nil && m.ReplyTo == c.msg {
						c.ref = r[1]
					}
				}
			}
			if c.ref == "" {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d citizens without an acknowledgement", missing)
	})

	surgeAlerts := func() []tgemu.SentMessage {
		var out []tgemu.SentMessage
		for _, m := range tg.Sent(officersChat) {
			if strings.Contains(m.Text, "Surge:") {
				out = append(out, m)
			}
		}
		return out
	}
	acceptEventually(t, 30*time.Second, func() (bool, string) {
		return len(surgeAlerts()) > 0, "no surge alert in the officers' chat"
	})
	// The detector keeps checking every second: five more checks.
	time.Sleep(5 * time.Second)
	alerts := surgeAlerts()
	if len(alerts) != 1 {
		t.Fatalf("%d surge alerts in the officers' chat, want exactly 1: %+v", len(alerts), alerts)
	}
	alert := alerts[0].Text
	m := seRef.FindStringSubmatch(alert)
	if m == nil || !strings.Contains(alert, "Mill Lane") || !strings.Contains(alert, "https://city.example/cases/") {
		t.Fatalf("surge alert %q lacks the main case, the place or the link", alert)
	}
	mainRef := m[1]
	if n, err := strconv.Atoi(regexp.MustCompile(`Surge: (\d+) reports`).FindStringSubmatch(alert)[1]); err != nil || n < 5 || n > len(burst) {
		t.Errorf("surge alert %q: count %d, want between min_reports and the %d reports", alert, n, len(burst))
	}
	for _, c := range cz {
		if c.tg.FirstName != "" && strings.Contains(alert, c.tg.FirstName) || strings.Contains(alert, "Quintessa") || strings.Contains(alert, "dweller") {
			t.Errorf("surge alert names a citizen: %q", alert)
		}
	}
	if !slices.ContainsFunc(cz, func(c *citizen) bool { return c.ref == mainRef }) {
		t.Fatalf("the main case %s is none of the burst's cases", mainRef)
	}

	// The officer signs in to the console.
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
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		resp, err := web.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/login", url.Values{"name": {"olivia"}, "password": {"a long test passphrase"}}); code != http.StatusOK {
		t.Fatalf("sign in: %d\n%s", code, body)
	}
	inbox := get("/inbox")
	if !strings.Contains(inbox, "Main case "+mainRef) {
		t.Errorf("the inbox shows no surge banner with the main case %s", mainRef)
	}

	// Merge every other report of the burst into the main case, as an
	// officer does today (grouping may do it by itself later).
	ro := acceptOpenDB(t, s.dbPath)
	caseID := func(ref string) int64 {
		t.Helper()
		var id int64
		if err := ro.QueryRow(`SELECT id FROM cases WHERE ref = ?`, ref).Scan(&id); err != nil {
			t.Fatalf("case %s: %v", ref, err)
		}
		return id
	}
	mainID := caseID(mainRef)
	for _, c := range cz {
		if c.ref == mainRef {
			continue
		}
		page := get(fmt.Sprintf("/cases/%d", caseID(c.ref)))
		csrf := seCSRF.FindStringSubmatch(page)
		if csrf == nil {
			t.Fatal("no form token on the case page")
		}
		if code, body := post(fmt.Sprintf("/cases/%d/merge", caseID(c.ref)), url.Values{"csrf": {csrf[1]}, "into": {mainRef}}); code != http.StatusOK {
			t.Fatalf("merge %s into %s: %d\n%s", c.ref, mainRef, code, body)
		}
	}

	// The holding statement, with one action (pressed twice).
	page := get(fmt.Sprintf("/cases/%d/statement?template=%d", mainID, tplID))
	csrf, nonce := seCSRF.FindStringSubmatch(page), seNonce.FindStringSubmatch(page)
	if csrf == nil || nonce == nil {
		t.Fatalf("the statement form has no token or nonce:\n%s", page)
	}
	form := url.Values{"csrf": {csrf[1]}, "nonce": {nonce[1]}, "template": {strconv.FormatInt(tplID, 10)},
		"blank_place": {"Mill Lane"}, "blank_time": {"18:00"}, "public": {"1"}, "action": {"send"}}
	for range 2 {
		if code, body := post(fmt.Sprintf("/cases/%d/statement", mainID), form); code != http.StatusOK || !strings.Contains(body, "Holding statement queued") {
			t.Fatalf("send the statement: %d\n%s", code, body)
		}
	}

	enText, frText := "A team is on site. Next update by 18:00.", "Une équipe est sur place. Prochain point à 18:00."
	received := func(c *citizen) (en, fr int) {
		var texts []string
		if c.msg == "" {
			for _, m := range tg.Sent(c.tg.ID) {
				texts = append(texts, m.Text)
			}
		} else {
			for _, m := range dc.Sent(town) {
				if strings.Contains(m.Content, c.ref) {
					texts = append(texts, m.Content)
				}
			}
		}
		for _, x := range texts {
			if strings.Contains(x, enText) {
				en++
			}
			if strings.Contains(x, frText) {
				fr++
			}
		}
		return en, fr
	}
	publicPosts := func() int {
		n := 0
		for _, m := range dc.Sent(news) {
			if strings.Contains(m.Content, enText) {
				n++
			}
		}
		return n
	}
	acceptEventually(t, 30*time.Second, func() (bool, string) {
		waiting := 0
		for _, c := range cz {
			if en, fr := received(c); en+fr == 0 {
				waiting++
			}
		}
		return waiting == 0 && publicPosts() > 0, fmt.Sprintf("%d followers and the public channel (%d) waiting", waiting, publicPosts())
	})
	time.Sleep(2 * time.Second) // anything sent twice would be out by now
	for _, c := range cz {
		en, fr := received(c)
		want := [2]int{1, 0}
		if c.lang == "fr" {
			want = [2]int{0, 1}
		}
		if [2]int{en, fr} != want {
			t.Errorf("citizen %s (%s) received the statement %d times in English and %d in French, want %v", c.ref, c.lang, en, fr, want)
		}
	}
	if n := publicPosts(); n != 1 {
		t.Errorf("the public channel got the statement %d times, want 1", n)
	}
	if n := len(surgeAlerts()); n != 1 {
		t.Errorf("%d surge alerts at the end, want 1", n)
	}
	if casePage := get(fmt.Sprintf("/cases/%d", mainID)); !strings.Contains(casePage, fmt.Sprintf("olivia sent a holding statement to the citizens following this case (%d).", len(burst))) {
		t.Errorf("the case page does not say the statement went to the %d followers", len(burst))
	}
}
