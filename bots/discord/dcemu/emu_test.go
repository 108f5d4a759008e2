package dcemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"citybot/bots/discord/dcemu"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

func start(t *testing.T) *dcemu.Server {
	t.Helper()
	s, err := dcemu.Start(dcemu.Options{Token: "good", HeartbeatInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func do(t *testing.T, method, url, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestREST(t *testing.T) {
	s := start(t)
	ch := s.AddChannel("general")
	u := s.AddUser("ann", false)
	var ids []string
	for i := 0; i < 5; i++ {
		m, err := s.Post(ch, u.ID, "m")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	api := s.URL() + "/api/v9"
	if code, _ := do(t, "GET", api+"/users/@me", "Bot bad", ""); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code, _ := do(t, "GET", api+"/users/@me", "good", ""); code != 401 {
		t.Errorf("token without Bot prefix: %d", code)
	}
	code, body := do(t, "GET", api+"/channels/"+ch+"/messages?after="+ids[1]+"&limit=2", "Bot good", "")
	var got []struct{ ID string }
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil {
		t.Fatalf("history: %d %s", code, body)
	}
	if len(got) != 2 || got[0].ID != ids[3] || got[1].ID != ids[2] {
		t.Errorf("history after %s limit 2 = %+v; want %s, %s (newest first)", ids[1], got, ids[3], ids[2])
	}
	long := `{"content":"` + strings.Repeat("😀", 1001) + `"}`
	if code, body := do(t, "POST", api+"/channels/"+ch+"/messages", "Bot good", long); code != 400 || !strings.Contains(body, "50035") {
		t.Errorf("2002 UTF-16 units: %d %s", code, body)
	}
	if code, _ := do(t, "POST", api+"/channels/"+ch+"/messages", "Bot good", `{"content":"  "}`); code != 400 {
		t.Errorf("empty message: %d", code)
	}
	nonce := `{"content":"hi","nonce":"n1","enforce_nonce":true}`
	_, b1 := do(t, "POST", api+"/channels/"+ch+"/messages", "Bot good", nonce)
	_, b2 := do(t, "POST", api+"/channels/"+ch+"/messages", "Bot good", nonce)
	if b1 != b2 || len(s.Sent(ch)) != 1 || s.Stats().NonceHits != 1 {
		t.Errorf("nonce: %d sent, %+v", len(s.Sent(ch)), s.Stats())
	}
	s.SetFaults(dcemu.Faults{RateLimit: 1})
	code, body = do(t, "GET", api+"/channels/"+ch+"/messages", "Bot good", "")
	if code != 429 || !strings.Contains(body, `"retry_after":0.1`) {
		t.Errorf("injected 429: %d %s", code, body)
	}
}

func TestGatewayAuth(t *testing.T) {
	s := start(t)
	sess, err := discordgo.New("Bot wrong")
	if err != nil {
		t.Fatal(err)
	}
	sess.Client.Transport = rewrite{s.URL()}
	sess.LogLevel = -1
	sess.ShouldReconnectOnError = false
	err = sess.Open()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4004 {
		t.Fatalf("open with wrong token: %v", err)
	}
	if st := s.Stats(); st.AuthFailures != 1 || st.Identifies != 0 {
		t.Errorf("stats = %+v", st)
	}
}

type rewrite struct{ base string }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	u := *req.URL
	u.Scheme, u.Host = "http", strings.TrimPrefix(r.base, "http://")
	req2 := req.Clone(req.Context())
	req2.URL = &u
	req2.Host = ""
	return http.DefaultTransport.RoundTrip(req2)
}

func TestSandbox(t *testing.T) {
	s := start(t)
	s.AddChannel("general")
	resp, err := http.Get(s.URL() + "/sandbox")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "textContent") || strings.Contains(string(page), "innerHTML") ||
		resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("sandbox page: %d", resp.StatusCode)
	}
	hostile := `{"user":"<img src=x onerror=alert(1)>","channel":"dm","content":"<script>alert(1)</script>"}`
	if code, body := do(t, "POST", s.URL()+"/sandbox/post", "", hostile); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", s.URL()+"/sandbox/post", strings.NewReader("user=a&content=b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("form post (cross-site): %d", resp.StatusCode)
	}
	_, state := do(t, "GET", s.URL()+"/sandbox/state", "", "")
	if strings.Contains(state, "<script>") || !strings.Contains(state, `\u003cscript\u003e`) {
		t.Errorf("state not escaped: %s", state)
	}
}

func TestInteractionAuth(t *testing.T) {
	s := start(t)
	ch := s.AddChannel("general")
	u := s.AddUser("ann", false)
	api := s.URL() + "/api/v9"
	if _, err := s.SlashCommand(ch, u.ID, "help", nil); err == nil {
		t.Error("unregistered command ran")
	}
	app := s.BotUser().ID
	if code, body := do(t, "PUT", api+"/applications/"+app+"/guilds/"+s.GuildID()+"/commands", "Bot good", `[{"name":"help","description":"Help"}]`); code != 200 {
		t.Fatalf("register: %d %s", code, body)
	}
	id, err := s.SlashCommand(ch, u.ID, "help", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The token is only in the dispatched payload; read it back through
	// a gateway-less route: answering with a wrong token fails.
	if code, _ := do(t, "POST", api+"/interactions/"+id+"/wrong/callback", "", `{"type":5}`); code != 404 {
		t.Errorf("wrong interaction token: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.WaitInteraction(ctx, id, func(in dcemu.Interaction) bool { return in.Acked }); err == nil {
		t.Error("interaction acked without an answer")
	}
}

// Without the message content intent, guild messages arrive empty, as on
// Discord; DMs keep their text.
func TestMessageContentIntent(t *testing.T) {
	s := start(t)
	ch := s.AddChannel("general")
	u := s.AddUser("ann", false)
	dm, err := s.DMChannel(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := discordgo.New("Bot good")
	if err != nil {
		t.Fatal(err)
	}
	sess.Client.Transport = rewrite{s.URL()}
	sess.LogLevel = -1
	sess.Identify.Intents = discordgo.IntentsAllWithoutPrivileged
	got := make(chan *discordgo.Message, 2)
	sess.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { got <- m.Message })
	if err := sess.Open(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sess.Lock()
		sess.ShouldReconnectOnError = false
		sess.Unlock()
		_ = sess.Close()
	}()
	if _, err := s.Post(ch, u.ID, "guild text"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Post(dm, u.ID, "dm text"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case m := <-got:
			if m.ChannelID == ch && m.Content != "" || m.ChannelID == dm && m.Content != "dm text" {
				t.Errorf("channel %s: content %q", m.ChannelID, m.Content)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no MESSAGE_CREATE")
		}
	}
}

// A file the bot attaches is listed on the sandbox page and downloads
// from it with its bytes.
func TestSandboxFileDownload(t *testing.T) {
	s := start(t)
	ch := s.AddChannel("general")
	sess, err := discordgo.New("Bot good")
	if err != nil {
		t.Fatal(err)
	}
	sess.Client.Transport = rewrite{s.URL()}
	m, err := sess.ChannelMessageSendComplex(ch, &discordgo.MessageSend{Content: "Your data",
		Files: []*discordgo.File{{Name: "my-data.json", ContentType: "application/json", Reader: strings.NewReader(`{"a":1}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, state := do(t, "GET", s.URL()+"/sandbox/state", "", "")
	var st struct {
		Channels []struct {
			ID       string
			Messages []struct {
				ID    string
				Files []struct{ Name, URL string }
			}
		}
	}
	if err := json.Unmarshal([]byte(state), &st); err != nil {
		t.Fatal(err)
	}
	url := ""
	for _, c := range st.Channels {
		for _, sm := range c.Messages {
			if sm.ID == m.ID && len(sm.Files) == 1 && sm.Files[0].Name == "my-data.json" {
				url = sm.Files[0].URL
			}
		}
	}
	if url == "" {
		t.Fatalf("the sandbox does not list the file: %s", state)
	}
	code, body := do(t, "GET", s.URL()+url, "", "")
	if code != 200 || body != `{"a":1}` {
		t.Errorf("download: %d %q", code, body)
	}
	if code, _ := do(t, "GET", s.URL()+"/sandbox/file?channel="+ch+"&message="+m.ID+"&n=1", "", ""); code != 404 {
		t.Errorf("a file that does not exist: %d", code)
	}
}
