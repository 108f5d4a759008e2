package classifier

import (
	"fmt"
	"strings"

	"github.com/jdkato/prose/v2"
)

// ner runs prose's named-entity recogniser with a model loaded once.
// prose's tagger and extracter only read their model, so one ner is safe
// for concurrent use.
type ner struct {
	model *prose.Model
}

// maxNERBytes bounds the text given to prose in one call.
const maxNERBytes = 1024

func newNER() (n *ner, err error) {
	defer func() {
		// prose panics when its embedded model cannot be read.
		if r := recover(); r != nil {
			n, err = nil, fmt.Errorf("classifier: load prose model: %v", r)
		}
	}()
	doc, err := prose.NewDocument("Load", prose.WithSegmentation(false))
	if err != nil {
		return nil, fmt.Errorf("classifier: load prose model: %w", err)
	}
	return &ner{model: doc.Model}, nil
}

// entity is a prose entity located in the text.
type entity struct {
	label      string
	start, end int
}

// entities runs prose on text[start:end] and returns the PERSON and GPE
// entities with byte offsets in text. It never panics: a panic inside
// prose yields no entities.
func (n *ner) entities(text string, start, end int) (out []entity) {
	defer func() {
		if r := recover(); r != nil {
			out = nil
		}
	}()
	window := text[start:end]
	doc, err := prose.NewDocument(window,
		prose.UsingModel(n.model),
		prose.WithSegmentation(false))
	if err != nil {
		return nil
	}
	cursor := 0
	for _, e := range doc.Entities() {
		if e.Label != "PERSON" && e.Label != "GPE" {
			continue
		}
		parts := strings.Fields(e.Text)
		if len(parts) == 0 {
			continue
		}
		s := strings.Index(window[cursor:], parts[0])
		if s < 0 {
			continue
		}
		s += cursor
		e2 := s + len(parts[0])
		ok := true
		for _, p := range parts[1:] {
			k := strings.Index(window[e2:], p)
			if k < 0 || k > 4 {
				ok = false
				break
			}
			e2 += k + len(p)
		}
		if !ok {
			continue
		}
		cursor = e2
		out = append(out, entity{label: e.Label, start: start + s, end: start + e2})
	}
	return out
}
