package classifier

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"citybot"
)

// lexiconKeys lists every key a complete lexicon file has, as section.key
// ("urgency.critical"), from the toml tags of lexicon (the file format).
func lexiconKeys() [][]string {
	var keys [][]string
	lt := reflect.TypeFor[lexicon]()
	for i := range lt.NumField() {
		f := lt.Field(i)
		sec := f.Tag.Get("toml")
		switch {
		case sec == "replace":
			continue // city files only
		case f.Type.Kind() == reflect.Struct:
			for j := range f.Type.NumField() {
				keys = append(keys, []string{sec, f.Type.Field(j).Tag.Get("toml")})
			}
		default:
			keys = append(keys, []string{sec})
		}
	}
	return keys
}

// TestEmbeddedLexicons checks that every embedded lexicon file parses
// strictly, has every section and list (none empty), names only default
// topics and lists keywords for each of them, and that no two languages'
// files differ in shape.
func TestEmbeddedLexicons(t *testing.T) {
	names, err := fs.Glob(lexiconFS, "lexicon/*.toml")
	if err != nil || len(names) < 2 {
		t.Fatalf("embedded lexicons %v, %v", names, err)
	}
	topics := defaultTopicNames()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if langOfFile(strings.TrimPrefix(name, "lexicon/")) == "" {
				t.Fatalf("%s is not named after a language code", name)
			}
			data, err := fs.ReadFile(lexiconFS, name)
			if err != nil {
				t.Fatal(err)
			}
			lx, md, err := parseLexicon(name, data)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range lexiconKeys() {
				if !md.IsDefined(k...) {
					t.Errorf("%s lacks %s", name, strings.Join(k, "."))
				}
			}
			v := reflect.ValueOf(*lx)
			for i := range v.NumField() {
				f := v.Field(i)
				if f.Kind() != reflect.Struct {
					continue
				}
				for j := range f.NumField() {
					if f.Field(j).Len() == 0 {
						t.Errorf("%s: %s.%s is empty", name, v.Type().Field(i).Tag.Get("toml"), f.Type().Field(j).Tag.Get("toml"))
					}
				}
			}
			for topic, kw := range lx.Topics {
				if !slices.Contains(topics, topic) || topic == OtherTopic {
					t.Errorf("%s: topic %q is not a default topic", name, topic)
				}
				for _, k := range kw {
					if len(phraseStems(k)) == 0 {
						t.Errorf("%s: topic %s: keyword %q has no word", name, topic, k)
					}
				}
			}
			for _, topic := range topics {
				if topic != OtherTopic && len(lx.Topics[topic]) == 0 {
					t.Errorf("%s: no keywords for topic %s", name, topic)
				}
			}
			for _, n := range lx.Urgency.Negations {
				if len(phraseStems(n)) != 1 {
					t.Errorf("%s: negation %q is not one word", name, n)
				}
			}
			if lx.Replace {
				t.Errorf("%s: replace is for a city's files", name)
			}
		})
	}
}

// TestLexiconStrict checks that an unknown key is an error naming the
// file and the key, and that a bad file name is refused.
func TestLexiconStrict(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"[urgency]\ncritcal = [\"fire\"]\n", "urgency.critcal"},
		{"colour = 1\n", "colour"},
		{"[topics]\nroads = \"pothole\"\n", "roads"},
		{"[urgency\n", "es.toml"},
	} {
		_, _, err := parseLexicon("lexicons/es.toml", []byte(tc.data))
		if !errors.Is(err, citybot.ErrInvalid) || !strings.Contains(err.Error(), "lexicons/es.toml") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse %q: %v, want ErrInvalid naming the file and %q", tc.data, err, tc.want)
		}
	}
	for name, want := range map[string]string{"en.toml": "en", "swa.toml": "swa", "EN.toml": "", "en-GB.toml": "", "e.toml": "", "fr.txt": "", "english.toml": ""} {
		if got := langOfFile(name); got != want {
			t.Errorf("langOfFile(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestLexiconDir checks a city's lexicon files: one adds to an embedded
// language, one brings a new language, one replaces an embedded
// language; an unknown key or topic is an error naming the file.
func TestLexiconDir(t *testing.T) {
	write := func(t *testing.T, dir string, files map[string]string) {
		t.Helper()
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"en.toml": "[topics]\nroads = [\"tarmac\"]\n[urgency]\ncritical = [\"volcano\"]\n[sensitive]\nphrases = [\"sweetener\"]\n",
		"es.toml": "[topics]\nroads = [\"bache\"]\n[urgency]\ncritical = [\"incendio\"]\n[intent]\nthanks = [\"gracias\"]\n",
		"fr.toml": "replace = true\n[urgency]\ncritical = [\"feu\"]\n",
		"README":  "not a lexicon",
	})
	o := DefaultOptions()
	o.LexiconDir = dir
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text  string
		check func(citybot.Classification) bool
	}{
		{"A volcano is erupting behind the school", func(r citybot.Classification) bool { return slices.Contains(r.UrgencyCues, "volcano") }},
		{"Gas leak in the basement", func(r citybot.Classification) bool { return r.Urgency == citybot.UrgencyCritical }},
		{"He asked for a sweetener", func(r citybot.Classification) bool { return r.Sensitive }},
		{"the tarmac is gone", func(r citybot.Classification) bool { return r.Topic.Label == "roads" }},
		{"hay un bache enorme en la calle", func(r citybot.Classification) bool { return r.Topic.Label == "roads" }},
		{"incendio en la casa", func(r citybot.Classification) bool { return r.Urgency == citybot.UrgencyCritical }},
		{"gracias", func(r citybot.Classification) bool { return r.Intent == citybot.IntentThanks }},
		{"odeur de gaz dans la cave", func(r citybot.Classification) bool { return !slices.Contains(r.UrgencyCues, "odeur de gaz") }},
		{"merci beaucoup", func(r citybot.Classification) bool { return r.Intent == citybot.IntentReport }},
		{"un pot-de-vin au guichet", func(r citybot.Classification) bool { return !slices.Contains(r.SensitiveCues, "pot de vin") }},
	} {
		if r := c.Classify(tc.text, ""); !tc.check(r) {
			t.Errorf("%q: %+v", tc.text, r)
		}
	}
	// The embedded classifier is unchanged by another's directory.
	if r := newDefault(t).Classify("A volcano is erupting behind the school", ""); slices.Contains(r.UrgencyCues, "volcano") {
		t.Error("a city's lexicon leaked into the default classifier")
	}
	if got := o.Topics[0].Keywords["en"]; slices.Contains(got, "tarmac") {
		t.Error("New modified the caller's topics")
	}

	for name, tc := range map[string]struct{ file, body, want string }{
		"unknown key":   {"de.toml", "[urgency]\ncritcal = [\"x\"]\n", "de.toml: unknown key urgency.critcal"},
		"unknown topic": {"it.toml", "[topics]\npotholes = [\"buca\"]\n", `it.toml: topic "potholes"`},
		"bad name":      {"italian.toml", "", "italian.toml"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{tc.file: tc.body})
			o := DefaultOptions()
			o.LexiconDir = dir
			_, err := New(o)
			if !errors.Is(err, citybot.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
	o = DefaultOptions()
	o.LexiconDir = filepath.Join(t.TempDir(), "missing")
	if _, err := New(o); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v, want fs.ErrNotExist", err)
	}
}
