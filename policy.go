package citybot

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy is the city as every part of citybot sees it: its name, the
// languages it speaks (and the one it falls back to), its time zone, the
// topics cases are filed under and those that are sensitive, the number
// citizens call in an emergency, and how long one message may be on each
// platform. cmd/citybot builds it once from the configuration (and the
// platforms' Bot.Limits) and hands the same value to every part that
// needs it; no package re-defaults any of these settings. A Policy is
// immutable: its methods return copies, and it is safe for concurrent
// use.
type Policy struct {
	city            string
	languages       []string
	defaultLanguage string
	location        *time.Location
	topics          []string
	sensitive       []string
	emergency       string
	maxText         map[Platform]int
}

// PolicyConfig is what NewPolicy builds a Policy from. Every field is
// required except EmergencyNumber and SensitiveTopics.
type PolicyConfig struct {
	// City is the city's name, as citizens and the public read it.
	City string
	// Languages are the language codes ("en", "fr", …) citybot speaks,
	// in the city's order of preference, without repeats.
	Languages []string
	// DefaultLanguage is used when nothing tells a citizen's language;
	// one of Languages.
	DefaultLanguage string
	// Location is the city's time zone: weeks, schedules, working hours
	// and dates are read in it.
	Location *time.Location
	// Topics are the topic labels cases are filed under, without
	// repeats; they include "other".
	Topics []string
	// SensitiveTopics are the topics whose cases are sensitive: shown
	// only to the readers the city names, never case by case in public,
	// answered in private. Each is one of Topics; empty means none.
	SensitiveTopics []string
	// EmergencyNumber is given first in the acknowledgement of a
	// critical message; "" leaves the warning out.
	EmergencyNumber string
	// MaxText is the longest text one message may carry on each platform
	// citybot knows, in UTF-16 code units (the bots' Limits().MaxText).
	MaxText map[Platform]int
}

// NewPolicy checks c and returns the Policy it describes. It returns an
// error wrapping ErrInvalid that names every problem at once.
func NewPolicy(c PolicyConfig) (*Policy, error) {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(c.City) == "" {
		bad("the city needs a name")
	}
	if len(c.Languages) == 0 {
		bad("no language")
	}
	for i, l := range c.Languages {
		if l == "" || l != strings.ToLower(strings.TrimSpace(l)) || strings.ContainsAny(l, "-_ ") {
			bad("language %q is not a lowercase language code", l)
		}
		if slices.Index(c.Languages, l) != i {
			bad("language %q is listed twice", l)
		}
	}
	if !slices.Contains(c.Languages, c.DefaultLanguage) {
		bad("default language %q is not one of the languages %q", c.DefaultLanguage, c.Languages)
	}
	if c.Location == nil {
		bad("no time zone")
	}
	if len(c.Topics) == 0 {
		bad("no topic")
	}
	for i, t := range c.Topics {
		if strings.TrimSpace(t) == "" || slices.Index(c.Topics, t) != i {
			bad("topic %q is empty or listed twice", t)
		}
	}
	for _, t := range c.SensitiveTopics {
		if !slices.Contains(c.Topics, t) {
			bad("sensitive topic %q is not one of the topics", t)
		}
	}
	for _, p := range []Platform{Telegram, Discord} {
		if c.MaxText[p] <= 0 {
			bad("no text limit for %s", p)
		}
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("citybot: policy: %w: %s", ErrInvalid, strings.Join(probs, "; "))
	}
	p := &Policy{
		city: c.City, languages: slices.Clone(c.Languages), defaultLanguage: c.DefaultLanguage, location: c.Location,
		topics: slices.Clone(c.Topics), sensitive: slices.Clone(c.SensitiveTopics), emergency: c.EmergencyNumber,
		maxText: make(map[Platform]int, len(c.MaxText)),
	}
	if p.sensitive == nil {
		p.sensitive = []string{}
	}
	for k, v := range c.MaxText {
		p.maxText[k] = v
	}
	return p, nil
}

// City returns the city's name.
func (p *Policy) City() string { return p.city }

// Languages returns the languages citybot speaks, in the city's order; a
// new slice each call.
func (p *Policy) Languages() []string { return slices.Clone(p.languages) }

// Speaks reports whether lang (a language code) is one of Languages.
func (p *Policy) Speaks(lang string) bool { return slices.Contains(p.languages, lang) }

// DefaultLanguage returns the language used when nothing tells a
// citizen's.
func (p *Policy) DefaultLanguage() string { return p.defaultLanguage }

// Location returns the city's time zone.
func (p *Policy) Location() *time.Location { return p.location }

// Topics returns the topic labels, in the city's order; a new slice
// each call.
func (p *Policy) Topics() []string { return slices.Clone(p.topics) }

// SensitiveTopics returns the sensitive topics (possibly none, never
// nil); a new slice each call.
func (p *Policy) SensitiveTopics() []string { return slices.Clone(p.sensitive) }

// IsSensitiveTopic reports whether topic is one of SensitiveTopics.
func (p *Policy) IsSensitiveTopic(topic string) bool { return slices.Contains(p.sensitive, topic) }

// EmergencyNumber returns the emergency number, or "".
func (p *Policy) EmergencyNumber() string { return p.emergency }

// MaxText returns the longest text one message may carry on platform, in
// UTF-16 code units; 0 for a platform citybot does not know.
func (p *Policy) MaxText(platform Platform) int { return p.maxText[platform] }
