package responder_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/internal/storetest"
	"citybot/locale"
	"citybot/responder"
	"citybot/store"
)

// mentionBot is a fakeBot that names people (bots.Mentioner).
type mentionBot struct{ *fakeBot }

func (mentionBot) Mentions() bool { return true }

// combineRig is a responder and a dispatcher that combines
// acknowledgements, over a real store and a bot that names people, with
// the dispatcher not started.
type combineRig struct {
	db  *store.DB
	r   *responder.Responder
	d   *responder.Dispatcher
	bot *fakeBot
}

func newCombineRig(t *testing.T, maxText int, combine bool) *combineRig {
	t.Helper()
	db := storetest.SQLite(t, store.Options{})
	bot := newFakeBot(t, citybot.Telegram)
	bot.maxText = maxText
	policy := testPolicy(t)
	dopts := responder.DispatcherOptions{Store: db, Bots: []bots.Bot{mentionBot{bot}}, PollInterval: 50 * time.Millisecond,
		BaseBackoff: 5 * time.Millisecond}
	if combine {
		dopts.Combine = &responder.CombineOptions{Policy: policy}
	}
	d, err := responder.NewDispatcher(dopts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := responder.New(responder.Options{Store: db, Classifier: fakeClassifier{}, Policy: policy, Notify: d.Notify})
	if err != nil {
		t.Fatal(err)
	}
	return &combineRig{db: db, r: r, d: d, bot: bot}
}

// run starts the dispatcher and waits until the outbox is drained.
func (c *combineRig) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.d.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := c.db.OutboxStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("outbox not drained in 20 s")
}

func (c *combineRig) handle(t *testing.T, m citybot.Message) {
	t.Helper()
	if err := c.r.HandleMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// refOf returns the reference of the case user opened.
func (c *combineRig) refOf(t *testing.T, user string) citybot.CaseRef {
	t.Helper()
	id, err := c.db.CitizenByIdentity(context.Background(), citybot.Telegram, citybot.UserID(user))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := c.db.CitizenCases(context.Background(), id, 10)
	if err != nil || len(cases) != 1 {
		t.Fatalf("cases of %s: %+v, %v", user, cases, err)
	}
	return cases[0].Ref
}

// TestCombinedAcks: 40 citizens report in one group before the outbox
// runs. The first acknowledgement carries every other English one: one
// message, the critical reporter first under the emergency line, each
// reporter named once with their own reference, no topic; the French
// reporter's and the sensitive case's acknowledgements keep their own
// words, as replies. Every case that was named is acknowledged.
func TestCombinedAcks(t *testing.T) {
	c := newCombineRig(t, 4096, true)
	const group = "-1001"
	var users []string
	for i := range 40 {
		u := fmt.Sprint("10", i)
		text := fmt.Sprintf("pothole number %d on our street", i)
		switch i {
		case 17:
			text = "gas smell, danger near the school"
		case 23:
			text = "il y a un nid-de-poule devant la poste"
		case 31:
			text = "they asked me for cash to fix the pothole"
		}
		c.handle(t, groupMsg(u, group, 500+i, text))
		users = append(users, u)
	}
	c.run(t)

	sent := c.bot.sentTo(group)
	if len(sent) != 3 {
		for _, o := range sent {
			t.Logf("%s: %.80q (%d mentions)", o.Key, o.Text, len(o.Mentions))
		}
		t.Fatalf("%d messages in the group, want 3 (the combined one, the French one, the sensitive one)", len(sent))
	}
	comb := sent[0]
	set, err := locale.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	en := set.Catalog("en")
	if !strings.HasPrefix(comb.Text, strings.ReplaceAll(en.Text("chat.emergency"), "{number}", "112")) {
		t.Errorf("the combined message does not open with the emergency line: %.120q", comb.Text)
	}
	if !strings.Contains(comb.Text, en.Text("chat.ack_batch")) || !strings.Contains(comb.Text, en.Text("chat.ack_batch_end")) {
		t.Errorf("combined message lacks its catalog texts: %q", comb.Text)
	}
	if comb.ReplyTo != "" {
		t.Errorf("the combined message replies to %q, want to no one message", comb.ReplyTo)
	}
	if strings.Contains(strings.ToLower(comb.Text), "road") || strings.Contains(comb.Text, "cash") {
		t.Errorf("the combined message names a topic or a citizen's words: %q", comb.Text)
	}
	var named []string
	for _, m := range comb.Mentions {
		named = append(named, string(m.User))
		if got, want := comb.Text[m.Start:m.End], string(c.refOf(t, string(m.User))); got != want {
			t.Errorf("%s is named with %q, want their reference %q", m.User, got, want)
		}
	}
	if len(named) != 38 || named[0] != users[17] {
		t.Errorf("named %d reporters, first %v; want 38, the critical one (%s) first", len(named), named[:min(1, len(named))], users[17])
	}
	for _, u := range []string{users[23], users[31]} {
		if slices.Contains(named, u) {
			t.Errorf("%s is named in the combined message", u)
		}
	}
	seen := map[string]bool{}
	for _, u := range named {
		if seen[u] {
			t.Errorf("%s named twice", u)
		}
		seen[u] = true
	}
	fr, sens := sent[1], sent[2]
	if fr.ReplyTo != "523" || !strings.Contains(fr.Text, string(c.refOf(t, users[23]))) || len(fr.Mentions) != 0 {
		t.Errorf("French acknowledgement = %+v", fr)
	}
	if sens.ReplyTo != "531" || len(sens.Mentions) != 0 || !strings.Contains(sens.Text, string(c.refOf(t, users[31]))) {
		t.Errorf("sensitive acknowledgement = %+v", sens)
	}
	for _, u := range users {
		id, _ := c.db.CitizenByIdentity(context.Background(), citybot.Telegram, citybot.UserID(u))
		cases, _ := c.db.CitizenCases(context.Background(), id, 10)
		if len(cases) != 1 || cases[0].Status != citybot.StatusAcknowledged {
			t.Errorf("%s's case: %+v", u, cases)
		}
	}
}

// TestCombinedAcksSplitAtLimit: with a small text limit, 120 waiting
// reporters are named across several combined messages, each within the
// limit counting what the platform adds for a mention, at most 50 each,
// each reporter exactly once.
func TestCombinedAcksSplitAtLimit(t *testing.T) {
	const limit = 900
	c := newCombineRig(t, limit, true)
	const group = "-1002"
	for i := range 120 {
		c.handle(t, groupMsg(fmt.Sprint(7000+i), group, 100+i, fmt.Sprintf("pothole %d", i)))
	}
	c.run(t)
	sent := c.bot.sentTo(group)
	count := map[citybot.UserID]int{}
	for _, o := range sent {
		n := citybot.UTF16Len(o.Text)
		for _, m := range o.Mentions {
			n += citybot.MentionOverhead(m.User)
			count[m.User]++
		}
		if n > limit {
			t.Errorf("%s: %d units with its mentions, over %d", o.Key, n, limit)
		}
		if len(o.Mentions) > 50 {
			t.Errorf("%s names %d people", o.Key, len(o.Mentions))
		}
	}
	if len(count) != 120 {
		t.Errorf("%d reporters named, want 120", len(count))
	}
	for u, n := range count {
		if n != 1 {
			t.Errorf("%s named %d times", u, n)
		}
	}
	if len(sent) < 4 || len(sent) > 12 {
		t.Errorf("%d messages for 120 reporters within %d units; want a handful", len(sent), limit)
	}
}

// TestCombinedAcksOffOrAlone: a single waiting acknowledgement goes out
// as it would without combining (same text, a reply), and with combining
// off every acknowledgement goes alone.
func TestCombinedAcksOffOrAlone(t *testing.T) {
	for _, combine := range []bool{true, false} {
		t.Run(fmt.Sprint("combine=", combine), func(t *testing.T) {
			c := newCombineRig(t, 4096, combine)
			c.handle(t, groupMsg("42", "-1003", 9, "pothole on the corner"))
			c.run(t)
			it, err := c.db.OutboxItems(context.Background(), "in:")
			if err != nil || len(it) != 1 {
				t.Fatalf("rows = %+v, %v", it, err)
			}
			sent := c.bot.sentTo("-1003")
			if len(sent) != 1 || sent[0].Text != it[0].Out.Text || sent[0].ReplyTo != "9" || len(sent[0].Mentions) != 0 {
				t.Errorf("alone: sent %+v, row text %q", sent, it[0].Out.Text)
			}
			for i := range 5 {
				c.handle(t, groupMsg(fmt.Sprint(50+i), "-1003", 20+i, "broken street light"))
			}
			c.run(t)
			sent = c.bot.sentTo("-1003")
			want := 2
			if !combine {
				want = 6
			}
			if len(sent) != want {
				t.Errorf("%d messages for 6 reporters, want %d", len(sent), want)
			}
		})
	}
}

// TestCombinedAckRefusedForGood: a combined message the platform refuses
// for good fails every acknowledgement it carries (visible to officers,
// their cases still new), none sent on its own afterwards; the error
// kept does not say whom the message named.
func TestCombinedAckRefusedForGood(t *testing.T) {
	c := newCombineRig(t, 4096, true)
	c.bot.fail = func(out citybot.Outgoing) error {
		if len(out.Mentions) > 0 {
			// A platform's error may quote whom the message names.
			return fmt.Errorf("%w: refused mention of %s", citybot.ErrPermanent, out.Mentions[1].User)
		}
		return nil
	}
	for i := range 4 {
		c.handle(t, groupMsg(fmt.Sprint(900001+i), "-1004", 30+i, "pothole here"))
	}
	c.run(t)
	items, _ := c.db.OutboxItems(context.Background(), "in:")
	for _, it := range items {
		if it.State != citybot.OutboxFailed {
			t.Errorf("%s is %s, want failed with its carrier", it.Out.Key, it.State)
		}
		if strings.Contains(it.LastError, "90000") || !strings.Contains(it.LastError, "refused mention of <person>") {
			t.Errorf("%s's error %q: want it kept, without whom the message named", it.Out.Key, it.LastError)
		}
	}
	if n := len(c.bot.sentTo("-1004")); n != 0 {
		t.Errorf("%d messages delivered after the refusal", n)
	}
}

// TestCombinedAcksByLanguage: reporters writing in two languages get one
// combined message each, in their language, each naming only its own.
func TestCombinedAcksByLanguage(t *testing.T) {
	c := newCombineRig(t, 4096, true)
	const group = "-1005"
	texts := []string{"pothole on the corner", "il y a un nid-de-poule devant la poste", "broken pothole again",
		"il y a un trou dans la rue", "pothole near the school"}
	for i, text := range texts {
		c.handle(t, groupMsg(fmt.Sprint(600+i), group, 70+i, text))
	}
	c.run(t)
	set, err := locale.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	sent := c.bot.sentTo(group)
	if len(sent) != 2 {
		t.Fatalf("%d messages, want 2 (one per language)", len(sent))
	}
	for _, tc := range []struct {
		lang  string
		users []string
	}{{"en", []string{"600", "602", "604"}}, {"fr", []string{"601", "603"}}} {
		i := slices.IndexFunc(sent, func(o citybot.Outgoing) bool {
			return strings.Contains(o.Text, set.Catalog(tc.lang).Text("chat.ack_batch"))
		})
		if i < 0 {
			t.Errorf("no combined message in %s among %d", tc.lang, len(sent))
			continue
		}
		var named []string
		for _, m := range sent[i].Mentions {
			named = append(named, string(m.User))
		}
		if !slices.Equal(named, tc.users) {
			t.Errorf("the %s message names %v, want %v", tc.lang, named, tc.users)
		}
	}
}
