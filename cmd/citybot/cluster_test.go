package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"citybot/bots/discord/dcemu"
	"citybot/bots/telegram/tgemu"
	"citybot/cluster"
	"citybot/store"
)

// The digest's chats in TestClusterFailover's Telegram.
const (
	clusterPublic    = int64(-1009990001) // the city's public group
	clusterOfficials = int64(-1009990002) // the officials' group
)

// takeoverBound is how soon after the leader's death another instance
// must hold the Discord gateway and run the scheduler's jobs: a
// correctness bound (the "within 10 s"), not a speed target.
const takeoverBound = 10 * time.Second

// TestClusterFailover is issue 12's acceptance test: three `citybot serve`
// processes on one PostgreSQL database, Telegram in webhook mode behind a
// round-robin proxy (clusterProxy) and Discord through its emulator.
// 200 citizens (100 in Telegram private chats; 40 in Discord DMs and 60
// in Discord channels and threads; English and French) send 1,000
// messages, five each. Mid-burst the leader is killed with SIGKILL while
// it also runs a scheduled job (the digest's draft, held mid-run by a
// lock the test takes on the digests table until the kill); then the
// weekly digest that job drafts on another instance is approved by the
// official's button (through the proxy), and the instance whose send of
// it is in flight is killed too (its Telegram answer withheld, so the
// platform took the post and the sender never heard back). Then:
//   - every message is stored exactly once, one case per citizen;
//   - every case has one acknowledgement, delivered exactly once, or on
//     Telegram (which cannot recognise a repeat) marked delivery unknown
//     with its logged warning, delivered at most once and the case left
//     new for an officer; on Discord exactly once;
//   - the Discord gateway ran on one instance (the leader) and another
//     takes it within 10 s of the kill, and the job the leader died
//     running runs on a survivor within 10 s;
//   - the digest is posted to each public chat exactly once (a chart the
//     kill interrupted, which no platform recognises twice: at most
//     once, delivery unknown).
//
// It runs when CITYBOT_TEST_POSTGRES_URL is set (always in CI); it logs
// the takeover times, the webhook's messages per second through the proxy
// and its longest pause after the kill, and the delivery-unknown counts.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("three processes on PostgreSQL, two killed; skipped with -short")
	}
	dbURL := testPostgresDB(t)
	began := time.Now()

	tg := acceptStartEmulator(t, tgemu.Options{})
	w := newDCWorld(t, dcemu.Options{}, 4, 2)
	dcPublic := w.emu.AddChannel("city-news")
	proxy := newClusterProxy(t)
	hold := newTGHold()
	official := tgemu.User{ID: 4242, FirstName: "Mayor", LanguageCode: "en"}
	// The digest's groups exist once someone wrote in them.
	for _, g := range []int64{clusterPublic, clusterOfficials} {
		if _, err := tg.Post(tgemu.Incoming{Chat: g, ChatTitle: "city", From: official, Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	const secret = "cluster_hook-SECRET-1"
	env := []string{envTelegramToken + "=" + tg.Token(), envTelegramSecret + "=" + secret,
		envDiscordToken + "=" + dcToken, envDatabaseURL + "=" + dbURL}

	// The scheduler's job is caught mid-run: with the tables made, a
	// transaction of the test's locks the digests table, so the first
	// instance's first digest job (2 s after it starts, and the others
	// start only once it holds the job) blocks there holding the job's lease, until the lock goes
	// after the kill. Intake never reads that table.
	ctx := context.Background()
	db, err := store.OpenPostgres(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pg, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	lock, err := pg.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec(`LOCK TABLE digests IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	// Three instances, one configuration but for the Telegram API's
	// address: each reaches Telegram through its own tap (which holds the
	// send the test kills an instance in), the webhook through the proxy.
	// The first instance starts alone and takes both the gateway and the
	// stuck job before the others start, so that one kill hits both
	// however slowly the machine starts processes.
	var nodes []*clusterNode
	var addrs []string
	var jobHolder string
	for i := range 3 {
		cfg := writeConfig(t, clusterConfig(w, newTGTap(t, tg.URL(), i, hold), proxy.url("/telegram/hook"), dcPublic))
		p := startBinaryEnv(t, cfg, env...)
		nodes = append(nodes, &clusterNode{acceptProc: p, idx: i})
		addrs = append(addrs, p.ready.HTTPAddr)
		proxy.setBackends(addrs)
		if i > 0 {
			continue
		}
		acceptEventually(t, 60*time.Second, func() (bool, string) {
			return logCount(nodes, false, `"msg":"gateway ready"`) > 0, "no Discord gateway session ready"
		})
		acceptEventually(t, 30*time.Second, func() (bool, string) {
			l, err := db.LeaseOf(ctx, "digest")
			jobHolder = l.Holder
			return err == nil && holderPID(jobHolder) == p.ready.PID,
				fmt.Sprintf("the first instance (pid %d) does not hold the digest job's lease (holder %q): %v", p.ready.PID, jobHolder, err)
		})
	}
	t.Logf("3 instances serving after %v", time.Since(began).Round(time.Millisecond))

	// Citizens. A Discord DM channel is found again after a move only
	// once citybot stored a message of it (Discord does not list a
	// bot's DM channels), so the DM citizens' first reports go before
	// the burst.
	const (
		tgCitizens   = 100
		dmCitizens   = 40
		chanCitizens = 60
		perCitizen   = 5
		messages     = (tgCitizens + dmCitizens + chanCitizens) * perCitizen
	)
	type tgPosted struct{ chat, id string }
	var (
		mu       sync.Mutex
		tgSent   []tgPosted
		tr       dcTraffic
		tgUsers  = make([]tgemu.User, tgCitizens)
		dmUsers  = make([]dcemu.User, dmCitizens)
		dms      = make([]string, dmCitizens)
		chanUser = make([]dcemu.User, chanCitizens)
		guild    = append(append([]string{}, w.channels...), w.threads...)
	)
	for i := range tgUsers {
		tgUsers[i] = tgemu.User{ID: int64(7000001 + i), FirstName: fmt.Sprintf("Citizen %d", i), LanguageCode: []string{"en", "fr"}[i%2]}
	}
	for i := range dmUsers {
		dmUsers[i] = w.emu.AddUser(fmt.Sprintf("DM citizen %d", i), false)
		if dms[i], err = w.emu.DMChannel(dmUsers[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	for i := range chanUser {
		chanUser[i] = w.emu.AddUser(fmt.Sprintf("Channel citizen %d", i), false)
	}
	postTG := func(i, round int) error {
		u := tgUsers[i]
		// e2eTexts alternate English and French: each citizen writes
		// in their own language.
		text := fmt.Sprintf("%s (message %d of citizen %d)", e2eTexts[(2*(i+round)+i%2)%len(e2eTexts)], round+1, i)
		p, err := tg.Post(tgemu.Incoming{From: u, Text: text})
		if err != nil {
			return err
		}
		mu.Lock()
		tgSent = append(tgSent, tgPosted{strconv.FormatInt(p.Chat, 10), strconv.Itoa(p.MessageID)})
		mu.Unlock()
		return nil
	}
	postDC := func(i, round int) {
		text := fmt.Sprintf(dcReports[(i+round)%len(dcReports)], i+1)
		if round > 0 {
			text = fmt.Sprintf("%s (still there, message %d)", text, round+1)
		}
		if i < dmCitizens {
			tr.post(t, w.emu, dms[i], dmUsers[i].ID, text)
			return
		}
		c := i - dmCitizens
		tr.post(t, w.emu, guild[c%len(guild)], chanUser[c].ID, text)
	}
	for i := range dmCitizens {
		postDC(i, 0)
	}
	acceptEventually(t, 60*time.Second, func() (bool, string) {
		n, _ := dcAcks(w.emu)
		return len(n) >= dmCitizens, fmt.Sprintf("%d of the %d DM reports acknowledged", len(n), dmCitizens)
	})

	// The leader leads the gateway and runs the stuck job; its first
	// Telegram acknowledgement of the burst is held at its tap (the
	// citizens' chat ids start with 7000) until it is killed.
	leader := clusterLeader(t, nodes)
	if pid := holderPID(jobHolder); pid != leader.ready.PID {
		t.Fatalf("the digest job's lease is held by %q, not by the leader (pid %d): the test cannot kill both at once", jobHolder, leader.ready.PID)
	}
	hold.arm("chat_id=7000", leader.idx)

	// The burst, paced so that it goes on across the kill.
	burstStart := time.Now()
	burstDone := make(chan struct{})
	var burstPosted, tgDrained time.Time // set before burstDone closes
	go func() {
		defer close(burstDone)
		defer func() {
			// The webhook's pause is measured while updates wait.
			burstPosted = time.Now()
			for end := time.Now().Add(90 * time.Second); tg.Pending() > 0 && time.Now().Before(end); {
				time.Sleep(10 * time.Millisecond)
			}
			tgDrained = time.Now()
		}()
		for round := range perCitizen {
			for i := range max(tgCitizens, dmCitizens+chanCitizens) {
				if i < tgCitizens {
					if err := postTG(i, round); err != nil {
						t.Error(err)
						return
					}
				}
				if i < dmCitizens+chanCitizens && (round > 0 || i >= dmCitizens) {
					postDC(i, round) // the DMs' first reports went before
				}
				time.Sleep(15 * time.Millisecond)
			}
		}
	}()
	stored := func() int {
		return acceptCount(t, pg, `SELECT COUNT(*) FROM messages m JOIN chats c ON c.id = m.chat_id
			WHERE m.direction = 'in' AND c.platform_chat_id NOT IN ('`+strconv.FormatInt(clusterPublic, 10)+`', '`+strconv.FormatInt(clusterOfficials, 10)+`')`)
	}

	// Kill the leader, which also runs the stuck job, mid-burst while its
	// send of a Telegram acknowledgement is in flight.
	select {
	case <-hold.held:
	case <-time.After(30 * time.Second):
		t.Fatalf("the leader sent no Telegram acknowledgement within 30 s of the burst's start")
	}
	acceptEventually(t, 90*time.Second, func() (bool, string) {
		n := stored()
		return n >= 2*messages/5, fmt.Sprintf("%d of %d messages stored before the kill", n, messages)
	})
	sessions := w.emu.Connected()
	if sessions != 1 {
		t.Errorf("%d Discord gateway sessions before the kill, want 1 (on the leader)", sessions)
	}
	gatewayBefore := w.emu.Stats()
	jobsBefore := 0
	for _, n := range nodes {
		if n != leader {
			jobsBefore += strings.Count(n.stderr.String(), `"msg":"job done"`)
		}
	}
	storedAtKill := stored()
	leader.kill(t)
	leader.killed = true
	killedAt := time.Now()
	hold.free()
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed the leader, instance %d (pid %d), while sending an acknowledgement, %v into the burst, %d of %d messages stored", leader.idx, leader.ready.PID,
		killedAt.Sub(burstStart).Round(time.Millisecond), storedAtKill, messages)

	// Takeover: the gateway's new session (a new IDENTIFY once nobody
	// holds it), the digest job the leader died running done on a
	// survivor.
	var gatewayTook, schedulerTook time.Duration
	gatewayMoves := sessions == 1 // else it stays open on the survivors: nothing moves
	for deadline := killedAt.Add(3 * takeoverBound); time.Now().Before(deadline) && ((gatewayMoves && gatewayTook == 0) || schedulerTook == 0); time.Sleep(25 * time.Millisecond) {
		if st := w.emu.Stats(); gatewayMoves && gatewayTook == 0 && st.Identifies+st.Resumes > gatewayBefore.Identifies+gatewayBefore.Resumes && w.emu.Connected() > 0 {
			gatewayTook = time.Since(killedAt)
		}
		if schedulerTook == 0 && logCount(nodes, true, `"msg":"job done"`) > jobsBefore {
			schedulerTook = time.Since(killedAt)
		}
	}
	t.Logf("takeover after the kill: Discord gateway %v, scheduler %v (0: not seen within %v)", gatewayTook.Round(time.Millisecond), schedulerTook.Round(time.Millisecond), 3*takeoverBound)
	switch {
	case !gatewayMoves:
		t.Errorf("the gateway did not move: it was open on %d instances, the kill left %d", sessions, w.emu.Connected())
	case gatewayTook == 0 || gatewayTook > takeoverBound:
		t.Errorf("the Discord gateway resumed on another instance after %v, want within %v (0: not within %v)", gatewayTook, takeoverBound, 3*takeoverBound)
	}
	if schedulerTook == 0 || schedulerTook > takeoverBound {
		t.Errorf("the scheduler ran a job on another instance after %v, want within %v (0: not within %v)", schedulerTook, takeoverBound, 3*takeoverBound)
	}

	// That job drafted last week's digest: its announcement with the
	// buttons reaches the officials' group.
	var draft tgemu.SentMessage
	acceptEventually(t, 60*time.Second, func() (bool, string) {
		for _, m := range tg.Sent(clusterOfficials) {
			if len(m.Buttons) > 0 && len(m.Buttons[0]) > 0 && strings.HasPrefix(m.Buttons[0][0].Data, "dg:a:") {
				draft = m
				return true, ""
			}
		}
		return false, "no digest draft in the officials' group"
	})

	// The digest: approved by the official's button (a webhook update
	// through the proxy); the instance whose send of its first public
	// post is in flight is killed before hearing back.
	hold.arm(strconv.FormatInt(clusterPublic, 10), -1)
	if _, err := tg.Press(clusterOfficials, draft.MessageID, official, draft.Buttons[0][0].Data); err != nil {
		t.Fatal(err)
	}
	var poster *clusterNode
	select {
	case i := <-hold.held:
		poster = nodes[i]
	case <-time.After(60 * time.Second):
		t.Fatalf("the approved digest was not posted within 60 s")
	}
	poster.kill(t)
	poster.killed = true
	hold.free()
	t.Logf("killed instance %d (pid %d) while its post of the digest was in flight", poster.idx, poster.ready.PID)

	// The survivor settles everything.
	<-burstDone
	t.Logf("burst posted in %v, its Telegram updates all taken %v after its start", burstPosted.Sub(burstStart).Round(time.Millisecond), tgDrained.Sub(burstStart).Round(time.Millisecond))
	var last *clusterNode
	for _, n := range nodes {
		if !n.killed {
			last = n
		}
	}
	// A row the dead left in sending and never settled, and the rows of
	// its chat queued behind it, fail the wait; the checks below still
	// say what else held.
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n := stored()
		unsent := acceptCount(t, pg, `SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'sending')`)
		if n >= messages && unsent == 0 {
			t.Logf("settled %v after the first kill", time.Since(killedAt).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("not settled within 90 s: %d of %d messages stored, %d outbox rows pending or sending (%d sending);%s\nsurvivor's logs:\n%s",
				n, messages, unsent, acceptCount(t, pg, `SELECT COUNT(*) FROM outbox WHERE state = 'sending'`), clusterUnsent(t, pg), dcTail(last.stderr.String()))
			break
		}
	}
	elapsed := time.Since(began)

	// Every message stored exactly once.
	inTG, inDC := inboundRows(t, pg, "telegram"), inboundRows(t, pg, "discord")
	for _, p := range tgSent {
		if n := inTG[p.chat+"/"+p.id]; n != 1 {
			t.Errorf("Telegram message %s of chat %s stored %d times, want 1", p.id, p.chat, n)
		}
	}
	for _, m := range tr.posted {
		if n := inDC[m.ChannelID+"/"+m.ID]; n != 1 {
			t.Errorf("Discord message %s of channel %s stored %d times, want 1", m.ID, m.ChannelID, n)
		}
	}
	if got := len(tgSent) + len(tr.posted); got != messages {
		t.Errorf("%d messages posted, want %d", got, messages)
	}
	if len(inDC) != len(tr.posted) {
		t.Errorf("%d Discord messages stored, %d posted", len(inDC), len(tr.posted))
	}

	// Every case acknowledged exactly once (or, on Telegram, delivery
	// unknown).
	cases := allCases(t, db)
	if len(cases) != tgCitizens+dmCitizens+chanCitizens {
		t.Errorf("%d cases, want %d (one per citizen)", len(cases), tgCitizens+dmCitizens+chanCitizens)
	}
	acks := clusterAckRows(t, pg)
	tgAcks := acceptAcks(tg)
	dcCount, dcWhere := dcAcks(w.emu)
	known := map[string]bool{}
	tgUnknown, tgUnknownDelivered := 0, 0
	for _, c := range cases {
		ref := string(c.Ref)
		known[ref] = true
		rows := acks[ref]
		if len(rows) != 1 {
			t.Errorf("case %s has %d acknowledgement rows, want 1", ref, len(rows))
			continue
		}
		r := rows[0]
		delivered := dcCount[ref]
		if r.platform == "telegram" {
			chat, _ := strconv.ParseInt(r.chat, 10, 64)
			delivered = tgAcks[chat][ref]
		} else if delivered > 0 && dcWhere[ref] != r.chat {
			t.Errorf("case %s acknowledged in %s, its chat is %s", ref, dcWhere[ref], r.chat)
		}
		switch {
		case delivered > 1:
			t.Errorf("case %s (%s) acknowledged %d times", ref, r.platform, delivered)
		case r.state == "sent":
			if delivered != 1 || string(c.Status) != "acknowledged" {
				t.Errorf("case %s (%s): acknowledgement recorded sent, delivered %d times, case %s; want once, acknowledged", ref, r.platform, delivered, c.Status)
			}
		case r.state == "pending" || r.state == "sending":
			continue // reported above: the outbox was not settled
		case r.state == "failed" && r.unknown && r.platform == "telegram":
			tgUnknown++
			tgUnknownDelivered += delivered
			if string(c.Status) != "new" {
				t.Errorf("case %s: delivery unknown but status %s, want new", ref, c.Status)
			}
		default:
			t.Errorf("case %s (%s): acknowledgement %s (delivery unknown %v), want sent (or delivery unknown on Telegram)", ref, r.platform, r.state, r.unknown)
		}
	}
	for ref := range dcCount {
		if !known[ref] {
			t.Errorf("Discord acknowledgement of %s, which is no case", ref)
		}
	}
	for chat, refs := range tgAcks {
		for ref := range refs {
			if !known[ref] {
				t.Errorf("Telegram chat %d was acknowledged case %s, which is no case", chat, ref)
			}
		}
	}
	if tgUnknown == 0 {
		t.Errorf("no Telegram acknowledgement is delivery unknown, though the leader was killed while sending one")
	}
	unknownRows := acceptCount(t, pg, `SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND delivery_unknown = 1`)
	if warned := logCount(nodes, false, "delivery unknown:"); warned != unknownRows {
		t.Errorf("%d outbox rows delivery unknown, %d warnings logged", unknownRows, warned)
	}

	// The digest, posted to each public chat exactly once.
	tgRows := acceptCount(t, pg, `SELECT COUNT(*) FROM outbox WHERE key LIKE 'digest:%' AND platform = 'telegram' AND chat = '`+strconv.FormatInt(clusterPublic, 10)+`'`)
	dcSentRows := acceptCount(t, pg, `SELECT COUNT(*) FROM outbox WHERE key LIKE 'digest:%' AND platform = 'discord' AND chat = '`+dcPublic+`' AND state = 'sent'`)
	// A chart is a file no platform recognises twice: sent again it
	// would be posted twice, so one the kill interrupted is delivery
	// unknown on Discord too (posted at most once); every text is
	// sent.
	dcUnknownCharts := acceptCount(t, pg, `SELECT COUNT(*) FROM outbox WHERE key LIKE 'digest:%' AND platform = 'discord' AND chat = '`+dcPublic+`'
		AND state = 'failed' AND delivery_unknown = 1 AND kind = 'chart'`)
	if n := acceptCount(t, pg, `SELECT COUNT(*) FROM outbox WHERE key LIKE 'digest:%' AND platform = 'discord' AND chat = '`+dcPublic+`'`); n != dcSentRows+dcUnknownCharts {
		t.Errorf("%d Discord digest rows, %d sent and %d charts delivery unknown: want every other row sent", n, dcSentRows, dcUnknownCharts)
	}
	tgPosts, dcPosts := tg.Sent(clusterPublic), w.emu.Sent(dcPublic)
	if tgRows == 0 || len(tgPosts) != tgRows || !distinctTG(tgPosts) {
		t.Errorf("the public Telegram group got %d posts for %d digest rows, want each once", len(tgPosts), tgRows)
	}
	if dcSentRows == 0 || len(dcPosts) < dcSentRows || len(dcPosts) > dcSentRows+dcUnknownCharts || !distinctDC(dcPosts) {
		t.Errorf("the public Discord channel got %d posts for %d digest rows sent and %d delivery unknown, want each sent once, none twice",
			len(dcPosts), dcSentRows, dcUnknownCharts)
	}

	for _, n := range nodes {
		logs := n.stderr.String()
		for _, s := range []string{tg.Token(), secret, dcToken, dbURL} {
			if strings.Contains(logs, s) {
				t.Errorf("instance %d's logs reveal a secret", n.idx)
			}
		}
		// Nor a citizen's identity: names, Telegram ids, Discord user ids.
		who := []string{"Citizen 1", "DM citizen", "Channel citizen", strconv.FormatInt(tgUsers[1].ID, 10), dmUsers[1].ID, chanUser[1].ID}
		for _, s := range who {
			if strings.Contains(logs, s) {
				t.Errorf("instance %d's logs reveal a citizen's identity (%q)", n.idx, s)
			}
		}
	}

	relayed, perSecond, gap, failover := proxy.stats(burstStart, killedAt, tgDrained)
	tgst, dcst := tg.Stats(), w.emu.Stats()
	t.Logf("3 instances, %d messages from %d citizens, %d cases in %v; takeover after the leader's kill: gateway %v, scheduler %v",
		messages, tgCitizens+dmCitizens+chanCitizens, len(cases), elapsed.Round(time.Millisecond), gatewayTook.Round(time.Millisecond), schedulerTook.Round(time.Millisecond))
	median, p99 := proxy.answerTimes()
	t.Logf("webhook through the proxy: %d updates during the burst at %.1f/s (as fast as they were posted), an instance's answer in %v (p99 %v), longest pause after the kill %v, %d attempts on a dead instance skipped",
		relayed, perSecond, median.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), gap.Round(time.Millisecond), failover)
	t.Logf("delivery unknown: %d Telegram acknowledgements (%d of them in fact delivered), %d rows in all (%s); Telegram 429s %d, Discord limits exceeded %d (%d of them the global one)",
		tgUnknown, tgUnknownDelivered, unknownRows, clusterUnknownKinds(t, pg), tgst.RateLimited, dcst.Exceeded, dcst.ExceededGlobal)
}

// clusterConfig is the instances' configuration: PostgreSQL, Telegram in
// webhook mode at hookURL (the proxy) reaching the API at endpoint,
// Discord on the world's emulator, the digest drafted every 2 s (a no-op
// once drafted, so the scheduler's takeover shows within seconds) and
// posted to the public Telegram group and Discord channel. Grouping and
// the surge warning are off: they do not bear on the takeover.
func clusterConfig(w *dcWorld, endpoint, hookURL, dcPublic string) string {
	quoted := make([]string, len(w.channels))
	for i, c := range w.channels {
		quoted[i] = strconv.Quote(c)
	}
	return fmt.Sprintf(`[store]
driver = "postgres"
[http]
addr = "127.0.0.1:0"
[log]
level = "info"
format = "json"
[telegram]
api_endpoint = %q
mode = "webhook"
webhook_url = %q
[discord]
api_base = %q
guild_id = %q
channels = [%s]
[grouping]
enabled = false
[surge]
enabled = false
[outbox]
poll_interval = "200ms"
base_backoff = "100ms"
max_backoff = "2s"
max_attempts = 30
combine_group_acks = false
[schedule]
digest = "@every 2s"
reminders = "off"
followups = "off"
retention = "off"
[[digest.channels]]
platform = "telegram"
chat = "%d"
[[digest.channels]]
platform = "discord"
chat = %q
[digest.officials]
platform = "telegram"
chat = "%d"
language = "en"
[digest.approvers]
"4242" = "mayor"
`, endpoint, hookURL, w.emu.URL(), w.emu.GuildID(), strings.Join(quoted, ", "), clusterPublic, dcPublic, clusterOfficials)
}

// clusterLeader returns the instance whose /healthz says it leads the
// Discord gateway (the part the test sees move). When none or several
// do, it fails the test and returns instance 0.
func clusterLeader(t *testing.T, nodes []*clusterNode) *clusterNode {
	t.Helper()
	var leaders []*clusterNode
	var roles []string
	for _, n := range nodes {
		st := healthLeadership(t, n.ready.HTTPAddr)[leaseDiscordGateway]
		roles = append(roles, fmt.Sprintf("instance %d: %q", n.idx, st.Role))
		if st.Role == cluster.Leading {
			leaders = append(leaders, n)
		}
	}
	if len(leaders) != 1 {
		t.Errorf("%d instances lead %s (/healthz: %s), want 1; killing instance 0", len(leaders), leaseDiscordGateway, strings.Join(roles, ", "))
		return nodes[0]
	}
	return leaders[0]
}

// holderPID is the process id in a lease holder's name
// (scheduler.NewHolder's "host:pid:random"), or 0.
func holderPID(holder string) int {
	parts := strings.Split(holder, ":")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// clusterAck is a case's acknowledgement row.
type clusterAck struct {
	platform, chat, state string
	unknown               bool
}

// clusterAckRows reads the acknowledgement rows by case reference.
func clusterAckRows(t *testing.T, db *sql.DB) map[string][]clusterAck {
	t.Helper()
	rows, err := db.Query(`SELECT k.ref, ch.platform, ch.platform_chat_id, o.state, o.delivery_unknown
		FROM outbox o JOIN cases k ON k.id = o.case_id JOIN chats ch ON ch.id = k.chat_id WHERE o.kind = 'ack'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]clusterAck{}
	for rows.Next() {
		var ref string
		var a clusterAck
		var unknown int
		if err := rows.Scan(&ref, &a.platform, &a.chat, &a.state, &unknown); err != nil {
			t.Fatal(err)
		}
		a.unknown = unknown == 1
		out[ref] = append(out[ref], a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// clusterUnsent describes, for a failure message, the outbox rows not yet
// settled.
func clusterUnsent(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT id, kind, platform, state, attempts, last_error FROM outbox
		WHERE state IN ('pending', 'sending') ORDER BY id LIMIT 10`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, attempts int
		var kind, platform, state, lastErr string
		if err := rows.Scan(&id, &kind, &platform, &state, &attempts, &lastErr); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "\n  row %d %s on %s: %s, %d attempts, last error %q", id, kind, platform, state, attempts, lastErr)
	}
	return b.String()
}

// clusterUnknownKinds says which outbox rows are delivery unknown, by
// platform and kind.
func clusterUnknownKinds(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.Query(`SELECT platform, kind, COUNT(*) FROM outbox WHERE state = 'failed' AND delivery_unknown = 1
		GROUP BY platform, kind ORDER BY platform, kind`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var platform, kind string
		var n int
		if err := rows.Scan(&platform, &kind, &n); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s %s %d", platform, kind, n))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(parts, ", ")
}

// distinctTG reports whether no two of the bot's messages are the same.
func distinctTG(ms []tgemu.SentMessage) bool {
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Text != "" && seen[m.Text] {
			return false
		}
		seen[m.Text] = true
	}
	return true
}

// distinctDC reports whether no two of the bot's messages are the same.
func distinctDC(ms []dcemu.Message) bool {
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Content != "" && seen[m.Content] {
			return false
		}
		seen[m.Content] = true
	}
	return true
}
