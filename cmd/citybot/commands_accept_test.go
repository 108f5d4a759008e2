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

// TestAcceptCommandsAlikeOnBothPlatforms: the citizen commands and their
// words are decided once (citybot.ParseCommand), so the same texts typed
// on Telegram and on Discord (through the real clients against tgemu and
// dcemu, served by serve) get the same answers: a command citybot does not
// know gets the help and opens no case; a command's word is read in any
// case, and addressed to the bot (/START@citybot) it is the same command.
func TestAcceptCommandsAlikeOnBothPlatforms(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve against both emulators")
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
	cfg = "[city]\nname = \"Port Ribbon\"\n" + cfg
	s := w.startServeAt(t, dbPath, cfg, map[string]string{envDiscordToken: dcToken, envTelegramToken: tg.Token()})

	tgUser := tgemu.User{ID: 880001, FirstName: "Tess", LanguageCode: "en"}
	dcUser := w.emu.AddUser("Dina", false)
	dm, err := w.emu.DMChannel(dcUser.ID)
	if err != nil {
		t.Fatal(err)
	}
	received := map[string]func() []string{
		"telegram": func() []string {
			var out []string
			for _, m := range tg.Sent(tgUser.ID) {
				out = append(out, m.Text)
			}
			return out
		},
		"discord": func() []string {
			var out []string
			for _, m := range w.emu.Sent(dm) {
				out = append(out, m.Content)
			}
			return out
		},
	}
	say := func(text string, n int) {
		t.Helper()
		if _, err := tg.Post(tgemu.Incoming{From: tgUser, Text: text}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.emu.Post(dm, dcUser.ID, text); err != nil {
			t.Fatal(err)
		}
		waitCond(t, 60*time.Second, func() string { return fmt.Sprintf("%d answers on both platforms after %q", n, text) }, s, func() bool {
			return len(received["telegram"]()) >= n && len(received["discord"]()) >= n
		})
	}
	say("There is a deep pothole on Harbour Street", 1)
	say("/frobnicate the lamp", 2)
	say("/HELP", 3)
	say("/Status", 4)
	say("/START@citybot", 5)
	time.Sleep(300 * time.Millisecond) // nothing more should come
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve: %v", err)
	}

	en := locale.MustEmbedded().Catalog("en")
	help := strings.ReplaceAll(en.Text("chat.help"), "{city}", "Port Ribbon")
	before, after, _ := strings.Cut(en.Text("chat.ack_new"), "{ref}")
	ack := regexp.MustCompile(regexp.QuoteMeta(before) + `([0-9A-Z]{6})` + regexp.QuoteMeta(after))
	shapes := map[string][]string{}
	for platform, got := range received {
		got := got()
		if len(got) != 5 {
			t.Errorf("%s: %d answers, want 5: %q", platform, len(got), got)
			continue
		}
		first := ack.FindStringSubmatch(got[0])
		if first == nil {
			t.Errorf("%s: the report opened no case: %q", platform, got[0])
			continue
		}
		if got[1] != help || got[2] != help {
			t.Errorf("%s: an unknown command and /HELP got %q and %q, want the help %q", platform, got[1], got[2], help)
		}
		// /Status lists the one case: the unknown command opened none.
		if want := en.Text("chat.status_header") + "\n" + first[1] + " "; !strings.HasPrefix(got[3], want) || len(caseLine.FindAllString(got[3], -1)) != 1 {
			t.Errorf("%s: /Status = %q, want case %s only", platform, got[3], first[1])
		}
		if got[4] != en.Text("chat.start") {
			t.Errorf("%s: /START@citybot = %q, want the start text", platform, got[4])
		}
		// The same answers but for the references.
		for _, m := range got {
			shapes[platform] = append(shapes[platform], regexp.MustCompile(`\b[0-9A-Z]{6}\b`).ReplaceAllString(m, "REF"))
		}
	}
	if tgs, dcs := strings.Join(shapes["telegram"], "\n--\n"), strings.Join(shapes["discord"], "\n--\n"); tgs != dcs {
		t.Errorf("the platforms answered differently:\ntelegram:\n%s\ndiscord:\n%s", tgs, dcs)
	}
}

// caseLine is a case's line in /status: its reference, a dash, its topic.
var caseLine = regexp.MustCompile(`(?m)^[0-9A-Z]{6} — `)
