package citybot_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"citybot"
)

func goodCity() citybot.PolicyConfig {
	return citybot.PolicyConfig{
		City: "Testville", Languages: []string{"en", "fr"}, DefaultLanguage: "fr", Location: time.UTC,
		Topics: []string{"roads", "corruption", "other"}, SensitiveTopics: []string{"corruption"}, EmergencyNumber: "112",
		MaxText: map[citybot.Platform]int{citybot.Telegram: 4096, citybot.Discord: 2000},
	}
}

func TestNewPolicy(t *testing.T) {
	c := goodCity()
	p, err := citybot.NewPolicy(c)
	if err != nil {
		t.Fatal(err)
	}
	if p.City() != "Testville" || p.DefaultLanguage() != "fr" || !p.Speaks("en") || p.Speaks("es") ||
		!p.IsSensitiveTopic("corruption") || p.IsSensitiveTopic("roads") || p.EmergencyNumber() != "112" ||
		p.MaxText(citybot.Discord) != 2000 || p.MaxText("irc") != 0 || p.Location() != time.UTC {
		t.Fatalf("policy %+v", p)
	}
	// The policy is immutable: neither its config nor what it returns
	// reaches it.
	c.Languages[0], c.Topics[0], c.MaxText[citybot.Telegram] = "xx", "xx", 1
	p.Languages()[1], p.Topics()[1], p.SensitiveTopics()[0] = "yy", "yy", "yy"
	if got := strings.Join(p.Languages(), ","); got != "en,fr" {
		t.Errorf("languages %s", got)
	}
	if got := strings.Join(p.Topics(), ","); got != "roads,corruption,other" {
		t.Errorf("topics %s", got)
	}
	if p.MaxText(citybot.Telegram) != 4096 || !p.IsSensitiveTopic("corruption") {
		t.Errorf("limits or sensitive topics changed")
	}
	none := goodCity()
	none.SensitiveTopics = nil
	if p, err := citybot.NewPolicy(none); err != nil || p.SensitiveTopics() == nil || len(p.SensitiveTopics()) != 0 {
		t.Errorf("no sensitive topic: %v %v", p, err)
	}
}

func TestNewPolicyRefuses(t *testing.T) {
	tests := []struct {
		name string
		edit func(*citybot.PolicyConfig)
		want string
	}{
		{"no name", func(c *citybot.PolicyConfig) { c.City = " " }, "name"},
		{"no language", func(c *citybot.PolicyConfig) { c.Languages = nil }, "no language"},
		{"regional tag", func(c *citybot.PolicyConfig) { c.Languages = []string{"en", "pt-BR"} }, "pt-BR"},
		{"twice", func(c *citybot.PolicyConfig) { c.Languages = []string{"en", "fr", "en"} }, "twice"},
		{"default not spoken", func(c *citybot.PolicyConfig) { c.DefaultLanguage = "es" }, `default language "es"`},
		{"no time zone", func(c *citybot.PolicyConfig) { c.Location = nil }, "time zone"},
		{"no topic", func(c *citybot.PolicyConfig) { c.Topics, c.SensitiveTopics = nil, nil }, "no topic"},
		{"unknown sensitive topic", func(c *citybot.PolicyConfig) { c.SensitiveTopics = []string{"bribes"} }, `"bribes"`},
		{"no Discord limit", func(c *citybot.PolicyConfig) { delete(c.MaxText, citybot.Discord) }, "discord"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := goodCity()
			tt.edit(&c)
			_, err := citybot.NewPolicy(c)
			if !errors.Is(err, citybot.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPolicy = %v, want ErrInvalid naming %s", err, tt.want)
			}
		})
	}
}
