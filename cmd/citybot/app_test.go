package main

import (
	"testing"

	"citybot"
)

// testPolicy is the city's policy of cfg as openApp builds it, with
// cfg's [classifier] topics (the tests that wire parts by hand use it).
func testPolicy(t testing.TB, cfg Config) *citybot.Policy {
	t.Helper()
	var topics []string
	for _, tp := range cfg.Classifier.Topics {
		topics = append(topics, tp.Name)
	}
	p, err := cityPolicy(cfg, topics)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
