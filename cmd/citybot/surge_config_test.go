package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
)

// TestSurgeConfig: [surge] decodes into the surge warning's rule, the
// digest's channels become the statements' public channels, and every
// bad key is reported by name, all at once.
func TestSurgeConfig(t *testing.T) {
	good := writeConfig(t, `
[alerts]
telegram_chats = [-100900]
[surge]
factor = 4.5
min_reports = 8
floor = 0.5
weeks = 4
quiet = "90m"
check_every = "30s"
[[digest.channels]]
platform = "telegram"
chat = "-100950"
language = "fr"
`)
	cfg, err := LoadConfig(good, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Surge
	if !s.Enabled || s.Factor != 4.5 || s.MinReports != 8 || s.Floor != 0.5 || s.Weeks != 4 || s.Quiet.Duration != 90*time.Minute ||
		s.CheckEvery.Duration != 30*time.Second {
		t.Fatalf("[surge] = %+v", s)
	}
	if ch := publicChannels(cfg); len(ch) != 1 || ch[0].Platform != citybot.Telegram || ch[0].Chat != "-100950" || ch[0].Language != "fr" {
		t.Errorf("public channels = %+v", ch)
	}
	surger, err := newSurger(cfg, testPolicy(t, cfg), nil, nil, nil, nil)
	if err == nil || surger != nil {
		t.Errorf("a surger without a store: %v, %v; want refused", surger, err)
	}
	cfg.Surge.Enabled = false
	if surger, err := newSurger(cfg, testPolicy(t, cfg), nil, nil, nil, nil); err != nil || surger != nil {
		t.Errorf("enabled = false: %v, %v; want no surger", surger, err)
	}

	bad := writeConfig(t, `
[surge]
factor = 0.5
min_reports = 1
floor = 0.0
weeks = 60
quiet = "1m"
check_every = "2h"
`)
	_, err = LoadConfig(bad, envMap(nil))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("LoadConfig = %v, want *ConfigError", err)
	}
	for _, want := range []string{"surge.factor", "surge.min_reports", "surge.floor", "surge.weeks", "surge.quiet", "surge.check_every"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}
