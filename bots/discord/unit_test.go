package discord

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"citybot"

	"github.com/bwmarrin/discordgo"
)

func TestTextLen(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},
		{"😀", 2}, // outside the BMP: a surrogate pair
		{strings.Repeat("😀", 1000), 2000},
	}
	for _, tt := range tests {
		if got := TextLen(tt.in); got != tt.want {
			t.Errorf("TextLen(%.10q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	for _, in := range []string{"short", strings.Repeat("a", 2500), strings.Repeat("😀", 1500)} {
		got := clip(in, MaxText)
		if TextLen(got) > MaxText {
			t.Errorf("clip(%d units) = %d units", TextLen(in), TextLen(got))
		}
		if TextLen(in) <= MaxText && got != in {
			t.Errorf("clip changed a short text")
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct{ in, cmd, args string }{
		{"/status K7M4QX", "status", "K7M4QX"},
		{"  /Report  water leak on 5th  ", "report", "water leak on 5th"},
		{"/help", "help", ""},
		{"/language\nfr", "language", "fr"},
		{"/r/city is cool", "", ""},
		{"/unknown x", "unknown", "x"}, // answered with the help, as on Telegram
		{"status K7M4QX", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		cmd, args := parseCommand(tt.in)
		if cmd != tt.cmd || args != tt.args {
			t.Errorf("parseCommand(%q) = %q, %q; want %q, %q", tt.in, cmd, args, tt.cmd, tt.args)
		}
	}
}

// Every slash command is a citizen command: the command words are
// decided once, in the root package, for every platform.
func TestSlashCommandsAreCitizenCommands(t *testing.T) {
	cmds := Commands([]Language{{Code: "en", Name: "English"}})
	if len(cmds) == 0 {
		t.Fatal("no slash command")
	}
	for _, c := range cmds {
		if !citybot.IsCitizenCommand(c.Name) {
			t.Errorf("slash command /%s is not one of citybot.CitizenCommands %q", c.Name, citybot.CitizenCommands())
		}
	}
}

func TestLimiter(t *testing.T) {
	clock := time.Unix(1e9, 0)
	at := func(d time.Duration) { clock = clock.Add(d) }

	// Per channel: 2 per 200 ms, counted from the answers.
	l := newLimiter(10, 2, 200*time.Millisecond)
	l.now = func() time.Time { return clock }
	var slots []slot
	for i := 0; i < 2; i++ {
		s, wait := l.reserve("c1")
		if wait != 0 {
			t.Fatalf("send %d refused", i)
		}
		slots = append(slots, s)
	}
	if _, wait := l.reserve("c1"); wait != 200*time.Millisecond {
		t.Errorf("third send to c1: wait %v", wait)
	}
	if _, wait := l.reserve("c2"); wait != 0 {
		t.Errorf("first send to c2 refused: %v", wait)
	}
	at(50 * time.Millisecond)
	for _, s := range slots {
		l.release(s)
	}
	at(100 * time.Millisecond)
	if _, wait := l.reserve("c1"); wait != 100*time.Millisecond {
		t.Errorf("c1 window should count from the answer: wait %v", wait)
	}
	at(100 * time.Millisecond)
	if _, wait := l.reserve("c1"); wait != 0 {
		t.Errorf("after the window: wait %v", wait)
	}

	// Global: 3 per second.
	g := newLimiter(3, 100, 200*time.Millisecond)
	g.now = func() time.Time { return clock }
	for i := 0; i < 3; i++ {
		if _, wait := g.reserve(fmt.Sprint("c", i)); wait != 0 {
			t.Fatalf("call %d refused", i)
		}
	}
	if _, wait := g.reserve(""); wait != time.Second {
		t.Errorf("fourth call: wait %v", wait)
	}
	at(400 * time.Millisecond)
	if _, wait := g.reserve("c9"); wait != 600*time.Millisecond {
		t.Errorf("fourth call later: wait %v", wait)
	}
	at(600 * time.Millisecond)
	if _, wait := g.reserve("c9"); wait != 0 {
		t.Errorf("after the second: wait %v", wait)
	}
}

func TestRedactAndErrors(t *testing.T) {
	const token = "tok.EN-123"
	b := &Bot{redactor: strings.NewReplacer(token, "[REDACTED]")}
	raw := fmt.Errorf(`Post "https://discord.com/api/v9/interactions/123/aW50ZXJhY3Rpb24/callback": token %s refused`, token)
	got := b.redact(raw).Error()
	if strings.Contains(got, token) || strings.Contains(got, "aW50ZXJhY3Rpb24") {
		t.Errorf("redact = %s", got)
	}
	if !errors.Is(b.redact(raw), raw) {
		t.Error("redacted error does not unwrap")
	}

	rl := &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: 300 * time.Millisecond}}}
	var ra *citybot.RetryAfterError
	if err := b.sendError("send", rl, ""); !errors.As(err, &ra) || ra.After != 300*time.Millisecond || !ra.Throttled {
		t.Errorf("429 → %v", err)
	}
}

func TestNonce(t *testing.T) {
	a, b := nonce("outbox:1"), nonce("outbox:2")
	if len(a) != 25 || a == b || nonce("outbox:1") != a {
		t.Errorf("nonce = %q, %q", a, b)
	}
}

func TestAttachmentKind(t *testing.T) {
	tests := []struct {
		ct    string
		flags discordgo.MessageFlags
		want  citybot.AttachmentKind
	}{
		{"image/png", 0, citybot.AttachPhoto},
		{"audio/ogg", discordgo.MessageFlagsIsVoiceMessage, citybot.AttachVoice},
		{"audio/mpeg", 0, citybot.AttachAudio},
		{"video/mp4", 0, citybot.AttachVideo},
		{"application/pdf", 0, citybot.AttachDocument},
		{"", 0, citybot.AttachOther},
	}
	for _, tt := range tests {
		if got := attachmentKind(tt.ct, tt.flags); got != tt.want {
			t.Errorf("attachmentKind(%q) = %s, want %s", tt.ct, got, tt.want)
		}
	}
}

// TestLimiterShare: three processes' limiters (one token) each keep to
// a third of the global and per-channel limits once told that three
// share the token, so that together they stay within Discord's; alone,
// each allows the whole limits (three times too much together). Counted
// on a fake clock.
func TestLimiterShare(t *testing.T) {
	most := func(times []time.Time, window time.Duration) int {
		m, lo := 0, 0
		for hi, at := range times {
			for !times[lo].After(at.Add(-window)) {
				lo++
			}
			m = max(m, hi-lo+1)
		}
		return m
	}
	run := func(share int) (global, channel int) {
		clock := time.Unix(1e9, 0)
		var ls []*limiter
		for range 3 {
			l := newLimiter(45, 5, 5*time.Second)
			l.now = func() time.Time { return clock }
			l.setShare(share)
			ls = append(ls, l)
		}
		var all, ch []time.Time
		for step := 0; step < 1000; step++ { // 10 s
			for _, l := range ls {
				for i := range 3 {
					if s, wait := l.reserve(fmt.Sprint("c", step, "-", i)); wait == 0 {
						l.release(s)
						all = append(all, clock)
					}
				}
				if s, wait := l.reserve("town-square"); wait == 0 {
					l.release(s)
					all, ch = append(all, clock), append(ch, clock)
				}
			}
			clock = clock.Add(10 * time.Millisecond)
		}
		return most(all, time.Second), most(ch, 5*time.Second)
	}
	if g, c := run(1); g <= 45 || c <= 5 {
		t.Fatalf("unaware of each other: %d calls in a second, %d posts to a channel in 5 s; want over 45 and 5 (else this proves nothing)", g, c)
	}
	g, c := run(3)
	if g > 45 || c > 5 {
		t.Errorf("sharing among 3: %d calls in a second (limit 45), %d posts to one channel in 5 s (limit 5)", g, c)
	}
	if g < 45/3*3 || c < 1*3 {
		t.Errorf("sharing among 3: %d calls in a second, %d posts in 5 s; want each process's whole share used (45, 3)", g, c)
	}
}
