package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// writeConfig writes a config file into a fresh temp dir and returns its
// path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "citybot.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

// TestRepoConfigMatchesDefaults holds config.toml, the documented default,
// and the defaults in code to the same values.
func TestRepoConfigMatchesDefaults(t *testing.T) {
	path := filepath.Join("..", "..", "config.toml")
	cfg, err := LoadConfig(path, envMap(nil))
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", path, err)
	}
	cfg.Source = ""
	if want := DefaultConfig(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("config.toml differs from DefaultConfig():\n got %+v\nwant %+v", cfg, want)
	}
	// Every key of config.toml is commented: the line before it is a comment.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if keyStart.MatchString(l) && !strings.HasPrefix(l, "#") {
			if i == 0 || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "#") && !keyStart.MatchString(lines[i-1]) {
				t.Errorf("config.toml line %d (%q) has no comment above it", i+1, l)
			}
		}
	}
}

func TestLoadConfigOverridesDefaults(t *testing.T) {
	p := writeConfig(t, `
[city]
name = "Lyon"
languages = ["fr", "en"]
default_language = "fr"
emergency_number = "+33 112"
timezone = "Europe/Paris"

[http]
addr = "127.0.0.1:0"

[telegram]
listen_groups = [-1001234]
rate_per_chat = "1/1500ms"
rate_global = "off"

[cases]
window = "30m"

[outbox]
combine_group_acks = false
`)
	cfg, err := LoadConfig(p, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	checks := []struct {
		name      string
		got, want any
	}{
		{"city.name", cfg.City.Name, "Lyon"},
		{"city.languages", cfg.City.Languages, []string{"fr", "en"}},
		{"city.default_language", cfg.City.DefaultLanguage, "fr"},
		{"city.timezone", cfg.City.Timezone, "Europe/Paris"},
		{"http.addr", cfg.HTTP.Addr, "127.0.0.1:0"},
		{"telegram.listen_groups", cfg.Telegram.ListenGroups, []int64{-1001234}},
		{"telegram.rate_per_chat", cfg.Telegram.RatePerChat, Rate{N: 1, Per: 1500 * time.Millisecond}},
		{"telegram.rate_global", cfg.Telegram.RateGlobal.Off(), true},
		{"cases.window", cfg.Cases.Window.Duration, 30 * time.Minute},
		{"outbox.combine_group_acks", cfg.Outbox.CombineGroupAcks, false},
		{"outbox.combine_group_acks default", def.Outbox.CombineGroupAcks, true},
		{"store.path (default kept)", cfg.Store.Path, def.Store.Path},
		{"telegram.api_endpoint (default kept)", cfg.Telegram.APIEndpoint, def.Telegram.APIEndpoint},
		{"source", cfg.Source, p},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadConfigStrictDecoding(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // substrings of the error, all required
		n    int      // number of problems
	}{
		{
			name: "unknown key in a section",
			body: "[http]\naddr = \"127.0.0.1:1\"\naddres = \"x\"\n",
			want: []string{`line 3: unknown key "http.addres"`},
			n:    1,
		},
		{
			name: "unknown top-level key",
			body: "# comment\nverbose = true\n",
			want: []string{`line 2: unknown key "verbose"`},
			n:    1,
		},
		{
			name: "unknown section reported once",
			body: "[city]\nname = \"X\"\n\n[databse]\npath = \"a\"\nmode = \"b\"\n",
			want: []string{`line 4: unknown section "databse"`},
			n:    1,
		},
		{
			name: "dotted unknown key",
			body: "telegram.modee = \"polling\"\n",
			want: []string{`line 1: unknown key "telegram.modee"`},
			n:    1,
		},
		{
			name: "several unknown keys all named",
			body: "[store]\npth = \"a\"\n[telegram]\ntoken = \"123:abc\"\n",
			want: []string{`line 2: unknown key "store.pth"`, `line 4: unknown key "telegram.token"`},
			n:    2,
		},
		{
			name: "unknown keys and invalid values all reported",
			body: "telegram.mod = \"x\"\n[outbox]\nworkers = -3\nworkerz = 2\n[log]\nlevel = \"loud\"\n",
			want: []string{`line 1: unknown key "telegram.mod"`, `line 4: unknown key "outbox.workerz"`, "outbox.workers: -3 must be between 1 and 256", `log.level: "loud"`},
			n:    4,
		},
		{
			name: "wrong type",
			body: "[http]\naddr = 8080\n",
			want: []string{"http.addr"},
			n:    1,
		},
		{
			name: "bad duration",
			body: "[cases]\nwindow = \"two hours\"\n",
			want: []string{"cases.window", `invalid duration "two hours"`},
			n:    1,
		},
		{
			name: "grouping values",
			body: "[grouping]\nwindow = \"48h\"\nmax_age = \"24h\"\nsame_spot_meters = 0.0\nmax_suggestions = 50\nnear = [[\"Nowhere Street\", \"Elsewhere\"]]\nrelated = [[\"roads\"]]\n",
			want: []string{"grouping.max_age", "grouping.same_spot_meters", "grouping.max_suggestions", `grouping.near: "Nowhere Street"`, `grouping.near: "Elsewhere"`, "grouping.related: group 1"},
			n:    6,
		},
		{
			name: "bad rate",
			body: "[telegram]\nrate_global = \"fast\"\n",
			want: []string{"telegram.rate_global", `invalid rate "fast"`},
			n:    1,
		},
		{
			name: "not TOML",
			body: "[city\nname = 1\n",
			want: []string{"line 2: expected '.' or ']'"},
			n:    1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, tt.body), envMap(nil))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("LoadConfig error = %v (%T), want *ConfigError", err, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if len(ce.Problems) != tt.n {
				t.Errorf("got %d problems, want %d: %v", len(ce.Problems), tt.n, err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p := writeConfig(t, `
[city]
name = ""
languages = ["en", "de", "EN", "en"]
default_language = "es"
emergency_number = "call us"
timezone = "Mars/Olympus"
[store]
path = ""
[http]
addr = "8080"
[log]
level = "loud"
format = "xml"
[telegram]
enabled = false
api_endpoint = "https://api.telegram.org/bot%s"
mode = "push"
listen_groups = [42]
poll_timeout = "0s"
rate_per_chat = "0/1s"
rate_per_group = "5/0s"
[discord]
enabled = false
api_base = "discord"
guild_id = "abc"
channels = ["12", "x"]
[cases]
window = "-1h"
[web]
retrain_model = "/nonexistent/dir/model.bin"
[retrain]
dir = "models"
min_corrections = 3
[digest]
work_start = 18
[schedule]
reminders = "every now and then"
[outbox]
workers = 0
max_attempts = 0
base_backoff = "1m"
max_backoff = "1s"
instance_heartbeat = "500ms"
[sandbox]
telegram_addr = "0.0.0.0:9000"
discord_addr = "nowhere"
`)
	_, err := LoadConfig(p, envMap(nil))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("LoadConfig error = %v, want *ConfigError", err)
	}
	keys := []string{
		"city.name", `city.languages: "de"`, `city.languages: "EN"`, `"en" is listed twice`,
		"city.default_language", "city.emergency_number", "city.timezone", "store.path",
		"http.addr", "log.level", "log.format", "telegram.api_endpoint", "telegram.mode",
		"telegram.listen_groups", "telegram.poll_timeout", "telegram.rate_per_chat",
		"telegram.rate_per_group", "discord.api_base", "enable at least one platform",
		"discord.guild_id", `discord.channels: "x"`, "cases.window", "outbox.workers",
		"outbox.max_attempts", "outbox.max_backoff", "outbox.instance_heartbeat: 500ms must be between 2s and 10m", "web.retrain_model", "are both set", "retrain.min_corrections", "digest.work_start", "schedule.reminders", "sandbox.telegram_addr",
		"sandbox.discord_addr",
	}
	for _, k := range keys {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not report %q:\n%v", k, err)
		}
	}
	if len(ce.Problems) != len(keys) {
		t.Errorf("got %d problems, want %d:\n%v", len(ce.Problems), len(keys), err)
	}
}

func TestWebhookModeNeedsURLAndSecret(t *testing.T) {
	const token = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	tests := []struct {
		name string
		body string
		env  map[string]string
		want []string // problems expected; none means valid
	}{
		{"no url", "[telegram]\nmode = \"webhook\"\n", map[string]string{envTelegramToken: token, envTelegramSecret: "s3cret"}, []string{"telegram.webhook_url: must be set"}},
		{"http url", "[telegram]\nmode = \"webhook\"\nwebhook_url = \"http://city.example/tg\"\n", map[string]string{envTelegramToken: token, envTelegramSecret: "s3cret"}, []string{"must be an https:// URL"}},
		{"http on loopback", "[telegram]\nmode = \"webhook\"\nwebhook_url = \"http://127.0.0.1:8443/tg\"\n", map[string]string{envTelegramToken: token, envTelegramSecret: "s3cret"}, nil},
		{"no path", "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://city.example\"\n", map[string]string{envTelegramToken: token, envTelegramSecret: "s3cret"}, []string{"needs a path"}},
		{"no secret", "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://city.example/tg\"\n", map[string]string{envTelegramToken: token}, []string{envTelegramSecret + ": must be set"}},
		{"bad secret", "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://city.example/tg\"\n", map[string]string{envTelegramToken: token, envTelegramSecret: "no spaces allowed"}, []string{envTelegramSecret + ": must be 1-256"}},
		{"ok", "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://city.example/tg\"\n", map[string]string{envTelegramToken: token, envTelegramSecret: "s3cret"}, nil},
		{"sandbox needs no secret", "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://city.example/tg\"\n", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(writeConfig(t, "[discord]\nenabled = false\n"+tt.body), envMap(tt.env))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("LoadConfig = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("LoadConfig = nil, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, v := range tt.env {
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q reveals a secret", err)
				}
			}
		})
	}
}

func TestSecretsFromEnvironmentNeverPrinted(t *testing.T) {
	const (
		token   = "987654321:ZZsecretTOKENvalue_0123456789abcd"
		secret  = "webhook_SECRET_42"
		dtoken  = "discord.SECRET.token"
		badTok  = "not a token but SECRET-ish value"
		badSecr = "bad secret with spaces"
	)
	p := writeConfig(t, "[telegram]\nmode = \"webhook\"\nwebhook_url = \"https://city.example/tg\"\n")
	cfg, err := LoadConfig(p, envMap(map[string]string{envTelegramToken: " " + token + "\n", envTelegramSecret: secret, envDiscordToken: dtoken}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TelegramToken.Reveal() != token || cfg.TelegramWebhookSecret.Reveal() != secret || cfg.DiscordToken.Reveal() != dtoken {
		t.Fatalf("secrets not read from the environment (or not trimmed)")
	}

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "cfg", cfg, "token", cfg.TelegramToken)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "token", cfg.TelegramToken, "discord", cfg.DiscordToken)
	var enc bytes.Buffer
	if err := toml.NewEncoder(&enc).Encode(cfg); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"%s":   fmt.Sprintf("%s", cfg.TelegramToken),
		"slog": logs.String(),
		"toml": enc.String(),
	}
	for name, out := range outputs {
		for _, s := range []string{token, secret, dtoken} {
			if strings.Contains(out, s) {
				t.Errorf("%s output reveals a secret: %s", name, out)
			}
		}
	}
	if !strings.Contains(outputs["%+v"], redacted) {
		t.Errorf("%%+v output does not show the secret as redacted: %s", outputs["%+v"])
	}

	// Invalid secrets are reported by name, never by value.
	_, err = LoadConfig(p, envMap(map[string]string{envTelegramToken: badTok, envTelegramSecret: badSecr}))
	if err == nil {
		t.Fatal("LoadConfig accepted a malformed token and secret")
	}
	for _, want := range []string{envTelegramToken, envTelegramSecret} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	for _, s := range []string{badTok, badSecr, "SECRET-ish", "spaces"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals a secret", err)
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	t.Run("explicit path", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "nope.toml")
		_, err := LoadConfig(p, envMap(nil))
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), p) {
			t.Fatalf("LoadConfig(missing) = %v, want a *ConfigError naming %s and wrapping ErrNotExist", err, p)
		}
	})
	t.Run("default path absent", func(t *testing.T) {
		t.Chdir(t.TempDir())
		cfg, err := LoadConfig("", envMap(nil))
		if err != nil {
			t.Fatalf("LoadConfig(\"\") with no config.toml = %v, want the defaults", err)
		}
		if cfg.Source != "" || cfg.HTTP.Addr != DefaultConfig().HTTP.Addr {
			t.Errorf("got Source %q, addr %q; want the built-in defaults", cfg.Source, cfg.HTTP.Addr)
		}
	})
	t.Run("default path present", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		if err := os.WriteFile("config.toml", []byte("[city]\nname = \"Here\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig("", envMap(nil))
		if err != nil || cfg.City.Name != "Here" || cfg.Source != defaultConfigPath {
			t.Fatalf("LoadConfig(\"\") = %+v, %v; want ./config.toml read", cfg.City, err)
		}
	})
}

func TestClassifierSection(t *testing.T) {
	p := writeConfig(t, `
[classifier]
other_threshold = 0.3

[[classifier.topics]]
name = "potholes"
keywords = { en = ["pothole", "crater"], fr = ["nid-de-poule"] }

[[classifier.places]]
name = "Rue de la République"
kind = "street"
aliases = ["rue de la Ré"]
`)
	cfg, err := LoadConfig(p, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Classifier
	if c.OtherThreshold != 0.3 || len(c.Topics) != 1 || c.Topics[0].Name != "potholes" ||
		!reflect.DeepEqual(c.Topics[0].Keywords["fr"], []string{"nid-de-poule"}) ||
		len(c.Places) != 1 || c.Places[0].Aliases[0] != "rue de la Ré" {
		t.Errorf("classifier options not decoded: %+v", c)
	}

	// Unknown keys inside array tables are named; the classifier's own
	// checks join the others.
	p = writeConfig(t, `
[city]
name = ""

[classifier]
other_threshold = 2.0

[[classifier.topics]]
name = "potholes"
colour = "red"
`)
	_, err = LoadConfig(p, envMap(nil))
	if err == nil || !strings.Contains(err.Error(), `line 10: unknown key "classifier.topics.colour"`) {
		t.Errorf("error %v does not name the unknown key with its line", err)
	}
	p = writeConfig(t, "[city]\nname = \"\"\n[classifier]\nother_threshold = 2.0\n")
	_, err = LoadConfig(p, envMap(nil))
	var ce *ConfigError
	if !errors.As(err, &ce) || len(ce.Problems) != 2 || !strings.Contains(err.Error(), "city.name") || !strings.Contains(err.Error(), "other_threshold") {
		t.Errorf("error %v: want city.name and the classifier's other_threshold reported together", err)
	}
}

// Every language with a catalog is accepted: the shipped ones, and those
// a city adds with files in [city] locales_dir; a broken file there is
// reported with its name and key.
func TestConfigLanguagesWithCatalogs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "de.toml"), []byte("[meta]\nname = \"Deutsch\"\n[chat]\nack_new = \"Danke. Fall {ref}.\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := func(langs, def, locales string) string {
		return fmt.Sprintf("[city]\nlanguages = %s\ndefault_language = %q\nlocales_dir = %q\n", langs, def, locales)
	}
	p := writeConfig(t, cfg(`["es", "pt", "ar", "sw", "en", "fr"]`, "sw", ""))
	c, err := LoadConfig(p, envMap(nil))
	if err != nil {
		t.Fatalf("shipped languages refused: %v", err)
	}
	set, err := c.City.Locales()
	if err != nil || set.Match("pt-BR") != "pt" {
		t.Fatalf("Locales: %v, %v", set, err)
	}
	if _, err := LoadConfig(writeConfig(t, cfg(`["de"]`, "de", dir)), envMap(nil)); err != nil {
		t.Errorf("a language added in locales_dir refused: %v", err)
	}
	_, err = LoadConfig(writeConfig(t, cfg(`["de"]`, "de", "")), envMap(nil))
	if err == nil || !strings.Contains(err.Error(), `city.languages: "de" has no message catalog`) {
		t.Errorf("de without a file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "es.toml"), []byte("[chat]\nack_new = \"Caso {id}.\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(writeConfig(t, cfg(`["es"]`, "es", dir)), envMap(nil))
	if err == nil || !strings.Contains(err.Error(), "city.locales_dir") || !strings.Contains(err.Error(), "es.toml: chat.ack_new: placeholders") {
		t.Errorf("broken es.toml: %v", err)
	}
}

// [web] trusted_proxies takes CIDR prefixes and single addresses; a bad
// entry is an error naming the key, and its old name trusted_proxy is
// still read, but not together with it.
func TestTrustedProxiesConfig(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "[web]\ntrusted_proxies = [\"127.0.0.1/32\", \"10.0.0.0/8\", \"2001:db8::7\"]\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Web.TrustedProxies()
	if err != nil || fmt.Sprint(got) != "[127.0.0.1/32 10.0.0.0/8 2001:db8::7/128]" {
		t.Errorf("TrustedProxies() = %v, %v", got, err)
	}
	old, err := LoadConfig(writeConfig(t, "[web]\ntrusted_proxy = [\"192.0.2.1\"]\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := old.Web.TrustedProxies(); err != nil || fmt.Sprint(got) != "[192.0.2.1/32]" {
		t.Errorf("old key trusted_proxy: TrustedProxies() = %v, %v", got, err)
	}
	for _, tc := range []struct{ toml, want string }{
		{"trusted_proxies = [\"10.0.0.0/33\"]", `web.trusted_proxies: "10.0.0.0/33" is neither`},
		{"trusted_proxies = [\"proxy.example\"]", `web.trusted_proxies: "proxy.example" is neither`},
		{"trusted_proxy = [\"10.0.0\"]", `web.trusted_proxy: "10.0.0" is neither`},
		{"trusted_proxies = [\"10.0.0.1\"]\ntrusted_proxy = [\"10.0.0.2\"]", "web.trusted_proxy: set only web.trusted_proxies"},
	} {
		_, err := LoadConfig(writeConfig(t, "[web]\n"+tc.toml+"\n"), envMap(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.toml, err, tc.want)
		}
	}
}
