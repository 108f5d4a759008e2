package classifier

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// svmPrimal is the objective fitSVMDual minimises for label k (LIBLINEAR's
// L2-loss SVM with a penalised bias): ½(‖w_k‖² + b_k²) + Σ C_i max(0, 1 −
// y_i z_ik)².
func svmPrimal(docs []trainDoc, theta []float64, R, L, k int, C float64) float64 {
	obj := 0.0
	for r := range R {
		obj += 0.5 * theta[r*L+k] * theta[r*L+k]
	}
	obj += 0.5 * theta[R*L+k] * theta[R*L+k]
	for i := range docs {
		d := &docs[i]
		y, c := -1.0, C
		if d.label == k {
			y, c = 1, C*d.w
		}
		if m := 1 - y*docLogits(theta, d, L)[k]; m > 0 {
			obj += c * m * m
		}
	}
	return obj
}

// randomDocs makes n documents over R features for L labels: each label
// has its own likely features, with noise.
func randomDocs(n, R, L int, seed uint64) []trainDoc {
	rng := rand.New(rand.NewPCG(seed, 7))
	docs := make([]trainDoc, n)
	for i := range docs {
		y := rng.IntN(L)
		if i%5 == 0 {
			y = 0 // an unbalanced label set
		}
		seen := map[int32]bool{}
		d := trainDoc{label: y, w: 1 + float64(y)*0.5}
		for range 6 {
			r := int32(rng.IntN(R))
			if rng.Float64() < 0.6 {
				r = int32(y*R/L + rng.IntN(R/L))
			}
			if !seen[r] {
				seen[r] = true
				d.rows = append(d.rows, r)
				d.vals = append(d.vals, float32(0.2+rng.Float64()))
			}
		}
		docs[i] = d
	}
	return docs
}

// TestSVMDualOptimal checks that dual coordinate descent reaches the
// minimum of the primal objective: no small move of any weight, of the
// bias, or along random directions lowers it.
func TestSVMDualOptimal(t *testing.T) {
	const n, R, L, C = 300, 40, 3, 0.5
	docs := randomDocs(n, R, L, 1)
	theta, _, err := fitSVMDual(context.Background(), docs, R, L, C, 0, 1000, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range L {
		best := svmPrimal(docs, theta, R, L, k, C)
		if best <= 0 || math.IsNaN(best) {
			t.Fatalf("label %d: objective %v", k, best)
		}
		try := func(what string, move func(th []float64, s float64)) {
			for _, s := range []float64{0.05, -0.05, 0.01, -0.01} {
				th := slices.Clone(theta)
				move(th, s)
				if got := svmPrimal(docs, th, R, L, k, C); got < best-1e-3*best {
					t.Errorf("label %d: moving %s by %v lowers the objective from %.5f to %.5f", k, what, s, best, got)
				}
			}
		}
		try("the bias", func(th []float64, s float64) { th[R*L+k] += s })
		for r := range R {
			try(fmt.Sprintf("weight %d", r), func(th []float64, s float64) { th[r*L+k] += s })
		}
		for range 5 {
			dir := make([]float64, R+1)
			for i := range dir {
				dir[i] = rng.NormFloat64()
			}
			try("a random direction", func(th []float64, s float64) {
				for r := range R {
					th[r*L+k] += s * dir[r]
				}
				th[R*L+k] += s * dir[R]
			})
		}
	}
	// It learnt: training accuracy well above the majority label's share.
	hit := 0
	for i := range docs {
		if argmaxF(docLogits(theta, &docs[i], L)) == docs[i].label {
			hit++
		}
	}
	if acc := float64(hit) / n; acc < 0.8 {
		t.Errorf("training accuracy %.2f", acc)
	}
}

// TestSVMDualSkipsZeroWeight checks that an example of weight 0 changes
// nothing, and that the solver is deterministic.
func TestSVMDualSkipsZeroWeight(t *testing.T) {
	const R, L = 30, 3
	docs := randomDocs(200, R, L, 2)
	ctx := context.Background()
	a, alpha, err := fitSVMDual(ctx, docs, R, L, 0.25, 0, 1000, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	extra := append(slices.Clone(docs), trainDoc{rows: []int32{0, 1}, vals: []float32{5, 5}, label: 2, w: 0})
	b, _, err := fitSVMDual(ctx, extra, R, L, 0.25, 0, 1000, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	// The extra example changes the visiting order, not the optimum.
	for i := range a {
		if math.Abs(a[i]-b[i]) > 0.02 || math.IsNaN(b[i]) {
			t.Fatalf("theta[%d] = %v with a weight-0 example, %v without", i, b[i], a[i])
		}
	}
	c, _, err := fitSVMDual(ctx, docs, R, L, 0.25, 0, 1000, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, c) {
		t.Error("two fits of the same data differ")
	}
	// A warm start from this solution reaches the optimum at another C.
	cold, _, err := fitSVMDual(ctx, docs, R, L, 1, 0, 1000, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	warm, _, err := fitSVMDual(ctx, docs, R, L, 1, 0, 1000, alpha, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	for k := range L {
		oc, ow := svmPrimal(docs, cold, R, L, k, 1), svmPrimal(docs, warm, R, L, k, 1)
		if math.Abs(oc-ow) > 0.01*oc {
			t.Errorf("label %d: objective %.5f from a warm start, %.5f from zero", k, ow, oc)
		}
	}
	if slices.Equal(cold, a) {
		t.Error("C = 1 and C = 0.25 gave the same weights")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := fitSVMDual(cancelled, docs, R, L, 0.25, 0, 1000, nil, func(int) {}); err == nil {
		t.Error("a cancelled fit returned no error")
	}
}

// TestMacroF1Idx checks the macro-F1 Train uses to choose C against
// Evaluate's.
func TestMacroF1Idx(t *testing.T) {
	gold := []int{0, 0, 1, 1, 2}
	pred := []int{0, 1, 1, 1, 0}
	// F1: label 0 = 2·1/(2+2) = 0.5, label 1 = 2·2/(3+2) = 0.8, label 2 = 0
	if got, want := macroF1Idx(gold, pred, 3), (0.5+0.8+0)/3; math.Abs(got-want) > 1e-12 {
		t.Errorf("macroF1Idx = %v, want %v", got, want)
	}
	g, p := []string{"a", "a", "b", "b", "c"}, []string{"a", "b", "b", "b", "a"}
	if got, want := macroF1Idx(gold, pred, 3), Evaluate(g, p, nil).MacroF1; math.Abs(got-want) > 1e-12 {
		t.Errorf("macroF1Idx = %v, Evaluate says %v", got, want)
	}
}

// TestTrainTopicManyMessages trains a topic head on more messages than
// svmInnerMax (Cyrillic, three topics, a tenth of the labels wrong), the
// path a city's long history takes: unseen messages are tagged right,
// with a calibrated confidence (about 0.9, the share of right labels), and two
// trainings give the same model.
func TestTrainTopicManyMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on 6,000 messages")
	}
	words := map[string][]string{
		"roads": {"яма", "асфальт", "дорога", "тротуар", "бордюр", "разметка"},
		"waste": {"мусор", "контейнер", "свалка", "бак", "отходы", "вывоз"},
		"water": {"вода", "труба", "канализация", "кран", "протечка", "колодец"},
	}
	filler := []string{"у дома", "во дворе", "на улице", "возле школы", "опять", "третий день", "пожалуйста", "срочно"}
	labels := sortedKeys(words)
	rng := rand.New(rand.NewPCG(5, 6))
	msg := func(l string) string {
		w := words[l]
		return fmt.Sprintf("%s %s %s %d", w[rng.IntN(len(w))], filler[rng.IntN(len(filler))], w[rng.IntN(len(w))], rng.IntN(500))
	}
	var exs []Example
	for i := range svmInnerMax + 1000 {
		l := labels[i%3]
		text := msg(l)
		if i%10 == 0 { // label noise
			l = labels[(i+1)%3]
		}
		exs = append(exs, Example{text, l})
	}
	ctx := context.Background()
	m, err := Train(ctx, KindTopic, exs, TrainOptions{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewWithModel(Options{DisableNER: true}, m)
	if err != nil {
		t.Fatal(err)
	}
	hit, n := 0, 0
	var conf float64
	for range 100 {
		for _, l := range labels {
			r := c.Classify(msg(l), "")
			n++
			conf += r.Topic.Confidence
			if r.Topic.Label == l {
				hit++
			}
		}
	}
	acc, mean := float64(hit)/float64(n), conf/float64(n)
	t.Logf("accuracy %.3f, mean confidence %.3f", acc, mean)
	if acc < 0.95 {
		t.Errorf("accuracy on unseen messages %.3f", acc)
	}
	// A tenth of the training labels are wrong: a calibrated confidence
	// is near 0.9, not near 1.
	if mean < 0.8 || mean > 0.97 {
		t.Errorf("mean confidence %.3f, want about 0.9: not calibrated", mean)
	}
	m2, err := Train(ctx, KindTopic, exs, TrainOptions{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.topic.weights, m2.topic.weights) || !slices.Equal(m.topic.bias, m2.topic.bias) {
		t.Error("two trainings on the same messages differ")
	}
}

// TestSVMDualNBOptimal checks the NB-scaled fit: with each feature scaled
// by its log-count ratio s_r for label k (nbRatios), the weights
// fitSVMDual returns are folded (θ_r = w_r s_r, so scoring needs no
// scaling), and they minimise the SVM objective in the scaled space,
// ½(Σ (θ_r / s_r)² + b²) + Σ C_i max(0, 1 − y_i z_i)², where z_i is the
// unscaled score docLogits gives. A fit that forgot to fold the weights
// or to scale a feature in one of the solver's updates fails it.
func TestSVMDualNBOptimal(t *testing.T) {
	const n, R, L, C, mix = 300, 40, 3, 0.5, 0.5
	docs := randomDocs(n, R, L, 5)
	theta, _, err := fitSVMDual(context.Background(), docs, R, L, C, mix, 1000, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := fitSVMDual(context.Background(), docs, R, L, C, 0, 1000, nil, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(theta, plain) {
		t.Fatal("NB scaling changed nothing")
	}
	for k := range L {
		s := nbRatios(docs, R, k, mix, nil)
		obj := func(th []float64) float64 {
			v := svmPrimal(docs, th, R, L, k, C)
			for r := range R { // replace the unscaled penalty by the scaled one
				v += 0.5*(th[r*L+k]/s[r])*(th[r*L+k]/s[r]) - 0.5*th[r*L+k]*th[r*L+k]
			}
			return v
		}
		best := obj(theta)
		for r := range R {
			for _, d := range []float64{0.05, -0.05, 0.01, -0.01} {
				th := slices.Clone(theta)
				th[r*L+k] += d * s[r]
				if got := obj(th); got < best-1e-3*best {
					t.Errorf("label %d: moving weight %d by %v lowers the objective from %.5f to %.5f", k, r, d*s[r], best, got)
				}
			}
		}
		th := slices.Clone(theta)
		th[R*L+k] += 0.05
		if got := obj(th); got < best-1e-3*best {
			t.Errorf("label %d: moving the bias lowers the objective from %.5f to %.5f", k, best, got)
		}
	}
}

// TestNBRatios: a feature seen only in one label's messages gets a larger
// scale for that label than a feature spread evenly over all labels, and
// the mix interpolates with 1.
func TestNBRatios(t *testing.T) {
	docs := []trainDoc{
		{rows: []int32{0, 1}, label: 0, w: 1},
		{rows: []int32{0, 1}, label: 0, w: 1},
		{rows: []int32{1, 2}, label: 1, w: 1},
		{rows: []int32{1, 2}, label: 1, w: 1},
	}
	s := nbRatios(docs, 3, 0, 1, nil)
	if !(s[0] > s[1]) || s[0] <= 0 {
		t.Errorf("scales %v: feature 0 (label 0 only) should outweigh feature 1 (everywhere)", s)
	}
	if half := nbRatios(docs, 3, 0, 0.5, nil); math.Abs(half[0]-(0.5*s[0]+0.5)) > 1e-12 {
		t.Errorf("mix 0.5: %v, want %v", half[0], 0.5*s[0]+0.5)
	}
}
