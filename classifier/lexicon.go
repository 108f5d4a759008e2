package classifier

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"reflect"
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
	// Language: the scripts and words that tell the language (lang.go).
	Language languageWords `toml:"language"`
}

// urgencyWords are the urgency cues of a language (see urgency.go).
type urgencyWords struct {
	Critical  []string `toml:"critical"`
	High      []string `toml:"high"`
	Low       []string `toml:"low"`
	Neutral   []string `toml:"neutral"`
	Outcome   []string `toml:"outcome"`
	Negations []string `toml:"negations"`

	// Whether a message reads as talk about a danger or as someone there
	// now (signals.go). Talk: news and media words, sympathy, official
	// notices, warnings and appeals, another time than now, hypotheticals,
	// jokes and slang. Presence: first person, a request for help, "now"
	// and "here" (still: "still", "encore", weaker: it does not outweigh a
	// marker of another time), present-tense "is/are". Headlines: counts
	// of people and victim words ("3 dead"), time units after a count
	// ("10 years", "il y a dix ans"), unless a duration word comes before
	// ("for 3 days", "depuis deux jours"). Addresses: street and home words
	// next to a number or after "our/my".
	News         []string `toml:"news"`
	Sympathy     []string `toml:"sympathy"`
	Notice       []string `toml:"notice"`
	OtherTime    []string `toml:"other_time"`
	Hypothetical []string `toml:"hypothetical"`
	Joke         []string `toml:"joke"`
	FirstPerson  []string `toml:"first_person"`
	Request      []string `toml:"request"`
	Now          []string `toml:"now"`
	Still        []string `toml:"still"`
	Present      []string `toml:"present"`
	Counts       []string `toml:"counts"`
	Casualties   []string `toml:"casualties"`
	TimeUnits    []string `toml:"time_units"`
	Durations    []string `toml:"durations"`
	Places       []string `toml:"places"`
	Possessives  []string `toml:"possessives"`
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

// mergeLexicons returns base with the city's files applied: a city file
// with replace = true replaces its language's file; otherwise each of its
// lists is added to the same list of its language (entries already there
// are not repeated), and a language base lacks is added as it is. base
// and city are not modified.
func mergeLexicons(base, city lexicons) lexicons {
	out := lexicons{}
	for l, lx := range base {
		out[l] = lx
	}
	for _, l := range city.langs() {
		cl := city[l]
		b, ok := out[l]
		if cl.Replace || !ok {
			c := *cl
			c.Replace = false
			out[l] = &c
			continue
		}
		m := *b
		m.Topics = map[string][]string{}
		for t, kw := range b.Topics {
			m.Topics[t] = kw
		}
		for t, kw := range cl.Topics {
			m.Topics[t] = appendNew(slices.Clone(m.Topics[t]), kw)
		}
		appendLists(reflect.ValueOf(&m).Elem(), reflect.ValueOf(cl).Elem())
		out[l] = &m
	}
	return out
}

// appendLists appends every []string field of src's struct fields to the
// same field of dst (a copy: the slices are cloned first).
func appendLists(dst, src reflect.Value) {
	for i := range dst.NumField() {
		df, sf := dst.Field(i), src.Field(i)
		switch {
		case df.Kind() == reflect.Struct:
			appendLists(df, sf)
		case df.Type() == reflect.TypeFor[[]string]():
			df.Set(reflect.ValueOf(appendNew(slices.Clone(df.Interface().([]string)), sf.Interface().([]string))))
		}
	}
}

// appendNew appends the entries of add that dst lacks.
func appendNew(dst, add []string) []string {
	for _, a := range add {
		if !slices.Contains(dst, a) {
			dst = append(dst, a)
		}
	}
	return dst
}

// cityTopics applies the [topics] tables of a city's lexicon files to
// topics (which it does not modify): a file adds its keywords to the
// topics of the same name in its language, or, with replace = true, gives
// every topic exactly its keywords in that language. A topic a file names
// that is not among topics is an error naming the file.
func cityTopics(topics []Topic, city lexicons, dir string) ([]Topic, error) {
	out := make([]Topic, len(topics))
	names := make([]string, len(topics))
	for i, t := range topics {
		out[i] = Topic{Name: t.Name, Keywords: maps.Clone(t.Keywords)}
		names[i] = strings.TrimSpace(t.Name)
	}
	for _, l := range city.langs() {
		cl := city[l]
		for _, name := range slices.Sorted(maps.Keys(cl.Topics)) {
			if !slices.Contains(names, name) {
				return nil, fmt.Errorf("classifier: lexicon %s: topic %q is not one of the classifier's topics (%s): %w",
					path.Join(dir, l+".toml"), name, strings.Join(names, ", "), citybot.ErrInvalid)
			}
		}
		for i := range out {
			kw := cl.Topics[names[i]]
			if !cl.Replace && len(kw) == 0 {
				continue
			}
			if out[i].Keywords == nil {
				out[i].Keywords = map[string][]string{}
			}
			if cl.Replace {
				out[i].Keywords[l] = slices.Clone(kw)
			} else {
				out[i].Keywords[l] = appendNew(slices.Clone(out[i].Keywords[l]), kw)
			}
		}
	}
	return out, nil
}

// loadLexicons returns the embedded lexicons merged with the city's files
// in opts.LexiconDir, and opts.Topics with the city's topic keywords.
func loadLexicons(opts Options) (lexicons, []Topic, error) {
	ls, err := embeddedLexicons()
	if err != nil || opts.LexiconDir == "" {
		return ls, opts.Topics, err
	}
	city, err := readLexicons(os.DirFS(opts.LexiconDir), ".", opts.LexiconDir)
	if err != nil {
		return nil, nil, err
	}
	topics, err := cityTopics(opts.Topics, city, opts.LexiconDir)
	if err != nil {
		return nil, nil, err
	}
	return mergeLexicons(ls, city), topics, nil
}
