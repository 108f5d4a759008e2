package responder

import (
	"citybot"
	"citybot/locale"
)

// What the officers' actions (package casework) and the accountability
// jobs (package accountability) share with the pipeline: the chat texts
// and their helpers.

// Fill fills the {name} placeholders of s with pairs (name, value, …).
func Fill(s string, pairs ...string) string { return fill(s, pairs...) }

// BaseLang turns a BCP 47 tag ("fr-CA", "en_US") into its language code.
func BaseLang(tag string) string { return baseLang(tag) }

// Locales returns set, or the shipped language files when set is nil.
func Locales(set *locale.Set) *locale.Set { return locales(set) }

// CatalogsOf returns the chat texts of every language of set, keyed by
// language code.
func CatalogsOf(set *locale.Set) map[string]Catalog { return catalogsOf(set) }

// TopicName names a topic label in c's language; an unknown label is
// named as "other" is.
func (c Catalog) TopicName(label string) string { return c.topic(label) }

// StatusName names a case status in c's language.
func (c Catalog) StatusName(s citybot.CaseStatus) string { return c.status(s) }

// WithFallback fills c's empty texts from fb.
func (c Catalog) WithFallback(fb Catalog) Catalog { return c.withFallback(fb) }
