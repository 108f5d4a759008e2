package classifier

import (
	"errors"
	"io/fs"
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
