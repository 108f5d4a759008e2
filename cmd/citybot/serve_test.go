package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/store"
)

// syncBuffer is a goroutine-safe log sink for a running serve.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a citybot serve running in-process.
type server struct {
	ready  readyInfo
	logs   *syncBuffer
	stop   context.CancelFunc
	done   chan error
	dbPath string
}

// startServe runs `citybot serve` through run() with a fresh database in
// a temp dir, HTTP on a free port (unless extraConfig has an [http]
// section) and the given extra config, and waits for its ready file.
func startServe(t *testing.T, env map[string]string, extraConfig string) *server {
	t.Helper()
	return startServeDB(t, env, filepath.Join(t.TempDir(), "citybot.db"), extraConfig)
}

// withoutGrouping adds `[grouping] enabled = false` to a test's
// configuration unless it has a [grouping] section: the end-to-end tests
// of delivery, crashes and faults send the same few reports from many
// citizens and count one case per report; grouping has its own
// (TestAcceptManyVoices; across SIGKILLs, TestAcceptGroupingCrash).
func withoutGrouping(config string) string {
	if strings.Contains(config, "[grouping]") {
		return config
	}
	return config + "\n[grouping]\nenabled = false\n"
}

// startServeDB is startServe on the database at dbPath (which may exist
// already).
func startServeDB(t *testing.T, env map[string]string, dbPath, extraConfig string) *server {
	t.Helper()
	httpSection := "[http]\naddr = \"127.0.0.1:0\"\n"
	if strings.Contains(extraConfig, "[http]") {
		httpSection = ""
	}
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n%s[log]\nlevel = \"debug\"\nformat = \"json\"\n%s", dbPath, httpSection, withoutGrouping(extraConfig)))
	s := serveAt(t, env, cfg)
	s.dbPath = dbPath
	return s
}

// serveAt runs `citybot serve` through run() with the configuration file
// cfg until the test ends (stopping it then), and waits for its ready
// file; the test fails if serve exits before, or is not ready within 60 s.
func serveAt(t *testing.T, env map[string]string, cfg string) *server {
	t.Helper()
	s := &server{logs: &syncBuffer{}, done: make(chan error, 1)}
	readyPath := filepath.Join(t.TempDir(), "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() {
		s.done <- run(ctx, []string{"--config", cfg, "serve", "--ready-file", readyPath}, envMap(env), strings.NewReader(""), io.Discard, s.logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-s.done:
			s.done <- err
		case <-time.After(60 * time.Second):
			t.Error("serve did not stop within 60s")
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		// A file half written does not parse yet: wait for the whole.
		if data, err := os.ReadFile(readyPath); err == nil && json.Unmarshal(data, &s.ready) == nil {
			return s
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("serve exited before ready: %v\nlogs:\n%s", err, dcTail(s.logs.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready within 60s; logs:\n%s", dcTail(s.logs.String()))
		}
	}
}

// shutdown cancels serve's context (as SIGTERM does) and returns run's
// result.
func (s *server) shutdown(t *testing.T) error {
	t.Helper()
	s.stop()
	select {
	case err := <-s.done:
		s.done <- err // for Cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not stop within 60s; logs:\n%s", s.logs)
		return nil
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// logLines decodes serve's JSON log lines.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// TestServeEndToEnd drives the whole of serve against the Telegram and
// Discord emulators at once, through the real tgbotapi and discordgo
// clients: a citizen's message on each platform is stored as a case and
// acknowledged with its reference; /healthz and /metrics answer;
// SIGTERM-like cancellation stops every part in order.
func TestServeEndToEnd(t *testing.T) {
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	token := emu.Token()
	const dcToken = "discord-TEST-token.abc"
	dc, err := dcemu.Start(dcemu.Options{Token: dcToken})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	square := dc.AddChannel("town-square")
	s := startServe(t, map[string]string{envTelegramToken: token, envDiscordToken: dcToken},
		fmt.Sprintf("[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\n[discord]\napi_base = %q\nguild_id = %q\nchannels = [%q]\n",
			emu.Endpoint(), dc.URL(), dc.GuildID(), square))
	if len(s.ready.Sandbox) != 0 {
		t.Errorf("sandbox mode with tokens set: %v", s.ready.Sandbox)
	}

	citizen := tgemu.User{ID: 4242, FirstName: "Amélie", LanguageCode: "fr"}
	if _, err := emu.Post(tgemu.Incoming{From: citizen, Text: "Il y a un énorme nid-de-poule rue de la République, une voiture a crevé"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ack, err := emu.WaitSent(ctx, func(m tgemu.SentMessage) bool { return m.Chat == citizen.ID })
	if err != nil {
		t.Fatalf("no Telegram acknowledgement: %v; logs:\n%s", err, s.logs)
	}
	if err := dc.WaitConnected(ctx); err != nil {
		t.Fatalf("discord gateway not connected: %v", err)
	}
	bob := dc.AddUser("Bob Tremblay", false)
	if _, err := dc.Post(square, bob.ID, "The bins on Harbour Street have not been emptied for two weeks"); err != nil {
		t.Fatal(err)
	}
	dcAcks, err := dc.WaitSent(ctx, square, 1)
	if err != nil {
		t.Fatalf("no Discord acknowledgement: %v; logs:\n%s", err, s.logs)
	}

	base := "http://" + s.ready.HTTPAddr
	code, body := httpGet(t, base+"/healthz")
	if code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) ||
		!strings.Contains(body, `"platforms":{"discord":"live","telegram":"live"}`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	// The console, the public pages and Open311 are served beside them.
	for _, path := range []string{"/login", "/public/", "/open311/v2/services.json"} {
		if code, _ := httpGet(t, base+path); code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, code)
		}
	}
	code, body = httpGet(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`citybot_messages_received_total{platform="telegram"} 1`,
		`citybot_cases_opened_total{platform="telegram"} 1`,
		`citybot_messages_received_total{platform="discord"} 1`,
		`citybot_cases_opened_total{platform="discord"} 1`,
		"citybot_classification_seconds_count 2",
		"citybot_outbox_depth",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	if err := s.shutdown(t); err != nil {
		t.Fatalf("run returned %v after a clean shutdown; logs:\n%s", err, s.logs)
	}

	// The acknowledgement carries the case's reference, in French.
	ctx2 := context.Background()
	db, err := store.Open(ctx2, s.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases, err := db.Inbox(ctx2, citybot.CaseFilter{Statuses: []citybot.CaseStatus{citybot.StatusNew, citybot.StatusAcknowledged}})
	if err != nil || len(cases) != 2 {
		t.Fatalf("cases = %v, %v; want two", cases, err)
	}
	acks := map[citybot.Platform]string{citybot.Telegram: ack.Text, citybot.Discord: dcAcks[0].Content}
	for _, c := range cases {
		if !strings.Contains(acks[c.Platform], string(c.Ref)) {
			t.Errorf("%s acknowledgement %q does not carry the reference %s", c.Platform, acks[c.Platform], c.Ref)
		}
		if c.Status != citybot.StatusAcknowledged {
			t.Errorf("%s case status %s, want acknowledged", c.Platform, c.Status)
		}
	}

	// Shutdown went in order, each step logged; the token never was.
	logs := s.logs.String()
	if strings.Contains(logs, token) || strings.Contains(logs, "EMULATOR-TOKEN") || strings.Contains(logs, dcToken) {
		t.Errorf("logs reveal a bot token")
	}
	if strings.Contains(logs, "Amélie") || strings.Contains(logs, "Tremblay") || strings.Contains(logs, bob.ID) {
		t.Errorf("logs reveal a citizen's identity")
	}
	var order []string
	for _, l := range logLines(t, logs) {
		if l["msg"] == "stopped" {
			order = append(order, fmt.Sprint(l["part"]))
		}
		if _, ok := l["component"]; !ok {
			t.Errorf("log line without component: %v", l)
		}
	}
	if got, want := strings.Join(order, ","), "telegram,discord,http,hearing,retrain,media,alerts,surge,scheduler,dispatcher,database"; got != want {
		t.Errorf("stop order %s, want %s", got, want)
	}
}

// TestServeSandbox runs serve with no token: it starts both emulators
// itself, says so in one log line, and a citizen played through each
// sandbox page's API gets an answer.
func TestServeSandbox(t *testing.T) {
	s := startServe(t, nil, "[telegram]\npoll_timeout = \"1s\"\n")
	page := s.ready.Sandbox["telegram"]
	if !strings.HasPrefix(page, "http://127.0.0.1:") || !strings.HasSuffix(page, "/sandbox") {
		t.Fatalf("sandbox page %q", page)
	}
	code, body := httpGet(t, page)
	if code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Errorf("GET sandbox page = %d", code)
	}
	if code, body := httpGet(t, "http://"+s.ready.HTTPAddr+"/healthz"); code != http.StatusOK ||
		!strings.Contains(body, `"platforms":{"discord":"sandbox","telegram":"sandbox"}`) ||
		!strings.Contains(body, `"hearing":{"discord":{"status":"ok"},"telegram":{"status":"ok"}}`) {
		t.Errorf("/healthz = %d %s, want both platforms in sandbox mode, both hearing", code, body)
	}

	emuURL := s.ready.Emulators["telegram"]
	send, _ := json.Marshal(map[string]any{"name": "Zoé Martin", "lang": "en", "chat": "private", "text": "The street light on Elm Street has been out for a week"})
	resp, err := http.Post(emuURL+"/sandbox/api/send", "application/json", bytes.NewReader(send))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sandbox send = %d", resp.StatusCode)
	}
	var reply string
	deadline := time.Now().Add(20 * time.Second)
	for reply == "" && time.Now().Before(deadline) {
		_, body := httpGet(t, emuURL+"/sandbox/api/transcript?name=Zo%C3%A9+Martin&chat=private")
		var tr struct {
			Entries []struct {
				FromBot bool   `json:"from_bot"`
				Text    string `json:"text"`
			} `json:"entries"`
		}
		if err := json.Unmarshal([]byte(body), &tr); err != nil {
			t.Fatalf("transcript: %v: %s", err, body)
		}
		for _, e := range tr.Entries {
			if e.FromBot {
				reply = e.Text
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if reply == "" {
		t.Fatalf("no reply in the sandbox transcript; logs:\n%s", s.logs)
	}

	// Discord's sandbox, side by side: a DM gets an answer.
	dcURL := s.ready.Emulators["discord"]
	if s.ready.Sandbox["discord"] != dcURL+"/sandbox" {
		t.Fatalf("discord sandbox page %q", s.ready.Sandbox["discord"])
	}
	post, _ := json.Marshal(map[string]any{"user": "Zoé Martin", "channel": "dm", "content": "Water has been cut in my building since this morning"})
	resp, err = http.Post(dcURL+"/sandbox/post", "application/json", bytes.NewReader(post))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discord sandbox post = %d", resp.StatusCode)
	}
	var dcReply string
	for deadline := time.Now().Add(20 * time.Second); dcReply == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, body := httpGet(t, dcURL+"/sandbox/state")
		var st struct {
			Channels []struct {
				Kind     string `json:"kind"`
				Name     string `json:"name"`
				Messages []struct {
					FromBot bool   `json:"from_bot"`
					Content string `json:"content"`
				} `json:"messages"`
			} `json:"channels"`
		}
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("discord sandbox state: %v: %s", err, body)
		}
		for _, c := range st.Channels {
			for _, m := range c.Messages {
				if c.Kind == "dm" && m.FromBot {
					dcReply = m.Content
				}
			}
		}
	}
	if dcReply == "" {
		t.Fatalf("no Discord reply in the sandbox; logs:\n%s", s.logs)
	}

	if err := s.shutdown(t); err != nil {
		t.Fatalf("run = %v", err)
	}
	var sandboxLines []map[string]any
	for _, l := range logLines(t, s.logs.String()) {
		if strings.Contains(fmt.Sprint(l["msg"]), "sandbox mode") {
			sandboxLines = append(sandboxLines, l)
		}
	}
	if len(sandboxLines) != 1 {
		t.Fatalf("%d log lines mention sandbox mode, want 1", len(sandboxLines))
	}
	line := fmt.Sprint(sandboxLines[0])
	for _, want := range []string{page, s.ready.Sandbox["discord"], envTelegramToken, envDiscordToken} {
		if !strings.Contains(line, want) {
			t.Errorf("sandbox line %s lacks %q", line, want)
		}
	}
}

// TestServeSandboxForced: [sandbox] enabled = true runs the emulators even
// with a token set, never using the token, and /healthz says so.
func TestServeSandboxForced(t *testing.T) {
	const token = "111111:FORCED-sandbox-token-never-used"
	s := startServe(t, map[string]string{envTelegramToken: token},
		"[sandbox]\nenabled = true\n[discord]\nenabled = false\n[telegram]\npoll_timeout = \"1s\"\n")
	if s.ready.Sandbox["telegram"] == "" || s.ready.Sandbox["discord"] != "" {
		t.Errorf("sandbox pages %v, want telegram only", s.ready.Sandbox)
	}
	if code, body := httpGet(t, "http://"+s.ready.HTTPAddr+"/healthz"); code != http.StatusOK ||
		!strings.Contains(body, `"platforms":{"discord":"disabled","telegram":"sandbox"}`) {
		t.Errorf("/healthz = %d %s, want telegram in sandbox mode", code, body)
	}
	if err := s.shutdown(t); err != nil {
		t.Fatalf("run = %v", err)
	}
	if logs := s.logs.String(); strings.Contains(logs, "FORCED-sandbox") || !strings.Contains(logs, "[sandbox] enabled = false") {
		t.Errorf("logs show the token or do not say how to go live:\n%s", logs)
	}
}

// TestServeWrongToken: a token the platform rejects is a clear runtime
// error naming the variable, never showing the token.
func TestServeWrongToken(t *testing.T) {
	t.Run("telegram", testTelegramWrongToken)
	t.Run("discord", testDiscordWrongToken)
}

func testDiscordWrongToken(t *testing.T) {
	dc, err := dcemu.Start(dcemu.Options{Token: "the-right-one"})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	const wrong = "WRONG-discord-token-never-shown"
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n[http]\naddr = \"127.0.0.1:0\"\n[telegram]\nenabled = false\n[discord]\napi_base = %q\n",
		filepath.Join(t.TempDir(), "c.db"), dc.URL()))
	var stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, []string{"--config", cfg, "serve"}, envMap(map[string]string{envDiscordToken: wrong}), strings.NewReader(""), io.Discard, &stderr)
	if err == nil || exitCode(err) != exitRuntime {
		t.Fatalf("serve with a wrong Discord token = %v (exit %d)", err, exitCode(err))
	}
	if !errors.Is(err, citybot.ErrForbidden) || !strings.Contains(err.Error(), envDiscordToken) {
		t.Errorf("error %q does not say the token was rejected and which variable holds it", err)
	}
	if strings.Contains(err.Error()+stderr.String(), "WRONG-discord") {
		t.Errorf("the token shows in the error or logs")
	}
}

func testTelegramWrongToken(t *testing.T) {
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	const wrong = "111111:WRONG-token-that-must-never-show"
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n[http]\naddr = \"127.0.0.1:0\"\n[discord]\nenabled = false\n[telegram]\napi_endpoint = %q\n",
		filepath.Join(dir, "c.db"), emu.Endpoint()))
	var stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"--config", cfg, "serve"}, envMap(map[string]string{envTelegramToken: wrong}), strings.NewReader(""), io.Discard, &stderr)
	if err == nil {
		t.Fatal("serve with a wrong token returned nil")
	}
	if exitCode(err) != exitRuntime {
		t.Errorf("exit code %d, want %d", exitCode(err), exitRuntime)
	}
	if !errors.Is(err, citybot.ErrForbidden) || !strings.Contains(err.Error(), envTelegramToken) {
		t.Errorf("error %q does not say the token was rejected and which variable holds it", err)
	}
	if strings.Contains(err.Error()+stderr.String(), "WRONG-token") {
		t.Errorf("the token shows in the error or logs: %v\n%s", err, stderr.String())
	}
}

func TestServeHTTPAddrInUse(t *testing.T) {
	s := startServe(t, nil, "")
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf("[store]\npath = %q\n[http]\naddr = %q\n", filepath.Join(dir, "c.db"), s.ready.HTTPAddr))
	err := run(context.Background(), []string{"--config", cfg, "serve"}, envMap(nil), strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "[http] addr") || exitCode(err) != exitRuntime {
		t.Errorf("serve on a busy port = %v, want a runtime error naming [http] addr", err)
	}
}

// TestServeWebhook runs Telegram in webhook mode: serve registers the
// webhook with its secret, mounts the route on [http] addr, and the
// emulator's pushed update is acknowledged; a call without the secret is
// refused.
func TestServeWebhook(t *testing.T) {
	emu := tgemu.New(tgemu.Options{})
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // serve binds it again; the webhook URL must name the port beforehand
	const secret = "hook_SECRET_value-1"
	s := startServe(t, map[string]string{envTelegramToken: emu.Token(), envTelegramSecret: secret},
		fmt.Sprintf("[http]\naddr = %q\n[discord]\nenabled = false\n[telegram]\napi_endpoint = %q\nmode = \"webhook\"\nwebhook_url = \"http://%s/telegram/hook\"\n", addr, emu.Endpoint(), addr))
	if s.ready.HTTPAddr != addr {
		t.Fatalf("serving on %s, want %s", s.ready.HTTPAddr, addr)
	}
	citizen := tgemu.User{ID: 777, FirstName: "Hook", LanguageCode: "en"}
	if _, err := emu.Post(tgemu.Incoming{From: citizen, Text: "Garbage has not been collected on Oak Avenue for two weeks"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := emu.WaitSent(ctx, func(m tgemu.SentMessage) bool { return m.Chat == citizen.ID }); err != nil {
		t.Fatalf("no acknowledgement through the webhook: %v\n%s", err, s.logs)
	}
	resp, err := http.Post("http://"+addr+"/telegram/hook", "application/json", strings.NewReader(`{"update_id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("webhook without the secret: %d, want 401", resp.StatusCode)
	}
	if err := s.shutdown(t); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.logs.String(), secret) {
		t.Error("logs reveal the webhook secret")
	}
}

// TestHealthzRealStore: /healthz answers 200 on an open database and 503
// once it is closed.
func TestHealthzRealStore(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "h.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Two instances live: this one and another on the database.
	for _, name := range []string{"this", "other"} {
		if err := db.InstanceHeartbeat(ctx, name, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	live := func() int {
		n, _ := db.LiveInstances(ctx) // 0 once closed
		return n
	}
	mux := newOpsMux(dbHealth{db: db, instances: live}, nil, newRegistry(), discardLogger(), nil)
	get := func() int {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), `"instances":2`) {
			t.Errorf("/healthz = %s, want the two live instances", rec.Body)
		}
		return rec.Code
	}
	if code := get(); code != http.StatusOK {
		t.Errorf("open database: %d, want 200", code)
	}
	db.Close()
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("closed database: %d, want 503", code)
	}
}

// TestServeWebDisabled: with [web] enabled = false only health and
// metrics are served.
func TestServeWebDisabled(t *testing.T) {
	s := startServe(t, nil, "[web]\nenabled = false\n")
	base := "http://" + s.ready.HTTPAddr
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 200, "/login": 404, "/public/": 404} {
		if code, _ := httpGet(t, base+path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
}
