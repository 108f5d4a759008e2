package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"citybot"
	"citybot/bots/telegram/tgemu"
)

// TestAcceptBadInput runs serve against the emulator and interleaves good
// citizen messages with hostile ones: an empty message, a 10 MB text,
// invalid UTF-8, control characters and terminal escapes, HTML, an
// update the library cannot decode, and update kinds citybot does not
// handle (or that do not exist yet). citybot must not crash (it still
// answers /healthz and stops cleanly), must store and acknowledge every
// good message and every bad one that still says something, and must log
// a skip for the rest.
func TestAcceptBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("moves a 10 MB update through the whole pipeline; skipped with -short")
	}
	emu := acceptStartEmulator(t, tgemu.Options{})
	s := startServe(t, map[string]string{envTelegramToken: emu.Token()}, fmt.Sprintf(`[telegram]
api_endpoint = %q
poll_timeout = "1s"
[discord]
enabled = false
[outbox]
poll_interval = "200ms"
`, emu.Endpoint()))

	type sentMsg struct {
		name   string
		chat   int64
		id     int
		stored bool // must be stored (once) and its case acknowledged
		check  func(text string, truncated bool, size int) string
	}
	var msgs []sentMsg
	uid := int64(20000)
	citizen := func() tgemu.User { uid++; return tgemu.User{ID: uid, FirstName: "Bad", LanguageCode: "en"} }
	good := func(n int) {
		u := citizen()
		p, err := emu.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("%s (good %d)", e2eTexts[n%len(e2eTexts)], n)})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, sentMsg{name: fmt.Sprintf("good %d", n), chat: p.Chat, id: p.MessageID, stored: true})
	}
	raw := func(kind string, payload any) {
		b, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := emu.PostRaw(kind, b); err != nil {
			t.Fatal(err)
		}
	}
	clean := func(text string, _ bool, _ int) string {
		if !utf8.ValidString(text) {
			return "stored text is not valid UTF-8"
		}
		for _, r := range text {
			if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
				return fmt.Sprintf("stored text keeps control character %U", r)
			}
		}
		return ""
	}

	n := 0
	good(n)
	n++

	// An empty message: Telegram does not send those, but a buggy proxy
	// might. Skipped (nothing to store), logged.
	u := citizen()
	if _, err := emu.Post(tgemu.Incoming{From: u, Text: ""}); err != nil {
		t.Fatal(err)
	}
	good(n)
	n++

	// 10 MB of text: stored cut to the cap, with its original size.
	huge := strings.Repeat("The pothole on Main Street is huge. ", 10<<20/36+1)
	u = citizen()
	p, err := emu.Post(tgemu.Incoming{From: u, Text: huge})
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, sentMsg{name: "10 MB", chat: p.Chat, id: p.MessageID, stored: true, check: func(text string, truncated bool, size int) string {
		if !truncated || size != len(huge) || len(text) > citybot.MaxStoredText || !strings.HasPrefix(huge, text) {
			return fmt.Sprintf("stored %d bytes, truncated %v, original size %d; want a prefix of at most %d bytes of %d", len(text), truncated, size, citybot.MaxStoredText, len(huge))
		}
		return ""
	}})
	good(n)
	n++

	// Invalid UTF-8 bytes straight in the update's JSON (which Go's
	// encoder would have replaced: this is written by hand).
	u = citizen()
	// A hand-made update does not create the chat in the emulator, which
	// would then answer the acknowledgement "chat not found"; Telegram
	// knows the chat of a citizen who wrote.
	emu.BlockChat(u.ID, false)
	invalid := fmt.Sprintf(`{"message_id":900001,"date":%d,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"Bad"},"text":"Broken \xff\xfe bytes about the broken street light \xc3"}`,
		time.Now().Unix(), u.ID, u.ID)
	if _, err := emu.PostRaw("message", json.RawMessage(invalid)); err != nil {
		// tgemu refuses a payload that is not JSON; escaped lone
		// surrogates are the JSON way to send broken text.
		invalid = fmt.Sprintf(`{"message_id":900001,"date":%d,"chat":{"id":%d,"type":"private"},"from":{"id":%d,"is_bot":false,"first_name":"Bad"},"text":"Broken \ud800\udfff\ud800 bytes about the broken street light"}`,
			time.Now().Unix(), u.ID, u.ID)
		if _, err := emu.PostRaw("message", json.RawMessage(invalid)); err != nil {
			t.Fatal(err)
		}
	}
	msgs = append(msgs, sentMsg{name: "invalid UTF-8", chat: u.ID, id: 900001, stored: true, check: clean})

	// Control characters, a terminal escape and HTML.
	u = citizen()
	p, err = emu.Post(tgemu.Incoming{From: u, Text: "Garbage\x00 everywhere\x07 on \x1b[31mOak Avenue\x1b[0m\u202e <script>alert('x')</script> <b>now</b>"})
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, sentMsg{name: "control characters", chat: p.Chat, id: p.MessageID, stored: true, check: func(text string, tr bool, size int) string {
		if why := clean(text, tr, size); why != "" {
			return why
		}
		if !strings.Contains(text, "<script>alert('x')</script>") {
			return "HTML was not stored as the citizen wrote it (escaping is for display)"
		}
		return ""
	}})
	good(n)
	n++

	// Updates citybot does not handle, one it cannot decode, and a kind
	// Telegram may add tomorrow: logged and confirmed, never retried
	// forever, never blocking what follows.
	raw("poll", map[string]any{"id": "p1", "question": "Best park?", "options": []any{}, "total_voter_count": 0, "is_closed": false, "is_anonymous": true, "type": "regular", "allows_multiple_answers": false})
	raw("my_chat_member", map[string]any{"chat": map[string]any{"id": -100777, "type": "group", "title": "x"}, "from": map[string]any{"id": 5, "is_bot": false, "first_name": "A"}, "date": 1, "old_chat_member": map[string]any{"status": "left", "user": map[string]any{"id": 1, "is_bot": true, "first_name": "B"}}, "new_chat_member": map[string]any{"status": "member", "user": map[string]any{"id": 1, "is_bot": true, "first_name": "B"}}})
	raw("message_reaction_from_the_future", map[string]any{"anything": []any{1, "two", nil}})
	raw("message", map[string]any{"message_id": "not a number", "chat": "not an object"})
	raw("channel_post", map[string]any{"message_id": 7, "date": 1, "chat": map[string]any{"id": -100888, "type": "channel", "title": "News"}, "text": "a channel post"})
	good(n)
	n++

	live := acceptOpenDB(t, s.dbPath)
	stored := 0
	for _, m := range msgs {
		if m.stored {
			stored++
		}
	}
	acceptEventually(t, 60*time.Second, func() (bool, string) {
		in := acceptCount(t, live, `SELECT COUNT(*) FROM messages WHERE direction = 'in'`)
		out := acceptCount(t, live, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
		return emu.Pending() == 0 && in == stored && out == 0,
			fmt.Sprintf("%d unconfirmed updates, %d/%d stored, %d to send:%s\nlogs:\n%s", emu.Pending(), in, stored, out, acceptUnsent(t, live), tail(s.logs.String(), 3000))
	})
	// Still alive and healthy.
	if code, body := httpGet(t, "http://"+s.ready.HTTPAddr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after bad input = %d %s", code, body)
	}
	if err := s.shutdown(t); err != nil {
		t.Fatalf("serve after bad input: %v", err)
	}

	db := acceptOpenDB(t, s.dbPath)
	for _, m := range msgs {
		if got := acceptStoredIn(t, db, m.chat, m.id); got != 1 {
			t.Errorf("%s: stored %d times, want 1", m.name, got)
			continue
		}
		if m.check != nil {
			var text string
			var truncated bool
			var size int
			if err := db.QueryRow(`SELECT m.text, m.text_truncated, m.original_size FROM messages m JOIN chats c ON c.id = m.chat_id
				WHERE c.platform_chat_id = ? AND m.platform_message_id = ?`, fmt.Sprint(m.chat), fmt.Sprint(m.id)).Scan(&text, &truncated, &size); err != nil {
				t.Fatal(err)
			}
			if why := m.check(text, truncated, size); why != "" {
				t.Errorf("%s: %s", m.name, why)
			}
		}
	}
	cases := acceptCases(t, db)
	if len(cases) != stored {
		t.Errorf("%d cases, want %d", len(cases), stored)
	}
	acceptCheckAcks(t, emu, cases)
	if n := acceptCount(t, db, `SELECT COUNT(*) FROM outbox WHERE state <> 'sent'`); n != 0 {
		t.Errorf("%d outbox rows not sent", n)
	}
	for _, m := range emu.AllSent() {
		if len([]rune(m.Text)) > 4096 {
			t.Errorf("a reply of %d runes was sent", len([]rune(m.Text)))
		}
	}

	// Each skip is logged with its reason; nothing panicked.
	logs := s.logs.String()
	for _, want := range []string{"no text or attachment", "kind not handled", "undecodable", `"kind":"channel_post"`, `"kind":"poll"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("no log line says %q", want)
		}
	}
	if strings.Contains(logs, "panic") {
		t.Errorf("a panic was logged")
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// TestAcceptBadConfig: an unknown config key, a wrong token and an
// unusable database path each end run() with a clear error and the right
// exit status, never a panic, and never show the token.
func TestAcceptBadConfig(t *testing.T) {
	emu := acceptStartEmulator(t, tgemu.Options{})
	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	const wrongToken = "424242:WRONG-bad-config-token-never-shown"
	base := func(dbPath string) string {
		return fmt.Sprintf("[store]\npath = %q\n[http]\naddr = \"127.0.0.1:0\"\n[discord]\nenabled = false\n[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n",
			dbPath, emu.Endpoint())
	}
	for _, tt := range []struct {
		name   string
		config string
		token  string
		code   int
		want   []string // in the error text
	}{
		{"unknown key", base(filepath.Join(dir, "a.db")) + "shiny_new_option = true\n", emu.Token(), exitUsage, []string{"shiny_new_option"}},
		{"unknown section key", base(filepath.Join(dir, "b.db")) + "[outbox]\nworkerz = 3\n", emu.Token(), exitUsage, []string{"workerz"}},
		{"wrong token", base(filepath.Join(dir, "c.db")), wrongToken, exitRuntime, []string{envTelegramToken}},
		{"database under a file", base(filepath.Join(aFile, "d.db")), emu.Token(), exitRuntime, []string{"d.db"}},
		{"database in a missing directory", base(filepath.Join(dir, "missing", "e.db")), emu.Token(), exitRuntime, []string{"e.db"}},
		{"database is a directory", base(dir), emu.Token(), exitRuntime, []string{filepath.Base(dir)}},
		{"database on a read-only file system", base("/proc/citybot-accept.db"), emu.Token(), exitRuntime, []string{"citybot-accept.db"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("run panicked: %v", p)
					}
				}()
				err = run(ctx, []string{"--config", writeConfig(t, tt.config), "serve"},
					envMap(map[string]string{envTelegramToken: tt.token}), strings.NewReader(""), io.Discard, &stderr)
			}()
			if err == nil {
				t.Fatal("run returned nil")
			}
			if ctx.Err() != nil {
				t.Fatalf("run took the whole timeout: %v", err)
			}
			if got := exitCode(err); got != tt.code {
				t.Errorf("exit code %d, want %d (error: %v)", got, tt.code, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if all := err.Error() + stderr.String(); strings.Contains(all, "WRONG-bad-config") || strings.Contains(all, emu.Token()) {
				t.Errorf("the token shows in the error or logs: %v", err)
			}
		})
	}
}
