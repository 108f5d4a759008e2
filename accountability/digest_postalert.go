package accountability

import (
	"strconv"
	"strings"

	"citybot"
)

// postAlertPrefix starts the key of the alert that a digest's public
// post failed: postAlertPrefix + the post's key (with its re-post
// counter, without its part or chart suffix). One failed post, whatever
// how many of its parts failed, gives one alert, and the outbox's
// exactly-once keeps it one across restarts.
const postAlertPrefix = "alert:digest-post:"

// failureFollowup is set on a store that gives up rows
// (store.DB.SetFailureFollowup) by NewDigester.
type failureFollowup interface {
	SetFailureFollowup(f func(failed citybot.OutboxItem) []citybot.OutboxItem)
}

// PostFailedAlert returns the alert to queue when the outbox gave up
// failed for good: when it is a part of an approved digest's post to one
// of the public channels, one message to the officials' chat ([digest]
// officials, where the drafts are announced and the officials and admins
// who approve and re-post read) in their language, naming the channel,
// the platform's reason in words and the console's "Post again where it
// failed". Any other row, or no officials' chat, gives none. The store
// runs it in the transaction that records the failure.
func (d *Digester) PostFailedAlert(failed citybot.OutboxItem) []citybot.OutboxItem {
	if d.officials == (Channel{}) || failed.State != citybot.OutboxFailed || !strings.HasPrefix(failed.Out.Key, "digest:") {
		return nil
	}
	week, _, _ := strings.Cut(strings.TrimPrefix(failed.Out.Key, "digest:"), ":")
	for _, c := range d.channels {
		if c.Platform != failed.Out.Platform || c.Chat != failed.Out.Chat {
			continue
		}
		langs := d.languages
		if c.Language != "" {
			langs = []string{c.Language}
		}
		for _, l := range langs {
			base := PostKey(citybot.Week(week), c, l)
			attempt, _, ok := postSlot(base, failed.Out.Key)
			if !ok {
				continue
			}
			post := base
			if attempt > 0 {
				post += repostMark + strconv.Itoa(attempt)
			}
			lang := d.officials.Language
			if lang == "" {
				lang = d.languages[0]
			}
			cat := d.chartCatalog(lang)
			text := fill(cat.Text("digest.post_failed"), "week", week, "language", d.languageName(l, l),
				"channel", string(c.Platform)+" "+string(c.Chat), "reason", d.failureReason(lang, failed.LastError))
			return []citybot.OutboxItem{{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{
				Key: postAlertPrefix + strings.TrimPrefix(post, "digest:"), Platform: d.officials.Platform, Chat: d.officials.Chat,
				ChatKind: citybot.ChatGroup, Text: text,
			}}}
		}
	}
	return nil
}

// failureReason is the platform's reason for refusing a post, in words
// in lang (postFailure's kinds, from the language files): the platform's
// own words only when no kind fits.
func (d *Digester) failureReason(lang, lastErr string) string {
	cat := d.chartCatalog(lang)
	kind, detail := postFailure(lastErr)
	return fill(cat.Text("digest.post_failed_"+kind), "error", detail)
}
