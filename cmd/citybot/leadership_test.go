package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"citybot"
	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/cluster"
	"citybot/store"
)

// healthLeadership reads the "leadership" of an instance's /healthz.
func healthLeadership(t *testing.T, addr string) map[string]cluster.Status {
	t.Helper()
	code, body := httpGet(t, "http://"+addr+"/healthz")
	var h struct {
		Status     string                    `json:"status"`
		Leadership map[string]cluster.Status `json:"leadership"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != http.StatusOK || h.Status != "ok" {
		t.Fatalf("/healthz of %s = %d %s (%v)", addr, code, body, err)
	}
	return h.Leadership
}

// readReady reads a ready file.
func readReady(t *testing.T, path string) readyInfo {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r readyInfo
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// onePlacePartsLead are the leases of the parts this test expects on one
// instance at a time.
var onePlaceParts = []string{leaseTelegramPoll, leaseDiscordGateway, leaseAlerts, leaseMedia}

// leadsAll reports whether the instance at addr leads every part of
// onePlaceParts, and its holder name.
func leadsAll(t *testing.T, addr string) (string, bool) {
	t.Helper()
	roles := healthLeadership(t, addr)
	holder := ""
	for _, p := range onePlaceParts {
		s, ok := roles[p]
		if !ok || s.Role != cluster.Leading || (holder != "" && s.Leader != holder) {
			return "", false
		}
		holder = s.Leader
	}
	return holder, true
}

// TestLeaderKilledPartsMove: two `citybot serve` processes on one
// PostgreSQL database, Telegram polling one emulator and Discord's gateway
// another. The first leads Telegram's polling, Discord's gateway, the
// alert loop and the media fetching; the second stands by (on /healthz, naming the leader; no
// second gateway session, no polling conflict). Killed with SIGKILL
// mid-burst, the leader's parts move to the second within 10 s, and
// every message, those sent during the move included, is stored once
// and acknowledged once (or, on Telegram, a send the kill interrupted is
// delivery unknown and never repeated).
func TestLeaderKilledPartsMove(t *testing.T) {
	if testing.Short() {
		t.Skip("process crash test; skipped with -short")
	}
	dbURL := testPostgresDB(t)
	tg := tgemu.New(tgemu.Options{})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	const dcTokenHere = "leader-test-bot-TOKEN.secret"
	dc, err := dcemu.Start(dcemu.Options{Token: dcTokenHere})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	channels := []string{dc.AddChannel("ward-1"), dc.AddChannel("ward-2")}
	dir := t.TempDir()
	cfg := writeConfig(t, fmt.Sprintf(`[store]
driver = "postgres"
[http]
addr = "127.0.0.1:0"
[log]
level = "debug"
format = "json"
[telegram]
api_endpoint = %q
poll_timeout = "1s"
[discord]
api_base = %q
guild_id = %q
channels = [%q, %q]
[outbox]
poll_interval = "100ms"
base_backoff = "100ms"
max_backoff = "1s"
max_attempts = 30
combine_group_acks = false
[surge]
enabled = false
[grouping]
enabled = false
`, tg.Endpoint(), dc.URL(), dc.GuildID(), channels[0], channels[1]))
	env := []string{envTelegramToken + "=" + tg.Token(), envDiscordToken + "=" + dcTokenHere, envDatabaseURL + "=" + dbURL}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	waitUntil := func(what string, logs func() string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("never: %s\n%s", what, logs())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	// The first instance takes every part before the second starts.
	readyA, readyB := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	a := startCitybot(t, cfg, readyA, env...)
	addrA := readReady(t, readyA).HTTPAddr
	var holderA string
	waitUntil("the first instance leads every part", a.stderr.String, func() bool {
		var ok bool
		holderA, ok = leadsAll(t, addrA)
		return ok
	})
	b := startCitybot(t, cfg, readyB, env...)
	addrB := readReady(t, readyB).HTTPAddr
	waitUntil("the second instance stands by, naming the first", b.stderr.String, func() bool {
		roles := healthLeadership(t, addrB)
		for _, p := range onePlaceParts {
			if s := roles[p]; s.Role != cluster.StandingBy || s.Leader != holderA {
				return false
			}
		}
		return true
	})
	if err := dc.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if v := leadingMetric(t, addrB, leaseTelegramPoll); v != "0" {
		t.Errorf("standing by: citybot_leading{part=%q} = %s, want 0", leaseTelegramPoll, v)
	}

	// Citizens: one message each, on Telegram in private, on Discord
	// in the channels, each from its own user.
	var tgUsers []int64
	tgPost := func(n int) {
		for range n {
			id := int64(7000 + len(tgUsers))
			tgUsers = append(tgUsers, id)
			u := tgemu.User{ID: id, FirstName: fmt.Sprintf("Citizen%d", id), LanguageCode: []string{"en", "fr"}[id%2]}
			if _, err := tg.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("Streetlight number %d on Main Street is broken", id)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	dcPosted := 0
	dcPost := func(n int) {
		for range n {
			u := dc.AddUser(fmt.Sprintf("resident%d", dcPosted), false)
			if _, err := dc.Post(channels[dcPosted%2], u.ID, fmt.Sprintf("The pothole at crossing %d of Station Road is getting deeper", dcPosted)); err != nil {
				t.Fatal(err)
			}
			dcPosted++
		}
	}
	tgAcked := func() int {
		seen := map[int64]bool{}
		for _, m := range tg.AllSent() {
			seen[m.Chat] = true
		}
		return len(seen)
	}
	const burst, dcBurst = 40, 10
	tgPost(burst)
	dcPost(dcBurst)
	waitUntil("some acknowledgements before the kill", a.stderr.String, func() bool { return tgAcked() >= 10 })
	if n := dc.Connected(); n != 1 {
		t.Errorf("%d Discord gateway sessions while both instances run, want 1 (the leader's)", n)
	}

	// Kill the leader mid-burst, and keep talking during the move.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	a.wait()
	t.Logf("leader killed after %d of %d Telegram acknowledgements", tgAcked(), burst)
	// Nobody hears Discord now: what is said is only in the channels'
	// history until the new leader catches up.
	waitUntil("the dead leader's gateway session is gone", b.stderr.String, func() bool { return dc.Connected() == 0 })
	tgPost(burst)
	dcPost(dcBurst)
	var holderB string
	waitUntil("the second instance leads every part", b.stderr.String, func() bool {
		var ok bool
		holderB, ok = leadsAll(t, addrB)
		return ok
	})
	seen := time.Since(killed)
	if v := leadingMetric(t, addrB, leaseTelegramPoll); v != "1" {
		t.Errorf("leading: citybot_leading{part=%q} = %s, want 1", leaseTelegramPoll, v)
	}

	db, err := store.OpenPostgres(context.Background(), dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The takeover as the leases record it: from the dead leader's last
	// renewal (its lease's end less its length) to the new leader's take.
	for _, p := range onePlaceParts {
		l, err := db.LeaseOf(ctx, p)
		if err != nil || l.Holder != holderB {
			t.Fatalf("lease %s: %+v, %v; want %s's", p, l, err, holderB)
		}
		t.Logf("%s moved: taken by the second instance %v after the kill (seen on /healthz after %v)",
			p, l.TakenAt.Sub(killed).Round(time.Millisecond), seen.Round(time.Millisecond))
		if took := l.TakenAt.Sub(killed); took > 10*time.Second {
			t.Errorf("%s taken over %v after the leader's death, want within 10 s", p, took)
		}
	}

	// Everything said, before and during the move, is taken in, and
	// every acknowledgement is sent but those the killed leader was
	// sending.
	citizens := len(tgUsers) + dcPosted
	var leftSending int
	waitUntil("every message stored and every acknowledgement sent", b.stderr.String, func() bool {
		cases, err := db.Inbox(ctx, citybot.CaseFilter{Limit: 10 * citizens})
		if err != nil {
			t.Fatal(err)
		}
		items, err := db.OutboxItems(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		leftSending = 0
		for _, it := range items {
			switch it.State {
			case citybot.OutboxPending:
				return false
			case citybot.OutboxSending:
				leftSending++
			}
		}
		return len(cases) >= citizens
	})
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, b.stderr)
	}
	// The rows the killed leader left in sending are settled by the
	// second instance once the leader's heartbeat ends (delivery unknown
	// on Telegram), or else at the next start, as after a single
	// instance's crash. The restarted instance takes every part over
	// (its predecessor released the leases on its clean stop).
	t.Logf("%d acknowledgements left in sending by the killed leader when the second instance stopped", leftSending)
	c := startCitybot(t, cfg, filepath.Join(dir, "c.json"), env...)
	waitUntil("every acknowledgement settled and the gateway reopened", c.stderr.String, func() bool {
		st, err := db.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Pending == 0 && dc.Stats().Identifies >= 3
	})
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, c.stderr)
	}
	if l, err := db.LeaseOf(context.Background(), leaseTelegramPoll); err == nil {
		t.Errorf("the lease %s is still held after a clean stop: %+v", leaseTelegramPoll, l)
	}
	unknown := checkStoredAndAckedOnce(t, db, tg, dc, citizens).unknown
	for name, p := range map[string]*acceptProc{"first": a, "second": b, "restarted": c} {
		if n := strings.Count(p.stderr.String(), "getUpdates conflict"); n > 0 {
			t.Errorf("the %s instance met %d polling conflicts: two instances polled at once", name, n)
		}
	}
	if st := dc.Stats(); st.Identifies != 3 {
		t.Errorf("%d Discord gateway sessions opened, want 3 (the first leader's, the second's, the restarted one's)", st.Identifies)
	}
	t.Logf("%d citizens (%d Telegram, %d Discord): each message stored once, each acknowledged once; %d Telegram acknowledgements delivery unknown",
		citizens, len(tgUsers), dcPosted, unknown)
}

// ackReport is what checkStoredAndAckedOnce counted.
type ackReport struct {
	unknown          int // acknowledgements delivery unknown
	unknownDelivered int // how many times the platform had in fact delivered those
	duplicates       int // chats (Discord: cases) that received more than one
}

// checkStoredAndAckedOnce checks the database and the emulators after a
// run: want cases (one per citizen), each holding one citizen message and
// one acknowledgement row, sent and delivered once (the case
// acknowledged), or on Telegram delivery unknown and delivered at most
// once (the case left new); no chat received a duplicate. It returns
// what it counted, for the test's log.
func checkStoredAndAckedOnce(t *testing.T, db *store.DB, tg *tgemu.Server, dc *dcemu.Server, want int) (r ackReport) {
	t.Helper()
	bg := context.Background()
	cases, err := db.Inbox(bg, citybot.CaseFilter{Limit: 10 * want})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != want {
		t.Errorf("%d cases, want %d (one per citizen)", len(cases), want)
	}
	items, err := db.OutboxItems(bg, "")
	if err != nil {
		t.Fatal(err)
	}
	ackRows := map[citybot.CaseID][]citybot.OutboxItem{}
	for _, it := range items {
		if it.Kind == citybot.OutboxAck {
			ackRows[it.Case] = append(ackRows[it.Case], it)
		}
	}
	tgGot := map[int64]int{}
	for _, m := range tg.AllSent() {
		tgGot[m.Chat]++
	}
	dcGot := map[string]int{}
	if dc != nil {
		dcGot, _ = dcAcks(dc)
	}
	for _, c := range cases {
		conv, err := db.Conversation(bg, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		in := 0
		for _, e := range conv {
			if e.Direction == "in" {
				in++
			}
		}
		if in != 1 {
			t.Errorf("case %s holds %d citizen messages, want 1", c.Ref, in)
		}
		rows := ackRows[c.ID]
		if len(rows) != 1 {
			t.Errorf("case %s has %d acknowledgement rows, want 1", c.Ref, len(rows))
			continue
		}
		delivered := dcGot[string(c.Ref)]
		if c.Platform == citybot.Telegram {
			chat, err := strconv.ParseInt(string(rows[0].Out.Chat), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			delivered = tgGot[chat]
		}
		switch rows[0].State {
		case citybot.OutboxSent:
			if delivered != 1 || c.Status != citybot.StatusAcknowledged {
				t.Errorf("case %s (%s): acknowledgement sent, delivered %d times, case %s; want once, acknowledged", c.Ref, c.Platform, delivered, c.Status)
			}
		case citybot.OutboxUnknown:
			r.unknown++
			r.unknownDelivered += delivered
			if c.Platform != citybot.Telegram || delivered > 1 || c.Status != citybot.StatusNew {
				t.Errorf("case %s (%s): delivery unknown, delivered %d times, case %s; want Telegram only, at most once, new", c.Ref, c.Platform, delivered, c.Status)
			}
		default:
			t.Errorf("case %s: acknowledgement %s (%s), want sent or delivery unknown", c.Ref, rows[0].State, rows[0].LastError)
		}
	}
	for chat, n := range tgGot {
		if n > 1 {
			r.duplicates++
			t.Errorf("Telegram chat %d received %d messages: a duplicate", chat, n)
		}
	}
	for ref, n := range dcGot {
		if n > 1 {
			r.duplicates++
			t.Errorf("case %s acknowledged %d times on Discord", ref, n)
		}
	}
	return r
}

// TestWebhookOnEveryInstance: two instances on one PostgreSQL database in
// Telegram webhook mode, behind one address that hands every update to
// both (the worst a load balancer retrying on another instance can do):
// both serve the webhook (no leader), and each update is stored once and
// acknowledged once.
func TestWebhookOnEveryInstance(t *testing.T) {
	dbURL := testPostgresDB(t)
	tg := tgemu.New(tgemu.Options{})
	if err := tg.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	// The address Telegram posts to: it forwards each update to every
	// instance, at once, and answers 200 once each has.
	var (
		mu      sync.Mutex
		targets []string
		answers = map[int]int{} // status codes the instances answered
	)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		mu.Lock()
		to := append([]string(nil), targets...)
		mu.Unlock()
		if len(to) < 2 {
			http.Error(w, "not all instances up", http.StatusServiceUnavailable)
			return
		}
		codes := make([]int, len(to))
		var wg sync.WaitGroup
		for i, addr := range to {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+r.URL.Path, bytes.NewReader(body))
				req.Header = r.Header.Clone()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		mu.Lock()
		for _, c := range codes {
			answers[c]++
		}
		mu.Unlock()
		for _, c := range codes {
			if c != http.StatusOK {
				http.Error(w, "an instance failed", http.StatusBadGateway)
				return
			}
		}
		w.Write([]byte("{}"))
	}))
	defer front.Close()
	const secret = "hook_SECRET_value-2"
	env := map[string]string{envTelegramToken: tg.Token(), envTelegramSecret: secret, envDatabaseURL: dbURL}
	config := fmt.Sprintf(`[store]
driver = "postgres"
[http]
addr = "127.0.0.1:0"
[log]
level = "debug"
format = "json"
[discord]
enabled = false
[telegram]
api_endpoint = %q
mode = "webhook"
webhook_url = "%s/telegram/hook"
[outbox]
poll_interval = "100ms"
[grouping]
enabled = false
`, tg.Endpoint(), front.URL)
	var servers []*server
	for range 2 {
		s := startServeConfig(t, env, config)
		servers = append(servers, s)
		mu.Lock()
		targets = append(targets, s.ready.HTTPAddr)
		mu.Unlock()
	}
	for _, s := range servers {
		roles := healthLeadership(t, s.ready.HTTPAddr)
		if st, ok := roles[leaseTelegramPoll]; ok {
			t.Errorf("webhook mode: /healthz shows Telegram under a lease: %+v", st)
		}
	}
	const citizens = 10
	for i := range citizens {
		u := tgemu.User{ID: int64(9100 + i), FirstName: "Hook", LanguageCode: "en"}
		if _, err := tg.Post(tgemu.Incoming{From: u, Text: fmt.Sprintf("Garbage has not been collected on Oak Avenue number %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.OpenPostgres(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for {
		cases, err := db.Inbox(ctx, citybot.CaseFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		st, err := db.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) >= citizens && st.Pending == 0 && tg.Pending() == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d cases, %d acknowledgements to send, %d updates undelivered\n%s\n%s", len(cases), citizens, st.Pending, tg.Pending(), servers[0].logs, servers[1].logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, s := range servers {
		if err := s.shutdown(t); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	ok := answers[http.StatusOK]
	mu.Unlock()
	if ok < 2*citizens {
		t.Errorf("the instances answered 200 to %d posts, want at least %d (each update to both): %v", ok, 2*citizens, answers)
	}
	if unknown := checkStoredAndAckedOnce(t, db, tg, nil, citizens).unknown; unknown != 0 {
		t.Errorf("%d acknowledgements delivery unknown without any crash", unknown)
	}
}

// startServeConfig runs `citybot serve` through run() on the config text
// and waits for its ready file.
func startServeConfig(t *testing.T, env map[string]string, config string) *server {
	t.Helper()
	return serveAt(t, env, writeConfig(t, config))
}

// leadingMetric reads citybot_leading{part} from an instance's /metrics
// (the test is a local client).
func leadingMetric(t *testing.T, addr, part string) string {
	t.Helper()
	code, body := httpGet(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	prefix := `citybot_leading{part="` + part + `"} `
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return v
		}
	}
	t.Fatalf("/metrics has no %s", prefix)
	return ""
}

// TestLeadershipLeases: serve's one-at-a-time parts hold a lease on
// PostgreSQL, named after the part and held by the instance, given up when
// the part stops; on SQLite (one process) they run at once and the
// database holds no lease.
func TestLeadershipLeases(t *testing.T) {
	ctx := context.Background()
	engines := []struct {
		name string
		open func(t *testing.T) (Config, *store.DB)
	}{
		{"sqlite", func(t *testing.T) (Config, *store.DB) {
			cfg := DefaultConfig()
			cfg.Store.Path = filepath.Join(t.TempDir(), "citybot.db")
			db, err := store.Open(ctx, cfg.Store.Path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return cfg, db
		}},
		{"postgres", func(t *testing.T) (Config, *store.DB) {
			src := testPostgresDB(t)
			cfg := DefaultConfig()
			cfg.Store.Driver = driverPostgres
			db, err := store.OpenPostgres(ctx, src, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return cfg, db
		}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			cfg, db := e.open(t)
			defer db.Close()
			a := &App{cfg: cfg, db: db, instance: "host-a:1:aa", logger: discardLogger()}
			lead := newLeadership(a)
			var during error
			run, err := lead.lead(leaseSurge, func(ctx context.Context) error {
				if s := lead.statuses()[leaseSurge]; s.Role != cluster.Leading || s.Leader != a.instance {
					t.Errorf("status while running: %+v", s)
				}
				_, during = db.LeaseOf(ctx, leaseSurge)
				return citybot.ErrForbidden // stops at once, as a failing part
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := run(ctx); !errors.Is(err, citybot.ErrForbidden) {
				t.Fatalf("run = %v, want the part's error", err)
			}
			held := during == nil
			if want := e.name == "postgres"; held != want {
				t.Errorf("lease %s held while the part ran: %v, want %v (%v)", leaseSurge, held, want, during)
			}
			if _, err := db.LeaseOf(ctx, leaseSurge); err == nil {
				t.Errorf("the lease is still held once the part stopped")
			}
			if every, err := lead.lead("", func(context.Context) error { return nil }); err != nil || every == nil || len(lead.statuses()) != 1 {
				t.Errorf("a part every instance runs: %v; statuses %v", err, lead.statuses())
			}
		})
	}
}
