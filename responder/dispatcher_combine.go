package responder

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/locale"
)

// AckCombiner is the storage a Dispatcher needs to combine the
// acknowledgements waiting in a busy group chat (see CombineOptions); the
// store implements it.
type AckCombiner interface {
	// CombineAcks makes the acknowledgement head the carrier of one
	// message that also acknowledges others waiting in its chat, as
	// compose decides; false when head cannot carry one or nothing else
	// waits. compose runs inside a write transaction.
	CombineAcks(ctx context.Context, head citybot.OutboxID,
		compose func(head citybot.AckCandidate, others []citybot.AckCandidate) ([]citybot.OutboxID, string, []citybot.Mention)) (bool, error)
}

// CombineOptions turn on combined acknowledgements: when several
// acknowledgements wait for the same group chat (a Discord channel sends 5
// messages in 5 s, a Telegram group 20 a minute), the one at the head of
// the chat's queue goes out as one message that names each waiting
// reporter with their case reference, so that in a surge no reporter
// waits minutes behind the others. A single waiting acknowledgement goes
// out as before, with its own text, as a reply to the citizen's message.
//
// The combined message is:
//
//	[emergency line, when a critical case is among them]
//	Thank you, everyone. Your reports are registered. ...
//	• @reporter REF-1
//	• @reporter REF-2, REF-3
//	A city officer will review each report. ... /status ...
//	Please keep personal details out of this group ...
//
// Reporters of critical cases come first, under the emergency line; the
// head's reporter is always named; each reporter is named once (a
// reporter with two cases waiting gets both references on one line). It
// names no topic (nothing about a sensitive case is said in a group, and
// sensitive cases' acknowledgements are never combined: they keep their
// own words). It holds at most 50 reporters and keeps within the
// platform's text limit; the others wait for the next message.
//
// Language: one combined message speaks one language, the head's (the
// language its acknowledgement was written in: the citizen's choice,
// their platform's language, the language of their report, else the
// city's default); it names only reporters whose acknowledgement is in
// that language. Reporters in another language wait for the next
// message, which the oldest of them heads, in theirs.
type CombineOptions struct {
	// Policy is the city: its languages, default language, emergency
	// number and text limits. Required.
	Policy *citybot.Policy
	// Locales are the language files the texts come from (the [chat]
	// keys ack_batch, ack_batch_end, ack_group, emergency); nil means
	// the shipped ones.
	Locales *locale.Set
}

// maxNamed is the most reporters one combined acknowledgement names
// (Discord pings at most 100 users a message; a long list is hard to
// read on a phone).
const maxNamed = 50

// ackCombiner composes combined acknowledgements.
type ackCombiner struct {
	store     AckCombiner
	policy    *citybot.Policy
	locales   *locale.Set
	languages []string
	texts     map[string]batchTexts
}

// batchTexts are the words of a combined acknowledgement in one language.
type batchTexts struct {
	emergency, head, end, group string
}

func newAckCombiner(store OutboxStore, o *CombineOptions) (*ackCombiner, error) {
	if o.Policy == nil {
		return nil, fmt.Errorf("responder: dispatcher: %w: CombineOptions need a Policy", citybot.ErrInvalid)
	}
	st, ok := store.(AckCombiner)
	if !ok {
		return nil, fmt.Errorf("responder: dispatcher: %w: the store cannot combine acknowledgements", citybot.ErrInvalid)
	}
	c := &ackCombiner{store: st, policy: o.Policy, locales: locales(o.Locales), languages: o.Policy.Languages(),
		texts: map[string]batchTexts{}}
	for _, l := range c.languages {
		cat := c.locales.Catalog(l)
		if cat == nil {
			return nil, fmt.Errorf("responder: dispatcher: %w: language %q has no catalog", citybot.ErrInvalid, l)
		}
		t := batchTexts{head: cat.Text("chat.ack_batch"), end: cat.Text("chat.ack_batch_end"), group: cat.Text("chat.ack_group")}
		if n := o.Policy.EmergencyNumber(); n != "" {
			t.emergency = fill(cat.Text("chat.emergency"), "number", n)
		}
		c.texts[l] = t
	}
	return c, nil
}

// language is the language a waiting acknowledgement was written in, as
// Responder.language chose it.
func (c *ackCombiner) language(a citybot.AckCandidate) string {
	for _, l := range []string{a.Chosen, c.locales.Match(a.PlatformCode, c.languages...), a.Detected} {
		if l != "" && slices.Contains(c.languages, l) {
			return l
		}
	}
	return c.policy.DefaultLanguage()
}

// combinable reports whether a head of a chat's queue may carry a
// combined acknowledgement: an acknowledgement in a group, public, never
// tried, not combined yet, on a platform whose bot names people.
func (c *ackCombiner) combinable(bot bots.Bot, it citybot.OutboxItem) bool {
	if c == nil || it.Kind != citybot.OutboxAck || it.Combined > 0 || it.Attempts > 0 || it.LastError != "" ||
		(it.Out.ChatKind != citybot.ChatGroup && it.Out.ChatKind != citybot.ChatChannel) ||
		it.Out.To != "" || it.Out.Edit != "" || it.Out.File != nil || it.Case == 0 {
		return false
	}
	m, ok := bot.(bots.Mentioner)
	return ok && m.Mentions()
}

// reporter is one person a combined acknowledgement names.
type reporter struct {
	user     citybot.UserID
	refs     []citybot.CaseRef
	rows     []citybot.OutboxID
	critical bool
}

// compose builds the combined acknowledgement head carries within max
// UTF-16 units (see CombineOptions): the rows it carries besides head,
// its text and who it names. It carries nothing when no other reporter
// fits.
func (c *ackCombiner) compose(head citybot.AckCandidate, others []citybot.AckCandidate, max int) ([]citybot.OutboxID, string, []citybot.Mention) {
	lang := c.language(head)
	t := c.texts[lang]
	// Reporters in order: critical ones first, then the head's, then the
	// others as they queued; one entry per person.
	var order []*reporter
	byUser := map[citybot.UserID]*reporter{}
	add := func(a citybot.AckCandidate) {
		r := byUser[a.User]
		if r == nil {
			r = &reporter{user: a.User}
			byUser[a.User] = r
			order = append(order, r)
		}
		if !slices.Contains(r.refs, a.Ref) {
			r.refs = append(r.refs, a.Ref)
		}
		r.rows = append(r.rows, a.Item.ID)
		r.critical = r.critical || a.Critical
	}
	add(head)
	critical := head.Critical
	for _, a := range others {
		if c.language(a) != lang {
			continue
		}
		add(a)
		critical = critical || a.Critical
	}
	if len(order) < 2 {
		return nil, "", nil
	}
	slices.SortStableFunc(order, func(a, b *reporter) int {
		switch {
		case a.critical == b.critical:
			return 0
		case a.critical:
			return -1
		}
		return 1
	})
	var top []string
	if critical && t.emergency != "" {
		top = append(top, t.emergency)
	}
	top = append(top, t.head)
	bottom := []string{t.end, t.group}
	intro, outro := strings.Join(top, "\n\n")+"\n\n", "\n\n"+strings.Join(bottom, "\n\n")
	budget := max - citybot.UTF16Len(intro) - citybot.UTF16Len(outro)
	if max <= 0 {
		budget = 1 << 30
	}
	// The head's reporter is always named (it heads the chat's queue);
	// the others as long as they fit.
	headUser := head.User
	var named []*reporter
	used := 0
	cost := func(r *reporter) int {
		return citybot.UTF16Len(lineOf(r)) + 1 + citybot.MentionOverhead(r.user)
	}
	if hr := byUser[headUser]; cost(hr) <= budget {
		used = cost(hr)
	} else {
		return nil, "", nil
	}
	headNamed := false
	for _, r := range order {
		if r.user == headUser {
			named, headNamed = append(named, r), true
			continue
		}
		room := maxNamed
		if !headNamed {
			room-- // kept for the head's reporter
		}
		if len(named) >= room || used+cost(r) > budget {
			continue
		}
		used += cost(r)
		named = append(named, r)
	}
	if len(named) < 2 {
		return nil, "", nil
	}
	var b strings.Builder
	b.WriteString(intro)
	var mentions []citybot.Mention
	var carried []citybot.OutboxID
	for i, r := range named {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("• ")
		start := b.Len()
		b.WriteString(joinRefs(r.refs))
		mentions = append(mentions, citybot.Mention{User: r.user, Start: start, End: b.Len()})
		for _, id := range r.rows {
			if id != head.Item.ID {
				carried = append(carried, id)
			}
		}
	}
	b.WriteString(outro)
	return carried, b.String(), mentions
}

// lineOf is a reporter's line without its mention.
func lineOf(r *reporter) string { return "• " + joinRefs(r.refs) }

func joinRefs(refs []citybot.CaseRef) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// combine makes head the carrier of a combined acknowledgement when
// others wait in its chat; it returns whether it did. A store error is
// logged (the head then goes out alone, as it would have).
func (d *Dispatcher) combine(ctx context.Context, head citybot.OutboxItem) bool {
	bot := d.bots[head.Out.Platform]
	if !d.comb.combinable(bot, head) {
		return false
	}
	max := bot.Limits().MaxText
	if p := d.comb.policy.MaxText(head.Out.Platform); p > 0 && (max <= 0 || p < max) {
		max = p
	}
	carried := 0
	ok, err := d.comb.store.CombineAcks(ctx, head.ID, func(h citybot.AckCandidate, others []citybot.AckCandidate) ([]citybot.OutboxID, string, []citybot.Mention) {
		ids, text, mentions := d.comb.compose(h, others, max)
		carried = len(ids)
		return ids, text, mentions
	})
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("combine acknowledgements", "outbox_id", int64(head.ID), "platform", string(head.Out.Platform), "err", err)
		}
		return false
	}
	if ok {
		d.combined.WithLabelValues(string(head.Out.Platform)).Add(float64(carried))
		d.log.Debug("acknowledgements combined", "outbox_id", int64(head.ID), "platform", string(head.Out.Platform), "carried", carried)
	}
	return ok
}

// spacedUntil returns when an acknowledgement that may carry others (see
// ackCombiner.combinable) may go to its group: its bot's steady spacing
// (bots.Spacer: 3 s in a Telegram group, 1 s in a Discord channel) after
// the last message claimed for that chat; zero when it may go now. So, in
// a surge, a group's allowance (20 a minute) is spread over the minute,
// each message carrying whoever waits, instead of being spent in the
// first seconds while later reporters wait for the window to turn. Other
// rows are never spaced.
func (d *Dispatcher) spacedUntil(h citybot.OutboxItem, now time.Time) time.Time {
	bot := d.bots[h.Out.Platform]
	sp, ok := bot.(bots.Spacer)
	if !ok || !d.comb.combinable(bot, h) {
		return time.Time{}
	}
	gap := sp.Spacing(h.Out)
	if gap <= 0 {
		return time.Time{}
	}
	d.pmu.Lock()
	last, ok := d.groupSent[chatRef{h.Out.Platform, h.Out.Chat}]
	d.pmu.Unlock()
	if !ok || !last.Add(gap).After(now) {
		return time.Time{}
	}
	return last.Add(gap)
}

// sentToGroup records that a row to out's chat was claimed at now, when
// that chat is a group or channel (see spacedUntil).
func (d *Dispatcher) sentToGroup(out citybot.Outgoing, now time.Time) {
	if out.ChatKind != citybot.ChatGroup && out.ChatKind != citybot.ChatChannel || out.To != "" {
		return
	}
	d.pmu.Lock()
	d.groupSent[chatRef{out.Platform, out.Chat}] = now
	d.pmu.Unlock()
}
