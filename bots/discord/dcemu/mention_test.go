package dcemu_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestMentions: the emulator records whom a bot message pings under its
// allowed_mentions (the users listed, or every user written when "users"
// is parsed or allowed_mentions is absent), refuses what Discord refuses
// (a users list with "users" parsed, more than 100 users, an id that is
// not one), and the sandbox page shows a mention as "@name".
func TestMentions(t *testing.T) {
	s := start(t)
	ann, bob := s.AddUser("ann", false), s.AddUser("bob", false)
	content := fmt.Sprintf("hi <@%s> and <@!%s> and <@%s>", ann.ID, bob.ID, ann.ID)
	var ch string
	n := 0
	// Each post in a channel of its own: the channel's limit (5 in 5 s)
	// is not what this test is about.
	post := func(allowed string) (int, string) {
		n++
		ch = s.AddChannel(fmt.Sprint("general-", n))
		url := s.URL() + "/api/v9/channels/" + ch + "/messages"
		body := fmt.Sprintf(`{"content":%q`, content)
		if allowed != "" {
			body += `,"allowed_mentions":` + allowed
		}
		return do(t, "POST", url, "Bot good", body+"}")
	}
	for _, tc := range []struct {
		allowed string
		want    []string
	}{
		{fmt.Sprintf(`{"parse":[],"users":[%q]}`, bob.ID), []string{bob.ID}},
		{`{"parse":[]}`, nil},
		{`{"parse":["users"]}`, []string{ann.ID, bob.ID}},
		{"", []string{ann.ID, bob.ID}},
	} {
		if code, body := post(tc.allowed); code != 200 {
			t.Fatalf("%s: %d %s", tc.allowed, code, body)
		}
		sent := s.Sent(ch)
		if got := sent[len(sent)-1].Pinged; !slices.Equal(got, tc.want) {
			t.Errorf("allowed_mentions %s pinged %v, want %v", tc.allowed, got, tc.want)
		}
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprint(1000+i))
	}
	for _, bad := range []string{
		fmt.Sprintf(`{"parse":["users"],"users":[%q]}`, ann.ID),
		`{"users":[` + strings.Join(many, ",") + `]}`,
		`{"users":["ann"]}`,
	} {
		if code, _ := post(bad); code != 400 {
			t.Errorf("allowed_mentions %.60s: %d, want 400", bad, code)
		}
	}
	_, state := do(t, "GET", s.URL()+"/sandbox/state", "", "")
	if !strings.Contains(state, "hi @ann and") || strings.Contains(state, "<@"+ann.ID) {
		t.Errorf("sandbox state does not show mentions by name: %.300s", state)
	}
}
