package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // [city] timezone must load on machines without a zoneinfo database

	"github.com/BurntSushi/toml"

	"citybot"
	"citybot/classifier"
	"citybot/grouping"
	"citybot/locale"
	"citybot/responder"
)

// Environment variables citybot reads. Secrets come from the environment
// only; config.toml never holds them.
const (
	envConfig         = "CITYBOT_CONFIG"
	envTelegramToken  = "CITYBOT_TELEGRAM_TOKEN"
	envTelegramSecret = "CITYBOT_TELEGRAM_WEBHOOK_SECRET"
	envDiscordToken   = "CITYBOT_DISCORD_TOKEN"
	envMetricsToken   = "CITYBOT_METRICS_TOKEN"
)

// defaultConfigPath is read when neither --config nor CITYBOT_CONFIG names
// a file. If it does not exist, citybot runs on the defaults in code.
const defaultConfigPath = "config.toml"

// Config is citybot's whole configuration: config.toml decoded strictly over
// the defaults of DefaultConfig, plus the secrets from the environment.
type Config struct {
	City      CityConfig      `toml:"city"`
	Store     StoreConfig     `toml:"store"`
	HTTP      HTTPConfig      `toml:"http"`
	Log       LogConfig       `toml:"log"`
	Telegram  TelegramConfig  `toml:"telegram"`
	Discord   DiscordConfig   `toml:"discord"`
	Cases     CasesConfig     `toml:"cases"`
	Grouping  GroupingConfig  `toml:"grouping"`
	Outbox    OutboxConfig    `toml:"outbox"`
	Sandbox   SandboxConfig   `toml:"sandbox"`
	Digest    DigestConfig    `toml:"digest"`
	Schedule  ScheduleConfig  `toml:"schedule"`
	Retention RetentionConfig `toml:"retention"`
	Web       WebConfig       `toml:"web"`
	Retrain   RetrainConfig   `toml:"retrain"`
	Alerts    AlertsConfig    `toml:"alerts"`
	Surge     SurgeConfig     `toml:"surge"`
	SLA       SLAConfig       `toml:"sla"`
	Open311   Open311Config   `toml:"open311"`
	// Classifier is the [classifier] section, decoded straight into the
	// classifier's options (model, topics and their keywords, places).
	Classifier classifier.Options `toml:"classifier"`

	// Source is the file LoadConfig read, or "" when the built-in
	// defaults apply.
	Source string `toml:"-"`

	// Secrets, read from the environment by LoadConfig.
	TelegramToken         Secret `toml:"-"`
	TelegramWebhookSecret Secret `toml:"-"`
	DiscordToken          Secret `toml:"-"`
	// DatabaseURL is the PostgreSQL connection string ([store] driver =
	// "postgres").
	DatabaseURL Secret `toml:"-"`
	// MetricsToken, when set, is the bearer token GET /metrics requires
	// from any client (see metricsGuard).
	MetricsToken Secret `toml:"-"`
}

// CityConfig describes the city citybot answers for.
type CityConfig struct {
	Name            string   `toml:"name"`
	Languages       []string `toml:"languages"`
	DefaultLanguage string   `toml:"default_language"`
	EmergencyNumber string   `toml:"emergency_number"`
	Timezone        string   `toml:"timezone"`
	// LocalesDir is a directory of language files (<lang>.toml, the
	// format of locale/en.toml) that add languages or override texts;
	// "" for the shipped ones only.
	LocalesDir string `toml:"locales_dir"`
}

// Locales loads the language files: the shipped ones with
// [city] locales_dir on top. Errors name the file and the key.
func (c CityConfig) Locales() (*locale.Set, error) {
	set, err := locale.Load(c.LocalesDir)
	if err != nil {
		return nil, fmt.Errorf("city.locales_dir: %w", err)
	}
	return set, nil
}

// StoreConfig locates the database: a SQLite file (Driver "sqlite", the
// default) or a PostgreSQL database (Driver "postgres"), whose connection
// string is the secret CITYBOT_DATABASE_URL, never a key of the file.
type StoreConfig struct {
	Driver string `toml:"driver"`
	Path   string `toml:"path"`
}

// HTTPConfig is the operations HTTP server (health, metrics, webhook).
type HTTPConfig struct {
	Addr string `toml:"addr"`
	// MaxConnections bounds the connections the HTTP server holds open
	// at once; more wait in the kernel's queue until one closes. 0 means
	// automatic: the process's open-file limit less descriptorReserve,
	// at most 4096, so that a flood of idle connections cannot take the
	// descriptors the database and the platforms' clients need.
	MaxConnections int `toml:"max_connections"`
}

// LogConfig shapes the process's logs.
type LogConfig struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // text, json
}

// TelegramConfig configures the Telegram adapter.
type TelegramConfig struct {
	Enabled     bool   `toml:"enabled"`
	APIEndpoint string `toml:"api_endpoint"`
	Mode        string `toml:"mode"` // polling, webhook
	WebhookURL  string `toml:"webhook_url"`
	// ListenGroups are group chat ids where every message is heard, not
	// only those that mention or reply to the bot.
	ListenGroups []int64  `toml:"listen_groups"`
	PollTimeout  Duration `toml:"poll_timeout"`
	// Local send limits: at most N messages in any window.
	RatePerChat  Rate `toml:"rate_per_chat"`
	RatePerGroup Rate `toml:"rate_per_group"`
	RateGlobal   Rate `toml:"rate_global"`
}

// Rate is a send limit written "N/window" in TOML ("3/3s": at most 3
// messages in any 3 seconds), or "off".
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether the limit is disabled.
func (r Rate) Off() bool { return r.N < 0 }

// UnmarshalText parses "N/window" or "off".
func (r *Rate) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "off" {
		*r = Rate{N: -1}
		return nil
	}
	n, per, ok := strings.Cut(s, "/")
	v, err1 := strconv.Atoi(strings.TrimSpace(n))
	d, err2 := time.ParseDuration(strings.TrimSpace(per))
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("invalid rate %q (want \"N/window\" like \"20/1m\", or \"off\")", s)
	}
	*r = Rate{N: v, Per: d}
	return nil
}

// MarshalText writes the rate as "N/window" or "off".
func (r Rate) MarshalText() ([]byte, error) {
	if r.Off() {
		return []byte("off"), nil
	}
	return []byte(strconv.Itoa(r.N) + "/" + r.Per.String()), nil
}

func (r Rate) String() string { b, _ := r.MarshalText(); return string(b) }

// DiscordConfig configures the Discord adapter.
type DiscordConfig struct {
	Enabled  bool     `toml:"enabled"`
	APIBase  string   `toml:"api_base"`
	GuildID  string   `toml:"guild_id"`
	Channels []string `toml:"channels"`
	// RatePerChannel bounds sends per channel (Discord's message bucket).
	RatePerChannel Rate `toml:"rate_per_channel"`
	// GlobalPerSecond bounds REST requests per second (Discord allows 50).
	GlobalPerSecond int `toml:"global_per_second"`
}

// GroupingConfig is the [grouping] section: whether a new report is
// compared with recent open cases of other citizens (package grouping)
// and joined to one as a new follower, or suggested to officers.
type GroupingConfig struct {
	// Enabled turns grouping on (the default).
	Enabled bool `toml:"enabled"`
	// Window: a case is compared while its latest citizen message is at
	// most this old; MaxAge: and while it was opened at most this long
	// ago.
	Window Duration `toml:"window"`
	MaxAge Duration `toml:"max_age"`
	// SameSpotMeters: two shared locations at most this far apart are
	// the same place; NearSpotMeters: near (suggested only).
	SameSpotMeters float64 `toml:"same_spot_meters"`
	NearSpotMeters float64 `toml:"near_spot_meters"`
	// MaxSuggestions bounds the cases one report is suggested to look
	// like.
	MaxSuggestions int `toml:"max_suggestions"`
	// Related are groups of [classifier] topics the same problem is
	// often tagged with; empty keeps the built-in groups.
	Related [][]string `toml:"related"`
	// Near are groups of [classifier] places close enough that citizens
	// name either for the same spot (a landmark and its street).
	Near [][]string `toml:"near"`
}

// groupingOptions turns [grouping] into the grouper's options, with the
// city's gazetteer ([classifier] places) and sensitive topics.
func (c Config) groupingOptions(sensitive []string) grouping.Options {
	o := grouping.Options{
		Window: c.Grouping.Window.Duration, MaxAge: c.Grouping.MaxAge.Duration,
		SameSpotMeters: c.Grouping.SameSpotMeters, NearSpotMeters: c.Grouping.NearSpotMeters,
		MaxSuggestions: c.Grouping.MaxSuggestions, Near: c.Grouping.Near, SensitiveTopics: sensitive,
	}
	if len(c.Grouping.Related) > 0 {
		o.Related = c.Grouping.Related
	}
	for _, p := range c.Classifier.Places {
		o.Places = append(o.Places, grouping.Place{Name: p.Name, Aliases: p.Aliases})
	}
	return o
}

// CasesConfig shapes how messages become cases.
type CasesConfig struct {
	// Window is how long after a citizen's last message in a chat a new
	// message still joins their open case there.
	Window Duration `toml:"window"`
	// FollowUpNoteEvery is the least time between two short notes
	// ("Added to your case REF.") telling a citizen that a message joined
	// their open case: such a note goes out only when nothing about the
	// case was queued for that long, so several lines typed in a row get
	// one answer. Off sends no notes.
	FollowUpNoteEvery DurationOrOff `toml:"follow_up_note_every"`
}

// WebConfig is the officer console and the public pages, served on
// [http] addr.
type WebConfig struct {
	// Enabled serves the console at / and the public pages at /public/
	// and /open311/v2/.
	Enabled bool `toml:"enabled"`
	// InsecureCookies drops the Secure flag of the console's session
	// cookie, for plain HTTP on a non-loopback address. Never in
	// production.
	InsecureCookies bool `toml:"insecure_cookies"`
	// SensitiveTopics make a message on them sensitive (as does the
	// classifier's own flag); a case with a sensitive message is shown
	// only to admins, never case by case in public, and its citizen is
	// told how their identity is protected. The key absent keeps the default
	// ["corruption"]; an explicit empty list marks no topic sensitive
	// (decoding keeps it empty and non-nil, which the responder and the
	// console read as "none", where nil would mean their default).
	SensitiveTopics []string `toml:"sensitive_topics"`
	// SensitiveReaders are who may read sensitive cases in the console
	// (and set or clear the flag, and be assigned one, and take one from
	// an alert): role names (admin, officer, official) and account
	// names. Default ["admin"].
	SensitiveReaders []string `toml:"sensitive_readers"`
	// RetrainModel is the old name of the file a switched model is kept
	// in (deprecated: use [retrain] dir). When set, it is that file, the
	// model before it is kept as RetrainModel + ".previous", and serve
	// loads it at start as it loads [retrain] dir's.
	RetrainModel string `toml:"retrain_model"`
	// Proxies lists the reverse proxies (CIDR prefixes or single
	// addresses) whose X-Forwarded-For or X-Real-IP header names the
	// client, for the sign-in limits; from any other peer the headers
	// are ignored. Empty: the peer is the client.
	Proxies []string `toml:"trusted_proxies"`
	// TrustedProxy is the old name of trusted_proxies (deprecated); it
	// cannot be set together with it.
	TrustedProxy []string `toml:"trusted_proxy"`
	// PublicBaseURL is the console's address as officers reach it
	// ("https://citybot.city.example"); alerts link to a case under it.
	// "" links with the path only.
	PublicBaseURL string `toml:"public_base_url"`
}

// Gazetteer returns the names of [classifier] places, the only place
// names shown in public without passing citybot.PublicPlace.
func (c Config) Gazetteer() []string {
	names := make([]string, 0, len(c.Classifier.Places))
	for _, p := range c.Classifier.Places {
		names = append(names, p.Name)
	}
	return names
}

// TrustedProxies parses [web] trusted_proxies (or its old name,
// trusted_proxy); a single address is a prefix of its full length.
func (w WebConfig) TrustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, s := range slices.Concat(w.Proxies, w.TrustedProxy) {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%q is neither an address nor a CIDR prefix", s))
			continue
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, errors.Join(errs...)
}

// RetrainConfig configures retraining from the officers' corrections:
// the console's model page and `citybot train --from-store`.
type RetrainConfig struct {
	// Dir keeps the model switched to (current.model, which serve loads
	// at start), the one before it (previous.model, for a rollback) and
	// every switched model by name; "" means citybot-model beside the
	// database.
	Dir string `toml:"dir"`
	// MinCorrections of one label kind (topic, urgency) before that kind
	// is retrained and judged (at least 10).
	MinCorrections int `toml:"min_corrections"`
	// Search chooses the topic head's settings by inner cross-validation
	// on every training (the classifier's default); false uses the
	// default settings, several times faster for a slightly weaker head.
	Search bool `toml:"search"`
}

// defaultModelDir is the directory of switched models beside the
// database when [retrain] dir is empty.
const defaultModelDir = "citybot-model"

// ModelFiles returns where a switched model is kept: [web] retrain_model
// when set (the old key), else [retrain] dir, else citybot-model beside
// the database.
func (c Config) ModelFiles() responder.ModelFiles {
	if c.Web.RetrainModel != "" {
		return responder.ModelFiles{Current: c.Web.RetrainModel}
	}
	dir := c.Retrain.Dir
	if dir == "" {
		dir = filepath.Join(filepath.Dir(c.Store.Path), defaultModelDir)
	}
	return responder.ModelDir(dir)
}

// OutboxConfig tunes the dispatcher that sends the outbox.
type OutboxConfig struct {
	Workers      int      `toml:"workers"`       // concurrent sends, each to a different chat
	MaxAttempts  int      `toml:"max_attempts"`  // failed attempts before a message is given up
	BaseBackoff  Duration `toml:"base_backoff"`  // first wait after a failed attempt
	MaxBackoff   Duration `toml:"max_backoff"`   // longest wait between attempts
	PollInterval Duration `toml:"poll_interval"` // longest idle sleep between outbox checks
	SendTimeout  Duration `toml:"send_timeout"`  // bound on one send
	// InstanceHeartbeat is how long this process's heartbeat in the
	// database lasts unrenewed: once it ends, the other instances settle
	// the rows it was sending.
	InstanceHeartbeat Duration `toml:"instance_heartbeat"`
	// CombineGroupAcks: acknowledgements waiting for the same group chat
	// go out as one message naming each reporter with their reference.
	CombineGroupAcks bool `toml:"combine_group_acks"`
}

// SandboxConfig configures sandbox mode, where every enabled platform is
// a local emulator and nothing leaves the machine. Sandbox mode is on when
// Enabled is true, or when no platform token is set at all (the first
// run); see Config.Sandboxed.
type SandboxConfig struct {
	// Enabled forces sandbox mode even when platform tokens are set (the
	// tokens are then not used).
	Enabled      bool   `toml:"enabled"`
	TelegramAddr string `toml:"telegram_addr"`
	DiscordAddr  string `toml:"discord_addr"`
}

// Platform modes, as PlatformMode returns them and /healthz reports them.
const (
	modeLive     = "live"
	modeSandbox  = "sandbox"
	modeDisabled = "disabled"
)

// Sandboxed reports whether serve runs the enabled platforms on local
// emulators: [sandbox] enabled is true, or no platform token is set at
// all. With at least one token set and [sandbox] enabled false, every
// enabled platform is live and needs its token (Validate checks it).
func (c Config) Sandboxed() bool {
	return c.Sandbox.Enabled || (!c.TelegramToken.Set() && !c.DiscordToken.Set())
}

// PlatformMode returns "live", "sandbox" or "disabled" for platform
// "telegram" or "discord" ("disabled" for any other name).
func (c Config) PlatformMode(platform string) string {
	var enabled bool
	switch platform {
	case "telegram":
		enabled = c.Telegram.Enabled
	case "discord":
		enabled = c.Discord.Enabled
	}
	switch {
	case !enabled:
		return modeDisabled
	case c.Sandboxed():
		return modeSandbox
	default:
		return modeLive
	}
}

// PlatformModes maps each platform to its PlatformMode.
func (c Config) PlatformModes() map[string]string {
	return map[string]string{"telegram": c.PlatformMode("telegram"), "discord": c.PlatformMode("discord")}
}

// Duration is a time.Duration written in TOML as a string ("90s", "2h").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"90s\", \"2h\")", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// DurationOrOff is a Duration that may also be written "off" in TOML.
type DurationOrOff struct {
	time.Duration
	Off bool
}

// UnmarshalText parses "off" or a Go duration string.
func (d *DurationOrOff) UnmarshalText(b []byte) error {
	if strings.TrimSpace(string(b)) == "off" {
		*d = DurationOrOff{Off: true}
		return nil
	}
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. \"10m\", or \"off\")", b)
	}
	*d = DurationOrOff{Duration: v}
	return nil
}

// MarshalText writes "off" or the duration as a Go duration string.
func (d DurationOrOff) MarshalText() ([]byte, error) {
	if d.Off {
		return []byte("off"), nil
	}
	return []byte(d.Duration.String()), nil
}

func (d DurationOrOff) String() string { b, _ := d.MarshalText(); return string(b) }

// Secret is a value that must never be printed: String, GoString, LogValue
// and MarshalText all redact it. Reveal returns the value itself.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value, for the one call that needs it.
func (s Secret) Reveal() string { return string(s) }

// Set reports whether the secret has a value.
func (s Secret) Set() bool { return s != "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret under %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in any encoding.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// DefaultConfig returns the defaults in code that config.toml overrides.
func DefaultConfig() Config {
	return Config{
		City: CityConfig{
			Name:            "Citybot Town",
			Languages:       []string{"en", "fr"},
			DefaultLanguage: "en",
			EmergencyNumber: "112",
			Timezone:        "UTC",
		},
		Store: StoreConfig{Driver: driverSQLite, Path: "citybot.db"},
		HTTP:  HTTPConfig{Addr: "127.0.0.1:8080"},
		Log:   LogConfig{Level: "info", Format: "text"},
		Telegram: TelegramConfig{
			Enabled:      true,
			APIEndpoint:  "https://api.telegram.org/bot%s/%s",
			Mode:         "polling",
			PollTimeout:  Duration{30 * time.Second},
			RatePerChat:  Rate{N: 3, Per: 3 * time.Second},
			RatePerGroup: Rate{N: 20, Per: time.Minute},
			RateGlobal:   Rate{N: 30, Per: time.Second},
			ListenGroups: []int64{},
		},
		Discord: DiscordConfig{
			Enabled:         true,
			APIBase:         "https://discord.com",
			Channels:        []string{},
			RatePerChannel:  Rate{N: 5, Per: 5 * time.Second},
			GlobalPerSecond: 45,
		},
		Cases: CasesConfig{Window: Duration{30 * time.Minute}, FollowUpNoteEvery: DurationOrOff{Duration: 10 * time.Minute}},
		Grouping: GroupingConfig{Enabled: true, Window: Duration{grouping.DefaultWindow}, MaxAge: Duration{grouping.DefaultMaxAge},
			SameSpotMeters: grouping.DefaultSameSpot, NearSpotMeters: grouping.DefaultNearSpot, MaxSuggestions: grouping.DefaultMaxSuggestions,
			Related: [][]string{}, Near: [][]string{}},
		Outbox: OutboxConfig{
			Workers:      8,
			MaxAttempts:  8,
			BaseBackoff:  Duration{2 * time.Second},
			MaxBackoff:   Duration{10 * time.Minute},
			PollInterval: Duration{5 * time.Second},
			SendTimeout:  Duration{30 * time.Second},
			// Renewed every 2 s; rows of a dead instance settled
			// within about 15 s.
			InstanceHeartbeat: Duration{10 * time.Second},
			// Combined acknowledgements in busy groups.
			CombineGroupAcks: true,
		},
		Sandbox: SandboxConfig{TelegramAddr: "127.0.0.1:0", DiscordAddr: "127.0.0.1:0"},
		Digest: DigestConfig{
			Examples:      3,
			FollowupDays:  3,
			ReminderHours: 8,
			WorkStart:     9,
			WorkEnd:       17,
		},
		Schedule:  DefaultSchedule(),
		Retention: RetentionConfig{IdentityDays: DefaultIdentityDays},
		Web: WebConfig{Enabled: true, SensitiveTopics: []string{"corruption"}, SensitiveReaders: []string{string(citybot.RoleAdmin)},
			Proxies: []string{}},
		Retrain:    RetrainConfig{MinCorrections: responder.DefaultMinCorrections, Search: true},
		Classifier: defaultClassifierOptions(),
		SLA:        DefaultSLA(),
		Open311:    DefaultOpen311(),
		Surge:      DefaultSurge(),
		Alerts: AlertsConfig{
			TelegramChats: []int64{}, DiscordChannels: []string{}, SensitiveChats: []string{}, EscalateChats: []string{},
			EscalateAfter: DurationOrOff{Duration: 10 * time.Minute},
		},
	}
}

// defaultClassifierOptions are the classifier's defaults with its tuning
// knobs spelled out, as config.toml shows them.
func defaultClassifierOptions() classifier.Options {
	o := classifier.DefaultOptions()
	o.MaxBytes = classifier.DefaultMaxBytes
	o.OtherThreshold = classifier.DefaultOtherThreshold
	o.KeywordWeight = classifier.DefaultKeywordWeight
	return o
}

// cityClassifier returns the [classifier] section with the default
// topics when it lists none: the topics train and eval check labels
// against and count keywords of.
func (c Config) cityClassifier() classifier.Options {
	o := c.Classifier
	if len(o.Topics) == 0 {
		o.Topics = classifier.DefaultOptions().Topics
	}
	return o
}

// ConfigError is a configuration that cannot be used: it could not be
// read or decoded, or it holds one or more problems. main exits with
// status 2 on it.
type ConfigError struct {
	Path     string  // the file, or "" for the defaults in code
	Problems []error // every problem found, in file order where known
}

func (e *ConfigError) Error() string {
	src := e.Path
	if src == "" {
		src = "built-in defaults"
	}
	if len(e.Problems) == 1 {
		return fmt.Sprintf("config %s: %v", src, e.Problems[0])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problems:", src, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems, for errors.Is and errors.As.
func (e *ConfigError) Unwrap() []error { return e.Problems }

// LoadConfig reads the config file at path over DefaultConfig, then the
// secrets from getenv. An empty path means defaultConfigPath, which may
// be absent (then the defaults in code apply). It returns a *ConfigError
// when the file cannot be read, is not valid TOML, holds unknown keys or
// values of the wrong type, or when Validate finds problems; every
// problem it can find is in the one error. The returned Config is usable
// only when the error is nil.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := DefaultConfig()
	var problems []error
	explicit := path != ""
	if !explicit {
		path = defaultConfigPath
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist) && !explicit:
		path = ""
	case err != nil:
		return cfg, &ConfigError{Path: path, Problems: []error{fmt.Errorf("read: %w", err)}}
	default:
		var err error
		if problems, err = decodeStrict(data, &cfg); err != nil {
			return cfg, &ConfigError{Path: path, Problems: []error{err}}
		}
	}
	cfg.Source = path
	cfg.TelegramToken = Secret(strings.TrimSpace(getenv(envTelegramToken)))
	cfg.TelegramWebhookSecret = Secret(strings.TrimSpace(getenv(envTelegramSecret)))
	cfg.MetricsToken = Secret(strings.TrimSpace(getenv(envMetricsToken)))
	cfg.DiscordToken = Secret(strings.TrimSpace(getenv(envDiscordToken)))
	cfg.DatabaseURL = Secret(strings.TrimSpace(getenv(envDatabaseURL)))
	// Unknown keys do not stop the checks: one run reports every problem.
	if err := cfg.Validate(); err != nil {
		problems = append(problems, flatten(err)...)
	}
	if len(problems) > 0 {
		return cfg, &ConfigError{Path: path, Problems: problems}
	}
	return cfg, nil
}

// decodeStrict decodes data into cfg. It returns as problems, in file
// order, every unknown key and every value of the wrong type (each with
// its line; such a value is skipped and its key keeps its default, the
// rest still decoded), or err when data is not valid TOML; then cfg is
// only partly decoded.
func decodeStrict(data []byte, cfg *Config) (problems []error, err error) {
	md, found, err := decodeSkippingBad(data, cfg)
	if err != nil {
		return nil, err
	}
	undecoded := md.Undecoded()
	seen := make(map[string]bool, len(undecoded))
	for _, k := range undecoded {
		seen[k.String()] = true
		// Report an unknown table once, not each key under it.
		if len(k) > 1 && seen[toml.Key(k[:len(k)-1]).String()] {
			continue
		}
		what := "unknown key"
		if md.Type(k...) == "Hash" {
			what = "unknown section"
		}
		msg := fmt.Sprintf("%s %q", what, k.String())
		line := keyLine(data, k)
		if line > 0 {
			msg = fmt.Sprintf("line %d: %s", line, msg)
		}
		found = append(found, lineProblem{line: line, err: errors.New(msg)})
	}
	return sortProblems(found), nil
}

var (
	tableHeader = regexp.MustCompile(`^\s*\[\[?\s*([^\]]+?)\s*\]\]?`)
	keyStart    = regexp.MustCompile(`^\s*([A-Za-z0-9_\-."' ]+?)\s*=`)
)

// keyLine finds the line where key k is written, or 0. It understands the
// plain forms config files use: [table] headers and bare or dotted keys.
func keyLine(data []byte, k toml.Key) int {
	want := strings.Join(k, ".")
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := tableHeader.FindStringSubmatch(line); m != nil {
			table = unquoteKey(m[1])
			if table == want {
				return n
			}
			continue
		}
		if m := keyStart.FindStringSubmatch(line); m != nil {
			full := unquoteKey(m[1])
			if table != "" {
				full = table + "." + full
			}
			if full == want || strings.HasPrefix(full, want+".") {
				return n
			}
		}
	}
	return 0
}

func unquoteKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var (
	languageCode  = regexp.MustCompile(`^[a-z]{2,3}$`)
	emergencyDial = regexp.MustCompile(`^\+?[0-9][0-9 ]{1,14}$`)
	telegramToken = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$`)
	webhookSecret = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	discordID     = regexp.MustCompile(`^[0-9]{1,20}$`)
	logLevels     = []string{"debug", "info", "warn", "error"}
	logFormats    = []string{"text", "json"}
	telegramModes = []string{"polling", "webhook"}
)

// Validate reports every problem of the configuration at once, joined
// with errors.Join, or nil. Problems name the key (section.key) and never
// include a secret's value.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	// [city]
	if strings.TrimSpace(c.City.Name) == "" {
		bad("city.name", "must not be empty")
	}
	if len(c.City.Languages) == 0 {
		bad("city.languages", "must list at least one language")
	}
	locales, err := locale.Load(c.City.LocalesDir)
	if err != nil {
		for _, e := range flatten(err) {
			bad("city.locales_dir", "%v", e)
		}
		locales = locale.MustEmbedded()
	}
	for i, l := range c.City.Languages {
		switch {
		case !languageCode.MatchString(l):
			bad("city.languages", "%q is not a lowercase ISO 639 code like \"en\"", l)
		case !locales.Has(l):
			bad("city.languages", "%q has no message catalog (shipped or in city.locales_dir: %s; add %s.toml to city.locales_dir for another)",
				l, strings.Join(locales.Languages(), ", "), l)
		case slices.Index(c.City.Languages, l) != i:
			bad("city.languages", "%q is listed twice", l)
		}
	}
	if !slices.Contains(c.City.Languages, c.City.DefaultLanguage) {
		bad("city.default_language", "%q must be one of city.languages %q", c.City.DefaultLanguage, c.City.Languages)
	}
	if !emergencyDial.MatchString(c.City.EmergencyNumber) {
		bad("city.emergency_number", "%q is not a phone number (digits, optional leading +)", c.City.EmergencyNumber)
	}
	if c.City.Timezone == "" {
		bad("city.timezone", "must not be empty (e.g. \"Europe/Paris\" or \"UTC\")")
	} else if _, err := time.LoadLocation(c.City.Timezone); err != nil {
		bad("city.timezone", "unknown time zone %q", c.City.Timezone)
	}

	// [store]
	switch c.Store.Driver {
	case driverSQLite:
		if strings.TrimSpace(c.Store.Path) == "" {
			bad("store.path", "must not be empty")
		}
	case driverPostgres:
		if !c.DatabaseURL.Set() {
			bad("store.driver", "%q needs the connection string in %s (e.g. postgres://citybot@db.example.org/citybot); it is a secret, never a key of this file", driverPostgres, envDatabaseURL)
		}
	default:
		bad("store.driver", "%q: must be %q (one file, the default) or %q", c.Store.Driver, driverSQLite, driverPostgres)
	}

	// [http]
	if n := c.HTTP.MaxConnections; n < 0 || n > 1<<20 {
		bad("http.max_connections", "%d: must be 0 (automatic) or a positive number of connections", n)
	}
	if err := checkHostPort(c.HTTP.Addr); err != nil {
		bad("http.addr", "%v", err)
	}

	// [log]
	if !slices.Contains(logLevels, c.Log.Level) {
		bad("log.level", "%q must be one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		bad("log.format", "%q must be one of %s", c.Log.Format, strings.Join(logFormats, ", "))
	}

	// [telegram]
	t := c.Telegram
	if err := checkEndpoint(t.APIEndpoint); err != nil {
		bad("telegram.api_endpoint", "%v", err)
	}
	if !slices.Contains(telegramModes, t.Mode) {
		bad("telegram.mode", "%q must be \"polling\" or \"webhook\"", t.Mode)
	}
	if t.Mode == "webhook" {
		u, err := url.Parse(t.WebhookURL)
		switch {
		case t.WebhookURL == "":
			bad("telegram.webhook_url", "must be set when telegram.mode = \"webhook\"")
		case err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))):
			bad("telegram.webhook_url", "%q must be an https:// URL (http:// only on a loopback address, for testing)", t.WebhookURL)
		case u.Path == "" || u.Path == "/":
			bad("telegram.webhook_url", "%q needs a path (e.g. /telegram/webhook) to route on", t.WebhookURL)
		}
		if c.PlatformMode("telegram") == modeLive && !c.TelegramWebhookSecret.Set() {
			bad(envTelegramSecret, "must be set when telegram.mode = \"webhook\"")
		}
	}
	if c.TelegramWebhookSecret.Set() && !webhookSecret.MatchString(c.TelegramWebhookSecret.Reveal()) {
		bad(envTelegramSecret, "must be 1-256 characters from A-Z a-z 0-9 _ -")
	}
	if c.TelegramToken.Set() && !telegramToken.MatchString(c.TelegramToken.Reveal()) {
		bad(envTelegramToken, "is not shaped like a Telegram bot token (digits, a colon, then letters)")
	}
	for _, g := range t.ListenGroups {
		if g >= 0 {
			bad("telegram.listen_groups", "%d is not a group chat id (group ids are negative)", g)
		}
	}
	if t.PollTimeout.Duration < time.Second || t.PollTimeout.Duration > 10*time.Minute {
		bad("telegram.poll_timeout", "%s must be between 1s and 10m", t.PollTimeout)
	}
	for _, r := range []struct {
		key  string
		rate Rate
	}{{"telegram.rate_per_chat", t.RatePerChat}, {"telegram.rate_per_group", t.RatePerGroup}, {"telegram.rate_global", t.RateGlobal}} {
		if !r.rate.Off() && (r.rate.N <= 0 || r.rate.Per <= 0) {
			bad(r.key, "%q needs a positive count and window (or \"off\")", r.rate)
		}
	}

	// [discord]
	d := c.Discord
	if u, err := url.Parse(d.APIBase); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("discord.api_base", "%q must be an http(s) URL", d.APIBase)
	}
	if d.GuildID != "" && !discordID.MatchString(d.GuildID) {
		bad("discord.guild_id", "%q is not a Discord id (digits)", d.GuildID)
	}
	for _, ch := range d.Channels {
		if !discordID.MatchString(ch) {
			bad("discord.channels", "%q is not a Discord channel id (digits)", ch)
		}
	}
	if d.RatePerChannel.Off() || d.RatePerChannel.N <= 0 || d.RatePerChannel.Per <= 0 {
		bad("discord.rate_per_channel", "%q needs a positive count and window (Discord enforces it)", d.RatePerChannel)
	}
	if d.GlobalPerSecond < 1 || d.GlobalPerSecond > 50 {
		bad("discord.global_per_second", "%d must be between 1 and 50 (Discord's global limit)", d.GlobalPerSecond)
	}
	if c.DiscordToken.Set() && strings.ContainsAny(c.DiscordToken.Reveal(), " \t\r\n") {
		bad(envDiscordToken, "must not contain whitespace")
	}

	if !t.Enabled && !d.Enabled {
		bad("telegram.enabled", "and discord.enabled are both false: enable at least one platform")
	}
	// Once one token is set, citybot is live: a platform left enabled
	// without its token is a mistake (often a misspelt variable), not a
	// reason to run an emulator in production.
	if !c.Sandboxed() {
		if t.Enabled && !c.TelegramToken.Set() {
			bad(envTelegramToken, "is not set while another platform's token is (so citybot runs live): set it, or set `[telegram] enabled = false`")
		}
		if d.Enabled && !c.DiscordToken.Set() {
			bad(envDiscordToken, "is not set while another platform's token is (so citybot runs live): set it, or set `[discord] enabled = false`")
		}
	}

	// [cases]
	if c.Cases.Window.Duration <= 0 {
		bad("cases.window", "%s must be positive", c.Cases.Window)
	}
	if f := c.Cases.FollowUpNoteEvery; !f.Off && f.Duration <= 0 {
		bad("cases.follow_up_note_every", "%s must be positive (write \"off\" to send no notes)", f)
	}

	// [grouping]
	if g := c.Grouping; g.Enabled {
		if g.Window.Duration <= 0 {
			bad("grouping.window", "%s must be positive", g.Window)
		}
		if g.MaxAge.Duration < g.Window.Duration {
			bad("grouping.max_age", "%s must be at least grouping.window (%s)", g.MaxAge, g.Window)
		}
		if g.SameSpotMeters <= 0 || g.SameSpotMeters > 5000 {
			bad("grouping.same_spot_meters", "%v must be between 0 and 5000 (excluded, included)", g.SameSpotMeters)
		}
		if g.NearSpotMeters < g.SameSpotMeters || g.NearSpotMeters > 20000 {
			bad("grouping.near_spot_meters", "%v must be at least same_spot_meters and at most 20000", g.NearSpotMeters)
		}
		if g.MaxSuggestions < 1 || g.MaxSuggestions > 20 {
			bad("grouping.max_suggestions", "%d must be between 1 and 20", g.MaxSuggestions)
		}
		topics := []string{"other"}
		for _, t := range c.Classifier.Topics {
			topics = append(topics, t.Name)
		}
		for i, grp := range g.Related {
			if len(grp) < 2 {
				bad("grouping.related", "group %d names fewer than two topics", i+1)
			}
			for _, t := range grp {
				if len(c.Classifier.Topics) > 0 && !slices.Contains(topics, t) {
					bad("grouping.related", "%q is not one of the [classifier] topics (%s)", t, strings.Join(topics[1:], ", "))
				}
			}
		}
		places := c.Gazetteer()
		for i, grp := range g.Near {
			if len(grp) < 2 {
				bad("grouping.near", "group %d names fewer than two places", i+1)
			}
			for _, p := range grp {
				if !slices.Contains(places, p) {
					bad("grouping.near", "%q is not the name of one of the [classifier] places", p)
				}
			}
		}
	}

	// [outbox]
	o := c.Outbox
	if o.Workers < 1 || o.Workers > 256 {
		bad("outbox.workers", "%d must be between 1 and 256", o.Workers)
	}
	if o.MaxAttempts < 1 {
		bad("outbox.max_attempts", "%d must be at least 1", o.MaxAttempts)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"outbox.base_backoff", o.BaseBackoff}, {"outbox.max_backoff", o.MaxBackoff}, {"outbox.poll_interval", o.PollInterval}, {"outbox.send_timeout", o.SendTimeout}} {
		if d.v.Duration <= 0 {
			bad(d.key, "%s must be positive", d.v)
		}
	}
	if o.MaxBackoff.Duration < o.BaseBackoff.Duration {
		bad("outbox.max_backoff", "%s must not be shorter than outbox.base_backoff %s", o.MaxBackoff, o.BaseBackoff)
	}
	if h := o.InstanceHeartbeat.Duration; h < 2*time.Second || h > 10*time.Minute {
		bad("outbox.instance_heartbeat", "%s must be between 2s and 10m", o.InstanceHeartbeat)
	}

	// [sandbox]
	if err := checkLoopback(c.Sandbox.TelegramAddr); err != nil {
		bad("sandbox.telegram_addr", "%v", err)
	}
	if err := checkLoopback(c.Sandbox.DiscordAddr); err != nil {
		bad("sandbox.discord_addr", "%v", err)
	}
	// [web]
	// A misspelt sensitive topic would leave reporters unprotected: with
	// a topics list, the classifier returns nothing else. The default
	// list is not checked, so that a city's own topics need not include
	// corruption.
	if len(c.Classifier.Topics) > 0 && !slices.Equal(c.Web.SensitiveTopics, DefaultConfig().Web.SensitiveTopics) {
		names := []string{"other"}
		for _, t := range c.Classifier.Topics {
			names = append(names, t.Name)
		}
		for _, t := range c.Web.SensitiveTopics {
			if !slices.Contains(names, t) {
				bad("web.sensitive_topics", "%q is not one of the [classifier] topics (%s)", t, strings.Join(names[1:], ", "))
			}
		}
	}
	if len(c.Web.SensitiveReaders) == 0 {
		bad("web.sensitive_readers", "name at least one role or account: nobody could read sensitive cases")
	}
	for _, r := range c.Web.SensitiveReaders {
		if !citybot.Role(r).Valid() && citybot.CheckAccountName(r) != nil {
			bad("web.sensitive_readers", "%q is neither a role (admin, officer, official) nor an account name", r)
		}
	}
	if m := c.Web.RetrainModel; m != "" {
		if st, err := os.Stat(filepath.Dir(m)); err != nil || !st.IsDir() {
			bad("web.retrain_model", "%q: directory %s does not exist", m, filepath.Dir(m))
		}
		if c.Retrain.Dir != "" {
			bad("web.retrain_model", "%q and [retrain] dir %q are both set: keep [retrain] dir (retrain_model is its old, deprecated form)", m, c.Retrain.Dir)
		}
	}
	if _, err := c.Web.TrustedProxies(); err != nil {
		key := "web.trusted_proxies"
		if len(c.Web.Proxies) == 0 {
			key = "web.trusted_proxy"
		}
		bad(key, "%v", err)
	}
	if len(c.Web.Proxies) > 0 && len(c.Web.TrustedProxy) > 0 {
		bad("web.trusted_proxy", "set only web.trusted_proxies (trusted_proxy is its old, deprecated name)")
	}
	if c.Retrain.MinCorrections < 10 {
		bad("retrain.min_corrections", "%d: at least 10 corrections of a kind are needed to judge a retrained model", c.Retrain.MinCorrections)
	}

	// [digest], [schedule], [retention]
	if _, err := DigestOptions(c.Digest, c.Retention); err != nil {
		errs = append(errs, flatten(err)...)
	}
	for _, l := range c.Digest.Languages {
		if !slices.Contains(c.City.Languages, l) {
			bad("digest.languages", "%q is not one of [city] languages", l)
		}
	}
	if err := c.Schedule.Validate(); err != nil {
		errs = append(errs, flatten(err)...)
	}
	for l, by := range c.Digest.ApprovedBy {
		if !slices.Contains(c.City.Languages, l) {
			bad("digest.approved_by", "%q is not one of [city] languages", l)
		}
		if strings.TrimSpace(by) == "" || len(by) > 200 {
			bad("digest.approved_by", "%s: the office's name needs 1 to 200 bytes", l)
		}
	}
	if c.Digest.WorkStart < 0 || c.Digest.WorkEnd > 24 || c.Digest.WorkStart >= c.Digest.WorkEnd {
		bad("digest.work_start", "%d and digest.work_end %d must be hours with 0 <= start < end <= 24", c.Digest.WorkStart, c.Digest.WorkEnd)
	}

	// [alerts], [web] public_base_url
	if _, err := c.AlertOptions(); err != nil {
		errs = append(errs, flatten(err)...)
	}
	if err := checkPublicBaseURL(c.Web.PublicBaseURL); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Surge.validate()...)

	// [classifier]
	if err := c.Classifier.Validate(); err != nil {
		errs = append(errs, flatten(err)...)
	}
	errs = append(errs, c.Open311.validate()...)
	return errors.Join(errs...)
}

func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q has no valid port", addr)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func checkLoopback(addr string) error {
	if err := checkHostPort(addr); err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(addr); !isLoopbackHost(host) {
		return fmt.Errorf("%q must be a loopback address (the emulators are for this machine only)", addr)
	}
	return nil
}

// checkEndpoint checks a tgbotapi endpoint format: exactly two %s (the
// token, then the method) and no other verbs, forming an http(s) URL.
func checkEndpoint(f string) error {
	if strings.Count(f, "%s") != 2 || strings.Count(f, "%") != 2 {
		return fmt.Errorf("%q must contain exactly two %%s (token, then method) and no other %%", f)
	}
	u, err := url.Parse(fmt.Sprintf(f, "TOKEN", "getMe"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q does not form an http(s) URL", f)
	}
	if !strings.Contains(u.Path, "TOKEN") {
		return fmt.Errorf("%q must put the token in the path", f)
	}
	return nil
}

// SensitiveReaderSets splits [web] sensitive_readers into roles and account
// names.
func (w WebConfig) SensitiveReaderSets() (roles []citybot.Role, accounts []string) {
	for _, r := range w.SensitiveReaders {
		if citybot.Role(r).Valid() {
			roles = append(roles, citybot.Role(r))
		} else {
			accounts = append(accounts, r)
		}
	}
	if roles == nil {
		roles = []citybot.Role{} // non-nil: no role, where nil means admin
	}
	return roles, accounts
}
