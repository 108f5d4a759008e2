package accountability

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
)

// repostMark separates a post's key from its re-post counter:
// digest:WEEK:PLATFORM:CHAT:LANG:repostN, then the part ("#2") or the
// chart suffix. A re-post is a new outbox row with its own key, so the
// outbox's exactly-once holds for each attempt, and two presses on
// Re-post queue it once (the counter comes from the rows stored).
const repostMark = ":repost"

// postSlot splits a post row's key after base into the re-post counter
// (0 for the first post) and the slot ("", "#2", ":chart").
func postSlot(base, key string) (attempt int, slot string, ok bool) {
	rest, ok := strings.CutPrefix(key, base)
	if !ok {
		return 0, "", false
	}
	if r, found := strings.CutPrefix(rest, repostMark); found {
		i := 0
		for i < len(r) && r[i] >= '0' && r[i] <= '9' {
			i++
		}
		n, err := strconv.Atoi(r[:i])
		if err != nil || n < 1 {
			return 0, "", false
		}
		attempt, rest = n, r[i:]
	}
	if rest != "" && rest != ChartKeySuffix && !strings.HasPrefix(rest, "#") {
		return 0, "", false
	}
	return attempt, rest, true
}

// postRows are the latest rows of one channel's post in one language,
// one per slot, with the re-posts counted.
type postRows struct {
	channel Channel
	lang    string
	base    string
	latest  map[string]citybot.OutboxItem
	reposts int
}

func (d *Digester) postRows(ctx context.Context, dg citybot.Digest) ([]postRows, error) {
	var out []postRows
	for _, c := range d.channels {
		langs := d.languages
		if c.Language != "" {
			langs = []string{c.Language}
		}
		for _, l := range langs {
			pr := postRows{channel: c, lang: l, base: PostKey(dg.Week, c, l), latest: map[string]citybot.OutboxItem{}}
			rows, err := d.store.OutboxItems(ctx, pr.base)
			if err != nil {
				return nil, err
			}
			attempts := map[string]int{}
			for _, it := range rows {
				n, slot, ok := postSlot(pr.base, it.Out.Key)
				if !ok {
					continue
				}
				pr.reposts = max(pr.reposts, n)
				if prev, seen := attempts[slot]; !seen || n >= prev {
					attempts[slot], pr.latest[slot] = n, it
				}
			}
			out = append(out, pr)
		}
	}
	return out, nil
}

// PostStatuses says, per channel and language, where the posts of an
// approved digest stand: queued, sent (with the time), failed (with the
// platform's reason in words) or unknown. A digest not approved has none.
func (d *Digester) PostStatuses(ctx context.Context, dg citybot.Digest) ([]citybot.DigestPost, error) {
	if dg.State != citybot.DigestApproved {
		return nil, nil
	}
	prs, err := d.postRows(ctx, dg)
	if err != nil {
		return nil, fmt.Errorf("accountability: post statuses: %w", err)
	}
	var out []citybot.DigestPost
	for _, pr := range prs {
		p := citybot.DigestPost{Platform: pr.channel.Platform, Chat: pr.channel.Chat, Language: pr.lang, Reposts: pr.reposts,
			State: citybot.OutboxSent}
		if len(pr.latest) == 0 {
			p.State = citybot.OutboxPending
		}
		for _, it := range pr.latest {
			switch {
			case it.State == citybot.OutboxFailed:
				p.State = citybot.OutboxFailed
				p.Failure, p.FailureDetail = postFailure(it.LastError)
			case it.State == citybot.OutboxUnknown && p.State != citybot.OutboxFailed:
				p.State = citybot.OutboxUnknown
			case (it.State == citybot.OutboxPending || it.State == citybot.OutboxSending) && p.State == citybot.OutboxSent:
				p.State = citybot.OutboxPending
			case it.State == citybot.OutboxSent && it.UpdatedAt.After(p.SentAt):
				p.SentAt = it.UpdatedAt
			}
		}
		if p.State != citybot.OutboxSent {
			p.SentAt = time.Time{}
		}
		out = append(out, p)
	}
	return out, nil
}

// Repost queues again, as new outbox rows keyed with the next re-post
// counter, the parts of an approved digest whose post failed for good
// (never those sent, queued or maybe sent), for actor. It returns how
// many rows it queued (0 when nothing failed; two presses queue once).
// Errors wrap citybot.ErrInvalid for a digest not approved.
func (d *Digester) Repost(ctx context.Context, dg citybot.Digest, actor string) (int, error) {
	if dg.State != citybot.DigestApproved {
		return 0, fmt.Errorf("accountability: repost: %w: only an approved digest is posted", citybot.ErrInvalid)
	}
	prs, err := d.postRows(ctx, dg)
	if err != nil {
		return 0, fmt.Errorf("accountability: repost: %w", err)
	}
	var items []citybot.OutboxItem
	for _, pr := range prs {
		next := pr.base + repostMark + strconv.Itoa(pr.reposts+1)
		// In the order first queued: the chart before the text, parts in
		// order.
		var failed []citybot.OutboxItem
		for slot, it := range pr.latest {
			if it.State == citybot.OutboxFailed {
				it.Out.Key = next + slot
				failed = append(failed, it)
			}
		}
		slices.SortFunc(failed, func(a, b citybot.OutboxItem) int { return cmp.Compare(a.ID, b.ID) })
		for _, it := range failed {
			items = append(items, citybot.OutboxItem{Kind: it.Kind, ChartWeek: it.ChartWeek, Out: it.Out})
		}
	}
	if len(items) == 0 {
		return 0, nil
	}
	n, err := d.store.Enqueue(ctx, items...)
	if err != nil {
		return 0, fmt.Errorf("accountability: repost: %w", err)
	}
	d.log.Info("digest re-posted", "week", string(dg.Week), "actor", actor, "rows", n)
	if n > 0 {
		d.notify()
	}
	return n, nil
}

// postFailure sorts a send error kept for staff into the kind of the
// platform's reason (citybot.PostFailedChat…) and its own words, at most
// 200 characters. Platforms say it only in words, so words are matched.
func postFailure(lastErr string) (kind, detail string) {
	detail = strings.TrimSpace(lastErr)
	if r := []rune(detail); len(r) > 200 {
		detail = string(r[:200]) + "…"
	}
	low := strings.ToLower(lastErr)
	switch {
	case strings.Contains(low, "chat not found"), strings.Contains(low, "unknown channel"), strings.Contains(low, "channel not found"):
		return citybot.PostFailedChat, detail
	case strings.Contains(low, "forbidden"), strings.Contains(low, "missing access"), strings.Contains(low, "missing permissions"),
		strings.Contains(low, "kicked"), strings.Contains(low, "not a member"), strings.Contains(low, "not enough rights"):
		return citybot.PostFailedRights, detail
	case strings.Contains(low, "too long"), strings.Contains(low, "too large"):
		return citybot.PostFailedLong, detail
	case detail == "":
		return citybot.PostFailedNone, ""
	}
	return citybot.PostFailedOther, detail
}
