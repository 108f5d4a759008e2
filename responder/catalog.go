package responder

import (
	"strconv"
	"strings"

	"citybot"
	"citybot/locale"
)

// Catalog is everything the bot says to citizens, in one language. Texts
// may hold placeholders in braces, replaced when the text is used:
// {ref} a case reference, {topic} a topic in words, {status} a status in
// words, {number} the emergency number, {language} the language's name.
// The texts come from the language files of package locale (the [chat]
// section); a city adds or overrides languages with files
// (Options.Locales). Options.Catalogs still adds or replaces catalogs in
// code; a missing field falls back to English.
type Catalog struct {
	Name string // the language's name in itself ("Français")

	Start string // /start: what the bot does, what is stored, privacy
	Help  string // /help and unknown commands

	AckNew    string // "your report is case {ref}"
	AckTopic  string // "we understood: {topic}"
	AckNext   string // what happens next
	AckStatus string // how to ask for the status ({ref})
	AckGroup  string // added in groups: keep personal details out of the group
	// Sensitive ends the acknowledgement of a sensitive case (a message
	// the classifier found sensitive, or on one of
	// Options.SensitiveTopics), and the private notice sent when a
	// follow-up makes a case sensitive: how the citizen's identity is
	// protected.
	Sensitive string
	// SensitiveGroup replaces AckGroup for a sensitive case opened in a
	// group: add nothing here, continue in a private chat.
	SensitiveGroup string
	// FollowUp tells a citizen that their message joined their open
	// case {ref}; see Options.FollowUpInterval.
	FollowUp string
	// AckJoined acknowledges a report grouping joined to another
	// citizens' case as a new follower: others reported the same
	// problem, their report {ref} is now part of case {case}, and they
	// will get the same news.
	AckJoined string
	// Emergency comes first in the acknowledgement of a critical case,
	// and alone on a follow-up that makes a case critical ({number}).
	Emergency string

	// Thanks answers a thank-you (feedback: it opens no case; it is
	// kept with the citizen's latest case, for the officers).
	Thanks string
	// Greeting answers a bare greeting: how to report, in short.
	Greeting string
	// AckOK answers a bare "ok" or thumbs up.
	AckOK string

	EmptyReport  string // a message with nothing in it, or /report alone
	StatusNone   string // the citizen has no case
	StatusHeader string // before the list of the citizen's cases
	StatusLine   string // one case: {ref} {topic} {status}
	StatusOne    string // /status REF for one of the citizen's cases: {ref} {topic} {status}
	StatusGroup  string // /status REF in a group: {ref} {status}, no topic
	StatusAsk    string // /status without a reference in a group
	StatusFound  string // /status REF that is not one of the citizen's cases ({ref})
	// StatusFollows is the status of a follower's own case: that of the
	// case it follows ({status}) and its reference ({case}).
	StatusFollows string

	LanguageAsk string // /language without a valid choice
	LanguageSet string // the choice is saved ({language})

	// Citizens' data rights (/mydata, /forget).
	MyData       string // before the JSON document of the citizen's data
	DataPrivate  string // /mydata or /forget outside a private chat
	ForgetAsk    string // what /forget erases, and how to confirm
	ForgetButton string // the confirmation button
	ForgetDone   string // the data is erased

	// Officers' alerts about critical cases (see Alerter); never a
	// citizen's identity or text.
	AlertNew       string // first line of an alert: {ref}
	AlertEscalated string // first line of an escalation: {ref} {age} {n}
	AlertDetails   string // topic, place, cues, age, link: {topic} {place} {cues} {age} {link}
	AlertSensitive string // all a sensitive case's alert says: {ref}
	AlertTake      string // the Take it button
	AlertTaken     string // added to the alert once taken: {name}
	AlertYouTook   string // toast for the officer who took it: {ref}
	AlertAlready   string // toast for a later press: {ref} {name}
	AlertRefused   string // toast for someone not allowed to take it
	AlertUnknown   string // no place, or no cue

	Topics   map[string]string             // topic label → words
	Statuses map[citybot.CaseStatus]string // status → words
}

// locales returns s, or the shipped catalogs when s is nil.
func locales(s *locale.Set) *locale.Set {
	if s == nil {
		return locale.MustEmbedded()
	}
	return s
}

// catalogsOf returns the chat catalogs of every language of s, keyed by
// language code.
func catalogsOf(s *locale.Set) map[string]Catalog {
	out := map[string]Catalog{}
	for _, l := range s.Languages() {
		out[l] = catalogOf(s.Catalog(l))
	}
	return out
}

// catalogOf reads the [chat] texts of one language file.
func catalogOf(c *locale.Catalog) Catalog {
	t := func(key string) string { return c.Text("chat." + key) }
	cat := Catalog{
		Name: c.Name(), Start: t("start"), Help: t("help"),
		AckNew: t("ack_new"), AckTopic: t("ack_topic"), AckNext: t("ack_next"), AckStatus: t("ack_status"), AckGroup: t("ack_group"),
		Sensitive: t("sensitive"), SensitiveGroup: t("sensitive_group"), FollowUp: t("follow_up"), AckJoined: t("ack_joined"), Emergency: t("emergency"),
		Thanks: t("thanks"), Greeting: t("greeting"), AckOK: t("ack_ok"), EmptyReport: t("empty_report"),
		StatusNone: t("status_none"), StatusHeader: t("status_header"), StatusLine: t("status_line"), StatusOne: t("status_one"),
		StatusGroup: t("status_group"), StatusAsk: t("status_ask"), StatusFound: t("status_found"), StatusFollows: t("status_follows"),
		LanguageAsk: t("language_ask"), LanguageSet: t("language_set"),
		MyData: t("mydata"), DataPrivate: t("data_private"), ForgetAsk: t("forget_ask"), ForgetButton: t("forget_button"), ForgetDone: t("forget_done"),
		AlertNew: t("alert_new"), AlertEscalated: t("alert_escalated"), AlertDetails: t("alert_details"),
		AlertSensitive: t("alert_sensitive"), AlertTake: t("alert_take"), AlertTaken: t("alert_taken"),
		AlertYouTook: t("alert_you_took"), AlertAlready: t("alert_already"), AlertRefused: t("alert_refused"),
		AlertUnknown: t("alert_unknown"),
		Topics:       c.Table("chat.topics"),
		Statuses:     map[citybot.CaseStatus]string{},
	}
	for k, v := range c.Table("chat.statuses") {
		cat.Statuses[citybot.CaseStatus(k)] = v
	}
	return cat
}

// withFallback fills c's empty fields from fb.
func (c Catalog) withFallback(fb Catalog) Catalog {
	pick := func(s *string, f string) {
		if *s == "" {
			*s = f
		}
	}
	pick(&c.Name, fb.Name)
	pick(&c.Start, fb.Start)
	pick(&c.Help, fb.Help)
	pick(&c.AckNew, fb.AckNew)
	pick(&c.AckTopic, fb.AckTopic)
	pick(&c.AckNext, fb.AckNext)
	pick(&c.AckStatus, fb.AckStatus)
	pick(&c.AckGroup, fb.AckGroup)
	pick(&c.Sensitive, fb.Sensitive)
	pick(&c.SensitiveGroup, fb.SensitiveGroup)
	pick(&c.FollowUp, fb.FollowUp)
	pick(&c.AckJoined, fb.AckJoined)
	pick(&c.Emergency, fb.Emergency)
	pick(&c.Thanks, fb.Thanks)
	pick(&c.Greeting, fb.Greeting)
	pick(&c.AckOK, fb.AckOK)
	pick(&c.EmptyReport, fb.EmptyReport)
	pick(&c.StatusNone, fb.StatusNone)
	pick(&c.StatusHeader, fb.StatusHeader)
	pick(&c.StatusLine, fb.StatusLine)
	pick(&c.StatusOne, fb.StatusOne)
	pick(&c.StatusGroup, fb.StatusGroup)
	pick(&c.StatusAsk, fb.StatusAsk)
	pick(&c.StatusFound, fb.StatusFound)
	pick(&c.StatusFollows, fb.StatusFollows)
	pick(&c.LanguageAsk, fb.LanguageAsk)
	pick(&c.LanguageSet, fb.LanguageSet)
	pick(&c.MyData, fb.MyData)
	pick(&c.DataPrivate, fb.DataPrivate)
	pick(&c.ForgetAsk, fb.ForgetAsk)
	pick(&c.ForgetButton, fb.ForgetButton)
	pick(&c.ForgetDone, fb.ForgetDone)
	for _, p := range []struct {
		s *string
		f string
	}{{&c.AlertNew, fb.AlertNew}, {&c.AlertEscalated, fb.AlertEscalated}, {&c.AlertDetails, fb.AlertDetails},
		{&c.AlertSensitive, fb.AlertSensitive}, {&c.AlertTake, fb.AlertTake}, {&c.AlertTaken, fb.AlertTaken},
		{&c.AlertYouTook, fb.AlertYouTook}, {&c.AlertAlready, fb.AlertAlready}, {&c.AlertRefused, fb.AlertRefused},
		{&c.AlertUnknown, fb.AlertUnknown}} {
		pick(p.s, p.f)
	}
	topics := map[string]string{}
	for k, v := range fb.Topics {
		topics[k] = v
	}
	for k, v := range c.Topics {
		topics[k] = v
	}
	c.Topics = topics
	statuses := map[citybot.CaseStatus]string{}
	for k, v := range fb.Statuses {
		statuses[k] = v
	}
	for k, v := range c.Statuses {
		statuses[k] = v
	}
	c.Statuses = statuses
	return c
}

// topic returns a topic label in words.
func (c Catalog) topic(label string) string {
	if w, ok := c.Topics[label]; ok {
		return w
	}
	if w, ok := c.Topics["other"]; ok && label == "" {
		return w
	}
	return strings.ReplaceAll(label, "_", " ")
}

// status returns a status in words.
func (c Catalog) status(s citybot.CaseStatus) string {
	if w, ok := c.Statuses[s]; ok {
		return w
	}
	return strings.ReplaceAll(string(s), "_", " ")
}

// fill replaces the placeholders of tmpl; pairs are name, value.
func fill(tmpl string, pairs ...string) string {
	var args []string
	for i := 0; i+1 < len(pairs); i += 2 {
		args = append(args, "{"+pairs[i]+"}", pairs[i+1])
	}
	return strings.NewReplacer(args...).Replace(tmpl)
}

// readersIn says who reads sensitive cases in the words of language
// lang (English when the city has no file for it): the roles, then the
// number of accounts named beside them, joined as the language joins a
// list ("A, B and C").
func readersIn(set *locale.Set, lang string, roles []citybot.Role, named int) string {
	c := set.Catalog(lang)
	if c == nil || c.Text("chat.readers_and") == "" {
		c = set.Catalog(locale.Reference)
	}
	var parts []string
	for _, r := range roles {
		if w := c.Text("chat.readers_" + string(r)); w != "" {
			parts = append(parts, w)
		}
	}
	if named > 0 {
		parts = append(parts, strings.ReplaceAll(c.Plural("chat.readers_named", named), "{n}", strconv.Itoa(named)))
	}
	switch len(parts) {
	case 0:
		return c.Text("chat.readers_admin")
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], c.Text("chat.readers_comma")) + c.Text("chat.readers_and") + parts[len(parts)-1]
}
