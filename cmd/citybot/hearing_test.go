package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"citybot/bots"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram"
	"citybot/bots/telegram/tgemu"
)

const hearingDiscordToken = "MTA5ODc2.hearing-SECRET.token"

// hearingEmulators starts both emulators, as a live city would meet the
// platforms, with BotFather's privacy and the portal's Message Content
// Intent as given.
func hearingEmulators(t *testing.T, privacy, contentOff bool) (*tgemu.Server, *dcemu.Server) {
	t.Helper()
	tg := tgemu.New(tgemu.Options{Privacy: privacy})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tg.Close() })
	dc, err := dcemu.Start(dcemu.Options{Token: hearingDiscordToken, MessageContentOff: contentOff})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dc.Close)
	return tg, dc
}

// TestConfigCheckLive runs "citybot config check --live" against the two
// emulators, through the real tgbotapi and discordgo clients, with each
// setting both ways, a wrong token, and a platform in sandbox mode.
func TestConfigCheckLive(t *testing.T) {
	tests := []struct {
		name                string
		privacy, contentOff bool
		tgToken, dcToken    string // "" means the emulator's
		code                int
		want, notWant       []string
	}{
		{name: "both hear", code: exitOK,
			want:    []string{"telegram: the token is accepted and the bot hears", "discord: the token is accepted and the bot hears"},
			notWant: []string{"To change it"}},
		{name: "privacy on", privacy: true, code: exitRuntime,
			want: []string{"telegram: the token is accepted, but the bot cannot hear", "/setprivacy", "Disable", "1 group(s) of [telegram] listen_groups",
				"discord: the token is accepted and the bot hears"}},
		{name: "message content off", contentOff: true, code: exitRuntime,
			want: []string{"discord: the token is accepted, but the bot cannot hear", "Message Content Intent", "developer portal", "1 channel(s)",
				"telegram: the token is accepted and the bot hears"}},
		{name: "wrong tokens", tgToken: "111222333:WRONG-telegram-SECRET-x", dcToken: "wrong.discord-SECRET.y", code: exitRuntime,
			want: []string{"telegram: the token was rejected", envTelegramToken, "discord: the token was rejected", envDiscordToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg, dc := hearingEmulators(t, tt.privacy, tt.contentOff)
			ch := dc.AddChannel("town-square")
			cfgPath := writeConfig(t, fmt.Sprintf("[telegram]\napi_endpoint = %q\nlisten_groups = [-1001000000555]\n[discord]\napi_base = %q\nchannels = [%q]\n",
				tg.Endpoint(), dc.URL(), ch))
			env := map[string]string{envTelegramToken: tg.Token(), envDiscordToken: hearingDiscordToken}
			if tt.tgToken != "" {
				env[envTelegramToken], env[envDiscordToken] = tt.tgToken, tt.dcToken
			}
			r := runCLI(t, env, "--config", cfgPath, "config", "check", "--live")
			t.Logf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not say %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout says %q:\n%s", w, r.stdout)
				}
			}
			all := r.stdout + r.stderr
			for _, secret := range []string{tg.Token(), hearingDiscordToken, "SECRET"} {
				if strings.Contains(all, secret) {
					t.Errorf("output holds a token (%q):\n%s", secret, all)
				}
			}
		})
	}
	t.Run("sandbox and flag placement", func(t *testing.T) {
		cfgPath := writeConfig(t, "[discord]\nenabled = false\n")
		for _, args := range [][]string{{"config", "check", "--live"}, {"config", "--live", "check"}} {
			r := runCLI(t, nil, append([]string{"--config", cfgPath}, args...)...)
			if r.code != exitOK || !strings.Contains(r.stdout, "telegram: sandbox mode") || !strings.Contains(r.stdout, "discord: disabled") {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
			}
		}
		if r := runCLI(t, nil, "--config", cfgPath, "config", "--live", "show"); r.code != exitUsage {
			t.Errorf("config --live show: exit %d, want %d", r.code, exitUsage)
		}
	})
}

// TestAskHearingHealthz asks two running bots, as serve does at start,
// and checks the log lines and /healthz's "hearing" detail.
func TestAskHearingHealthz(t *testing.T) {
	tg, dc := hearingEmulators(t, true, true)
	ch := dc.AddChannel("town-square")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tb, err := telegram.New(ctx, telegram.Options{Token: tg.Token(), APIEndpoint: tg.Endpoint(), ListenGroups: []int64{-1001000000555},
		Cursors: fakeCursorStore{}, PollTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db, err := discord.New(ctx, discord.Options{Token: hearingDiscordToken, APIBase: dc.URL(), Channels: []string{ch}, Cursors: fakeCursorStore{}})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	hearing := askHearing(ctx, logger, []bots.Bot{tb, db})
	for _, p := range []string{"telegram", "discord"} {
		if hearing[p].Status != hearsNotAll || len(hearing[p].Problems) != 1 {
			t.Errorf("%s: %+v", p, hearing[p])
		}
	}
	for _, w := range []string{`"problem":"telegram_privacy_mode"`, `"problem":"discord_message_content"`, "/setprivacy", "Message Content Intent", `"component":"hearing"`} {
		if !strings.Contains(logs.String(), w) {
			t.Errorf("log lacks %s:\n%s", w, logs.String())
		}
	}

	// Fixed in BotFather and the portal: the next start says so.
	tg.SetPrivacy(false)
	dc.SetMessageContent(true)
	logs.Reset()
	fixed := askHearing(ctx, logger, []bots.Bot{tb, db})
	if fixed["telegram"].Status != hearsAll || fixed["discord"].Status != hearsAll {
		t.Errorf("after the fix: %+v", fixed)
	}

	// A platform that cannot be asked is "unknown", with no detail.
	dc.Close()
	unknown := askHearing(ctx, slog.New(slog.DiscardHandler), []bots.Bot{db})
	if unknown["discord"].Status != hearsUnknown {
		t.Errorf("closed emulator: %+v", unknown)
	}

	mux := newOpsMuxToken(fakePinger{}, map[string]string{"telegram": modeLive, "discord": modeLive}, func() map[string]hearingStatus { return hearing }, nil, newRegistry(), slog.New(slog.DiscardHandler), nil, "")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("healthz %d", rec.Code)
	}
	var body struct {
		Status  string                   `json:"status"`
		Hearing map[string]hearingStatus `json:"hearing"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "ok" || body.Hearing["telegram"].Status != hearsNotAll || body.Hearing["discord"].Problems[0].Code != discord.HearingMessageContent {
		t.Errorf("healthz = %s", rec.Body.String())
	}
	for _, secret := range []string{tg.Token(), hearingDiscordToken} {
		if strings.Contains(rec.Body.String()+logs.String(), secret) {
			t.Errorf("healthz or log holds a token")
		}
	}
}

// fakeCursorStore is a bots.Cursors the check never writes to.
type fakeCursorStore struct{}

func (fakeCursorStore) Cursor(context.Context, string) (string, error)  { return "", nil }
func (fakeCursorStore) SetCursor(context.Context, string, string) error { return nil }

// TestServeHearing runs serve live against both emulators, Telegram's
// privacy mode on and a listened group: the log says what to change in
// BotFather, /healthz reports it, and the Discord side, whose intent is
// on, is "ok". The bot still starts and answers a private chat.
func TestServeHearing(t *testing.T) {
	tg, dc := hearingEmulators(t, true, false)
	square := dc.AddChannel("town-square")
	s := startServe(t, map[string]string{envTelegramToken: tg.Token(), envDiscordToken: hearingDiscordToken},
		fmt.Sprintf("[telegram]\napi_endpoint = %q\npoll_timeout = \"1s\"\nlisten_groups = [-1001000000555]\n[discord]\napi_base = %q\nguild_id = %q\nchannels = [%q]\n",
			tg.Endpoint(), dc.URL(), dc.GuildID(), square))
	code, body := httpGet(t, "http://"+s.ready.HTTPAddr+"/healthz")
	if code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) ||
		!strings.Contains(body, `"discord":{"status":"ok"}`) ||
		!strings.Contains(body, `"telegram":{"status":"problems","problems":[{"code":"telegram_privacy_mode"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	var warned bool
	for _, l := range logLines(t, s.logs.String()) {
		if l["component"] == "hearing" && l["problem"] == telegram.HearingPrivacyMode && l["level"] == "WARN" &&
			strings.Contains(fmt.Sprint(l["fix"]), "/setprivacy") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no warning with what to change in BotFather; logs:\n%s", s.logs)
	}
	if strings.Contains(s.logs.String()+body, tg.Token()) || strings.Contains(s.logs.String()+body, hearingDiscordToken) {
		t.Error("a token reached the log or /healthz")
	}
	citizen := tgemu.User{ID: 4343, FirstName: "Ana", LanguageCode: "en"}
	if _, err := tg.Post(tgemu.Incoming{From: citizen, Text: "The street lamp on Oak Road is broken"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := tg.WaitSent(ctx, func(m tgemu.SentMessage) bool { return m.Chat == citizen.ID }); err != nil {
		t.Fatalf("no acknowledgement: %v", err)
	}
}

// TestHearingAskedAgain: serve asks the platforms again while it runs;
// /healthz then shows the latest answer (a fix in BotFather shows without
// a restart), and the log says only what changed.
func TestHearingAskedAgain(t *testing.T) {
	tg, _ := hearingEmulators(t, true, false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tb, err := telegram.New(ctx, telegram.Options{Token: tg.Token(), APIEndpoint: tg.Endpoint(), ListenGroups: []int64{-1001000000555},
		Cursors: fakeCursorStore{}, PollTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	board := &hearingBoard{}
	mux := newOpsMuxToken(fakePinger{}, map[string]string{"telegram": modeLive}, board.get, nil, newRegistry(), slog.New(slog.DiscardHandler), nil, "")
	healthz := func() map[string]hearingStatus {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		var body struct {
			Hearing map[string]hearingStatus `json:"hearing"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return body.Hearing
	}
	if h := healthz(); h != nil {
		t.Errorf("before any answer, /healthz shows hearing %+v", h)
	}
	bs := []bots.Bot{tb}
	board.ask(ctx, logger, bs)
	if h := healthz(); h["telegram"].Status != hearsNotAll {
		t.Fatalf("privacy on: %+v", h)
	}
	if n := strings.Count(logs.String(), "telegram_privacy_mode"); n != 1 {
		t.Errorf("first answer: the problem logged %d times, want once:\n%s", n, logs.String())
	}
	logs.Reset()
	board.ask(ctx, logger, bs)
	if logs.Len() != 0 {
		t.Errorf("the same answer again is logged again:\n%s", logs.String())
	}
	tg.SetPrivacy(false)
	board.ask(ctx, logger, bs)
	if h := healthz(); h["telegram"].Status != hearsAll {
		t.Errorf("after the fix, /healthz shows %+v", h)
	}
	if !strings.Contains(logs.String(), "the bot hears what the configuration expects") {
		t.Errorf("the fix is not logged:\n%s", logs.String())
	}
}
