package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestAlertsConfig: [alerts] decodes into the alerter's options, and
// every bad key is reported by name.
func TestAlertsConfig(t *testing.T) {
	good := writeConfig(t, `
[web]
public_base_url = "https://citybot.city.example"
[alerts]
telegram_chats = [-100900]
discord_channels = ["123456789012345678"]
sensitive_chats = ["telegram:-100901"]
escalate_chats = ["discord:223456789012345678", "telegram:-100902"]
escalate_after = "15m"
language = "fr"
[alerts.officers]
"7001" = "olivia"
`)
	cfg, err := LoadConfig(good, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cfg.AlertOptions()
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Chats) != 2 || opts.Chats[0].Chat != "-100900" || opts.Chats[1].Platform != citybot.Discord ||
		len(opts.SensitiveChats) != 1 || opts.SensitiveChats[0].Chat != "-100901" || len(opts.EscalateChats) != 2 ||
		opts.EscalateAfter != 15*time.Minute || opts.Officers["7001"] != "olivia" || opts.Language != "fr" ||
		opts.ConsoleURL != "https://citybot.city.example" {
		t.Fatalf("options %+v", opts)
	}
	if got := withAlertChannels([]string{"1"}, cfg); !slices.Equal(got, []string{"1", "123456789012345678", "223456789012345678"}) {
		t.Fatalf("discord channels heard: %v", got)
	}
	// Defaults: no chat, 10 minutes, the city's language.
	if opts, err := DefaultConfig().AlertOptions(); err != nil || len(opts.Chats) != 0 || opts.EscalateAfter != 10*time.Minute || opts.Language != "en" {
		t.Fatalf("default options %+v, %v", opts, err)
	}
	off := writeConfig(t, "[alerts]\nescalate_after = \"off\"\n")
	if cfg, err := LoadConfig(off, envMap(nil)); err != nil {
		t.Fatal(err)
	} else if opts, _ := cfg.AlertOptions(); opts.EscalateAfter >= 0 {
		t.Fatalf("escalate_after off gives %s", opts.EscalateAfter)
	}

	bad := writeConfig(t, `
[discord]
enabled = false
[web]
public_base_url = "citybot.example/console?x=1"
[alerts]
telegram_chats = [0]
discord_channels = ["general"]
sensitive_chats = ["-100901"]
escalate_chats = ["discord:123", "slack:1"]
escalate_after = "1s"
language = "de"
[alerts.officers]
"olivia" = "olivia"
`)
	_, err = LoadConfig(bad, envMap(nil))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("LoadConfig = %v, want *ConfigError", err)
	}
	for _, want := range []string{"web.public_base_url", "alerts.telegram_chats", `alerts.discord_channels: "general"`,
		`alerts.sensitive_chats: "-100901"`, "alerts.escalate_chats: lists a discord chat but [discord] enabled = false",
		`alerts.escalate_chats: "slack:1"`, "alerts.escalate_after", "alerts.language", "alerts.officers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}
