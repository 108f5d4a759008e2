package classifier

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"citybot"
)

// sharedData returns the shared data directory, skipping the test when it
// is absent outside CI (on CI it must be there).
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := FindSharedData(".")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared data missing on CI: %v", err)
		}
		t.Skipf("shared data not found: %v", err)
	}
	return dir
}

func readShared(t testing.TB, name string) *Table {
	t.Helper()
	tab, err := ReadTableFile(filepath.Join(sharedData(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// fold assigns a row to one of k folds by a hash of its text, so that
// duplicates stay together.
func foldOf(text string, k int) int {
	h := fnv.New32a()
	h.Write([]byte(text))
	return int(h.Sum32() % uint32(k))
}

// ---- the baseline: TF-IDF over words + multinomial logistic regression ----

type baseline struct {
	vocab  map[string]int
	idf    []float64
	labels []string
	w      [][]float64 // vocab × labels
	b      []float64
}

func baseWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func (m *baseline) vec(text string) ([]int, []float64) {
	tf := map[int]float64{}
	for _, w := range baseWords(text) {
		if i, ok := m.vocab[w]; ok {
			tf[i]++
		}
	}
	idx := make([]int, 0, len(tf))
	for i := range tf {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	val := make([]float64, len(idx))
	var ss float64
	for j, i := range idx {
		val[j] = (1 + math.Log(tf[i])) * m.idf[i]
		ss += val[j] * val[j]
	}
	for j := range val {
		val[j] /= math.Sqrt(ss)
	}
	return idx, val
}

func trainBaseline(exs []Example) *baseline {
	m := &baseline{vocab: map[string]int{}}
	df := map[string]int{}
	for _, e := range exs {
		seen := map[string]bool{}
		for _, w := range baseWords(e.Text) {
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	words := make([]string, 0, len(df))
	for w := range df {
		words = append(words, w)
	}
	slices.Sort(words)
	for _, w := range words {
		m.vocab[w] = len(m.idf)
		m.idf = append(m.idf, math.Log(float64(1+len(exs))/float64(1+df[w]))+1)
	}
	lab := map[string]int{}
	for _, e := range exs {
		if _, ok := lab[e.Label]; !ok {
			lab[e.Label] = 0
			m.labels = append(m.labels, e.Label)
		}
	}
	slices.Sort(m.labels)
	for i, l := range m.labels {
		lab[l] = i
	}
	L := len(m.labels)
	m.w = make([][]float64, len(words))
	for i := range m.w {
		m.w[i] = make([]float64, L)
	}
	m.b = make([]float64, L)
	type doc struct {
		idx []int
		val []float64
		y   int
	}
	docs := make([]doc, len(exs))
	for i, e := range exs {
		idx, val := m.vec(e.Text)
		docs[i] = doc{idx, val, lab[e.Label]}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	p := make([]float64, L)
	const lambda = 1e-5
	for ep := range 15 {
		lr := 0.5 / (1 + 0.3*float64(ep))
		rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
		for _, d := range docs {
			copy(p, m.b)
			for j, i := range d.idx {
				for k := range L {
					p[k] += d.val[j] * m.w[i][k]
				}
			}
			softmax(p)
			for k := range L {
				g := p[k]
				if k == d.y {
					g--
				}
				m.b[k] -= lr * g
				for j, i := range d.idx {
					m.w[i][k] -= lr * (g*d.val[j] + lambda*m.w[i][k])
				}
			}
		}
	}
	return m
}

func (m *baseline) predict(text string) []float64 {
	p := slices.Clone(m.b)
	idx, val := m.vec(text)
	for j, i := range idx {
		for k := range p {
			p[k] += val[j] * m.w[i][k]
		}
	}
	softmax(p)
	return p
}

func argmax(p []float64) int {
	best := 0
	for i := range p {
		if p[i] > p[best] {
			best = i
		}
	}
	return best
}

// topShare returns the share of the positives found in the top tenth of
// the items when sorted by score (ties broken by index).
func topShare(scores []float64, positive []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	top := len(idx) / 10
	total, found := 0, 0
	for _, p := range positive {
		if p {
			total++
		}
	}
	for _, i := range idx[:top] {
		if positive[i] {
			found++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(found) / float64(total)
}

type cvResult struct {
	oursF1, baseF1, oursAcc, baseAcc float64
	oursFoldF1, baseFoldF1           float64 // mean of the per-fold macro-F1s
	shipFoldF1                       float64 // the same, topic head with the shipped trust
	ece                              float64 // expected calibration error of the topic confidence
	oursTop, baseTop                 float64 // urgency: critical share in the top 10 %
	oursTopSub, baseTopSub           float64 // the same within the rows of subset
	shipTop                          float64 // ours with the shipped model's urgency trust
	shipTopSub                       float64 // the same within the rows of subset
	critical                         []bool  // per row: called critical (shipped trust)
}

// crossValidate runs k-fold cross-validation of the classifier and the
// baseline on the same folds. urgency, when not nil, holds the proxy
// urgency label of each row, and request and life its request and
// life-threat flags ("1"/"0"), for the factorised heads (trained, like
// every head, on the training folds only).
// The topic head is scored twice: trained on the fold (as a city's own
// model, with the city corpus as `citybot train` adds it) and
// shipped-style, trained on the fold and the city corpus as the shipped
// model is; both with C fixed, no inner search, to keep this test's time
// (the corpus makes the 45 inner fits of each fold slow): TestTopicCV
// trains them exactly as `citybot train` and TrainDefault do.
//
// withBaseline also trains the topic baseline on each fold: TF-IDF +
// logistic regression alone (our features and solver with scikit-learn's
// baseline settings, C = 10, balanced, no keywords, no calibration).
func crossValidate(t *testing.T, texts, topics, urgency, request, life []string, subset []bool, k int, withBaseline bool) cvResult {
	ctx := context.Background()
	n := len(texts)
	oursPred := make([]string, n)
	oursConf := make([]float64, n)
	basePred := make([]string, n)
	oursScore := make([]float64, n)
	shipScore := make([]float64, n)
	baseScore := make([]float64, n)
	res := cvResult{critical: make([]bool, n)}
	city, err := CityTopicExamples()
	if err != nil {
		t.Fatal(err)
	}
	for f := range k {
		var trTopic, trUrg, trReq, trLife []Example
		for i := range n {
			if foldOf(texts[i], k) == f {
				continue
			}
			trTopic = append(trTopic, Example{texts[i], topics[i]})
			if urgency != nil {
				trUrg = append(trUrg, Example{texts[i], urgency[i]})
				trReq = append(trReq, Example{texts[i], request[i]})
				trLife = append(trLife, Example{texts[i], life[i]})
			}
		}
		m, err := Train(ctx, KindTopic, trTopic, TrainOptions{Topics: DefaultOptions().Topics, Aux: city, NoSearch: true})
		if err != nil {
			t.Fatal(err)
		}
		var base *head
		if withBaseline {
			bm, err := Train(ctx, KindTopic, trTopic, TrainOptions{C: 10, NoCalibrate: true, LogReg: true})
			if err != nil {
				t.Fatal(err)
			}
			base = bm.topic
		}
		var baseU *baseline
		opts := DefaultOptions()
		opts.DisableNER = true
		var ship *Classifier
		if urgency != nil {
			um, err := Train(ctx, KindUrgency, trUrg, TrainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rm, err := Train(ctx, KindRequest, trReq, TrainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			lm, err := Train(ctx, KindLifeThreat, trLife, TrainOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// the same heads with the shipped model's trust
			sh, sr, sl := *um.urgency, *rm.request, *lm.lifeThreat
			sh.trust, sr.trust, sl.trust = DefaultUrgencyTrust, DefaultUrgencyTrust, DefaultUrgencyTrust
			if ship, err = NewWithModel(opts, m.WithFallback(&Model{name: "ship", urgency: &sh, request: &sr, lifeThreat: &sl})); err != nil {
				t.Fatal(err)
			}
			m = m.WithFallback(um).WithFallback(rm).WithFallback(lm)
			baseU = trainBaseline(trUrg)
		}
		c, err := NewWithModel(opts, m)
		if err != nil {
			t.Fatal(err)
		}
		sm, err := Train(ctx, KindTopic, append(slices.Clone(trTopic), city...), TrainOptions{Topics: DefaultOptions().Topics, Trust: DefaultTopicTrust, UnknownTrust: DefaultUnknownTrust, NoSearch: true})
		if err != nil {
			t.Fatal(err)
		}
		shipTopic, err := NewWithModel(opts, sm)
		if err != nil {
			t.Fatal(err)
		}
		var gF, oF, bF, sF []string
		for i := range n {
			if foldOf(texts[i], k) != f {
				continue
			}
			r := c.Classify(texts[i], "")
			oursPred[i] = r.Topic.Label
			oursConf[i] = r.Topic.Confidence
			oursScore[i] = r.UrgencyScore
			if base != nil {
				toks, _ := tokenize(texts[i], nil)
				out := make([]float64, len(base.labels))
				base.logits(featurize(toks, nil), out)
				basePred[i] = base.labels[argmax(out)]
			}
			gF, oF, bF = append(gF, topics[i]), append(oF, oursPred[i]), append(bF, basePred[i])
			sF = append(sF, shipTopic.Classify(texts[i], "").Topic.Label)
			if ship != nil {
				r := ship.Classify(texts[i], "")
				shipScore[i] = r.UrgencyScore
				res.critical[i] = r.Urgency == citybot.UrgencyCritical
			}
			if baseU != nil {
				p := baseU.predict(texts[i])
				for j, l := range baseU.labels {
					baseScore[i] += p[j] * urgencyValue(l)
				}
			}
		}
		res.oursFoldF1 += Evaluate(gF, oF, nil).MacroF1 / float64(k)
		res.baseFoldF1 += Evaluate(gF, bF, nil).MacroF1 / float64(k)
		res.shipFoldF1 += Evaluate(gF, sF, nil).MacroF1 / float64(k)
	}
	res.ece = calibrationError(oursConf, oursPred, topics)
	ro := Evaluate(topics, oursPred, nil)
	rb := Evaluate(topics, basePred, nil)
	res.oursF1, res.baseF1, res.oursAcc, res.baseAcc = ro.MacroF1, rb.MacroF1, ro.Accuracy, rb.Accuracy
	if urgency != nil {
		pos := make([]bool, n)
		for i, u := range urgency {
			pos[i] = u == "critical"
		}
		res.oursTop = topShare(oursScore, pos)
		res.baseTop = topShare(baseScore, pos)
		res.shipTop = topShare(shipScore, pos)
		var os, bs, ss []float64
		var ps []bool
		for i := range pos {
			if subset != nil && subset[i] {
				os, bs, ss, ps = append(os, oursScore[i]), append(bs, baseScore[i]), append(ss, shipScore[i]), append(ps, pos[i])
			}
		}
		res.oursTopSub, res.baseTopSub, res.shipTopSub = topShare(os, ps), topShare(bs, ps), topShare(ss, ps)
	}
	return res
}

// TestCrossValidation measures the classifier against a TF-IDF + logistic
// regression baseline with 5-fold cross-validation (folds by text hash) on
// both shared data files, and prints the table. Newport is used only to
// measure, never for the shipped model.
func TestCrossValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-validation trains 20 models")
	}
	const k = 5
	dis := readShared(t, "disaster_en.csv")
	nw := readShared(t, "newport_en.csv")

	var direct []bool
	for _, g := range dis.Column("genre") {
		direct = append(direct, g == "direct")
	}
	// CITYBOT_CV_BASELINE=1 also trains the topic baseline on every fold
	// (a minute more); CITYBOT_BASELINE_DIR adds scikit-learn's numbers
	// on the same folds (see TestWriteFolds).
	withBase := os.Getenv("CITYBOT_CV_BASELINE") != ""
	dr := crossValidate(t, dis.Column("text"), dis.Column("topic"), urgencyColumn(dis), labelColumn(RequestExamples(dis)), labelColumn(LifeThreatExamples(dis)), direct, k, withBase)
	nr := crossValidate(t, nw.Column("text"), nw.Column("topic"), nil, nil, nil, nil, k, withBase)

	// The shipped model (disaster data + keywords) on Newport, unseen.
	ship := newDefault(t)
	var shipPred []string
	for _, text := range nw.Column("text") {
		shipPred = append(shipPred, ship.Classify(text, "").Topic.Label)
	}
	sr := Evaluate(nw.Column("topic"), shipPred, nil)
	// Newport has no emergency: the share the shipped model calls critical
	// is its false-alarm rate there.
	shipCrit := 0
	for _, text := range nw.Column("text") {
		if ship.Classify(text, "").Urgency == "critical" {
			shipCrit++
		}
	}
	falseAlarm := float64(shipCrit) / float64(len(nw.Rows))

	base := func(v float64) string {
		if !withBase {
			return "-"
		}
		return fmt.Sprintf("%.3f", v)
	}
	t.Logf("5-fold cross-validation, same folds for both models")
	t.Logf("%-34s %10s %10s %10s", "metric", "ours", "baseline", "sklearn")
	t.Logf("%-34s %10.3f %10s", "disaster topic macro-F1", dr.oursF1, base(dr.baseF1))
	t.Logf("%-34s %10.3f %10s", "disaster topic accuracy", dr.oursAcc, base(dr.baseAcc))
	t.Logf("%-34s %10.3f %10.3f", "disaster critical in top 10%", dr.oursTop, dr.baseTop)
	t.Logf("%-34s %10.3f %10.3f", "  same, direct messages only", dr.oursTopSub, dr.baseTopSub)
	t.Logf("%-34s %10.3f %10s", "  same, with the shipped trust", dr.shipTop, "-")
	t.Logf("%-34s %10.3f %10s", "  shipped trust, direct only", dr.shipTopSub, "-")
	share := func(genre string) float64 {
		n, c := 0, 0
		for i, g := range dis.Column("genre") {
			if g == genre {
				n++
				if dr.critical[i] {
					c++
				}
			}
		}
		return float64(c) / float64(max(n, 1))
	}
	newsCrit, directCrit := share("news"), share("direct")
	t.Logf("%-34s %10.3f %10s", "disaster news called critical", newsCrit, "-")
	t.Logf("%-34s %10.3f %10s", "disaster direct called critical", directCrit, "-")
	t.Logf("%-34s %10.3f %10s", "newport topic macro-F1 (retrained)", nr.oursF1, base(nr.baseF1))
	t.Logf("%-34s %10.3f %10s %10s", "disaster macro-F1, mean of folds", dr.oursFoldF1, base(dr.baseFoldF1), sklearnMean(t, "disaster_en"))
	t.Logf("%-34s %10.3f %10s %10s", "newport macro-F1, mean of folds", nr.oursFoldF1, base(nr.baseFoldF1), sklearnMean(t, "newport_en"))
	t.Logf("%-34s %10.3f %10s", "  disaster, shipped topic trust", dr.shipFoldF1, "-")
	t.Logf("%-34s %10.3f %10s", "disaster topic confidence ECE", dr.ece, "-")
	t.Logf("%-34s %10.3f %10s", "newport topic confidence ECE", nr.ece, "-")
	t.Logf("%-34s %10.3f %10s", "  newport, shipped topic trust", nr.shipFoldF1, "-")
	t.Logf("%-34s %10.3f %10s", "newport topic accuracy (retrained)", nr.oursAcc, base(nr.baseAcc))
	t.Logf("shipped model on newport (never trained on it): macro-F1 %.3f, accuracy %.3f, critical %d of %d (%.1f%%)",
		sr.MacroF1, sr.Accuracy, shipCrit, len(nw.Rows), 100*falseAlarm)

	// Floors: well above chance, and not worse than the baseline.
	if dr.oursF1 < 0.55 || nr.oursF1 < 0.6 || dr.shipFoldF1 < 0.45 {
		t.Errorf("topic macro-F1 too low: disaster %.3f (shipped trust %.3f), newport %.3f", dr.oursF1, dr.shipFoldF1, nr.oursF1)
	}
	// The trusted head beats (newport) or matches (disaster, within
	// 0.02) TF-IDF + logistic regression alone; with the shipped trust,
	// keywords of city topics cost disaster messages (README).
	if withBase && (dr.oursFoldF1 < dr.baseFoldF1-0.02 || nr.oursFoldF1 < nr.baseFoldF1) {
		t.Errorf("below the baseline: disaster %.3f vs %.3f, newport %.3f vs %.3f", dr.oursFoldF1, dr.baseFoldF1, nr.oursFoldF1, nr.baseFoldF1)
	}
	// The trusted topic head (an SVM, as the reference's LinearSVC)
	// is not below the reference script's logistic regression or its
	// linear SVM on the same folds (TestTopicCV with the salted inner
	// folds: 0.609 against 0.594 / 0.599 on disaster_en, 0.673 against
	// 0.648 / 0.655 on newport_en; README "Measured").
	for _, x := range []struct {
		name string
		ours float64
	}{{"disaster_en", dr.oursFoldF1}, {"newport_en", nr.oursFoldF1}} {
		if lr, svc, ok := sklearnMeans(t, x.name); ok {
			t.Logf("%s: sklearn LinearSVC macro-F1, mean of folds %.3f", x.name, svc)
			if x.ours < max(lr, svc) {
				t.Errorf("%s: topic macro-F1 %.3f below scikit-learn's (LR %.3f, LinearSVC %.3f)", x.name, x.ours, lr, svc)
			}
		}
	}
	if dr.ece > 0.15 || nr.ece > 0.15 {
		t.Errorf("topic confidence badly calibrated: ECE disaster %.3f, newport %.3f", dr.ece, nr.ece)
	}
	if sr.MacroF1 < 0.55 { // 0.584 since the city corpus (0.525 before)
		t.Errorf("shipped model on newport: macro-F1 %.3f", sr.MacroF1)
	}
	// Urgency ranking: 0.485 (0.423 direct) before the score became a
	// logistic blend of level and model; the proxy's label noise keeps
	// every bag-of-words model tried near 0.45-0.5 (README). With the
	// shipped trust the level decides the order (rules first, for cities),
	// which ranks disaster news full of cue words high: 0.30.
	if newsCrit > 0.10 {
		t.Errorf("%.1f%% of disaster news sentences called critical, want at most 10%%", 100*newsCrit)
	}
	// The factorised estimate (P(request) × P(life threat)) orders
	// messages within a level since: 0.459 / 0.408 shipped → 0.485 / 0.480.
	// Since the learned ranking (urgrank.go) the trust no longer weighs
	// the urgency score; its combiner was fitted on out-of-fold outputs of
	// every row, so these lines are a little optimistic: the honest
	// (nested) measure is TestUrgencyRankCV's, 0.444 (here 0.469).
	if dr.oursTop < 0.44 || dr.oursTop < dr.baseTop-0.02 || dr.oursTopSub < 0.40 || dr.shipTop < 0.44 {
		t.Errorf("critical messages in the top 10%% of urgency: %.3f (direct %.3f, shipped trust %.3f; baseline %.3f)",
			dr.oursTop, dr.oursTopSub, dr.shipTop, dr.baseTop)
	}
	if falseAlarm > 0.02 {
		t.Errorf("shipped model calls %.1f%% of newport messages critical", 100*falseAlarm)
	}
}

func labelColumn(exs []Example) []string {
	out := make([]string, len(exs))
	for i, e := range exs {
		out[i] = e.Label
	}
	return out
}

func urgencyColumn(t *Table) []string {
	var out []string
	for _, e := range UrgencyExamples(t) {
		out = append(out, e.Label)
	}
	return out
}

// urgencyValue maps urgencies to a score in [0,1].
func urgencyValue(u string) float64 {
	switch citybot.Urgency(u) {
	case citybot.UrgencyCritical:
		return 1
	case citybot.UrgencyHigh:
		return 0.66
	case citybot.UrgencyNormal:
		return 0.33
	}
	return 0
}

// sklearnMean returns the mean per-fold macro-F1 of scikit-learn's
// TF-IDF + logistic regression (the reference baseline script) on the
// same folds, read from $CITYBOT_BASELINE_DIR/base_NAME_K.json (the
// script's output on the folds TestWriteFolds writes), or "-".
func sklearnMean(t *testing.T, name string) string {
	lr, _, ok := sklearnMeans(t, name)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.3f", lr)
}

// sklearnMeans returns the mean per-fold macro-F1 of the reference
// script's logistic regression and linear SVM (see sklearnMean); ok is
// false when they are not there.
func sklearnMeans(t *testing.T, name string) (lr, svc float64, ok bool) {
	dir := os.Getenv("CITYBOT_BASELINE_DIR")
	if dir == "" {
		return 0, 0, false
	}
	for f := range 5 {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("base_%s_%d.json", name, f)))
		if err != nil {
			t.Logf("sklearn baseline: %v", err)
			return 0, 0, false
		}
		var out struct {
			Logreg struct {
				MacroF1 float64 `json:"macro_f1"`
			} `json:"logreg"`
			Linsvc struct {
				MacroF1 float64 `json:"macro_f1"`
			} `json:"linsvc"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Logf("sklearn baseline: %v", err)
			return 0, 0, false
		}
		lr += out.Logreg.MacroF1 / 5
		svc += out.Linsvc.MacroF1 / 5
	}
	return lr, svc, true
}

// calibrationError returns the expected calibration error of confidences:
// the mean over ten equal-width bins, weighted by their size, of
// |accuracy − mean confidence|.
func calibrationError(conf []float64, pred, gold []string) float64 {
	var n, hit [10]float64
	var sum [10]float64
	for i, c := range conf {
		b := min(int(c*10), 9)
		n[b]++
		sum[b] += c
		if pred[i] == gold[i] {
			hit[b]++
		}
	}
	var e float64
	for b := range n {
		if n[b] > 0 {
			e += n[b] / float64(len(conf)) * math.Abs(hit[b]/n[b]-sum[b]/n[b])
		}
	}
	return e
}
