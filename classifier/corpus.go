package classifier

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
)

// The city corpus: messages written by the project (never copied from real
// ones) about a city's everyday topics, in English, French, Spanish,
// Portuguese, Arabic and Swahili, each labelled with a default topic. The
// shipped topic head learns from them beside disaster_en.csv, so that it
// knows potholes, missed bins and street lights from data and not only
// from keywords (README "The shipped model"). Console retraining adds them
// to the shipped data too.
//
//go:embed corpus/topic_city_*.tsv
var cityCorpusFS embed.FS

var cityCorpus = sync.OnceValues(func() ([]Example, error) {
	return readCityCorpus(cityCorpusFS)
})

// CityTopicExamples returns the city corpus as topic examples (text,
// topic), in a fixed order. The caller owns the slice.
func CityTopicExamples() ([]Example, error) {
	exs, err := cityCorpus()
	return slices.Clone(exs), err
}

// readCityCorpus parses every corpus/*.tsv file of fsys: comment lines
// start with "#"; every other line is topic, language and text separated
// by tabs. A topic must be a default topic and the text not empty.
func readCityCorpus(fsys fs.FS) ([]Example, error) {
	names, err := fs.Glob(fsys, "corpus/*.tsv")
	if err != nil {
		return nil, fmt.Errorf("classifier: city corpus: %w", err)
	}
	topics := map[string]bool{}
	for _, t := range defaultTopics() {
		topics[t.Name] = true
	}
	topics[OtherTopic] = true
	var out []Example
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("classifier: city corpus: %w", err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			f := strings.Split(line, "\t")
			if len(f) != 3 || strings.TrimSpace(f[2]) == "" || !topics[f[0]] || len(f[1]) != 2 {
				return nil, fmt.Errorf("classifier: city corpus %s line %d: want a default topic, a two-letter language and a text, tab-separated", name, i+1)
			}
			out = append(out, Example{Text: f[2], Label: f[0]})
		}
	}
	return out, nil
}
