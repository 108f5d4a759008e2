package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

func TestWrongTokenIsAClearError(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	const wrong = "987654321:WRONG-token_abcdefghijklmnop"
	o := e.options()
	o.Token = wrong
	_, err := telegram.New(context.Background(), o)
	if !errors.Is(err, citybot.ErrForbidden) || !strings.Contains(err.Error(), "rejected the token") {
		t.Fatalf("err = %v, want a clear ErrForbidden", err)
	}
	assertNoToken(t, err.Error(), wrong)
	assertNoToken(t, e.logs.String(), wrong)
	if e.emu.Stats().Unauthorized != 1 {
		t.Errorf("emulator saw %d unauthorized calls, want 1 (no retry on 401)", e.emu.Stats().Unauthorized)
	}
}

func TestBadOptions(t *testing.T) {
	base := telegram.Options{Token: "1:x", Cursors: newCursors(), APIEndpoint: "http://127.0.0.1:1/bot%s/%s"}
	cases := map[string]func(*telegram.Options){
		"no token":            func(o *telegram.Options) { o.Token = "" },
		"endpoint one %s":     func(o *telegram.Options) { o.APIEndpoint = "http://127.0.0.1/bot%s" },
		"endpoint extra verb": func(o *telegram.Options) { o.APIEndpoint = "http://127.0.0.1/bot%s/%s/%d" },
		"mode":                func(o *telegram.Options) { o.Mode = "push" },
		"webhook without URL": func(o *telegram.Options) { o.Mode = telegram.ModeWebhook; o.WebhookSecret = "abc" },
		"webhook bad secret": func(o *telegram.Options) {
			o.Mode = telegram.ModeWebhook
			o.WebhookURL = "https://x/y"
			o.WebhookSecret = "no spaces"
		},
		"polling no cursors":    func(o *telegram.Options) { o.Cursors = nil },
		"poll timeout too low":  func(o *telegram.Options) { o.PollTimeout = 10 * time.Millisecond },
		"client timeout < poll": func(o *telegram.Options) { o.HTTPClient = &http.Client{Timeout: 5 * time.Second} },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			o := base
			mod(&o)
			_, err := telegram.New(context.Background(), o)
			if !errors.Is(err, citybot.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestTokenNeverLeaks runs the adapter against a dead endpoint, a closed
// emulator and a failing one, with debug logs captured, and searches every
// error and log line for the token.
func TestTokenNeverLeaks(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	token := e.emu.Token()

	// Unreachable endpoint: the *url.Error holds the URL with the token.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	o := e.options()
	o.APIEndpoint = "http://" + dead + "/bot%s/%s"
	_, err = telegram.New(context.Background(), o)
	if err == nil {
		t.Fatal("New against a dead endpoint succeeded")
	}
	if !strings.Contains(err.Error(), "[REDACTED]") {
		t.Errorf("expected a redacted URL in %q", err)
	}
	assertNoToken(t, err.Error(), token)

	// Polling against an emulator that goes away and answers HTML 502s.
	b := e.bot(t, nil)
	h := newHandler()
	stop := run(t, b, h)
	e.emu.SetFaults(tgemu.Faults{BadGatewayShare: 0.5, ServerErrorShare: 0.5})
	waitFor(t, "a few failed polls", func() bool { return e.emu.Stats().InjectedFaults >= 3 })
	_ = e.emu.Close()
	waitFor(t, "a connection error logged", func() bool { return strings.Contains(e.logs.String(), "connection refused") })
	_ = stop()
	logs := e.logs.String()
	assertNoToken(t, logs, token)
	if !strings.Contains(logs, `"component":"telegram"`) {
		t.Error("logs lack the component attribute")
	}

	// The library's own logger goes through the redactor too.
	rec := &syncBuffer{}
	o2 := e.options()
	o2.Logger = slog.New(slog.NewTextHandler(rec, nil))
	o2.APIEndpoint = "http://" + dead + "/bot%s/%s"
	_, _ = telegram.New(context.Background(), o2)
	assertNoToken(t, rec.String(), token)
}

// TestHostileUpdatesDoNotCrash posts empty, huge, control-character and
// malformed updates; the adapter skips or delivers each, and keeps going.
func TestHostileUpdatesDoNotCrash(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	h := newHandler()
	stop := run(t, e.bot(t, nil), h)
	huge := strings.Repeat("a", 10<<20)
	ctl := "ctl \x00\x01\x07\x1b[2J\u202e\ufeff"
	for _, text := range []string{"", " ", huge, ctl, "\xff\xfe invalid", "/", "/@", "/" + strings.Repeat("x", 40), "@", "<script>alert(1)</script>"} {
		if _, err := e.emu.Post(tgemu.Incoming{From: alice(), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	raws := []struct{ kind, payload string }{
		// Entities pointing past the text, as a buggy or hostile server might.
		{"message", `{"message_id":900,"date":1,"chat":{"id":5001,"type":"private"},"from":{"id":5001,"first_name":"A"},"text":"/x","entities":[{"type":"bot_command","offset":0,"length":999}]}`},
		{"message", `{"message_id":901,"date":1,"chat":{"id":-5,"type":"group"},"from":{"id":5001,"first_name":"A"},"text":"hi","entities":[{"type":"text_mention","offset":50,"length":9}]}`},
		{"message", `{"message_id":902,"date":1,"text":"no chat"}`},
		{"message", `{"message_id":903,"date":1,"chat":{"id":-5,"type":"group"},"text":"no sender"}`},
		{"message", `{"message_id":904,"date":1,"chat":{"id":-100,"type":"channel"},"text":"channel"}`},
		{"callback_query", `{"id":"q1","from":{"id":5001,"first_name":"A"},"inline_message_id":"abc","data":"x"}`},
		{"edited_message", `{"message_id":905,"date":1,"chat":{"id":5001,"type":"weird"},"from":{"id":5001,"first_name":"A"},"text":"?"}`},
		{"message", `"not an object"`},
		{"message", `{"message_id":"not a number"}`},
	}
	for _, r := range raws {
		if _, err := e.emu.PostRaw(r.kind, json.RawMessage(r.payload)); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := e.emu.Post(tgemu.Incoming{From: bob(), Text: "still alive"})
	e.dumpLogsOnFailure(t)
	waitFor(t, "the last message", func() bool {
		_, ok := h.find(bob().ID, last.MessageID)
		return ok
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var sawHuge, sawCtl, sawCmdEntity bool
	for _, m := range h.messages() {
		sawHuge = sawHuge || len(m.Text) == len(huge)
		sawCtl = sawCtl || m.Text == ctl
		sawCmdEntity = sawCmdEntity || (m.ID == "900" && m.Command == "x")
		if strings.TrimSpace(m.Text) == "" && len(m.Attachments) == 0 {
			t.Errorf("an empty message was delivered: %+v", m)
		}
	}
	if !sawHuge || !sawCtl || !sawCmdEntity {
		t.Errorf("huge=%v ctl=%v command-with-bad-entity=%v; want all delivered", sawHuge, sawCtl, sawCmdEntity)
	}
}
