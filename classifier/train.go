package classifier

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"citybot"
)

// Example is one labelled message for training or evaluation.
type Example struct {
	Text  string
	Label string
}

// TrainOptions tune Train. The zero value trains with the defaults.
type TrainOptions struct {
	// Name is the model's name ("custom" when empty); Classification.Model
	// reports it.
	Name string
	// Epochs over the data (default 12).
	Epochs int
	// Seed makes the example order, and so the model, reproducible.
	Seed uint64
	// MinCount drops features seen in fewer training messages (default
	// 2), which keeps model files small.
	MinCount int
	// Topics: for a topic model, each keyword of each topic is added as
	// a short training example of that topic, so topics without data
	// are learnt from their keywords.
	Topics []Topic
	// Balance weighs each label's examples by (N / (labels × n_label))^½,
	// which raises rare labels' recall (macro-F1). Default true; set
	// NoBalance to turn it off.
	NoBalance bool
	// LearningRate is SGD's initial step (default 4 for topics, 1 for
	// urgency; features have unit norm).
	LearningRate float64
	// Trust scales the head's log-probabilities against keyword evidence
	// when classifying, in (0,1] (default 1). A model trained on data
	// unlike the city's messages deserves less: the shipped model uses
	// 0.4.
	Trust float64
	// Progress, when not nil, is called from Train's goroutine with the
	// examples processed so far and the total (epochs × examples).
	Progress func(done, total int)
}

// SGD settings, chosen by cross-validation (cv_test.go).
const (
	lr0Default = 4.0 // initial learning rate; features have unit norm
	lr0Urgency = 1.0
	balPow     = 0.5 // label balancing exponent
)

// keywordRepeats is how many times each keyword is seen as an example.
const keywordRepeats = 3

// UrgencyLabels are the valid urgency labels, most urgent first.
func UrgencyLabels() []string {
	return []string{string(citybot.UrgencyCritical), string(citybot.UrgencyHigh), string(citybot.UrgencyNormal), string(citybot.UrgencyLow)}
}

type trainDoc struct {
	rows  []int32
	vals  []float32
	label int
	w     float32
}

// Train fits a model head of the given kind to examples held in memory
// and returns a Model holding only that head (combine it with another
// model with WithFallback). Examples with an empty label are skipped, and
// for KindUrgency so are labels that are not an urgency level. It returns
// an error wrapping citybot.ErrInvalid when fewer than two labels remain,
// and ctx.Err() when ctx is cancelled. It blocks until done; it uses one
// goroutine.
func Train(ctx context.Context, kind LabelKind, examples []Example, opts TrainOptions) (*Model, error) {
	if kind != KindTopic && kind != KindUrgency {
		return nil, fmt.Errorf("classifier: train: unknown label kind %q: %w", kind, citybot.ErrInvalid)
	}
	epochs := opts.Epochs
	if epochs <= 0 {
		epochs = 12
	}
	lr0 := opts.LearningRate
	if lr0 <= 0 {
		lr0 = lr0Default
		if kind == KindUrgency {
			lr0 = lr0Urgency
		}
	}
	minCount := opts.MinCount
	if minCount <= 0 {
		minCount = 2
	}
	valid := func(string) bool { return true }
	if kind == KindUrgency {
		valid = func(l string) bool { return slices.Contains(UrgencyLabels(), l) }
	}
	// Collect the examples, keyword examples first.
	var exs []Example
	if kind == KindTopic {
		for _, t := range opts.Topics {
			for _, lang := range sortedKeys(t.Keywords) {
				for _, k := range t.Keywords[lang] {
					for range keywordRepeats {
						exs = append(exs, Example{Text: k, Label: t.Name})
					}
				}
			}
		}
	}
	for _, e := range examples {
		l := strings.TrimSpace(e.Label)
		if l == "" || !valid(l) {
			continue
		}
		exs = append(exs, Example{Text: e.Text, Label: l})
	}
	var labels []string
	labelIdx := map[string]int{}
	counts := map[string]int{}
	for _, e := range exs {
		counts[e.Label]++
	}
	for l := range counts {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	if kind == KindUrgency {
		labels = slices.DeleteFunc(UrgencyLabels(), func(l string) bool { return counts[l] == 0 })
	}
	if len(labels) < 2 {
		return nil, fmt.Errorf("classifier: train %s: need at least two labels, have %d: %w", kind, len(labels), citybot.ErrInvalid)
	}
	for i, l := range labels {
		labelIdx[l] = i
	}
	L := len(labels)

	// Featurize once; count in how many messages each feature occurs.
	df := map[uint64]int32{}
	hashed := make([][]feat, len(exs))
	var toks []token
	var fs []feat
	for i, e := range exs {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		toks, _ = tokenize(prefix(e.Text, DefaultMaxBytes), toks[:0])
		fs = featurize(toks, fs)
		hashed[i] = slices.Clone(fs)
		seen := map[uint64]bool{}
		for _, f := range fs {
			if !seen[f.h] {
				seen[f.h] = true
				df[f.h]++
			}
		}
	}
	index := map[uint64]int32{}
	keys := make([]uint64, 0, len(df))
	for h, c := range df {
		if int(c) >= minCount {
			keys = append(keys, h)
		}
	}
	slices.Sort(keys) // deterministic rows
	for i, h := range keys {
		index[h] = int32(i)
	}
	docs := make([]trainDoc, len(exs))
	N := float64(len(exs))
	for i, e := range exs {
		d := trainDoc{label: labelIdx[e.Label], w: 1}
		if !opts.NoBalance {
			d.w = float32(math.Pow(N/(float64(L)*float64(counts[e.Label])), balPow))
		}
		for _, f := range hashed[i] {
			if r, ok := index[f.h]; ok {
				d.rows = append(d.rows, r)
				d.vals = append(d.vals, f.v)
			}
		}
		docs[i] = d
		hashed[i] = nil
	}

	R := len(keys)
	w := make([]float32, R*L)
	u := make([]float32, R*L) // averaging accumulators
	b := make([]float64, L)
	ub := make([]float64, L)
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0x63697479626f74))
	p := make([]float64, L)
	c := float32(1)
	total := epochs * len(docs)
	done := 0
	for ep := range epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		lr := lr0 / (1 + 0.3*float64(ep))
		for _, di := range order {
			if done%1024 == 0 {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if opts.Progress != nil {
					opts.Progress(done, total)
				}
			}
			done++
			d := &docs[di]
			// forward
			copy(p, b)
			for j, r := range d.rows {
				v := float64(d.vals[j])
				row := w[int(r)*L : int(r)*L+L]
				for k := range L {
					p[k] += v * float64(row[k])
				}
			}
			softmax(p)
			// gradient step
			for k := range L {
				g := p[k]
				if k == d.label {
					g -= 1
				}
				p[k] = g * lr * float64(d.w)
			}
			for k := range L {
				b[k] -= p[k]
				ub[k] -= float64(c) * p[k]
			}
			for j, r := range d.rows {
				v := float64(d.vals[j])
				row := w[int(r)*L : int(r)*L+L]
				urow := u[int(r)*L : int(r)*L+L]
				for k := range L {
					step := float32(p[k] * v)
					row[k] -= step
					urow[k] -= c * step
				}
			}
			c++
		}
	}
	if opts.Progress != nil {
		opts.Progress(total, total)
	}
	// averaged weights: w - u/c
	for i := range w {
		w[i] -= u[i] / c
	}
	bias := make([]float32, L)
	for k := range L {
		bias[k] = float32(b[k] - ub[k]/float64(c))
	}
	name := opts.Name
	if name == "" {
		name = "custom"
	}
	trust := opts.Trust
	if trust <= 0 || trust > 1 {
		trust = 1
	}
	h := &head{labels: labels, index: newFeatTable(keys), weights: w, bias: bias, trained: len(examples), trust: trust}
	m := &Model{name: name}
	if kind == KindTopic {
		m.topic = h
	} else {
		m.urgency = h
	}
	return m, nil
}

// softmax turns scores into probabilities in place.
func softmax(z []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, v)
	}
	var s float64
	for i, v := range z {
		z[i] = math.Exp(v - mx)
		s += z[i]
	}
	for i := range z {
		z[i] /= s
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
