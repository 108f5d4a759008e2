package responder

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"citybot"
)

// DigestTexts are the words of the weekly digest in one language.
// Placeholders in braces are filled when the digest is written.
type DigestTexts struct {
	Title         string // {week} {from} {to}
	Received      string // {n} cases received, {change}
	TopicLine     string // {topic} {n} {change}
	ByPlatform    string // "On {list}."
	Places        string // "Places mentioned most: {list}."
	Answered      string // {n} {of}: answered among received
	FirstAnswer   string // {median} {p90}
	Resolved      string // {n}
	Resolution    string // {median} {p90}
	Fixed         string // {n} citizens confirmed fixed
	NotFixed      string // {n} said not fixed
	Thanks        string // {n} citizens said thank you (feedback, not reports)
	ThanksOne     string // one citizen said thank you
	StillOpen     string // {n}
	Promises      string // {kept} {due}
	Overdue       string // {n}
	NoPromises    string // no expected-by date fell this week
	Examples      string // heading of "you said, we did"
	Said          string // {text}
	Did           string // {text}
	More          string // {url}
	Change        string // {diff} {prev}: change from the previous week
	Same          string // same as the previous week
	Others        string // {n} cases on other topics
	Of            string // "{n} of {total}"
	Percent       string // "{n} of {total} ({pct})": used from 20 cases on
	None          string // nothing to report
	Minutes       string // {n}
	Hours         string // {n}
	Days          string // {n}
	ChartCaption  string // {week}
	DraftNotice   string // to officials: {week} {revision}
	Approved      string // toast: {week} {actor}
	SentBack      string // toast: {week}
	AlreadyDone   string // toast: the draft was decided already
	NotAllowed    string // toast: the presser may not decide
	FixedAsk      string // "Is it fixed?" to a citizen: {ref} {topic}
	FixedYes      string // button
	FixedNo       string // button
	FixedThanks   string // toast after Fixed
	FixedReopened string // toast after Not fixed: {ref}
	Reminder      string // to officers: {n} {hours}
	ReminderLine  string // {ref} {topic} {urgency} {age}
	Months        [12]string

	// ReminderDue and ReminderDueLine remind officers of cases past
	// their first-answer target (DigestOptions.Targets): {n}; {ref}
	// {topic} {urgency} {age} {target} {times}.
	ReminderDue     string
	ReminderDueLine string
	// WithinTarget reports the first answers within their service level:
	// {list} of WithinTargetItem, {urgency} {of}.
	WithinTarget     string
	WithinTargetItem string
}

func digestTextsEN() DigestTexts {
	return DigestTexts{
		Title:         "City listening report — week {week} ({from} to {to})",
		Received:      "Received: {n} reports ({change}).",
		TopicLine:     "• {topic}: {n} ({change})",
		ByPlatform:    "Channels: {list}.",
		Places:        "Places mentioned most: {list}.",
		Answered:      "Answered by the city: {of}.",
		FirstAnswer:   "Time to a first answer: half within {median}, 9 in 10 within {p90}.",
		Resolved:      "Resolved this week: {n} ({change}).",
		Resolution:    "Time to resolve: half within {median}, 9 in 10 within {p90}.",
		Fixed:         "Confirmed fixed by the citizen: {n}.",
		NotFixed:      "Reported not fixed (reopened): {n}.",
		Thanks:        "{n} citizens said thank you.",
		ThanksOne:     "1 citizen said thank you.",
		StillOpen:     "Still open at the end of the week: {n}.",
		Promises:      "Promised dates this week: {kept} kept out of {due}.",
		Overdue:       "Promised dates missed: {n}.",
		NoPromises:    "No promised date fell this week.",
		Examples:      "You said, we did:",
		Said:          "You said: “{text}”",
		Did:           "We did: “{text}”",
		More:          "All figures and open data: {url}",
		Change:        "{prev} the week before",
		Same:          "as many as the week before",
		Others:        "other topics: {n}",
		Of:            "{n} of {total}",
		Percent:       "{n} of {total} ({pct})",
		None:          "none",
		Minutes:       "{n} min",
		Hours:         "{n} h",
		Days:          "{n} days",
		ChartCaption:  "Reports and time to first answer by topic, week {week}.",
		DraftNotice:   "The draft of the weekly report for week {week} (version {revision}) is ready. It will be posted exactly as below once approved.",
		Approved:      "Approved: the report for week {week} will be posted.",
		SentBack:      "Sent back: the report for week {week} will not be posted. Reply to the draft with your comment.",
		AlreadyDone:   "This draft was already decided.",
		NotAllowed:    "You are not allowed to approve reports.",
		FixedAsk:      "Your case {ref} ({topic}) was marked resolved. Is it fixed?",
		FixedYes:      "Fixed",
		FixedNo:       "Not fixed",
		FixedThanks:   "Thank you for confirming.",
		FixedReopened: "Thank you: case {ref} is reopened and an officer will look at it again.",
		Reminder:      "{n} cases have had no first answer for more than {hours} working hours:",
		ReminderLine:  "{ref} — {topic} ({urgency}), open for {age}",
		Months:        [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},

		ReminderDue:      "{n} cases are past their first-answer target:",
		ReminderDueLine:  "{ref} — {topic} ({urgency}), open for {age}, target {target} (reminder {times})",
		WithinTarget:     "First answers within the service level: {list}.",
		WithinTargetItem: "{urgency} {of}",
	}
}

func digestTextsFR() DigestTexts {
	return DigestTexts{
		Title:         "Bilan de l'écoute citoyenne — semaine {week} (du {from} au {to})",
		Received:      "Reçus : {n} signalements ({change}).",
		TopicLine:     "• {topic} : {n} ({change})",
		ByPlatform:    "Canaux : {list}.",
		Places:        "Lieux les plus cités : {list}.",
		Answered:      "Avec une réponse de la ville : {of}.",
		FirstAnswer:   "Délai de première réponse : la moitié en moins de {median}, 9 sur 10 en moins de {p90}.",
		Resolved:      "Résolus cette semaine : {n} ({change}).",
		Resolution:    "Délai de résolution : la moitié en moins de {median}, 9 sur 10 en moins de {p90}.",
		Fixed:         "Confirmés réparés par l'habitant : {n}.",
		NotFixed:      "Signalés non réparés (rouverts) : {n}.",
		Thanks:        "{n} habitants ont dit merci.",
		ThanksOne:     "1 habitant a dit merci.",
		StillOpen:     "Encore ouverts en fin de semaine : {n}.",
		Promises:      "Dates promises cette semaine : tenues {kept} sur {due}.",
		Overdue:       "Dates promises dépassées : {n}.",
		NoPromises:    "Aucune date promise n'échoyait cette semaine.",
		Examples:      "Vous avez dit, nous avons fait :",
		Said:          "Vous avez dit : « {text} »",
		Did:           "Nous avons fait : « {text} »",
		More:          "Tous les chiffres et les données ouvertes : {url}",
		Change:        "{prev} la semaine précédente",
		Same:          "autant que la semaine précédente",
		Others:        "autres sujets : {n}",
		Of:            "{n} sur {total}",
		Percent:       "{n} sur {total} ({pct})",
		None:          "aucun",
		Minutes:       "{n} min",
		Hours:         "{n} h",
		Days:          "{n} jours",
		ChartCaption:  "Signalements et délai de première réponse par sujet, semaine {week}.",
		DraftNotice:   "Le projet de bilan hebdomadaire de la semaine {week} (version {revision}) est prêt. Il sera publié exactement comme ci-dessous une fois approuvé.",
		Approved:      "Approuvé : le bilan de la semaine {week} sera publié.",
		SentBack:      "Renvoyé : le bilan de la semaine {week} ne sera pas publié. Répondez au projet avec votre commentaire.",
		AlreadyDone:   "Ce projet a déjà été tranché.",
		NotAllowed:    "Vous n'êtes pas autorisé·e à approuver les bilans.",
		FixedAsk:      "Votre dossier {ref} ({topic}) a été marqué comme résolu. Est-ce réparé ?",
		FixedYes:      "Réparé",
		FixedNo:       "Pas réparé",
		FixedThanks:   "Merci de votre confirmation.",
		FixedReopened: "Merci : le dossier {ref} est rouvert et un agent va le reprendre.",
		Reminder:      "{n} dossiers attendent une première réponse depuis plus de {hours} heures ouvrées :",
		ReminderLine:  "{ref} — {topic} ({urgency}), ouvert depuis {age}",
		Months:        [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},

		ReminderDue:      "{n} dossiers ont dépassé leur délai de première réponse :",
		ReminderDueLine:  "{ref} — {topic} ({urgency}), ouvert depuis {age}, délai {target} (rappel {times})",
		WithinTarget:     "Premières réponses dans les délais : {list}.",
		WithinTargetItem: "{urgency} {of}",
	}
}

// defaultDigestTexts returns the built-in digest texts, keyed by language.
func defaultDigestTexts() map[string]DigestTexts {
	return map[string]DigestTexts{"en": digestTextsEN(), "fr": digestTextsFR()}
}

// duration writes d in words: minutes under an hour, hours under two
// days, then days (one decimal under ten).
func (t DigestTexts) duration(d time.Duration) string {
	return t.durationIn(d, "en")
}

func (t DigestTexts) durationIn(d time.Duration, lang string) string {
	switch {
	case d < time.Hour:
		return fill(t.Minutes, "n", strconv.Itoa(max(1, int(math.Round(d.Minutes())))))
	case d < 48*time.Hour:
		return fill(t.Hours, "n", strconv.Itoa(int(math.Round(d.Hours()))))
	}
	days := d.Hours() / 24
	if days < 10 {
		return fill(t.Days, "n", decimal(days, lang))
	}
	return fill(t.Days, "n", strconv.Itoa(int(math.Round(days))))
}

// share writes "n of total", with a percentage only from 20 cases on:
// a percentage of a handful misleads.
func (t DigestTexts) share(n, total int, lang string) string {
	if total >= 20 {
		pct := fmt.Sprintf("%d %%", int(math.Round(100*float64(n)/float64(total))))
		if lang == "en" {
			pct = strings.ReplaceAll(pct, " ", "")
		}
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

// decimal writes a one-decimal number with the language's separator.
func decimal(f float64, lang string) string {
	s := strings.TrimSuffix(strconv.FormatFloat(math.Round(f*10)/10, 'f', 1, 64), ".0")
	if lang == "fr" {
		s = strings.ReplaceAll(s, ".", ",")
	}
	return s
}

func (t DigestTexts) day(d time.Time) string {
	return fmt.Sprintf("%d %s", d.Day(), t.Months[d.Month()-1])
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

// renderDigest writes the digest in one language. loc is the city's time
// zone for the dates; url, when set, points to the public page.
func renderDigest(d citybot.Digest, lang string, t DigestTexts, cat Catalog, loc *time.Location, url string) string {
	f, p := d.Figures, d.Previous
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteByte('\n') }
	week := string(d.Week)
	if i := strings.Index(week, "-W"); i >= 0 {
		week = week[i+2:]
	}
	last := f.End.In(loc).Add(-time.Second)
	line(fill(t.Title, "week", week, "from", t.day(f.Start.In(loc)), "to", t.day(last)))
	b.WriteByte('\n')
	if note := strings.TrimSpace(d.Note); note != "" {
		line(note)
		b.WriteByte('\n')
	}
	line(fill(t.Received, "n", strconv.Itoa(f.Received), "change", t.change(f.Received, p.Received)))
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
		line(fill(t.TopicLine, "topic", capitalize(cat.topic(tf.Topic)), "n", strconv.Itoa(tf.Received), "change", t.change(tf.Received, prev)))
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
	line(fill(t.Answered, "of", t.share(f.Answered, f.Received, lang)))
	if f.FirstAnswer.Count > 0 {
		line(fill(t.FirstAnswer, "median", t.durationIn(f.FirstAnswer.Median, lang), "p90", t.durationIn(f.FirstAnswer.P90, lang)))
	}
	if len(f.WithinTarget) > 0 {
		var parts []string
		for _, sh := range f.WithinTarget {
			parts = append(parts, fill(t.WithinTargetItem, "urgency", urgencyWord(lang, sh.Urgency), "of", t.share(sh.Within, sh.Answered, lang)))
		}
		line(fill(t.WithinTarget, "list", strings.Join(parts, ", ")))
	}
	line(fill(t.Resolved, "n", strconv.Itoa(f.Resolved), "change", t.change(f.Resolved, p.Resolved)))
	if f.Resolution.Count > 0 {
		line(fill(t.Resolution, "median", t.durationIn(f.Resolution.Median, lang), "p90", t.durationIn(f.Resolution.P90, lang)))
	}
	line(fill(t.Fixed, "n", strconv.Itoa(f.ConfirmedFixed)))
	if f.NotFixed > 0 {
		line(fill(t.NotFixed, "n", strconv.Itoa(f.NotFixed)))
	}
	switch {
	case f.Thanks == 1:
		line(t.ThanksOne)
	case f.Thanks > 1:
		line(fill(t.Thanks, "n", strconv.Itoa(f.Thanks)))
	}
	line(fill(t.StillOpen, "n", strconv.Itoa(f.StillOpen)))
	if f.PromisesDue > 0 {
		line(fill(t.Promises, "kept", strconv.Itoa(f.PromisesKept), "due", strconv.Itoa(f.PromisesDue)))
		if f.PromisesOverdue > 0 {
			line(fill(t.Overdue, "n", strconv.Itoa(f.PromisesOverdue)))
		}
	} else {
		line(t.NoPromises)
	}
	if len(d.Examples) > 0 {
		b.WriteByte('\n')
		line(t.Examples)
		for _, ex := range d.Examples {
			line("• " + capitalize(cat.topic(ex.Topic)))
			line("  " + fill(t.Said, "text", ex.Said))
			line("  " + fill(t.Did, "text", ex.Did))
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

// urgencyWord names an urgency in the digest's language.
func urgencyWord(lang string, u citybot.Urgency) string {
	if lang == "fr" {
		switch u {
		case citybot.UrgencyCritical:
			return "critique"
		case citybot.UrgencyHigh:
			return "haute"
		case citybot.UrgencyNormal:
			return "normale"
		case citybot.UrgencyLow:
			return "basse"
		}
	}
	return string(u)
}
