package discord_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot"
	"citybot/bots/discord"
	"citybot/bots/discord/dcemu"
)

// checkOrder fails when a chat's messages were first stored out of id
// order.
func checkOrder(t *testing.T, h *fakeHandler) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for chat, ids := range h.order {
		for i := 1; i < len(ids); i++ {
			a, b := string(ids[i-1]), string(ids[i])
			if strings.HasPrefix(a, "i") || strings.HasPrefix(b, "i") {
				continue // slash commands are not in the history
			}
			if len(a) > len(b) || len(a) == len(b) && a > b {
				t.Errorf("chat %s: %s stored before %s", chat, a, b)
				return
			}
		}
	}
}

func TestRestartCatchUp(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	h := newFakeHandler()
	cur := newFakeCursors()
	dm, err := w.emu.DMChannel(w.bob.ID)
	if err != nil {
		t.Fatal(err)
	}

	r := w.start(t, h, w.options(cur))
	before := []dcemu.Message{
		w.post(t, w.general, w.alice.ID, "before stop"),
		w.post(t, dm, w.bob.ID, "hello city"),
		w.post(t, w.thread, w.alice.ID, "thread before stop"),
	}
	for _, m := range before {
		h.waitMessage(t, m.ChannelID, m.ID)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}

	var offline []dcemu.Message
	for i := 0; i < 120; i++ { // more than one history page in general
		ch := []string{w.general, w.general, w.roads, w.thread, dm}[i%5]
		user := w.alice.ID
		if ch == dm {
			user = w.bob.ID
		}
		offline = append(offline, w.post(t, ch, user, fmt.Sprintf("while stopped %d", i)))
	}
	ignored := w.post(t, w.offtopic, w.alice.ID, "not listened")

	r = w.start(t, h, w.options(cur))
	live := w.post(t, w.roads, w.alice.ID, "after restart")
	for _, m := range append(offline, live) {
		if got := h.waitMessage(t, m.ChannelID, m.ID); got.Text != m.Content {
			t.Errorf("text = %q, want %q", got.Text, m.Content)
		}
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, ok := h.get(w.offtopic, ignored.ID); ok {
		t.Error("unlisted channel caught up")
	}
	stored, dupes := h.count()
	if want := len(before) + len(offline) + 1; stored != want || dupes != 0 {
		t.Errorf("stored %d (want %d), %d handed over twice", stored, want, dupes)
	}
	checkOrder(t, h)
	noToken(t, "logs", w.logs.String())
}

// TestShutdownInFlight: cancelling Run lets the message being handled
// finish and be confirmed; what was queued behind it is caught up by the
// next Run, once.
func TestShutdownInFlight(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	h := newFakeHandler()
	cur := newFakeCursors()
	r := w.start(t, h, w.options(cur))
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h.mu.Lock()
	h.gate = func(m citybot.Message) <-chan struct{} {
		if m.Text == "slow" {
			entered <- struct{}{}
			return release
		}
		return nil
	}
	h.mu.Unlock()
	slow := w.post(t, w.general, w.alice.ID, "slow")
	behind := w.post(t, w.general, w.bob.ID, "queued behind the slow one")
	<-entered
	done := make(chan error, 1)
	go func() { done <- r.stop(t) }()
	time.Sleep(300 * time.Millisecond) // Run is shutting down, the handler still busy
	select {
	case err := <-done:
		t.Fatalf("Run returned before the in-flight message was handled: %v", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, ok := h.get(w.general, slow.ID); !ok {
		t.Fatal("in-flight message lost")
	}
	if v, _ := cur.Cursor(t.Context(), "discord:channel:"+w.general); v != slow.ID && v != behind.ID {
		t.Errorf("cursor = %s, want %s", v, slow.ID)
	}
	r = w.start(t, h, w.options(cur))
	h.waitMessage(t, w.general, behind.ID)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if stored, dupes := h.count(); stored != 2 || dupes != 0 {
		t.Errorf("stored %d, dupes %d", stored, dupes)
	}
}

// sendAll delivers outs like the outbox would: retrying after
// RetryAfterError and transient errors, giving up on permanent ones.
func sendAll(ctx context.Context, bot *discord.Bot, outs []citybot.Outgoing) (retries int, err error) {
	type pending struct {
		out  citybot.Outgoing
		next time.Time
	}
	var queue []pending
	for _, o := range outs {
		queue = append(queue, pending{out: o})
	}
	for len(queue) > 0 {
		if ctx.Err() != nil {
			return retries, fmt.Errorf("%d not delivered: %w", len(queue), ctx.Err())
		}
		var rest []pending
		now := time.Now()
		for _, p := range queue {
			if now.Before(p.next) {
				rest = append(rest, p)
				continue
			}
			_, err := bot.Send(ctx, p.out)
			var ra *citybot.RetryAfterError
			switch {
			case err == nil:
			case errors.Is(err, citybot.ErrPermanent), errors.Is(err, citybot.ErrInvalid):
				return retries, err
			case errors.As(err, &ra):
				retries++
				p.next = now.Add(ra.After)
				rest = append(rest, p)
			default:
				retries++
				p.next = now.Add(100 * time.Millisecond)
				rest = append(rest, p)
			}
		}
		queue = rest
		time.Sleep(20 * time.Millisecond)
	}
	return retries, nil
}

// sendRetry sends out, waiting as told by RetryAfterError.
func sendRetry(ctx context.Context, bot *discord.Bot, out citybot.Outgoing) (citybot.Sent, error) {
	for {
		sent, err := bot.Send(ctx, out)
		var ra *citybot.RetryAfterError
		if !errors.As(err, &ra) {
			return sent, err
		}
		select {
		case <-ctx.Done():
			return sent, err
		case <-time.After(ra.After):
		}
	}
}

func TestFaults(t *testing.T) {
	// Discord's per-channel bucket, on a 1 s window to keep the test short.
	w := newWorld(t, dcemu.Options{Limits: dcemu.Limits{ChannelMessages: 5, ChannelWindow: time.Second}})
	h := newFakeHandler()
	cur := newFakeCursors()
	dm, err := w.emu.DMChannel(w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	opts := w.options(cur)
	opts.ChannelWindow = time.Second
	r := w.start(t, h, opts)
	defer func() {
		if err := r.stop(t); err != nil {
			t.Errorf("run: %v", err)
		}
		noToken(t, "logs", w.logs.String())
	}()
	if _, err := w.emu.WaitCommands(ctxT(t, 5*time.Second), 4); err != nil {
		t.Fatal(err)
	}
	w.emu.SetFaults(dcemu.Faults{RateLimit: 0.2, ServerError: 0.15, RetryAfter: 150 * time.Millisecond, Seed: 42})

	// Outgoing: 6 messages to each of 5 chats, through a retrying caller.
	chats := []string{w.general, w.roads, w.thread, dm, w.offtopic}
	var outs []citybot.Outgoing
	for i := 0; i < 30; i++ {
		outs = append(outs, citybot.Outgoing{Key: fmt.Sprintf("out-%d", i), Chat: citybot.ChatID(chats[i%5]), Text: fmt.Sprintf("answer %d", i)})
	}
	retries, err := sendAll(ctxT(t, 30*time.Second), r.bot, outs)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	for _, ch := range chats {
		if n := len(w.emu.Sent(ch)); n != 6 {
			t.Errorf("channel got %d messages, want 6", n)
		}
	}

	// Events the gateway lost before the session broke: caught up
	// through a faulty history API.
	var lost []dcemu.Message
	for i := 0; i < 20; i++ {
		lost = append(lost, w.post(t, chats[i%4], w.alice.ID, fmt.Sprintf("lost %d", i), dcemu.PostOptions{Silent: true}))
	}
	w.emu.InvalidateSession()
	for _, m := range lost {
		h.waitMessage(t, m.ChannelID, m.ID)
	}
	s := w.emu.Stats()
	t.Logf("retries %d; emulator: %+v", retries, s)
	if s.Injected429 == 0 || s.Injected5xx == 0 {
		t.Errorf("faults not exercised: %+v", s)
	}
	if s.Exceeded != 0 {
		t.Errorf("%d requests exceeded Discord's limits", s.Exceeded)
	}
	if _, dupes := h.count(); dupes != 0 {
		t.Errorf("%d messages handed over twice", dupes)
	}
	checkOrder(t, h)
}

func TestWrongToken(t *testing.T) {
	w := newWorld(t, dcemu.Options{})
	cur := newFakeCursors()
	ctx := ctxT(t, 10*time.Second)

	opts := w.options(cur)
	opts.Token = "wrong-token-0123"
	_, err := discord.New(ctx, opts)
	if !errors.Is(err, citybot.ErrForbidden) || strings.Contains(err.Error(), "wrong-token-0123") {
		t.Errorf("new with wrong token: %v", err)
	}

	// The token is revoked between New and Run.
	bot, err := discord.New(ctx, w.options(cur))
	if err != nil {
		t.Fatal(err)
	}
	w.emu.SetToken("rotated-token")
	err = bot.Run(ctx, newFakeHandler())
	if !errors.Is(err, citybot.ErrForbidden) {
		t.Errorf("run with revoked token: %v", err)
	}
	noToken(t, "error", err.Error())
	_, err = bot.Send(ctx, citybot.Outgoing{Chat: citybot.ChatID(w.general), Text: "hi"})
	if !errors.Is(err, citybot.ErrForbidden) {
		t.Errorf("send with revoked token: %v", err)
	}
	noToken(t, "error", err.Error())
	noToken(t, "logs", w.logs.String())

	bad := []discord.Options{
		{Cursors: cur},
		{Token: "t", Cursors: nil},
		{Token: "Bot t", Cursors: cur},
		{Token: "t", Cursors: cur, Channels: []string{"#general"}},
		{Token: "t", Cursors: cur, APIBase: "ftp://x"},
	}
	for i, o := range bad {
		if _, err := discord.New(ctx, o); !errors.Is(err, citybot.ErrInvalid) {
			t.Errorf("options %d: %v", i, err)
		}
	}
}

// TestLoad: 200 citizens write 1,000 messages across channels, threads and
// DMs, and run slash commands and press buttons; each message is handed
// over once and in order.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	w := newWorld(t, dcemu.Options{})
	parks := w.emu.AddChannel("parks")
	thread2, err := w.emu.AddThread(parks, "benches")
	if err != nil {
		t.Fatal(err)
	}
	h := newFakeHandler()
	cur := newFakeCursors()
	opts := w.options(cur)
	opts.Channels = append(opts.Channels, parks)
	r := w.start(t, h, opts)
	defer func() {
		if err := r.stop(t); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	if _, err := w.emu.WaitCommands(ctxT(t, 5*time.Second), 4); err != nil {
		t.Fatal(err)
	}

	citizens := make([]dcemu.User, 200)
	dms := make([]string, 200)
	for i := range citizens {
		citizens[i] = w.emu.AddUser(fmt.Sprintf("citizen%03d", i), false)
		if dms[i], err = w.emu.DMChannel(citizens[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	targets := []string{w.general, w.roads, parks, w.thread, thread2}
	start := time.Now()
	var wg sync.WaitGroup
	posted := make([][]dcemu.Message, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < 1000; i += 8 {
				c := i % 200
				ch := dms[c]
				if i%3 != 0 {
					ch = targets[i%len(targets)]
				}
				m, err := w.emu.Post(ch, citizens[c].ID, fmt.Sprintf("message %d from citizen %d", i, c))
				if err != nil {
					t.Error(err)
					return
				}
				posted[g] = append(posted[g], m)
			}
		}()
	}
	wg.Wait()
	h.waitFor(t, "1000 messages", func(h *fakeHandler) bool { return len(h.msgs) >= 1000 })
	elapsed := time.Since(start)

	// Slash commands and button presses on top.
	ask, err := sendRetry(ctxT(t, 10*time.Second), r.bot, citybot.Outgoing{Key: "ask", Chat: citybot.ChatID(parks), Text: "Is this answered?", Buttons: [][]citybot.Button{{{Label: "Yes", Data: "yes"}, {Label: "No", Data: "no"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var inters []string
	for i := 0; i < 50; i++ {
		id, err := w.emu.SlashCommand(targets[i%len(targets)], citizens[i].ID, "status", map[string]string{"ref": fmt.Sprintf("REF%03d", i)})
		if err != nil {
			t.Fatal(err)
		}
		inters = append(inters, id)
		if id, err = w.emu.PressButton(parks, citizens[i+50].ID, string(ask.ID), []string{"yes", "no"}[i%2]); err != nil {
			t.Fatal(err)
		}
		inters = append(inters, id)
	}
	for _, id := range inters {
		in, err := w.emu.WaitInteraction(ctxT(t, 10*time.Second), id, func(in dcemu.Interaction) bool { return in.Deleted || in.Edited })
		if err != nil || in.Late() {
			t.Fatalf("interaction %s: %+v, %v", id, in, err)
		}
	}
	h.waitFor(t, "50 presses", func(h *fakeHandler) bool { return len(h.actions) >= 50 })

	stored, dupes := h.count()
	if stored != 1050 || dupes != 0 {
		t.Errorf("stored %d (want 1050), %d handed over twice", stored, dupes)
	}
	for _, ms := range posted {
		for _, m := range ms {
			if got, ok := h.get(m.ChannelID, m.ID); !ok || got.Text != m.Content {
				t.Fatalf("message %s: %+v", m.ID, got)
			}
		}
	}
	checkOrder(t, h)
	t.Logf("1000 messages from 200 citizens handed over in %v (%.0f msg/s)", elapsed, 1000/elapsed.Seconds())
}
