package telegram_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"citybot"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

// TestOffsetStoredOnlyAfterHandled makes the handler fail twice on one
// message: the adapter must neither store its offset nor go past it, and
// must redeliver it until the handler accepts it.
func TestOffsetStoredOnlyAfterHandled(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	b := e.bot(t, nil)
	h := newHandler()
	p1, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "first"})
	p2, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "second"})
	p3, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "third"})
	h.failNext(p2.MessageID, 2)
	stop := run(t, b, h)

	waitFor(t, "all three handled", func() bool { return len(h.messages()) == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := h.callsFor(p2.MessageID); got != 3 {
		t.Errorf("handler saw the failing message %d times, want 3 (2 failures, then success)", got)
	}
	var order []string
	for _, m := range h.messages() {
		order = append(order, m.Text)
	}
	if strings.Join(order, ",") != "first,second,third" {
		t.Errorf("handled in order %v", order)
	}
	// Offsets are stored one by one, each after its update was handled:
	// never the offset past the failing update before it succeeded.
	want := []string{strconv.Itoa(p1.UpdateID + 1), strconv.Itoa(p2.UpdateID + 1), strconv.Itoa(p3.UpdateID + 1)}
	if got := e.cur.values(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("offsets stored %v, want %v", got, want)
	}
	if e.emu.Pending() != 0 {
		// The last offset is confirmed by the next poll, which Run may
		// not have made before it stopped; confirm it as a restart would.
		b2 := e.bot(t, nil)
		h2 := newHandler()
		stop2 := run(t, b2, h2)
		waitFor(t, "confirmation", func() bool { return e.emu.Pending() == 0 })
		_ = stop2()
		if n := len(h2.messages()); n != 0 {
			t.Errorf("restart redelivered %d handled messages", n)
		}
	}
}

// TestRestartResumesFromCursor stops the adapter, lets citizens write while
// it is down, and starts a new one on the same cursors: it gets exactly the
// new messages.
func TestRestartResumesFromCursor(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	h1 := newHandler()
	stop1 := run(t, e.bot(t, nil), h1)
	for i := range 3 {
		if _, err := e.emu.Post(tgemu.Incoming{From: bob(), Text: "before " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "first run", func() bool { return len(h1.messages()) == 3 })
	if err := stop1(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := e.emu.Post(tgemu.Incoming{From: bob(), Text: "while down " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	h2 := newHandler()
	stop2 := run(t, e.bot(t, nil), h2)
	waitFor(t, "second run", func() bool { return len(h2.messages()) >= 2 && e.emu.Pending() == 0 })
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range h2.messages() {
		got = append(got, m.Text)
	}
	if strings.Join(got, ",") != "while down 0,while down 1" {
		t.Errorf("after restart got %q", got)
	}
}

// TestRunStopsPromptly cancels Run in the middle of a 30 s long poll.
func TestRunStopsPromptly(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	b := e.bot(t, func(o *telegram.Options) { o.PollTimeout = 30 * time.Second })
	stop := run(t, b, newHandler())
	waitFor(t, "a long poll", func() bool { return e.emu.Stats().Calls["getUpdates"] > 0 })
	if err := stop(); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

// TestRunStopsOnRevokedToken: once Telegram answers 401 to getUpdates, Run
// returns an error wrapping citybot.ErrForbidden and without the token.
func TestRunStopsOnRevokedToken(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	var revoked atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if revoked.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"ok":false,"error_code":401,"description":"Unauthorized"}`))
			return
		}
		e.emu.Handler().ServeHTTP(w, r)
	}))
	defer proxy.Close()
	b := e.bot(t, func(o *telegram.Options) { o.APIEndpoint = proxy.URL + "/bot%s/%s" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, newHandler()) }()
	// Revoke the token while Run is polling.
	waitFor(t, "polling", func() bool { return e.emu.Stats().Calls["getUpdates"] > 0 })
	revoked.Store(true)
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatal("Run kept going after 401")
	}
	if !errors.Is(err, citybot.ErrForbidden) {
		t.Fatalf("Run = %v, want ErrForbidden", err)
	}
	if strings.Contains(err.Error(), e.emu.Token()) {
		t.Errorf("error leaks the token: %v", err)
	}
}

// TestPollingSurvivesFaults: with 429s, 500s and HTML 502s on a share of
// getUpdates calls, every message still arrives exactly once, in order.
func TestPollingSurvivesFaults(t *testing.T) {
	e := newEnv(t, tgemu.Options{Faults: tgemu.Faults{
		ServerErrorShare: 0.2, BadGatewayShare: 0.2, Methods: []string{"getUpdates"}, Seed: 7,
	}})
	h := newHandler()
	stop := run(t, e.bot(t, nil), h)
	const n = 30
	for i := range n {
		if _, err := e.emu.Post(tgemu.Incoming{From: alice(), Text: "msg " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all messages", func() bool { return len(h.messages()) >= n && e.emu.Pending() == 0 })
	_ = stop()
	msgs := h.messages()
	if len(msgs) != n {
		t.Fatalf("handled %d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m.Text != "msg "+strconv.Itoa(i) {
			t.Fatalf("message %d is %q", i, m.Text)
		}
	}
	if e.emu.Stats().InjectedFaults == 0 {
		t.Fatal("no fault was injected; the test proves nothing")
	}
	if strings.Contains(e.logs.String(), e.emu.Token()) {
		t.Error("logs contain the token")
	}
}

// TestWebhook registers the webhook with a secret, lets the emulator push
// updates to WebhookHandler, and checks the secret and the redelivery of
// an update the handler failed.
func TestWebhook(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	const secret = "s3cret_Webhook-token"
	var bot atomic.Pointer[telegram.Bot]
	mux := http.NewServeMux()
	mux.Handle("/tg/hook", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bot.Load().WebhookHandler().ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b := e.bot(t, func(o *telegram.Options) {
		o.Mode = telegram.ModeWebhook
		o.WebhookURL = srv.URL + "/tg/hook"
		o.WebhookSecret = secret
		o.Cursors = nil
	})
	bot.Store(b)

	// Before Run, the handler refuses with 503 so Telegram retries.
	if code := postHook(t, srv.URL+"/tg/hook", secret, `{"update_id":1}`); code != http.StatusServiceUnavailable {
		t.Errorf("before Run: %d, want 503", code)
	}
	h := newHandler()
	p1, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "via webhook"})
	h.failNext(p1.MessageID, 1)
	stop := run(t, b, h)
	waitFor(t, "webhook delivery", func() bool { return len(h.messages()) == 1 && e.emu.Pending() == 0 })
	if got := h.callsFor(p1.MessageID); got != 2 {
		t.Errorf("handler calls = %d, want 2 (a failure answered 500, then the redelivery)", got)
	}
	if st := e.emu.Stats(); st.WebhookFailures < 1 || st.WebhookDeliveries < 1 {
		t.Errorf("stats = %+v", st)
	}

	for _, c := range []struct {
		name, secret string
		want         int
	}{
		{"wrong secret", "nope", http.StatusUnauthorized},
		{"no secret", "", http.StatusUnauthorized},
		{"secret prefix", secret[:5], http.StatusUnauthorized},
		{"right secret, not an update", secret, http.StatusBadRequest},
	} {
		body := `{"update_id":99,"message":{"message_id":1,"date":1,"chat":{"id":5001,"type":"private"},"from":{"id":5001,"first_name":"Eve"},"text":"forged"}}`
		if c.want == http.StatusBadRequest {
			body = `<html>`
		}
		if code := postHook(t, srv.URL+"/tg/hook", c.secret, body); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	for _, m := range h.messages() {
		if m.Text == "forged" {
			t.Error("a forged update reached the handler")
		}
	}
	// Polling is refused while the webhook is set, as on Telegram.
	if info := e.emu.Stats(); info.Calls["setWebhook"] != 1 {
		t.Errorf("setWebhook calls = %d", info.Calls["setWebhook"])
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func postHook(t *testing.T, url, secret, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRestartAfterCrashBeforeConfirm: the process handled updates and
// stored the offset, but died before the next poll confirmed them to
// Telegram. On restart they come back and are skipped; the rest is taken.
func TestRestartAfterCrashBeforeConfirm(t *testing.T) {
	e := newEnv(t, tgemu.Options{})
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "handled 1"})
	p2, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "handled 2"})
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "new"})
	b := e.bot(t, nil)
	_ = e.cur.SetCursor(context.Background(), "telegram/"+strconv.FormatInt(e.emu.Bot().ID, 10)+"/offset", strconv.Itoa(p2.UpdateID+1))
	h := newHandler()
	stop := run(t, b, h)
	waitFor(t, "the new message", func() bool { return len(h.messages()) >= 1 && e.emu.Pending() == 0 })
	_ = stop()
	if got := h.messages(); len(got) != 1 || got[0].Text != "new" {
		t.Errorf("handled %+v, want only the new message", got)
	}
}

// TestUpdateIDsGoingBackwards: a stored offset far above Telegram's ids
// (ids reset, or a restarted emulator) must not delete new updates.
func TestUpdateIDsGoingBackwards(t *testing.T) {
	e := newEnv(t, tgemu.Options{FirstUpdateID: 500})
	b := e.bot(t, nil)
	_ = e.cur.SetCursor(context.Background(), "telegram/"+strconv.FormatInt(e.emu.Bot().ID, 10)+"/offset", "900000")
	_, _ = e.emu.Post(tgemu.Incoming{From: alice(), Text: "after the reset"})
	h := newHandler()
	stop := run(t, b, h)
	waitFor(t, "the message", func() bool { return len(h.messages()) == 1 && e.emu.Pending() == 0 })
	_ = stop()
	if !strings.Contains(e.logs.String(), "went backwards") {
		t.Error("the reset was not logged")
	}
	if v, _ := e.cur.Cursor(context.Background(), "telegram/"+strconv.FormatInt(e.emu.Bot().ID, 10)+"/offset"); v != "501" {
		t.Errorf("stored offset = %q, want 501", v)
	}
}

// TestPollingHonoursRetryAfter: a 429 on getUpdates makes the loop wait
// the server's retry_after rather than its own backoff.
func TestPollingHonoursRetryAfter(t *testing.T) {
	e := newEnv(t, tgemu.Options{Faults: tgemu.Faults{RateLimitShare: 1, RetryAfter: 1, Methods: []string{"getUpdates"}}})
	e.dumpLogsOnFailure(t)
	h := newHandler()
	stop := run(t, e.bot(t, nil), h)
	waitFor(t, "a 429", func() bool { return e.emu.Stats().InjectedFaults >= 1 })
	e.emu.SetFaults(tgemu.Faults{})
	p, _ := e.emu.Post(tgemu.Incoming{From: alice(), Text: "after the flood wait"})
	waitFor(t, "the message", func() bool { _, ok := h.find(alice().ID, p.MessageID); return ok })
	_ = stop()
	if !strings.Contains(e.logs.String(), `"retry_in":1000000000`) {
		t.Error("the poll loop did not wait retry_after (1s)")
	}
}
