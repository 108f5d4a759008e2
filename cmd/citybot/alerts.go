package main

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/accountability"
)

// AlertsConfig is the [alerts] section: officers hear of a critical case
// within seconds, in their chats, with a Take it button, and again while
// nobody takes or answers it.
type AlertsConfig struct {
	// TelegramChats and DiscordChannels get the alert of every critical
	// case that is not sensitive.
	TelegramChats   []int64  `toml:"telegram_chats"`
	DiscordChannels []string `toml:"discord_channels"`
	// SensitiveChats ("telegram:ID" or "discord:ID") are the only chats
	// told of a sensitive critical case, by reference only; none: nobody.
	SensitiveChats []string `toml:"sensitive_chats"`
	// EscalateChats ("telegram:ID" or "discord:ID") get an escalation of
	// a case nobody took or answered within EscalateAfter, repeated
	// every EscalateAfter; "off" never escalates.
	EscalateChats []string      `toml:"escalate_chats"`
	EscalateAfter DurationOrOff `toml:"escalate_after"`
	// Officers maps the platform user ids allowed to press Take it to
	// console account names (as [digest.approvers] does).
	Officers map[string]string `toml:"officers"`
	// Language of the alerts; "" means [city] default_language.
	Language string `toml:"language"`
}

// minEscalateAfter bounds [alerts] escalate_after from below: an
// escalation every few seconds is a flood, not an alert.
const minEscalateAfter = 10 * time.Second

var (
	snowflake = regexp.MustCompile(`^[0-9]{1,20}$`)
	userID    = regexp.MustCompile(`^[0-9]{1,20}$`)
)

// alertChat parses "telegram:ID" or "discord:ID".
func alertChat(s string) (accountability.AlertChat, error) {
	p, id, ok := strings.Cut(strings.TrimSpace(s), ":")
	switch {
	case !ok:
	case p == string(citybot.Telegram):
		if v, err := strconv.ParseInt(id, 10, 64); err == nil && v != 0 {
			return accountability.AlertChat{Platform: citybot.Telegram, Chat: citybot.ChatID(strconv.FormatInt(v, 10))}, nil
		}
	case p == string(citybot.Discord):
		if snowflake.MatchString(id) {
			return accountability.AlertChat{Platform: citybot.Discord, Chat: citybot.ChatID(id)}, nil
		}
	}
	return accountability.AlertChat{}, fmt.Errorf("%q is not \"telegram:CHAT_ID\" nor \"discord:CHANNEL_ID\"", s)
}

// AlertOptions turns [alerts] (and [web] public_base_url, [city]
// default_language) into the Alerter's options, without Store, Logger,
// Now and Notify, which the caller sets. enabled tells which platforms
// run: a chat on a disabled platform would never be served. It returns
// every problem at once, each naming its key.
func AlertOptions(a AlertsConfig, consoleURL, defaultLanguage string, languages []string, enabled map[citybot.Platform]bool) (accountability.AlertOptions, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("alerts.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	opts := accountability.AlertOptions{ConsoleURL: consoleURL, Language: a.Language}
	if opts.Language == "" {
		opts.Language = defaultLanguage
	} else if !slices.Contains(languages, a.Language) {
		bad("language", "%q is not one of [city] languages", a.Language)
	}
	platformOn := func(key string, p citybot.Platform) {
		if !enabled[p] {
			bad(key, "lists a %s chat but [%s] enabled = false", p, p)
		}
	}
	for _, id := range a.TelegramChats {
		if id == 0 {
			bad("telegram_chats", "0 is not a chat id")
			continue
		}
		platformOn("telegram_chats", citybot.Telegram)
		opts.Chats = append(opts.Chats, accountability.AlertChat{Platform: citybot.Telegram, Chat: citybot.ChatID(strconv.FormatInt(id, 10))})
	}
	for _, id := range a.DiscordChannels {
		if !snowflake.MatchString(id) {
			bad("discord_channels", "%q is not a Discord channel id (digits)", id)
			continue
		}
		platformOn("discord_channels", citybot.Discord)
		opts.Chats = append(opts.Chats, accountability.AlertChat{Platform: citybot.Discord, Chat: citybot.ChatID(id)})
	}
	for _, kl := range []struct {
		key  string
		list []string
	}{{"sensitive_chats", a.SensitiveChats}, {"escalate_chats", a.EscalateChats}} {
		key := kl.key
		for _, s := range kl.list {
			c, err := alertChat(s)
			if err != nil {
				bad(key, "%v", err)
				continue
			}
			platformOn(key, c.Platform)
			if key == "sensitive_chats" {
				opts.SensitiveChats = append(opts.SensitiveChats, c)
			} else {
				opts.EscalateChats = append(opts.EscalateChats, c)
			}
		}
	}
	switch d := a.EscalateAfter; {
	case d.Off:
		opts.EscalateAfter = -1
	case d.Duration < minEscalateAfter:
		bad("escalate_after", "%s: at least %s, or \"off\"", d.Duration, minEscalateAfter)
	default:
		opts.EscalateAfter = d.Duration
	}
	if len(a.Officers) > 0 {
		opts.Officers = map[citybot.UserID]string{}
		ids := slices.Sorted(maps.Keys(a.Officers))
		for _, id := range ids {
			name := a.Officers[id]
			if !userID.MatchString(id) || strings.TrimSpace(name) == "" {
				bad("officers", "%q = %q: want \"PLATFORM_USER_ID\" = \"console account name\"", id, name)
				continue
			}
			opts.Officers[citybot.UserID(id)] = strings.TrimSpace(name)
		}
	}
	return opts, errors.Join(errs...)
}

// checkPublicBaseURL checks [web] public_base_url: empty, or an absolute
// http(s) URL without query or fragment.
func checkPublicBaseURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("web.public_base_url: %q is not an absolute http(s) URL without query", s)
	}
	return nil
}

// AlertOptions returns the Alerter's options for c (see AlertOptions).
func (c Config) AlertOptions() (accountability.AlertOptions, error) {
	return AlertOptions(c.Alerts, c.Web.PublicBaseURL, c.City.DefaultLanguage, c.City.Languages,
		map[citybot.Platform]bool{citybot.Telegram: c.Telegram.Enabled, citybot.Discord: c.Discord.Enabled})
}

// newAlerter builds the Alerter of cfg's [alerts] for the city's policy
// on db, waking the dispatcher with notify; now nil means time.Now.
func newAlerter(cfg Config, policy *citybot.Policy, db accountability.AlertStore, notify func(), logger *slog.Logger, now func() time.Time) (*accountability.Alerter, error) {
	opts, err := cfg.AlertOptions()
	if err != nil {
		return nil, err
	}
	opts.Policy, opts.Store, opts.Logger, opts.Notify, opts.Now = policy, db, logger, notify, now
	// Alerts know accounts by role only: a named reader of another role
	// cannot take a sensitive case from an alert (the console assigns it).
	opts.SensitiveRoles, _ = cfg.Web.SensitiveReaderSets()
	if opts.Locales, err = cfg.City.Locales(); err != nil {
		return nil, err
	}
	return accountability.NewAlerter(opts)
}

// withAlertChannels returns channels plus the Discord channels of
// [alerts] (alerts, sensitive and escalation chats) not among them: the
// adapter answers a button pressed in a channel it does not hear with
// "not here".
func withAlertChannels(channels []string, cfg Config) []string {
	out := slices.Clone(channels)
	opts, _ := cfg.AlertOptions() // checked by Validate
	for _, c := range slices.Concat(opts.Chats, opts.SensitiveChats, opts.EscalateChats) {
		if c.Platform == citybot.Discord && !slices.Contains(out, string(c.Chat)) {
			out = append(out, string(c.Chat))
		}
	}
	return out
}
