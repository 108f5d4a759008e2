package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"citybot"
)

// Name says a stored value in the page's language: a case status
// (table "statuses"), topic ("topics"), urgency ("urgencies"), staff
// role ("roles"), digest state ("digest_states") or delivery state
// ("delivery_states"), from [console.<table>] of the language files. A
// value the files do not name (a city's own topic) is shown as stored,
// underscores as spaces. Stored values themselves never change.
func (p publicTexts) Name(table string, v any) string {
	s := fmt.Sprint(v)
	if s == "" {
		return ""
	}
	if t := p.t("console." + table + "." + s); t != "" {
		return t
	}
	return strings.ReplaceAll(s, "_", " ")
}

// Lang names a citizen's language: its name in itself ("Español") when
// citybot has its files, "another language" for the classifier's
// "other", else the code.
func (p publicTexts) Lang(code string) string {
	switch {
	case code == "" || code == "other" || code == "und":
		return p.t("console.lang_other")
	case p.locs != nil:
		if c := p.locs.Catalog(code); c != nil {
			return c.Name()
		}
	}
	return code
}

// Field names a recorded field or a label's kind ("topic", "urgency") in
// the page's language; one the files do not name keeps its name.
func (p publicTexts) Field(kind string) string { return p.auditField(kind) }

// Tag says a label's value: topics and urgencies by their names, other
// kinds (a place, a language code) as stored.
func (p publicTexts) Tag(kind, value string) string {
	switch kind {
	case "language":
		return p.Lang(value)
	case "place":
		return value
	}
	if table := auditNames[kind]; table != "" {
		return p.Name(table, value)
	}
	return strings.ReplaceAll(value, "_", " ")
}

// Size says a file's size in kilobytes or megabytes (one decimal under
// ten), in the page's language.
func (p publicTexts) Size(bytes int64) string {
	const kb, mb = 1000, 1000 * 1000
	if bytes < mb {
		return p.t("console.size_kb", "n", p.number(max(1, (bytes+kb/2)/kb), 1))
	}
	return p.t("console.size_mb", "n", p.number(bytes, mb))
}

// number says n/unit with one decimal under ten, with the language's
// decimal point.
func (p publicTexts) number(n, unit int64) string {
	f := float64(n) / float64(unit)
	s := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	if f < 10 {
		s = strings.TrimSuffix(strconv.FormatFloat(math.Round(f*10)/10, 'f', 1, 64), ".0")
		if d := p.t("digest.decimal_point"); d != "" {
			s = strings.ReplaceAll(s, ".", d)
		}
	}
	return s
}

// NotKept says why a citizen's file was not kept (Attachment.KeptReason,
// a citybot.MediaReason) in the page's language; a reason that is no
// known code (rows older than the codes hold English words) is shown as
// stored.
func (p publicTexts) NotKept(reason string) string {
	code, detail := citybot.SplitMediaReason(reason)
	switch code {
	case "":
		return detail
	case citybot.MediaGaveUp:
		if n, err := strconv.Atoi(detail); err == nil {
			return p.Tn("console.media_gave_up", n)
		}
	case citybot.MediaTooLarge:
		if n, err := strconv.ParseInt(detail, 10, 64); err == nil {
			detail = p.Size(n)
		}
	case citybot.MediaGone, citybot.MediaNoFetcher:
		if name := platformNames[citybot.Platform(detail)]; name != "" {
			detail = name
		}
	}
	if s := p.t("console.media_not_kept."+code, "detail", detail); s != "" {
		return s
	}
	return reason
}

// platformNames are the platforms' own names, the same in every language.
var platformNames = map[citybot.Platform]string{citybot.Telegram: "Telegram", citybot.Discord: "Discord"}
