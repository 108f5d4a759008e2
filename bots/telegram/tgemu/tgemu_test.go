package tgemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"citybot/bots/telegram/tgemu"
)

func start(t *testing.T, o tgemu.Options) (*tgemu.Server, *tgbotapi.BotAPI) {
	t.Helper()
	s := tgemu.New(o)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	api, err := tgbotapi.NewBotAPIWithClient(s.Token(), s.Endpoint(), &http.Client{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("tgbotapi against the emulator: %v", err)
	}
	return s, api
}

func citizen() tgemu.User {
	return tgemu.User{ID: 7001, FirstName: "Chloé", Username: "chloe", LanguageCode: "fr"}
}

func TestGetMe(t *testing.T) {
	s, api := start(t, tgemu.Options{BotUsername: "TownBot"})
	if api.Self.UserName != "TownBot" || !api.Self.IsBot || api.Self.ID != s.Bot().ID {
		t.Errorf("Self = %+v", api.Self)
	}
}

func TestWrongTokenIs401(t *testing.T) {
	s := tgemu.New(tgemu.Options{})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err := tgbotapi.NewBotAPIWithAPIEndpoint("1:wrong", s.Endpoint())
	var te *tgbotapi.Error
	if !errors.As(err, &te) || te.Code != 401 {
		t.Fatalf("err = %#v, want 401", err)
	}
}

func TestGetUpdatesOffsetSemantics(t *testing.T) {
	s, api := start(t, tgemu.Options{})
	p1, _ := s.Post(tgemu.Incoming{From: citizen(), Text: "one"})
	p2, _ := s.Post(tgemu.Incoming{From: citizen(), Text: "two"})
	get := func(offset int) []tgbotapi.Update {
		t.Helper()
		u, err := api.GetUpdates(tgbotapi.UpdateConfig{Offset: offset})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := get(0); len(u) != 2 || u[0].Message.Text != "one" || u[1].UpdateID != p2.UpdateID {
		t.Fatalf("first poll = %+v", u)
	}
	if u := get(0); len(u) != 2 {
		t.Fatalf("unconfirmed updates must be redelivered; got %d", len(u))
	}
	if u := get(p1.UpdateID + 1); len(u) != 1 || u[0].Message.Text != "two" {
		t.Fatalf("after confirming one: %+v", u)
	}
	if u := get(0); len(u) != 1 {
		t.Fatalf("a confirmed update came back: %d", len(u))
	}
	if u := get(p2.UpdateID + 1); len(u) != 0 || s.Pending() != 0 {
		t.Fatalf("after confirming all: %d updates, %d pending", len(u), s.Pending())
	}
}

func TestLongPollWakesAndConflicts(t *testing.T) {
	s, api := start(t, tgemu.Options{})
	type res struct {
		u   []tgbotapi.Update
		err error
	}
	first := make(chan res, 1)
	go func() {
		u, err := api.GetUpdates(tgbotapi.UpdateConfig{Timeout: 10})
		first <- res{u, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, func() bool { return s.Stats().Calls["getUpdates"] == 1 }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let the first poll start waiting
	// A second poller terminates the first with 409, as Telegram does.
	second := make(chan res, 1)
	go func() {
		u, err := api.GetUpdates(tgbotapi.UpdateConfig{Timeout: 10})
		second <- res{u, err}
	}()
	r := <-first
	var te *tgbotapi.Error
	if !errors.As(r.err, &te) || te.Code != 409 {
		t.Fatalf("first poll = %+v, want 409", r)
	}
	// The waiting poll wakes when a citizen writes.
	if _, err := s.Post(tgemu.Incoming{From: citizen(), Text: "wake up"}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-second:
		if r.err != nil || len(r.u) != 1 || r.u[0].Message.Text != "wake up" {
			t.Fatalf("second poll = %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("long poll did not wake")
	}
}

func TestMessagesLookLikeTelegrams(t *testing.T) {
	s, api := start(t, tgemu.Options{BotUsername: "TownBot"})
	const group = -1001234567890
	_, _ = s.Post(tgemu.Incoming{From: citizen(), Text: "/status@TownBot AB-12"})
	_, _ = s.Post(tgemu.Incoming{Chat: group, ChatTitle: "Centre", From: citizen(), Text: "éé 🎉 @TownBot hi", Media: tgemu.MediaPhoto})
	_, _ = s.Post(tgemu.Incoming{From: citizen(), Location: &tgemu.Location{Latitude: 1.5, Longitude: -2.5}})
	u, err := api.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(u) != 3 {
		t.Fatalf("%d updates, %v", len(u), err)
	}
	cmd := u[0].Message
	if !cmd.IsCommand() || cmd.Command() != "status" || cmd.CommandArguments() != "AB-12" || cmd.From.LanguageCode != "fr" || !cmd.Chat.IsPrivate() {
		t.Errorf("command message = %+v", cmd)
	}
	photo := u[1].Message
	if !photo.Chat.IsSuperGroup() || photo.Chat.Title != "Centre" || photo.Caption == "" || len(photo.Photo) != 2 || photo.Text != "" {
		t.Errorf("photo message = %+v", photo)
	}
	// Offsets are in UTF-16 units: "éé " is 3, "🎉 " is 3.
	if len(photo.CaptionEntities) != 1 || photo.CaptionEntities[0].Offset != 6 || photo.CaptionEntities[0].Length != 8 {
		t.Errorf("caption entities = %+v", photo.CaptionEntities)
	}
	if loc := u[2].Message.Location; loc == nil || loc.Latitude != 1.5 || loc.Longitude != -2.5 {
		t.Errorf("location = %+v", loc)
	}
}

func TestSendEditAnswer(t *testing.T) {
	s, api := start(t, tgemu.Options{})
	p, _ := s.Post(tgemu.Incoming{From: citizen(), Text: "hello"})
	msg := tgbotapi.NewMessage(citizen().ID, "Pick one")
	msg.ReplyToMessageID = p.MessageID
	msg.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonData("Roads", "cat:roads")))
	sent, err := api.Send(msg) // entities go as the literal "null"
	if err != nil {
		t.Fatal(err)
	}
	if sent.MessageID != p.MessageID+1 || sent.ReplyToMessage == nil || sent.ReplyToMessage.Text != "hello" || sent.ReplyMarkup == nil {
		t.Errorf("sent = %+v", sent)
	}
	press, err := s.Press(citizen().ID, sent.MessageID, citizen(), "cat:roads")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Press(citizen().ID, sent.MessageID, citizen(), "cat:nope"); err == nil {
		t.Error("pressing a button that does not exist succeeded")
	}
	u, _ := api.GetUpdates(tgbotapi.UpdateConfig{Offset: p.UpdateID + 1})
	if len(u) != 1 || u[0].CallbackQuery == nil || u[0].CallbackData() != "cat:roads" || u[0].CallbackQuery.Message.MessageID != sent.MessageID {
		t.Fatalf("callback update = %+v", u)
	}
	if _, err := api.Request(tgbotapi.NewCallback(press.CallbackID, "Saved")); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Request(tgbotapi.NewCallback(press.CallbackID, "again")); err == nil {
		t.Error("answering a query twice succeeded")
	}
	if a := s.Answers(); len(a) != 1 || a[0].Text != "Saved" {
		t.Errorf("answers = %+v", a)
	}
	if _, err := api.Send(tgbotapi.NewEditMessageText(citizen().ID, sent.MessageID, "Picked: roads")); err != nil {
		t.Fatal(err)
	}
	got := s.Sent(citizen().ID)
	if len(got) != 1 || got[0].Text != "Picked: roads" || got[0].Edits != 1 {
		t.Errorf("sent after edit = %+v", got)
	}
	for _, bad := range []tgbotapi.MessageConfig{
		tgbotapi.NewMessage(citizen().ID, ""),
		tgbotapi.NewMessage(424242, "to nobody"),
		tgbotapi.NewMessage(citizen().ID, strings.Repeat("x", 4097)),
		// 2049 runes but 4098 UTF-16 code units: Telegram counts the latter.
		tgbotapi.NewMessage(citizen().ID, strings.Repeat("🚧", 2049)),
	} {
		var te *tgbotapi.Error
		if _, err := api.Send(bad); !errors.As(err, &te) || te.Code != 400 {
			t.Errorf("bad send: %v, want 400", err)
		}
	}
}

func TestFaultsAndLimits(t *testing.T) {
	s, api := start(t, tgemu.Options{})
	_, _ = s.Post(tgemu.Incoming{From: citizen(), Text: "hi"})
	s.SetFaults(tgemu.Faults{RateLimitShare: 1, RetryAfter: 4})
	_, err := api.Send(tgbotapi.NewMessage(citizen().ID, "x"))
	var te *tgbotapi.Error
	if !errors.As(err, &te) || te.Code != 429 || te.RetryAfter != 4 {
		t.Fatalf("429 fault: %#v", err)
	}
	s.SetFaults(tgemu.Faults{BadGatewayShare: 1})
	if _, err := api.Send(tgbotapi.NewMessage(citizen().ID, "x")); err == nil || errors.As(err, &te) {
		t.Fatalf("502 fault: %v, want a decode error", err)
	}
	s.SetFaults(tgemu.Faults{})
	var limited int
	for range 5 {
		if _, err := api.Send(tgbotapi.NewMessage(citizen().ID, "x")); errors.As(err, &te) && te.RetryAfter > 0 {
			limited++
		}
	}
	if limited != 2 || s.Stats().RateLimited != 2 || len(s.Sent(citizen().ID)) != 3 {
		t.Errorf("limited %d, stats %+v, sent %d; want 2 refused of 5 (burst 3)", limited, s.Stats(), len(s.Sent(citizen().ID)))
	}
	if s.Stats().InjectedFaults != 2 {
		t.Errorf("injected faults = %d", s.Stats().InjectedFaults)
	}
}

func TestWebhookPush(t *testing.T) {
	s, api := start(t, tgemu.Options{})
	var mu sync.Mutex
	var got []string
	fails := 1
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-Telegram-Bot-Api-Secret-Token") != "abc_DEF-1" {
			w.WriteHeader(401)
			return
		}
		if fails > 0 {
			fails--
			w.WriteHeader(500)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var u tgbotapi.Update
		_ = json.Unmarshal(b, &u)
		got = append(got, u.Message.Text)
	}))
	defer hook.Close()
	if _, err := api.MakeRequest("setWebhook", tgbotapi.Params{"url": hook.URL, "secret_token": "abc_DEF-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := api.MakeRequest("setWebhook", tgbotapi.Params{"url": hook.URL, "secret_token": "bad secret!"}); err == nil {
		t.Error("a secret with spaces was accepted")
	}
	info, err := api.GetWebhookInfo()
	if err != nil || info.URL != hook.URL {
		t.Fatalf("info = %+v, %v", info, err)
	}
	if _, err := api.GetUpdates(tgbotapi.UpdateConfig{}); err == nil {
		t.Error("getUpdates worked while a webhook is set")
	}
	_, _ = s.Post(tgemu.Incoming{From: citizen(), Text: "pushed 1"})
	_, _ = s.Post(tgemu.Incoming{From: citizen(), Text: "pushed 2"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitFor(ctx, func() bool { return s.Pending() == 0 }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != "pushed 1,pushed 2" {
		t.Errorf("webhook got %q", got)
	}
	if st := s.Stats(); st.WebhookFailures != 1 || st.WebhookDeliveries != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestBoundedMemory(t *testing.T) {
	s := tgemu.New(tgemu.Options{MaxPending: 5, MaxSent: 3, MaxTranscript: 4, MaxChats: 3})
	defer s.Close()
	for i := range 3 {
		_, err := s.Post(tgemu.Incoming{From: tgemu.User{ID: int64(100 + i), FirstName: "N"}, Text: "x"})
		if err != nil {
			t.Fatalf("chat %d: %v", i, err)
		}
	}
	// Three chats are known: a fourth is refused, the known ones go on.
	if _, err := s.Post(tgemu.Incoming{From: citizen(), Text: "x"}); err == nil {
		t.Fatal("a fourth chat was accepted")
	}
	for range 12 {
		if _, err := s.Post(tgemu.Incoming{From: tgemu.User{ID: 100, FirstName: "N"}, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Pending() != 5 || s.Stats().DroppedUpdates != 10 || len(s.Transcript(100)) != 4 {
		t.Errorf("pending %d, dropped %d, transcript %d", s.Pending(), s.Stats().DroppedUpdates, len(s.Transcript(100)))
	}
}

func TestWaitForTimesOut(t *testing.T) {
	s := tgemu.New(tgemu.Options{})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.WaitSent(ctx, func(tgemu.SentMessage) bool { return true }); err == nil {
		t.Fatal("WaitSent returned without any message")
	}
}

// The sandbox page offers the languages it is given (serve gives the
// city's), else its defaults.
func TestSandboxLanguages(t *testing.T) {
	for _, tt := range []struct {
		langs     []string
		want, not string
	}{
		{[]string{"sw", "ar"}, `<option value="sw">sw</option><option value="ar">ar</option></select>`, `value="uk"`},
		{nil, `<option value="uk">uk</option>`, `value="sw"`},
	} {
		s := tgemu.New(tgemu.Options{Languages: tt.langs})
		srv := httptest.NewServer(s.Handler())
		resp, err := http.Get(srv.URL + "/sandbox")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		s.Close()
		if !strings.Contains(string(page), tt.want) || strings.Contains(string(page), tt.not) {
			t.Errorf("languages %q: page lacks %s or has %s", tt.langs, tt.want, tt.not)
		}
	}
}

func TestSandbox(t *testing.T) {
	s := tgemu.New(tgemu.Options{BotName: "Ville <b>Bot</b>"})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Close()
	s.SetBaseURL(srv.URL)

	resp, err := http.Get(srv.URL + "/sandbox")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<textarea") || strings.Contains(string(page), "<b>Bot</b>") {
		t.Fatalf("page: %d, escaped name present=%v", resp.StatusCode, strings.Contains(string(page), "&lt;b&gt;Bot"))
	}
	if strings.Contains(string(page), "innerHTML") {
		t.Error("the page uses innerHTML")
	}

	hostile := `<img src=x onerror=alert(1)> "quotes" & </script>`
	body := `{"name":"Léa","lang":"fr","chat":"private","text":` + jsonString(hostile) + `}`
	if code := postJSON(t, srv.URL+"/sandbox/api/send", body, ""); code != 200 {
		t.Fatalf("send: %d", code)
	}
	if code := postJSON(t, srv.URL+"/sandbox/api/send", body, "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site send: %d, want 403", code)
	}
	id := tgemu.SandboxUserID("Léa")
	tr := s.Transcript(id)
	if len(tr) != 1 || tr[0].Text != hostile || tr[0].From.FirstName != "Léa" || tr[0].From.LanguageCode != "fr" {
		t.Fatalf("transcript = %+v", tr)
	}
	resp, err = http.Get(srv.URL + "/sandbox/api/transcript?name=L%C3%A9a&chat=private")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), "<img") {
		t.Error("transcript JSON carries raw HTML")
	}
	var parsed struct {
		Entries []struct{ Text string } `json:"entries"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil || len(parsed.Entries) != 1 || parsed.Entries[0].Text != hostile {
		t.Fatalf("transcript JSON = %s (%v)", raw, err)
	}
	// The sandbox's update is a normal private message for the bot.
	if s.Pending() != 1 {
		t.Errorf("pending = %d", s.Pending())
	}

	// A bot message with buttons; pressing one from the page queues a
	// callback query.
	api, err := tgbotapi.NewBotAPIWithAPIEndpoint(s.Token(), s.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	m := tgbotapi.NewMessage(id, "Which topic?")
	m.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Roads", "t:roads")))
	sent, err := api.Send(m)
	if err != nil {
		t.Fatal(err)
	}
	press := `{"name":"Léa","lang":"fr","chat":"private","message_id":` + strconv.Itoa(sent.MessageID) + `,"data":"t:roads"}`
	if code := postJSON(t, srv.URL+"/sandbox/api/press", press, ""); code != 200 {
		t.Fatalf("press: %d", code)
	}
	bad := `{"name":"Léa","lang":"fr","chat":"private","message_id":` + strconv.Itoa(sent.MessageID) + `,"data":"t:forged"}`
	if code := postJSON(t, srv.URL+"/sandbox/api/press", bad, ""); code != 400 {
		t.Errorf("press of a button that does not exist: %d, want 400", code)
	}
	u, err := api.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(u) != 2 || u[1].CallbackData() != "t:roads" || u[1].CallbackQuery.From.ID != id {
		t.Fatalf("updates after press = %+v, %v", u, err)
	}
	// A document the bot sends is listed with its name and downloads
	// from the page.
	doc := tgbotapi.NewDocument(id, tgbotapi.FileBytes{Name: "my-data.json", Bytes: []byte(`{"a":1}`)})
	doc.Caption = "Your data"
	dm, err := api.Send(doc)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(srv.URL + "/sandbox/api/transcript?name=L%C3%A9a&chat=private")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"file":"my-data.json"`) {
		t.Errorf("transcript does not list the document: %s", raw)
	}
	resp, err = http.Get(srv.URL + "/sandbox/api/file?name=L%C3%A9a&chat=private&id=" + strconv.Itoa(dm.MessageID))
	if err != nil {
		t.Fatal(err)
	}
	file, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(file) != `{"a":1}` || !strings.Contains(resp.Header.Get("Content-Disposition"), "my-data.json") {
		t.Errorf("download: %d %q %q", resp.StatusCode, file, resp.Header.Get("Content-Disposition"))
	}
	// Another sandbox citizen cannot fetch it.
	if resp, err := http.Get(srv.URL + "/sandbox/api/file?name=Eve&chat=private&id=" + strconv.Itoa(dm.MessageID)); err != nil || resp.StatusCode != 404 {
		t.Errorf("another citizen's download: %v %v", resp.StatusCode, err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func postJSON(t *testing.T, url, body, fetchSite string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRateMonitor(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	step := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, api := start(t, tgemu.Options{Now: clock, Limits: tgemu.Limits{Disabled: true}})
	_, _ = s.Post(tgemu.Incoming{From: citizen(), Text: "hi"})
	for _, gap := range []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 5 * time.Second} {
		step(gap)
		if _, err := api.Send(tgbotapi.NewMessage(citizen().ID, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.MaxInWindow(citizen().ID, 3*time.Second); n != 4 {
		t.Errorf("max in 3s = %d, want 4", n)
	}
	err := s.CheckRates(tgemu.DefaultLimits())
	if err == nil || !strings.Contains(err.Error(), "received 4 messages") {
		t.Errorf("CheckRates = %v, want a per-chat violation", err)
	}
	lenient := tgemu.DefaultLimits()
	lenient.PerChat.N = 4
	if err := s.CheckRates(lenient); err != nil {
		t.Errorf("CheckRates(4 per 3s) = %v", err)
	}
}

// TestPhotoCaptionCountsUTF16 holds that the emulator counts a caption as
// Telegram does, in UTF-16 code units.
func TestPhotoCaptionCountsUTF16(t *testing.T) {
	s, api := start(t, tgemu.Options{})
	_, _ = s.Post(tgemu.Incoming{From: citizen(), Text: "hi"})
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2, 2))); err != nil {
		t.Fatal(err)
	}
	photo := func(caption string) error {
		p := tgbotapi.NewPhoto(citizen().ID, tgbotapi.FileBytes{Name: "c.png", Bytes: buf.Bytes()})
		p.Caption = caption
		_, err := api.Send(p)
		return err
	}
	if err := photo(strings.Repeat("🚧", 512)); err != nil { // 1024 units
		t.Fatalf("caption of 1024 UTF-16 units: %v", err)
	}
	// tgbotapi's upload path returns a plain error with the description.
	if err := photo(strings.Repeat("🚧", 513)); err == nil || !strings.Contains(err.Error(), "caption is too long") { // 513 runes, 1026 units
		t.Fatalf("caption of 1026 UTF-16 units: %v, want a 400 caption is too long", err)
	}
}
