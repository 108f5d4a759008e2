package classifier

import (
	"errors"
	"fmt"
	"strings"

	"citybot"
)

// OtherTopic is the topic of a message that fits no other topic, or that the
// classifier cannot read (empty, emoji only, unknown script).
const OtherTopic = "other"

// Default limits.
const (
	// DefaultMaxBytes is how much of a message is read when
	// Options.MaxBytes is zero.
	DefaultMaxBytes = 16 << 10
	// DefaultOtherThreshold is Options.OtherThreshold when it is zero.
	DefaultOtherThreshold = 0.20
	// DefaultKeywordWeight is Options.KeywordWeight when it is zero.
	DefaultKeywordWeight = 3.5
)

// Topic is one of the city's topics with the keywords that point to it, per
// language ("en", "fr", …). Keywords may be phrases ("live wire", "nid de
// poule"); matching ignores case, accents, hyphens and a plural s or x.
type Topic struct {
	Name     string              `toml:"name"`
	Keywords map[string][]string `toml:"keywords"`
}

// PlaceEntry is a place of the city's gazetteer: a street, neighbourhood or
// landmark, with other names it goes by.
type PlaceEntry struct {
	Name    string   `toml:"name"`
	Kind    string   `toml:"kind"` // "street", "neighbourhood", "landmark" or "place"
	Aliases []string `toml:"aliases"`
}

// Options configure a Classifier. The toml tags let cmd/citybot decode the
// [classifier] section of config.toml straight into Options; zero values
// mean the defaults documented on each field. Start from DefaultOptions: a
// decoded topics list replaces the default one.
type Options struct {
	// Model is the path of a model file written by Model.WriteFile
	// (`citybot train`). Empty means the default model shipped in the
	// package.
	Model string `toml:"model"`
	// Topics the classifier may return, with their keywords. "other" is
	// always possible. Empty means the model's own labels.
	Topics []Topic `toml:"topics"`
	// Places is the city's gazetteer.
	Places []PlaceEntry `toml:"places"`
	// MaxBytes bounds how much of a message is read (DefaultMaxBytes
	// when zero). Spans only ever point into that prefix.
	MaxBytes int `toml:"max_bytes"`
	// OtherThreshold: when the best topic's confidence is below it, the
	// topic is "other" (DefaultOtherThreshold when zero).
	OtherThreshold float64 `toml:"other_threshold"`
	// KeywordWeight is the evidence, in log-odds, that one keyword hit
	// adds to its topic (DefaultKeywordWeight when zero).
	KeywordWeight float64 `toml:"keyword_weight"`
	// LexiconDir is a directory of the city's lexicon files, <lang>.toml
	// in the format of the embedded ones (lexicon/en.toml): each adds its
	// words to the embedded file of its language, or replaces it when it
	// says replace = true; a language without an embedded file is added.
	// Its [topics] keywords go to the topics of the same name. Empty: the
	// embedded lexicons only. A relative path is relative to the working
	// directory.
	LexiconDir string `toml:"lexicon_dir"`
	// DisableNER turns off prose's named-entity recogniser: person names
	// then come from cues only ("Mr", "Mme", "my name is").
	DisableNER bool `toml:"disable_ner"`
}

// Validate reports every problem with o, joined, each wrapping
// citybot.ErrInvalid.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("classifier: options: "+format+": %w", append(a, citybot.ErrInvalid)...))
	}
	if o.MaxBytes < 0 {
		bad("max_bytes %d is negative", o.MaxBytes)
	}
	if o.OtherThreshold < 0 || o.OtherThreshold >= 1 {
		bad("other_threshold %v is not in [0,1)", o.OtherThreshold)
	}
	if o.KeywordWeight < 0 {
		bad("keyword_weight %v is negative", o.KeywordWeight)
	}
	seen := map[string]bool{}
	for i, t := range o.Topics {
		name := strings.TrimSpace(t.Name)
		switch {
		case name == "":
			bad("topic %d has no name", i+1)
		case seen[name]:
			bad("topic %q is listed twice", name)
		}
		seen[name] = true
	}
	for i, p := range o.Places {
		if strings.TrimSpace(p.Name) == "" {
			bad("place %d has no name", i+1)
		}
		switch p.Kind {
		case "", "street", "neighbourhood", "landmark", "place":
		default:
			bad("place %q has unknown kind %q (street, neighbourhood, landmark or place)", p.Name, p.Kind)
		}
	}
	return errors.Join(errs...)
}

func (o Options) maxBytes() int {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o Options) otherThreshold() float64 {
	if o.OtherThreshold <= 0 {
		return DefaultOtherThreshold
	}
	return o.OtherThreshold
}

func (o Options) keywordWeight() float64 {
	if o.KeywordWeight <= 0 {
		return DefaultKeywordWeight
	}
	return o.KeywordWeight
}

// DefaultTopicNames lists the default topics in a stable order.
func DefaultTopicNames() []string {
	ts := defaultTopics()
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	return names
}

// DefaultOptions returns the default topics with their English and French
// keywords, no gazetteer, and the shipped model. Each call returns fresh
// slices and maps the caller owns.
func DefaultOptions() Options {
	return Options{Topics: defaultTopics()}
}

// defaultTopics returns the default topics with the keywords of the
// embedded lexicons. The embedded files are checked by the tests
// (TestEmbeddedLexicons), so an error here is a build defect.
func defaultTopics() []Topic {
	ls, err := embeddedLexicons()
	if err != nil {
		panic(err)
	}
	return topicsFrom(ls)
}
