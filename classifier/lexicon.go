package classifier

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"citybot"
)

// The word lists of each language, one TOML file per language
// (lexicon/en.toml, lexicon/fr.toml, …): topic keywords, urgency cues,
// negations, masking phrases. Adding a language's words needs no Go code:
// add lexicon/<lang>.toml with every section, or let a city add it through
// Options.LexiconDir.
//
//go:embed lexicon/*.toml
var lexiconFS embed.FS

// lexicon is the words of one language. Its toml tags are the file format;
// decoding is strict (an unknown key is an error naming file and key).
type lexicon struct {
	// Replace, in a city's file only: the file replaces the embedded
	// file of its language instead of adding to it.
	Replace bool `toml:"replace"`
	// Topics: topic name → keywords pointing to it.
	Topics  map[string][]string `toml:"topics"`
	Urgency urgencyWords        `toml:"urgency"`
	// Sensitive: the words of the sensitive detector (sensitive.go).
	Sensitive sensitiveWords `toml:"sensitive"`
	// Intent: the words of feedback (intent.go).
	Intent intentWords `toml:"intent"`
}

// urgencyWords are the urgency cues of a language (see urgency.go).
type urgencyWords struct {
	Critical  []string `toml:"critical"`
	High      []string `toml:"high"`
	Low       []string `toml:"low"`
	Neutral   []string `toml:"neutral"`
	Outcome   []string `toml:"outcome"`
	Negations []string `toml:"negations"`
}

// lexicons maps a language code ("en", "fr") to its words.
type lexicons map[string]*lexicon

// langs returns the languages in a stable order.
func (ls lexicons) langs() []string { return slices.Sorted(maps.Keys(ls)) }

// each calls f with every language's list picked by get, languages in
// order.
func (ls lexicons) each(get func(*lexicon) []string, f func(lang string, list []string)) {
	for _, l := range ls.langs() {
		f(l, get(ls[l]))
	}
}

// parseLexicon decodes one lexicon file strictly; name is used in errors.
func parseLexicon(name string, data []byte) (*lexicon, toml.MetaData, error) {
	var lx lexicon
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&lx)
	if err != nil {
		return nil, md, fmt.Errorf("classifier: lexicon %s: %v: %w", name, err, citybot.ErrInvalid)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, md, fmt.Errorf("classifier: lexicon %s: unknown key %s: %w", name, strings.Join(keys, ", "), citybot.ErrInvalid)
	}
	return &lx, md, nil
}

// langOfFile returns the language of a lexicon file name ("fr.toml" →
// "fr"), or "" when the name is not a language code (2 or 3 lower-case
// letters) followed by .toml.
func langOfFile(name string) string {
	lang, ok := strings.CutSuffix(name, ".toml")
	if !ok || len(lang) < 2 || len(lang) > 3 {
		return ""
	}
	for _, r := range lang {
		if r < 'a' || r > 'z' {
			return ""
		}
	}
	return lang
}

// readLexicons reads every <lang>.toml file of fsys's directory dir.
// Other files are ignored; a .toml file whose name is no language code is
// an error.
func readLexicons(fsys fs.FS, dir, display string) (lexicons, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("classifier: lexicons: %w", err)
	}
	out := lexicons{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".toml") {
			continue
		}
		name := path.Join(display, e.Name())
		lang := langOfFile(e.Name())
		if lang == "" {
			return nil, fmt.Errorf("classifier: lexicon %s: the file name must be a language code (2 or 3 lower-case letters) and .toml: %w", name, citybot.ErrInvalid)
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("classifier: lexicon %s: %w", name, err)
		}
		lx, _, err := parseLexicon(name, data)
		if err != nil {
			return nil, err
		}
		out[lang] = lx
	}
	return out, nil
}

// embeddedLexicons parses the lexicon files shipped in the package.
func embeddedLexicons() (lexicons, error) {
	ls, err := readLexicons(lexiconFS, "lexicon", "lexicon")
	if err != nil {
		return nil, err
	}
	for _, l := range ls.langs() {
		if ls[l].Replace {
			return nil, fmt.Errorf("classifier: lexicon lexicon/%s.toml: replace is for a city's files: %w", l, citybot.ErrInvalid)
		}
	}
	return ls, nil
}

// defaultTopicNames are the default topics in their stable order. Their
// keywords come from the lexicons' [topics] tables.
func defaultTopicNames() []string {
	return []string{"roads", "waste", "water_sanitation", "street_lighting", "public_safety", "transport",
		"housing", "noise", "parks", "taxes_budget", "corruption", "administration_permits", OtherTopic}
}

// topicsFrom returns the default topics with the keywords ls gives them.
func topicsFrom(ls lexicons) []Topic {
	names := defaultTopicNames()
	ts := make([]Topic, 0, len(names))
	for _, n := range names {
		t := Topic{Name: n}
		for _, l := range ls.langs() {
			if kw := ls[l].Topics[n]; len(kw) > 0 {
				if t.Keywords == nil {
					t.Keywords = map[string][]string{}
				}
				t.Keywords[l] = slices.Clone(kw)
			}
		}
		ts = append(ts, t)
	}
	return ts
}
