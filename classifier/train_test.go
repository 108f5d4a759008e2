package classifier

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"strings"
	"testing"

	"citybot"
)

// TestReadModelOldVersion checks that a model file of an older format
// gives an error that says to retrain it.
func TestReadModelOldVersion(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString(modelMagic)
	zw := gzip.NewWriter(&buf)
	if err := gob.NewEncoder(zw).Encode(&modelFile{Version: 1, Name: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := ReadModel(&buf)
	if !errors.Is(err, citybot.ErrInvalid) || !strings.Contains(err.Error(), "version 1") || !strings.Contains(err.Error(), "retrain") {
		t.Fatalf("err = %v, want an ErrInvalid naming version 1 and saying to retrain", err)
	}
}

// TestFeaturizeAnyScript checks that character n-grams are made of runes
// in every script: a four-letter Cyrillic or Arabic word gives as many
// features as a four-letter Latin one.
func TestFeaturizeAnyScript(t *testing.T) {
	count := func(w string) int {
		toks, _ := tokenize(w, nil)
		return len(featurize(toks, nil))
	}
	latin := count("road")
	for _, w := range []string{"дом", "дома", "شارع", "ドア"} {
		want := latin
		if w == "дом" {
			want = count("car")
		}
		if w == "ドア" {
			want = count("ab")
		}
		if got := count(w); got != want {
			t.Errorf("%q: %d features, want %d like a Latin word of as many letters", w, got, want)
		}
	}
}

// TestTrainCyrillic trains on a tiny Cyrillic data set and checks that the
// model tells its topics apart on unseen messages, through a model file.
func TestTrainCyrillic(t *testing.T) {
	var exs []Example
	roads := []string{"яма на дороге", "разбитый асфальт", "дорога в ямах", "глубокая яма", "асфальт провалился"}
	waste := []string{"мусор не вывезли", "переполнен мусорный бак", "контейнер для мусора", "свалка мусора", "мусорка полная"}
	for i := range 30 {
		exs = append(exs, Example{fmt.Sprintf("%s у дома %d", roads[i%5], i), "roads"},
			Example{fmt.Sprintf("%s во дворе %d", waste[i%5], i), "waste"})
	}
	m, err := Train(context.Background(), KindTopic, exs, TrainOptions{Name: "ru"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2, err := ReadModel(&buf)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithModel(Options{DisableNER: true}, m2)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{"огромная яма на дороге у школы": "roads", "мусор опять не вывезли": "waste"} {
		if got := c.Classify(text, "").Topic.Label; got != want {
			t.Errorf("%q: %s, want %s", text, got, want)
		}
	}
}

// TestTrainOneLabelWithKeywords checks that data of a single label (a
// handful of officers' corrections) trains with the topics' keywords as
// the other labels, and fails without them.
func TestTrainOneLabelWithKeywords(t *testing.T) {
	var exs []Example
	for i := range 12 {
		exs = append(exs, Example{fmt.Sprintf("the zorblax in flat %d is broken", i), "housing"})
	}
	m, err := Train(context.Background(), KindTopic, exs, TrainOptions{Topics: DefaultOptions().Topics})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Labels(KindTopic)); n < 2 {
		t.Errorf("%d labels, want the keywords' topics too", n)
	}
	if _, err := Train(context.Background(), KindTopic, exs, TrainOptions{}); !errors.Is(err, citybot.ErrInvalid) {
		t.Errorf("one label, no keywords: err = %v, want ErrInvalid", err)
	}
}

// TestTrainProgress checks that Progress counts up to its total and ends
// there.
func TestTrainProgress(t *testing.T) {
	var exs []Example
	for i := range 300 {
		exs = append(exs, Example{fmt.Sprintf("pothole on the road number %d", i), "roads"},
			Example{fmt.Sprintf("the bins were not collected, week %d", i), "waste"})
	}
	last, lastTotal, calls := -1, 0, 0
	_, err := Train(context.Background(), KindTopic, exs, TrainOptions{Progress: func(done, total int) {
		calls++
		if done < last || done > total || total <= 0 {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last, lastTotal = done, total
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last != lastTotal {
		t.Errorf("%d calls, last %d/%d; want the last to be total", calls, last, lastTotal)
	}
}
