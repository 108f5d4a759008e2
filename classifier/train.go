package classifier

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
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
	// Epochs bounds the solver's iterations (each is at least one pass
	// over the data); 0 means until converged, at most maxIterDefault.
	Epochs int
	// Seed is kept for compatibility: the solver is deterministic, the
	// same data gives the same model whatever the seed.
	Seed uint64
	// MinCount drops features seen in fewer training messages (default
	// 1 for words and word pairs; character n-grams need at least
	// minCharCount), which keeps model files small.
	MinCount int
	// Topics: for a topic model, the keywords of each topic without
	// data would be short training examples of it, weighted
	// keywordWeight, which is 0: such a topic is left to the keywords
	// at run time (Options.Topics), see keywordWeight.
	Topics []Topic
	// LexiconDir is the city's lexicon directory (Options.LexiconDir):
	// its [topics] keywords join Topics' (as New merges them) when
	// Train counts the keywords of topics without data in the training
	// messages (Model.KeywordSeen). Empty: Topics' keywords and the
	// embedded lexicons only.
	LexiconDir string
	// Balance weighs each label's examples by (N / (labels × n_label))^p,
	// which raises rare labels' recall (macro-F1). Default true; set
	// NoBalance to turn it off.
	NoBalance bool
	// LearningRate is ignored (the solver needs none); kept for
	// compatibility.
	LearningRate float64
	// C is the inverse L2 regularisation strength, as scikit-learn's
	// LogisticRegression has it (loss summed over examples + ½‖w‖²/C).
	// 0 means cDefault, chosen by 5-fold cross-validation on the
	// development data (cv_test.go; flat between 3 and 30). For the
	// topic head's SVM it is the SVM's C, as LinearSVC has it (0 means
	// svmCDefault).
	C float64
	// LogReg fits a topic head by logistic regression (L-BFGS), as
	// before the SVM (topic_fit.go); the other heads always are.
	LogReg bool
	// NoCalibrate turns off temperature scaling of the probabilities
	// (fitted on a held-out fifth when there are at least selectMin
	// examples; the final model is then trained on all of them).
	NoCalibrate bool
	// NoSearch: the topic head's SVM does not choose C and the NB
	// scaling by inner cross-validation (45 fits); it uses C (0:
	// svmCDefault) without scaling, as above svmInnerMax examples.
	// Several times faster for a slightly weaker head (retraining on a
	// small machine, tests).
	NoSearch bool
	// Trust scales the head's log-probabilities against keyword evidence
	// when classifying, in (0,1] (default 1). A model trained on data
	// unlike the city's messages deserves less: the shipped model uses
	// 0.4.
	Trust float64
	// UnknownTrust, in (0,1], weighs the topic head's prior against a
	// topic it has no data for (its keywords must carry it) instead of
	// Trust. The shipped head learns every default topic but corruption
	// from data, and leaves corruption to its keywords and the sensitive
	// flag: DefaultUnknownTrust. Zero means Trust: a city's own head
	// was not given the topics it has no messages of for a reason.
	UnknownTrust float64
	// Aux are topic examples of another kind of message than the data
	// (the city corpus, CityTopicExamples, for `citybot train` on a
	// city's own messages) that the SVM topic head also learns from, by
	// feature augmentation (Daumé 2007): every feature has a shared
	// weight, learnt from both, and a weight of the data's own and one
	// of Aux's own, each learnt from its examples alone; the head keeps
	// the shared weight plus the data's. So the data decides where the
	// two kinds of message disagree, and Aux teaches the words the data
	// lacks. Only examples of labels the data has are used (a topic the
	// city does not label is not learnt from Aux), each kind
	// class-balanced on its own; they are never held out, and C is
	// chosen by the data's inner folds alone. Ignored above
	// AuxMax data examples (a city with that many messages of its own
	// gains little, and training stays within a minute), for other
	// kinds and with LogReg.
	Aux []Example
	// Progress, when not nil, is called from Train's goroutine with the
	// solver iterations done so far and their upper bound (the solver
	// usually stops earlier, converged; the last call has done = total).
	Progress func(done, total int)
}

// Solver settings, chosen by cross-validation (cv_test.go).
const (
	cDefault       = 10.0 // inverse regularisation when not chosen
	maxIterDefault = 150
	balPow         = 1.0 // label balancing exponent (scikit-learn's "balanced")
	// selectMin is the fewest examples for which Train holds a fifth out
	// to fit the temperature; below it the held-out part is too small.
	selectMin = 200
	// selectMax: with more examples, the model fitted on four fifths
	// (for the temperature) is the model, not refitted on all: a fifth
	// more data changes little there, and training stays within a
	// minute for 40,000 messages; the solver also stops earlier
	// (maxIterLarge).
	selectMax    = 20000
	maxIterLarge = 40
)

// minCharCount is the fewest training messages a character n-gram must
// occur in to be a feature.
const minCharCount = 2

// keywordRepeats is how many times each keyword is seen as an example.
const keywordRepeats = 3

// keywordWeight is the weight of a keyword example in the loss (a data
// example of an average label weighs 1). 0, the default: keywords are no
// training examples. A topic without data is then not a label of the
// head, and Classify scores it from its keywords alone
// (unknownTopicPrior): trained as short examples, such a topic learns
// only that it occurs in three-word messages, and the head then gives it
// almost no probability in a real message, which keywords cannot
// overcome (measured on the golden set and by cross-validation).
var keywordWeight = 0.0

// UrgencyLabels are the valid urgency labels, most urgent first.
func UrgencyLabels() []string {
	return []string{string(citybot.UrgencyCritical), string(citybot.UrgencyHigh), string(citybot.UrgencyNormal), string(citybot.UrgencyLow)}
}

// trainDoc is one vectorised training example.
type trainDoc struct {
	rows  []int32
	vals  []float32 // TF-IDF, each group scaled to unit norm
	label int
	w     float64 // class-balancing weight
}

// Train fits a model head of the given kind to examples held in memory
// and returns a Model holding only that head (combine it with another
// model with WithFallback). Examples with an empty label are skipped, and
// for KindUrgency so are labels that are not an urgency level. It returns
// an error wrapping citybot.ErrInvalid when fewer than two labels remain,
// and ctx.Err() when ctx is cancelled. It blocks until done; it uses one
// goroutine.
//
// The head is a multinomial logistic regression over TF-IDF features
// (sublinear term frequency, smoothed idf, words and word pairs scaled
// apart from character n-grams), fitted exactly with L-BFGS under an L2
// penalty. Its probabilities are temperature-scaled on a held-out part.
func Train(ctx context.Context, kind LabelKind, examples []Example, opts TrainOptions) (*Model, error) {
	if kind != KindTopic && kind != KindUrgency && kind != KindRequest && kind != KindLifeThreat {
		return nil, fmt.Errorf("classifier: train: unknown label kind %q: %w", kind, citybot.ErrInvalid)
	}
	minCount := max(opts.MinCount, 1)
	maxIter := opts.Epochs
	if maxIter <= 0 {
		maxIter = maxIterDefault
		if len(examples) > selectMax {
			maxIter = maxIterLarge
		}
	}
	valid := func(string) bool { return true }
	switch kind {
	case KindUrgency:
		valid = func(l string) bool { return slices.Contains(UrgencyLabels(), l) }
	case KindRequest, KindLifeThreat:
		valid = func(l string) bool { return l == "0" || l == "1" }
	}
	// Collect the examples, keyword examples first; keyword examples
	// are never held out.
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
	var data []Example
	hasData := map[string]bool{}
	for _, e := range examples {
		l := strings.TrimSpace(e.Label)
		if l == "" || !valid(l) {
			continue
		}
		data = append(data, Example{Text: e.Text, Label: l})
		hasData[l] = true
	}
	// A topic's keywords are examples only when it has no data: the data
	// teaches better which words point to a topic, and Classify adds
	// keyword evidence at run time anyway.
	kwWeight := keywordWeight
	if len(hasData) < 2 {
		// Data of one label (a handful of officers' corrections) says
		// nothing against other labels: the keywords must.
		kwWeight = 1
	}
	exs = slices.DeleteFunc(exs, func(e Example) bool { return hasData[e.Label] || kwWeight == 0 })
	nKeyword := len(exs)
	var aux []Example
	if kind == KindTopic && !opts.LogReg {
		aux = AuxFor(data, opts.Aux)
	}
	nAux := len(aux)
	exs = append(exs, aux...)
	exs = append(exs, data...)
	counts := map[string]int{}
	for _, e := range exs {
		counts[e.Label]++
	}
	labels := sortedKeys(counts)
	if kind == KindUrgency {
		labels = slices.DeleteFunc(UrgencyLabels(), func(l string) bool { return counts[l] == 0 })
	}
	if len(labels) < 2 {
		return nil, fmt.Errorf("classifier: train %s: need at least two labels, have %d: %w", kind, len(labels), citybot.ErrInvalid)
	}
	labelIdx := map[string]int{}
	for i, l := range labels {
		labelIdx[l] = i
	}
	L := len(labels)

	// Featurize once.
	hashed := make([][]feat, len(exs))
	ys := make([]int, len(exs))
	var toks []token
	var fs []feat
	var ms []match
	ls, err := embeddedLexicons()
	if err != nil {
		return nil, err
	}
	cs := newCueSet(ls)
	for i, e := range exs {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		text := prefix(e.Text, DefaultMaxBytes)
		toks, _ = tokenize(text, toks[:0])
		fs = featurize(toks, fs)
		if kind != KindTopic { // signals are urgency evidence only
			sig := scanSignals(cs, text, toks, ms[:0])
			fs = appendSignals(fs, &sig)
		}
		hashed[i] = slices.Clone(fs)
		ys[i] = labelIdx[e.Label]
	}
	// Class balance over the data examples; keyword examples weigh
	// keywordWeight each, whatever their label.
	balance := func(idx []int) []float64 {
		n := map[int]int{}
		na := map[int]int{}
		nd, nda := 0, 0
		for _, i := range idx {
			if i >= nKeyword+nAux {
				n[ys[i]]++
				nd++
			} else if i >= nKeyword {
				na[ys[i]]++
				nda++
			}
		}
		w := make([]float64, len(idx))
		for j, i := range idx {
			switch {
			case i < nKeyword:
				w[j] = kwWeight
			case opts.NoBalance:
				w[j] = 1
			case i < nKeyword+nAux:
				w[j] = auxWeight * math.Pow(float64(nda)/(float64(len(na))*float64(na[ys[i]])), balPow)
			default:
				w[j] = math.Pow(float64(nd)/(float64(len(n))*float64(n[ys[i]])), balPow)
			}
		}
		return w
	}
	dataCounts := make([]int, L)
	for i := nKeyword + nAux; i < len(exs); i++ {
		dataCounts[ys[i]]++
	}
	all := make([]int, len(exs))
	for i := range all {
		all[i] = i
	}
	// Progress counts solver iterations against their upper bound: one
	// or two fits of at most maxIter each.
	nData := len(exs) - nKeyword - nAux
	calibrate := nData >= selectMin && !opts.NoCalibrate
	fits := 1
	if calibrate && nData <= selectMax {
		fits = 2
	}
	total, offset := fits*maxIter, 0
	progress := func(done int) {
		if opts.Progress != nil {
			opts.Progress(min(offset+done, total), total)
		}
	}

	// One vocabulary (and idf) for all the examples: the held-out part
	// below lends its words, never its labels.
	v := newVectorizer(hashed, all, minCount)
	docs := v.docs(hashed, all, ys, balance(all))
	for i := range hashed {
		hashed[i] = nil
	}
	R := len(v.keys)

	// Choose C and the temperature on a held-out fifth (by a hash of the
	// text, keywords always in training), when there is enough data;
	// the final fit starts from the chosen solution.
	C := opts.C
	if C <= 0 {
		C = cDefault
	}
	temp := 1.0
	var theta0 []float64
	svm := kind == KindTopic && !opts.LogReg
	var chosen svmSetting
	if svm {
		var err error
		fitDocs, fitR := docs, R
		if nAux > 0 {
			fitDocs, fitR = augment(docs, nKeyword, nAux, R), 3*R
		}
		theta0, temp, chosen, err = fitTopicSVM(ctx, exs, nKeyword+nAux, fitDocs, balance, fitR, L, opts, calibrate, nAux > 0, func(done, of int) { progress(done * total / max(of, 1)) })
		if err != nil {
			return nil, err
		}
		if nAux > 0 {
			theta0 = collapse(theta0, R, L)
		}
	}
	if calibrate && !svm {
		var tr, ho []int
		for i, e := range exs {
			if i >= nKeyword && heldOut(e.Text) {
				ho = append(ho, i)
			} else {
				tr = append(tr, i)
			}
		}
		grid := []float64{C}
		trDocs := make([]trainDoc, len(tr))
		for j, i := range tr {
			trDocs[j] = docs[i]
		}
		for j, w := range balance(tr) {
			trDocs[j].w = w
		}
		gold := make([]string, len(ho))
		for j, i := range ho {
			gold[j] = labels[ys[i]]
		}
		var theta []float64
		bestF1 := -1.0
		var bestLogits [][]float64
		for _, c := range grid { // warm start from the previous C
			var err error
			theta, err = fitLogReg(ctx, trDocs, R, L, c, maxIter, theta, progress)
			if err != nil {
				return nil, err
			}
			logits := make([][]float64, len(ho))
			pred := make([]string, len(ho))
			for j, i := range ho {
				logits[j] = docLogits(theta, &docs[i], L)
				pred[j] = labels[argmaxF(logits[j])]
			}
			if f1 := Evaluate(gold, pred, nil).MacroF1; f1 > bestF1+1e-9 {
				bestF1, C, bestLogits = f1, c, logits
				theta0 = slices.Clone(theta)
			}
		}
		if !opts.NoCalibrate {
			hoLabels := make([]int, len(ho))
			for j, i := range ho {
				hoLabels[j] = ys[i]
			}
			temp = fitTemperature(bestLogits, hoLabels)
		}
		offset = maxIter
	}
	theta := theta0
	if !svm && (theta == nil || nData <= selectMax) {
		var err error
		if theta, err = fitLogReg(ctx, docs, R, L, C, maxIter, theta0, progress); err != nil {
			return nil, err
		}
	}
	if opts.Progress != nil {
		opts.Progress(total, total)
	}
	w := make([]float32, R*L)
	for i := range w {
		w[i] = float32(theta[i] / temp)
	}
	bias := make([]float32, L)
	for k := range L {
		bias[k] = float32(theta[R*L+k] / temp)
	}
	name := opts.Name
	if name == "" {
		name = "custom"
	}
	trust := opts.Trust
	if trust <= 0 || trust > 1 {
		trust = 1
	}
	unknown := opts.UnknownTrust
	if unknown < 0 || unknown > 1 {
		unknown = 0
	}
	h := &head{labels: labels, index: newFeatTable(v.keys), idf: v.idf, weights: w, bias: bias, trained: len(examples), trust: trust, unknown: unknown, counts: dataCounts, svm: chosen}
	if kind == KindTopic && unknown == 0 && len(opts.Topics) > 0 {
		isLabel := map[string]bool{}
		for _, l := range labels {
			isLabel[l] = true
		}
		if h.kwSeen, err = keywordSeen(ctx, Options{Topics: opts.Topics, LexiconDir: opts.LexiconDir}, data, isLabel); err != nil {
			return nil, err
		}
	}
	m := &Model{name: name}
	switch kind {
	case KindTopic:
		m.topic = h
	case KindUrgency:
		m.urgency = h
	case KindRequest:
		m.request = h
	case KindLifeThreat:
		m.lifeThreat = h
	}
	return m, nil
}

// keywordSeen counts, per topic of opts.Topics the head has no label for
// (not in hasLabel: no data, nor keyword examples), the data messages its
// keywords are found in (as Classify finds them, with the keywords of
// opts.LexiconDir too, in the languages a message is read in); topics
// found in none are left out.
func keywordSeen(ctx context.Context, opts Options, data []Example, hasLabel map[string]bool) (map[string]int, error) {
	ls, topics, err := loadLexicons(opts)
	if err != nil {
		return nil, err
	}
	lang, err := newLangDetector(ls)
	if err != nil {
		return nil, err
	}
	var labels []string
	for _, t := range topics {
		if l := strings.TrimSpace(t.Name); !hasLabel[l] && !slices.Contains(labels, l) {
			labels = append(labels, l)
		}
	}
	if len(labels) == 0 {
		return nil, nil
	}
	kw := newTopicKeywords(lang.langs, labels, topics)
	hits := make([]int, len(labels))
	var toks []token
	var ms []match
	seen := map[string]int{}
	for i, e := range data {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		text := prefix(e.Text, DefaultMaxBytes)
		toks, _ = tokenize(text, toks[:0])
		_, read := lang.detectVotes(text, toks, "")
		ms = kw.find(toks, read, ms[:0])
		kw.hits(ms, read, hits)
		for j, n := range hits {
			if n > 0 {
				seen[labels[j]]++
			}
		}
	}
	if len(seen) == 0 {
		return nil, nil
	}
	return seen, nil
}

// AuxFor returns the examples of aux that Train learns from beside data
// (TrainOptions.Aux): those of a label some data example has (labels
// trimmed), none when data has more than AuxMax labelled examples.
func AuxFor(data, aux []Example) []Example {
	has := map[string]bool{}
	n := 0
	for _, e := range data {
		if l := strings.TrimSpace(e.Label); l != "" {
			has[l] = true
			n++
		}
	}
	if n > AuxMax {
		return nil
	}
	var out []Example
	for _, e := range aux {
		if l := strings.TrimSpace(e.Label); has[l] {
			out = append(out, Example{Text: e.Text, Label: l})
		}
	}
	return out
}

// AuxMax is the most data examples with which Train learns from
// TrainOptions.Aux: those with which the topic SVM still chooses its C by
// inner cross-validation.
const AuxMax = svmInnerMax

// auxWeight weighs the Aux examples against the data's: each kind is
// class-balanced on its own, so Aux's examples weigh as much in all as
// the data's when there are as many.
const auxWeight = 1.0

// augment returns docs with their features in three copies of R rows
// each (Daumé's feature augmentation): every example reaches the shared
// rows (0 to R−1); the data's examples (and keyword ones) also reach the
// next R, and the Aux examples (nKeyword to nKeyword+nAux−1) the last R.
func augment(docs []trainDoc, nKeyword, nAux, R int) []trainDoc {
	out := make([]trainDoc, len(docs))
	for i, d := range docs {
		off := int32(R)
		if i >= nKeyword && i < nKeyword+nAux {
			off = int32(2 * R)
		}
		a := trainDoc{label: d.label, w: d.w, rows: make([]int32, 0, 2*len(d.rows)), vals: make([]float32, 0, 2*len(d.vals))}
		a.rows = append(a.rows, d.rows...)
		a.vals = append(a.vals, d.vals...)
		for j, r := range d.rows {
			a.rows = append(a.rows, r+off)
			a.vals = append(a.vals, d.vals[j])
		}
		out[i] = a
	}
	return out
}

// collapse returns the weights a data example sees under augmented
// weights (augment): the shared rows plus the data's own.
func collapse(theta []float64, R, L int) []float64 {
	out := make([]float64, R*L+L)
	for i := range R * L {
		out[i] = theta[i] + theta[R*L+i]
	}
	copy(out[R*L:], theta[3*R*L:])
	return out
}

// innerFoldSalt starts the hash of innerFold. Without it Train's inner
// split would be the FNV-32a hash of the text modulo 5, the very split of
// the 5-fold cross-validations (foldOf in cv_test.go, TestUrgencyRankCV)
// and of any evaluation that splits a file that way: each outer training
// fold would lack one inner fold entirely, and the one that lacked fold 4
// had no held-out fifth, so its temperature stayed 1 (the
// cross-validation then measured heads that production never trains).
// Salted, every inner fold is a fifth of any such training set. (The
// value names the topic head, the first to use it; it is kept so that
// the topic head's split, and what was measured with it, stay the same.)
const innerFoldSalt = "citybot/topic-inner-fold\x00"

// innerFold is the inner fold of an example (0 to 4, by a salted hash of
// its text, so duplicates stay together): fold 4 is the held-out fifth
// the temperature (and, for the topic SVM with few examples, C) is
// fitted on; the topic SVM's inner cross-validation uses all five.
func innerFold(text string) int {
	h := fnv.New32a()
	h.Write([]byte(innerFoldSalt))
	h.Write([]byte(text))
	return int(h.Sum32() % 5)
}

// heldOut reports whether Train holds an example out to choose C and the
// temperature: a fifth of them (innerFold 4).
func heldOut(text string) bool { return innerFold(text) == 4 }

// vectorizer holds a vocabulary (features seen in at least minCount
// training messages, rows in hash order) and its smoothed idf.
type vectorizer struct {
	keys  []uint64
	index map[uint64]int32
	idf   []float32
}

func newVectorizer(hashed [][]feat, idx []int, minCount int) *vectorizer {
	df := map[uint64]int32{}
	char := map[uint64]bool{}
	for _, i := range idx {
		for _, f := range hashed[i] {
			df[f.h]++
			if f.g == groupChar {
				char[f.h] = true
			}
		}
	}
	v := &vectorizer{index: map[uint64]int32{}}
	for h, c := range df {
		if n := int(c); n >= minCount && (n >= minCharCount || !char[h]) {
			v.keys = append(v.keys, h)
		}
	}
	slices.Sort(v.keys)
	N := float64(len(idx))
	v.idf = make([]float32, len(v.keys))
	for r, h := range v.keys {
		v.index[h] = int32(r)
		v.idf[r] = float32(math.Log((1+N)/(1+float64(df[h]))) + 1)
	}
	return v
}

// docs vectorises the examples idx; w, when not nil, are their weights.
func (v *vectorizer) docs(hashed [][]feat, idx []int, ys []int, w []float64) []trainDoc {
	out := make([]trainDoc, len(idx))
	for j, i := range idx {
		d := trainDoc{label: ys[i], w: 1}
		if w != nil {
			d.w = w[j]
		}
		var ss [nGroups]float64
		var grp []uint8
		for _, f := range hashed[i] {
			if r, ok := v.index[f.h]; ok {
				x := f.v * v.idf[r]
				d.rows = append(d.rows, r)
				d.vals = append(d.vals, x)
				grp = append(grp, f.g)
				ss[f.g] += float64(x) * float64(x)
			}
		}
		for k := range d.vals {
			d.vals[k] = float32(float64(d.vals[k]) * groupNorm(int(grp[k]), ss[grp[k]]))
		}
		out[j] = d
	}
	return out
}

// docLogits returns the raw scores of d under theta (rows × L weights,
// then L biases).
func docLogits(theta []float64, d *trainDoc, L int) []float64 {
	z := make([]float64, L)
	R := (len(theta) - L) / L
	copy(z, theta[R*L:])
	for j, r := range d.rows {
		v := float64(d.vals[j])
		row := theta[int(r)*L : int(r)*L+L]
		for k := range L {
			z[k] += v * row[k]
		}
	}
	return z
}

func argmaxF(p []float64) int {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

// fitTemperature returns the T in [0.2, 5] that minimises the negative
// log-likelihood of softmax(z/T) on held-out logits (golden-section
// search on log T; the likelihood is unimodal in it).
func fitTemperature(logits [][]float64, gold []int) float64 {
	if len(logits) == 0 {
		return 1
	}
	nll := func(lt float64) float64 {
		T := math.Exp(lt)
		var s float64
		p := make([]float64, 0, 16)
		for j, z := range logits {
			p = p[:0]
			for _, x := range z {
				p = append(p, x/T)
			}
			softmax(p)
			s -= math.Log(max(p[gold[j]], 1e-12))
		}
		return s
	}
	a, b := math.Log(0.2), math.Log(5.0)
	g := (math.Sqrt(5) - 1) / 2
	x1, x2 := b-g*(b-a), a+g*(b-a)
	f1, f2 := nll(x1), nll(x2)
	for range 40 {
		if f1 < f2 {
			b, x2, f2 = x2, x1, f1
			x1 = b - g*(b-a)
			f1 = nll(x1)
		} else {
			a, x1, f1 = x1, x2, f2
			x2 = a + g*(b-a)
			f2 = nll(x2)
		}
	}
	return math.Exp((a + b) / 2)
}

// fitLogReg minimises the weighted multinomial logistic loss of docs plus
// ½‖W‖²/C (biases unpenalised), divided by the number of docs, with
// L-BFGS. theta0, when not nil, is the starting point (a warm start).
func fitLogReg(ctx context.Context, docs []trainDoc, R, L int, C float64, maxIter int, theta0 []float64, progress func(int)) ([]float64, error) {
	n := float64(len(docs))
	lambda := 1 / (C * n)
	P := R*L + L
	p := make([]float64, L)
	obj := func(theta, grad []float64) float64 {
		clear(grad)
		var loss float64
		bias := theta[R*L:]
		gb := grad[R*L:]
		for di := range docs {
			d := &docs[di]
			copy(p, bias)
			for j, r := range d.rows {
				v := float64(d.vals[j])
				row := theta[int(r)*L : int(r)*L+L]
				for k := range L {
					p[k] += v * row[k]
				}
			}
			// log-softmax
			mx := p[0]
			for _, x := range p[1:] {
				mx = max(mx, x)
			}
			var s float64
			for k := range L {
				p[k] = math.Exp(p[k] - mx)
				s += p[k]
			}
			loss -= d.w * (math.Log(p[d.label] / s) /* ≤ 0 */)
			for k := range L {
				g := p[k] / s
				if k == d.label {
					g--
				}
				p[k] = g * d.w
				gb[k] += p[k]
			}
			for j, r := range d.rows {
				v := float64(d.vals[j])
				row := grad[int(r)*L : int(r)*L+L]
				for k := range L {
					row[k] += v * p[k]
				}
			}
		}
		inv := 1 / n
		var reg float64
		for i := range R * L {
			reg += theta[i] * theta[i]
			grad[i] = grad[i]*inv + lambda*theta[i]
		}
		for k := range L {
			gb[k] *= inv
		}
		return loss*inv + 0.5*lambda*reg
	}
	theta := make([]float64, P)
	if len(theta0) == P {
		copy(theta, theta0)
	}
	if err := lbfgs(ctx, obj, theta, maxIter, progress); err != nil {
		return nil, err
	}
	return theta, nil
}

// lbfgsMemory is how many correction pairs L-BFGS keeps (stored as
// float32, enough for a search direction).
const lbfgsMemory = 7

// lbfgsTol: L-BFGS stops when an iteration lowers the objective by less
// than this fraction.
const lbfgsTol = 1e-6

// lbfgs minimises f from x (changed in place) with limited-memory BFGS
// and a backtracking (Armijo) line search, for at most maxIter iterations
// or until the objective stops decreasing (relative change < 1e-7) or the
// gradient vanishes.
func lbfgs(ctx context.Context, f func(x, g []float64) float64, x []float64, maxIter int, progress func(int)) error {
	P := len(x)
	g := make([]float64, P)
	fx := f(x, g)
	var S, Y [][]float32
	var rho []float64
	d := make([]float64, P)
	xn := make([]float64, P)
	gn := make([]float64, P)
	alpha := make([]float64, lbfgsMemory)
	for it := range maxIter {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		progress(it)
		gmax := 0.0
		for _, v := range g {
			gmax = max(gmax, math.Abs(v))
		}
		if gmax < 1e-6 {
			return nil
		}
		// two-loop recursion: d = -H g
		for i := range d {
			d[i] = -g[i]
		}
		m := len(S)
		for i := m - 1; i >= 0; i-- {
			a := rho[i] * dot32(S[i], d)
			alpha[i] = a
			axpy32(-a, Y[i], d)
		}
		if m > 0 {
			yy := dot3232(Y[m-1], Y[m-1])
			sy := 1 / rho[m-1]
			gamma := sy / yy
			for i := range d {
				d[i] *= gamma
			}
		}
		for i := range m {
			b := rho[i] * dot32(Y[i], d)
			axpy32(alpha[i]-b, S[i], d)
		}
		gd := 0.0
		for i := range d {
			gd += g[i] * d[i]
		}
		if gd >= 0 { // not a descent direction: restart from the gradient
			S, Y, rho = S[:0], Y[:0], rho[:0]
			for i := range d {
				d[i] = -g[i]
			}
			gd = -dot(g, g)
		}
		step := 1.0
		if m == 0 {
			step = 1 / math.Sqrt(-gd)
		}
		var fn float64
		ok := false
		for range 30 {
			for i := range x {
				xn[i] = x[i] + step*d[i]
			}
			fn = f(xn, gn)
			if fn <= fx+1e-4*step*gd {
				ok = true
				break
			}
			step /= 2
		}
		if !ok {
			return nil // no progress possible at this precision
		}
		s := make([]float32, P)
		y := make([]float32, P)
		var sy float64
		for i := range x {
			si, yi := xn[i]-x[i], gn[i]-g[i]
			s[i], y[i] = float32(si), float32(yi)
			sy += si * yi
		}
		rel := (fx - fn) / max(math.Abs(fx), 1e-12)
		copy(x, xn)
		copy(g, gn)
		fx = fn
		if sy > 1e-12 {
			if len(S) == lbfgsMemory {
				S, Y, rho = S[1:], Y[1:], rho[1:]
			}
			S, Y, rho = append(S, s), append(Y, y), append(rho, 1/sy)
		}
		if rel < lbfgsTol {
			return nil
		}
	}
	return nil
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func dot32(a []float32, b []float64) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * b[i]
	}
	return s
}

func dot3232(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func axpy32(a float64, x []float32, y []float64) {
	for i := range x {
		y[i] += a * float64(x[i])
	}
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
