package accountability

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/locale"
)

// DigestTexts are the words of the weekly digest in one language.
// Placeholders in braces are filled when the digest is written.
type DigestTexts struct {
	Title          string // {dates}: the week as people say it
	DatesSameMonth string // {from} {to} {month}: "23–29 November"
	Dates          string // {from} {from_month} {to} {to_month}
	ReceivedPlain  string // {n}, when there is nothing to compare with
	TopicLinePlain string // {topic} {n}
	ResolvedPlain  string // {n}
	FirstWeek      string // said once when no week came before
	NoReports      string // instead of "Received: 0 reports"
	InLanguage     string // {language}: after a quote in another language
	Received       string // {n} cases received, {change}
	TopicLine      string // {topic} {n} {change}
	ByPlatform     string // "On {list}."
	Places         string // "Places mentioned most: {list}."
	Answered       string // {n} {of}: answered among received
	FirstAnswer    string // {hour} {day}: shares of every case received
	Resolved       string // {n}
	Resolution     string // {median} {p90}
	Fixed          string // {n} citizens confirmed fixed
	NotFixed       string // {n} said not fixed
	Thanks         string // {n} citizens said thank you (feedback, not reports); plural in the files
	ThanksOne      string // one citizen said thank you
	StillOpen      string // {n}
	Promises       string // {kept} {due}
	Overdue        string // {n}
	NoPromises     string // no expected-by date fell this week
	Examples       string // heading of "you said, we did"
	Said           string // {text}
	Did            string // {text}
	More           string // {url}
	Change         string // {diff} {prev}: change from the previous week
	Same           string // same as the previous week
	Others         string // {n} cases on other topics
	Of             string // "{n} of {total}"
	Percent        string // "{n} of {total} ({pct})": used from 20 cases on
	PercentSign    string // "{n}%" ("{n} %" in French)
	DecimalPoint   string // "." or ","
	None           string // nothing to report
	Minutes        string // {n}
	Hours          string // {n}
	Days           string // {n}
	ChartCaption   string // {week}
	DraftNotice    string // to officials: {week} {revision}
	Approved       string // toast: {week} {actor}
	SentBack       string // toast: {week}
	AlreadyDone    string // toast: the draft was decided already
	NotAllowed     string // toast: the presser may not decide
	FixedAsk       string // "Is it fixed?" to a citizen: {ref} {topic}
	FixedYes       string // button
	FixedNo        string // button
	FixedThanks    string // toast after Fixed
	FixedReopened  string // toast after Not fixed: {ref}
	// FixedReopenedAll tells every other follower of a case that a
	// follower's "Not fixed" reopened it: {ref} (their own reference).
	FixedReopenedAll string
	Reminder         string // to officers: {n} {hours}
	ReminderLine     string // {ref} {topic} {urgency} {age}
	Months           [12]string
	// Urgencies name each urgency level ("critical": "critique").
	Urgencies map[citybot.Urgency]string
	// Officials' buttons on a draft, and the chart's axis words.
	Approve, RequestChanges   string
	ChartReports, ChartAnswer string

	// plurals, when the texts came from a language file, give the
	// plural forms of Thanks and Reminder.
	plurals *locale.Catalog

	// ReminderDue and ReminderDueLine remind officers of cases past
	// their first-answer target (DigestOptions.Targets): {n}; {ref}
	// {topic} {urgency} {age} {target} {times}.
	ReminderDue     string
	ReminderDueLine string
	// PromiseDue and PromiseDueLine remind officers of open cases past
	// the date promised to the citizen: {n}; {ref} {topic} {urgency}
	// {date} {late} {times}.
	PromiseDue     string
	PromiseDueLine string
	// WithinTarget reports the first answers within their service level:
	// {list} of WithinTargetItem, {urgency} {of}.
	WithinTarget     string
	WithinTargetItem string
}

// digestTextsOf returns the [digest] texts of every language of s, keyed
// by language code.
func digestTextsOf(s *locale.Set) map[string]DigestTexts {
	out := map[string]DigestTexts{}
	for _, l := range s.Languages() {
		out[l] = digestTextsOfCatalog(s.Catalog(l))
	}
	return out
}

func digestTextsOfCatalog(c *locale.Catalog) DigestTexts {
	t := func(key string) string { return c.Text("digest." + key) }
	d := DigestTexts{
		Title: t("title"), DatesSameMonth: t("dates_same_month"), Dates: t("dates"), ReceivedPlain: t("received_plain"),
		TopicLinePlain: t("topic_line_plain"), ResolvedPlain: t("resolved_plain"), FirstWeek: t("first_week"), NoReports: t("no_reports"),
		InLanguage: t("in_language"), Received: t("received"), TopicLine: t("topic_line"), ByPlatform: t("by_platform"), Places: t("places"),
		Answered: t("answered"), FirstAnswer: t("first_answer"), Resolved: t("resolved"), Resolution: t("resolution"),
		Fixed: t("fixed"), NotFixed: t("not_fixed"),
		Thanks: t("thanks"), ThanksOne: fill(c.Plural("digest.thanks", 1), "n", "1"),
		StillOpen: t("still_open"), Promises: t("promises"), Overdue: t("overdue"), NoPromises: t("no_promises"),
		Examples: t("examples"), Said: t("said"), Did: t("did"), More: t("more"), Change: t("change"), Same: t("same"),
		Others: t("others"), Of: t("of"), Percent: t("percent"), PercentSign: t("percent_sign"), DecimalPoint: t("decimal_point"), None: t("none"),
		Minutes: t("minutes"), Hours: t("hours"), Days: t("days"), ChartCaption: t("chart_caption"),
		DraftNotice: t("draft_notice"), Approved: t("approved"), SentBack: t("sent_back"), AlreadyDone: t("already_done"),
		NotAllowed: t("not_allowed"), FixedAsk: t("fixed_ask"), FixedYes: t("fixed_yes"), FixedNo: t("fixed_no"),
		FixedThanks: t("fixed_thanks"), FixedReopened: t("fixed_reopened"), FixedReopenedAll: t("fixed_reopened_all"), Reminder: t("reminder"), ReminderLine: t("reminder_line"),
		Approve: t("approve"), RequestChanges: t("request_changes"), ChartReports: t("chart_reports"), ChartAnswer: t("chart_answer"),
		ReminderDue: t("reminder_due"), ReminderDueLine: t("reminder_due_line"),
		PromiseDue: t("promise_due"), PromiseDueLine: t("promise_due_line"),
		WithinTarget: t("within_target"), WithinTargetItem: t("within_target_item"),
		plurals: c,
	}
	for i := range d.Months {
		d.Months[i] = t("months." + strconv.Itoa(i+1))
	}
	d.Urgencies = map[citybot.Urgency]string{}
	for k, v := range c.Table("digest.urgencies") {
		d.Urgencies[citybot.Urgency(k)] = v
	}
	return d
}

// count fills the plural text key for n: the language's form for n when
// t came from a language file, else fallback ({n} filled either way).
func (t DigestTexts) count(key, fallback string, n int, pairs ...string) string {
	s := fallback
	if t.plurals != nil {
		if p := t.plurals.Plural("digest."+key, n); p != "" {
			s = p
		}
	}
	return fill(s, append([]string{"n", strconv.Itoa(n)}, pairs...)...)
}

// duration writes d in words: minutes under an hour, hours under two
// days, then days (one decimal under ten).
func (t DigestTexts) duration(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fill(t.Minutes, "n", strconv.Itoa(max(1, int(math.Round(d.Minutes())))))
	case d < 48*time.Hour:
		return fill(t.Hours, "n", strconv.Itoa(int(math.Round(d.Hours()))))
	}
	days := d.Hours() / 24
	if days < 10 {
		return fill(t.Days, "n", t.decimal(days))
	}
	return fill(t.Days, "n", strconv.Itoa(int(math.Round(days))))
}

// share writes "n of total", with a percentage only from 20 cases on:
// a percentage of a handful misleads.
func (t DigestTexts) share(n, total int) string {
	if total >= 20 {
		pct := fill(t.PercentSign, "n", strconv.Itoa(int(math.Round(100*float64(n)/float64(total)))))
		return fill(t.Percent, "n", strconv.Itoa(n), "total", strconv.Itoa(total), "pct", pct)
	}
	return fill(t.Of, "n", strconv.Itoa(n), "total", strconv.Itoa(total))
}

// change writes the change from the previous week in counts.
func (t DigestTexts) change(now, prev int) string {
	if now == prev {
		return t.Same
	}
	return fill(t.Change, "diff", fmt.Sprintf("%+d", now-prev), "prev", strconv.Itoa(prev))
}

// decimal writes a one-decimal number with the language's decimal
// separator.
func (t DigestTexts) decimal(f float64) string {
	s := strings.TrimSuffix(strconv.FormatFloat(math.Round(f*10)/10, 'f', 1, 64), ".0")
	if t.DecimalPoint != "" {
		s = strings.ReplaceAll(s, ".", t.DecimalPoint)
	}
	return s
}

// dates names the days from first to last as people say them: "23–29
// November", "30 November – 6 December".
func (t DigestTexts) dates(first, last time.Time) string {
	if first.Month() == last.Month() {
		return fill(t.DatesSameMonth, "from", strconv.Itoa(first.Day()), "to", strconv.Itoa(last.Day()), "month", t.Months[first.Month()-1])
	}
	return fill(t.Dates, "from", strconv.Itoa(first.Day()), "from_month", t.Months[first.Month()-1],
		"to", strconv.Itoa(last.Day()), "to_month", t.Months[last.Month()-1])
}

// platformName is a platform's name for people.
func platformName(p string) string {
	switch citybot.Platform(p) {
	case citybot.Telegram:
		return "Telegram"
	case citybot.Discord:
		return "Discord"
	}
	return p
}

// maxTopicLines is how many topics the digest lists by name.
const maxTopicLines = 8

// renderDigest writes the digest in one language. city is the city's
// name, in the title; loc is the city's time zone for the dates; url, when set, points to the public page;
// now, when inside the week, ends the days the title names: a draft of
// the week so far says which days it covers ("16–18 November").
func renderDigest(d citybot.Digest, lang, city string, t DigestTexts, cat Catalog, loc *time.Location, url string, now time.Time) string {
	f, p := d.Figures, d.Previous
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	last := f.End.In(loc).Add(-time.Second)
	if n, first := now.In(loc), f.Start.In(loc); n.After(first) && n.Before(f.End) && n.Format(time.DateOnly) != first.Format(time.DateOnly) {
		last = n
	}
	line(fill(t.Title, "city", city, "dates", t.dates(f.Start.In(loc), last)))
	b.WriteByte('\n')
	if note := strings.TrimSpace(d.Note); note != "" {
		line(note)
		b.WriteByte('\n')
	}
	// Nothing before this week: no "(0 the week before)" on every line,
	// but "first week" once.
	if p.Received == 0 && p.StillOpen == 0 && p.Resolved == 0 {
		line(t.FirstWeek)
	}
	switch {
	case f.Received == 0:
		line(t.NoReports)
	case p.Received == 0:
		line(fill(t.ReceivedPlain, "n", strconv.Itoa(f.Received)))
	default:
		line(fill(t.Received, "n", strconv.Itoa(f.Received), "change", t.change(f.Received, p.Received)))
	}
	others := 0
	for i, tf := range f.ByTopic {
		if i >= maxTopicLines {
			others += tf.Received
			continue
		}
		prev := 0
		for _, pt := range p.ByTopic {
			if pt.Topic == tf.Topic {
				prev = pt.Received
			}
		}
		if prev == 0 {
			line(fill(t.TopicLinePlain, "topic", capitalize(cat.TopicName(tf.Topic)), "n", strconv.Itoa(tf.Received)))
			continue
		}
		line(fill(t.TopicLine, "topic", capitalize(cat.TopicName(tf.Topic)), "n", strconv.Itoa(tf.Received), "change", t.change(tf.Received, prev)))
	}
	if others > 0 {
		line("• " + capitalize(fill(t.Others, "n", strconv.Itoa(others))))
	}
	if len(f.ByPlatform) > 0 {
		var parts []string
		for _, fc := range f.ByPlatform {
			parts = append(parts, fmt.Sprintf("%s %d", platformName(fc.Value), fc.Count))
		}
		line(fill(t.ByPlatform, "list", strings.Join(parts, ", ")))
	}
	if len(f.ByPlace) > 0 {
		var parts []string
		for _, fc := range f.ByPlace[:min(5, len(f.ByPlace))] {
			parts = append(parts, fmt.Sprintf("%s (%d)", fc.Value, fc.Count))
		}
		line(fill(t.Places, "list", strings.Join(parts, ", ")))
	}
	b.WriteByte('\n')
	if f.Received > 0 {
		// Over every case received: the unanswered count as not answered.
		line(fill(t.Answered, "of", t.share(f.Answered, f.Received)))
		line(fill(t.FirstAnswer, "hour", t.share(f.AnsweredWithinHour, f.Received), "day", t.share(f.AnsweredWithinDay, f.Received)))
	}
	if len(f.WithinTarget) > 0 {
		var parts []string
		for _, sh := range f.WithinTarget {
			parts = append(parts, fill(t.WithinTargetItem, "urgency", t.urgencyWord(sh.Urgency), "of", t.share(sh.Within, sh.Answered)))
		}
		line(fill(t.WithinTarget, "list", strings.Join(parts, ", ")))
	}
	switch {
	case p.Resolved > 0:
		line(fill(t.Resolved, "n", strconv.Itoa(f.Resolved), "change", t.change(f.Resolved, p.Resolved)))
	case f.Resolved > 0:
		line(fill(t.ResolvedPlain, "n", strconv.Itoa(f.Resolved)))
	}
	if f.Resolution.Count > 0 {
		line(fill(t.Resolution, "median", t.duration(f.Resolution.Median), "p90", t.duration(f.Resolution.P90)))
	}
	if f.ConfirmedFixed > 0 {
		line(fill(t.Fixed, "n", strconv.Itoa(f.ConfirmedFixed)))
	}
	if f.NotFixed > 0 {
		line(fill(t.NotFixed, "n", strconv.Itoa(f.NotFixed)))
	}
	switch {
	case f.Thanks == 1 && t.plurals == nil:
		line(t.ThanksOne)
	case f.Thanks > 0:
		line(t.count("thanks", t.Thanks, f.Thanks))
	}
	if f.StillOpen > 0 {
		line(fill(t.StillOpen, "n", strconv.Itoa(f.StillOpen)))
	}
	if f.PromisesDue > 0 {
		line(fill(t.Promises, "kept", strconv.Itoa(f.PromisesKept), "due", strconv.Itoa(f.PromisesDue)))
		if f.PromisesOverdue > 0 {
			line(fill(t.Overdue, "n", strconv.Itoa(f.PromisesOverdue)))
		}
	} else {
		line(t.NoPromises)
	}
	if f.PromisesMoved > 0 {
		line(t.count("moved", "{n} promised dates moved to a later date.", f.PromisesMoved))
	}
	if len(d.Examples) > 0 {
		b.WriteByte('\n')
		line(t.Examples)
		for _, ex := range d.Examples {
			head := "• " + capitalize(cat.TopicName(ex.Topic))
			if ex.Reporters > 1 {
				// How many citizens reported it, never who.
				head += " — " + t.count("reported_by", "reported by {n} citizens", ex.Reporters)
			}
			line(head)
			line("  " + fill(t.Said, "text", ex.Said) + languageLabel(t, lang, ex.SaidLang))
			line("  " + fill(t.Did, "text", ex.Did) + languageLabel(t, lang, ex.DidLang))
		}
	}
	if url != "" {
		b.WriteByte('\n')
		line(fill(t.More, "url", url))
	}
	return strings.TrimRight(b.String(), "\n")
}

func capitalize(s string) string {
	for i, r := range s {
		return strings.ToUpper(string(r)) + s[i+len(string(r)):]
	}
	return s
}

// urgencyWord names an urgency in the digest's language (its
// [digest.urgencies] table), or by its label when the table lacks it.
func (t DigestTexts) urgencyWord(u citybot.Urgency) string {
	if w := t.Urgencies[u]; w != "" {
		return w
	}
	return string(u)
}
