package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/locale"
)

// langReports are reports as a citizen writes them, one per shipped
// language: no platform language code is given, so the words alone must
// tell the language.
var langReports = map[string]string{
	"en": "The street light at the corner of our street has been broken for a week",
	"fr": "Le lampadaire au coin de notre rue est en panne depuis une semaine",
	"es": "La farola de la esquina de nuestra calle está rota desde hace una semana",
	"pt": "O poste da esquina da nossa rua está apagado faz uma semana",
	"ar": "عمود الإنارة في زاوية شارعنا معطل منذ أسبوع",
	"sw": "Taa ya barabarani kwenye kona ya mtaa wetu imeharibika tangu wiki iliyopita",
}

// langThanks are thank-yous, one per shipped language.
var langThanks = map[string]string{
	"en": "Thank you!", "fr": "Merci beaucoup !", "es": "¡Muchas gracias!",
	"pt": "Muito obrigado!", "ar": "شكرا جزيلا", "sw": "Asante sana!",
}

// TestAcceptLanguages is the acceptance test of the shipped languages: a
// citizen writing in each of them, on Telegram and on Discord (through
// the real clients against tgemu and dcemu), gets the acknowledgement,
// the answer to /status and the answer to /help in that language, and
// the reply to their thank-you, with the texts of the language's file.
func TestAcceptLanguages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve against both emulators")
	}
	set := locale.MustEmbedded()
	langs := []string{"en", "fr", "es", "pt", "ar", "sw"}
	for _, l := range langs {
		if !set.Has(l) || langReports[l] == "" || langThanks[l] == "" {
			t.Fatalf("language %s: no catalog or no report", l)
		}
	}
	tg := tgemu.New(tgemu.Options{})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	w := newDCWorld(t, dcemu.Options{}, 1, 0)
	dbPath := filepath.Join(t.TempDir(), "citybot.db")
	cfg := strings.Replace(w.config(dbPath, ""), "[telegram]\nenabled = false\n",
		fmt.Sprintf("[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n", tg.Endpoint()), 1)
	cfg = "[city]\nlanguages = [\"en\", \"fr\", \"es\", \"pt\", \"ar\", \"sw\"]\ndefault_language = \"en\"\n" + cfg
	s := w.startServeAt(t, dbPath, cfg, map[string]string{envDiscordToken: dcToken, envTelegramToken: tg.Token()})

	type citizen struct {
		lang     string
		platform string
		tgUser   tgemu.User
		dcUser   dcemu.User
		dm       string
	}
	var cits []*citizen
	for i, l := range langs {
		cits = append(cits, &citizen{lang: l, platform: "telegram", tgUser: tgemu.User{ID: int64(770000 + i), FirstName: "Citizen " + l}})
		u := w.emu.AddUser("Citizen "+l, false)
		dm, err := w.emu.DMChannel(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		cits = append(cits, &citizen{lang: l, platform: "discord", dcUser: u, dm: dm})
	}
	post := func(c *citizen, text string) {
		t.Helper()
		if c.platform == "telegram" {
			if _, err := tg.Post(tgemu.Incoming{From: c.tgUser, Text: text}); err != nil {
				t.Fatal(err)
			}
			return
		}
		if _, err := w.emu.Post(c.dm, c.dcUser.ID, text); err != nil {
			t.Fatal(err)
		}
	}
	received := func(c *citizen) []string {
		var out []string
		if c.platform == "telegram" {
			for _, m := range tg.Sent(c.tgUser.ID) {
				out = append(out, m.Text)
			}
			return out
		}
		for _, m := range w.emu.Sent(c.dm) {
			out = append(out, m.Content)
		}
		return out
	}
	waitAll := func(n int, what string) {
		t.Helper()
		waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d %s in every chat", n, what) }, s, func() bool {
			for _, c := range cits {
				if len(received(c)) < n {
					return false
				}
			}
			return true
		})
	}

	for _, c := range cits {
		post(c, langReports[c.lang])
	}
	waitAll(1, "acknowledgement")
	for _, c := range cits {
		post(c, "/status")
	}
	waitAll(2, "answers (acknowledgement, /status)")
	for _, c := range cits {
		post(c, "/help")
	}
	waitAll(3, "answers (acknowledgement, /status, /help)")
	for _, c := range cits {
		post(c, langThanks[c.lang])
	}
	waitAll(4, "answers (acknowledgement, /status, /help, thanks)")
	time.Sleep(300 * time.Millisecond) // nothing more should come
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	for _, c := range cits {
		cat := set.Catalog(c.lang)
		got := received(c)
		name := c.platform + "/" + c.lang
		if len(got) != 4 {
			t.Errorf("%s: got %d messages, want 4: %q", name, len(got), got)
			continue
		}
		// The acknowledgement: the language's "case {ref}" sentence,
		// from which the reference is read.
		before, after, _ := strings.Cut(cat.Text("chat.ack_new"), "{ref}")
		re := regexp.MustCompile(regexp.QuoteMeta(before) + `([0-9A-Z]{6})` + regexp.QuoteMeta(after))
		m := re.FindStringSubmatch(got[0])
		if m == nil {
			t.Errorf("%s: acknowledgement not in %s: %q", name, c.lang, got[0])
			continue
		}
		ref := m[1]
		if want := cat.Text("chat.ack_next"); !strings.Contains(got[0], want) {
			t.Errorf("%s: acknowledgement lacks %q: %q", name, want, got[0])
		}
		if want := cat.Text("chat.topics.street_lighting"); !strings.Contains(got[0], want) {
			t.Errorf("%s: acknowledgement lacks the topic in %s (%q): %q", name, c.lang, want, got[0])
		}
		// /status lists the case under the language's header.
		if header := cat.Text("chat.status_header"); !strings.HasPrefix(got[1], header) || !strings.Contains(got[1], ref) {
			t.Errorf("%s: /status = %q, want %q and case %s", name, got[1], header, ref)
		}
		// /help is the language's help text.
		if want := strings.ReplaceAll(cat.Text("chat.help"), "{city}", "Citybot Town"); got[2] != want {
			t.Errorf("%s: /help = %q, want %q", name, got[2], want)
		}
		// A thank-you opens no case and is answered in the language.
		if want := cat.Text("chat.thanks"); got[3] != want {
			t.Errorf("%s: reply to %q = %q, want %q", name, langThanks[c.lang], got[3], want)
		}
		t.Logf("%s: case %s acknowledged; /status, /help and thanks answered in %s", name, ref, cat.Name())
	}
}
