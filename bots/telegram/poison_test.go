package telegram_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// checkSkipLog checks that the log says, at error level, that an update
// was skipped, without the citizen's text or identity.
func checkSkipLog(t *testing.T, e *env, reason, secretText string) {
	t.Helper()
	logs := e.logs.String()
	var line string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "update skipped: it could not be handled") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no skip logged")
	}
	for _, want := range []string{`"level":"ERROR"`, `"reason":"` + reason + `"`, `"skipped_total":1`} {
		if !strings.Contains(line, want) {
			t.Errorf("skip log %s lacks %s", line, want)
		}
	}
	for _, leak := range []string{secretText, "Alice", "Dupont", "alice_d", "5001"} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}

// A message the handler always fails on is skipped after
// MaxHandlerAttempts tries, and the ones after it are handled and
// confirmed: one poison update no longer blocks the chat's intake.
func TestPoisonUpdateSkippedAfterMaxAttempts(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	e.dumpLogsOnFailure(t)
	b := e.bot(t, func(o *telegram.Options) { o.MaxHandlerAttempts = 3 })
	h := newHandler()
	p1, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "poison zqx"})
	p2, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "after"})
	h.failNext(p1.MessageID, 1000)
	stop := run(t, b, h)
	waitFor(t, "the message after the poison one", func() bool { return h.count() == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := h.callsFor(p1.MessageID); got != 3 {
		t.Errorf("handler saw the poison message %d times, want 3", got)
	}
	if m := h.messages()[0]; m.Text != "after" {
		t.Errorf("handled %q", m.Text)
	}
	if n := b.SkippedUpdates(); n != 1 {
		t.Errorf("SkippedUpdates = %d, want 1", n)
	}
	if got, want := e.cur.values(), []string{strconv.Itoa(p1.UpdateID + 1), strconv.Itoa(p2.UpdateID + 1)}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("offsets stored %v, want %v", got, want)
	}
	checkSkipLog(t, e, "handler kept failing", "zqx")
}

// A handler that panics on an update is not retried: the update is
// skipped at once and the next one handled.
func TestPanickingUpdateSkipped(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	e.dumpLogsOnFailure(t)
	b := e.bot(t, nil)
	h := newHandler()
	p1, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "boom zqx"})
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "after"})
	h.panicOn(p1.MessageID)
	stop := run(t, b, h)
	waitFor(t, "the message after the panicking one", func() bool { return h.count() == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := h.callsFor(p1.MessageID); got != 1 {
		t.Errorf("handler saw the panicking message %d times, want 1", got)
	}
	if n := b.SkippedUpdates(); n != 1 {
		t.Errorf("SkippedUpdates = %d, want 1", n)
	}
	checkSkipLog(t, e, "handler panicked", "zqx")
	if !strings.Contains(e.logs.String(), "panic_type") {
		t.Error("the panic's type is not logged")
	}
}

// In webhook mode a panicking handler is answered 200 (not redelivered)
// and counted.
func TestWebhookPanicNotRedelivered(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	e.dumpLogsOnFailure(t)
	const secret = "s3cret_Webhook-token"
	var bot atomic.Pointer[telegram.Bot]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bot.Load().WebhookHandler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	b := e.bot(t, func(o *telegram.Options) {
		o.Mode, o.WebhookURL, o.WebhookSecret, o.Cursors = telegram.ModeWebhook, srv.URL, secret, nil
	})
	bot.Store(b)
	h := newHandler()
	h.panicOn(7)
	run(t, b, h)
	body := `{"update_id":42,"message":{"message_id":7,"date":1,"chat":{"id":5001,"type":"private"},"from":{"id":5001,"first_name":"Alice"},"text":"boom zqx"}}`
	waitFor(t, "the webhook to be registered", func() bool { return postHook(t, srv.URL, secret, `{"update_id":1}`) == http.StatusOK })
	if code := postHook(t, srv.URL, secret, body); code != http.StatusOK {
		t.Errorf("panicking update answered %d, want 200", code)
	}
	if got := h.callsFor(7); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
	if n := b.SkippedUpdates(); n != 1 {
		t.Errorf("SkippedUpdates = %d, want 1", n)
	}
	checkSkipLog(t, e, "handler panicked", "zqx")
}
