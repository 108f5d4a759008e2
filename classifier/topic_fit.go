package classifier

import (
	"context"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// macroF1Idx is the macro-F1 of predictions against gold label indices,
// averaged over the labels present in gold (as Evaluate computes it).
func macroF1Idx(gold, pred []int, L int) float64 {
	tp := make([]int, L)
	np := make([]int, L)
	ng := make([]int, L)
	for i, g := range gold {
		ng[g]++
		np[pred[i]]++
		if pred[i] == g {
			tp[g]++
		}
	}
	var s float64
	n := 0
	for k := range L {
		if ng[k] == 0 {
			continue
		}
		n++
		if tp[k] > 0 {
			s += 2 * float64(tp[k]) / float64(np[k]+ng[k])
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

// fitSVMDual fits a linear SVM with the squared hinge loss per label, one
// label against the rest, by dual coordinate descent (Hsieh et al., 2008:
// what LIBLINEAR, and so scikit-learn's LinearSVC, run). For label k it
// minimises ½‖w_k‖² + Σ_i C_i max(0, 1 − y_i (w_k·x_i + b_k))², where
// y_i = +1 for the label's messages and −1 for the others, C_i = C × the
// message's weight for the label's own messages and C for the others
// (LIBLINEAR's class weights; an example of weight 0 is left out), and the bias b_k is the weight of a
// constant feature (penalised, as LIBLINEAR does). Each label's problem
// costs one pass over the data per epoch and is usually solved in a few
// dozen; the order of visits is a fixed permutation per epoch, so the
// result is deterministic. It returns theta laid out as fitLogReg's and
// the dual variables (per label, per doc). warm, when not nil, holds
// dual variables to start from (per label, per doc; from a fit of the
// same docs at another C, or 0 for a doc that fit did not have): a warm
// start, which needs fewer epochs to the same optimum.
func fitSVMDual(ctx context.Context, docs []trainDoc, R, L int, C float64, maxEpochs int, warm [][]float64, progress func(int)) ([]float64, [][]float64, error) {
	n := len(docs)
	theta := make([]float64, R*L+L)
	qii := make([]float64, n)
	for i := range docs {
		s := 1.0 // the constant feature
		for _, v := range docs[i].vals {
			s += float64(v) * float64(v)
		}
		qii[i] = s
	}
	w := make([]float64, R+1) // R weights, then the bias
	alphas := make([][]float64, L)
	dii := make([]float64, n)
	order := make([]int, n)
	rng := rand.New(rand.NewPCG(0x5eed, uint64(n)))
	for k := range L {
		clear(w)
		alpha := make([]float64, n)
		alphas[k] = alpha
		if warm != nil {
			copy(alpha, warm[k])
		}
		for i := range docs {
			c := C
			if docs[i].label == k {
				c *= docs[i].w
			}
			dii[i] = 1 / (2 * c)
			if docs[i].w <= 0 { // an example of weight 0 takes no part
				dii[i] = -1
				alpha[i] = 0
			}
			if a := alpha[i]; a != 0 { // w = Σ α_i y_i x_i
				if docs[i].label != k {
					a = -a
				}
				w[R] += a
				for j, r := range docs[i].rows {
					w[r] += a * float64(docs[i].vals[j])
				}
			}
		}
		for i := range order {
			order[i] = i
		}
		for ep := range maxEpochs {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			progress(k*maxEpochs + ep)
			rng.Shuffle(n, func(a, b int) { order[a], order[b] = order[b], order[a] })
			pgMax, pgMin := math.Inf(-1), math.Inf(1)
			for _, i := range order {
				d := &docs[i]
				if dii[i] < 0 {
					continue
				}
				y := -1.0
				if d.label == k {
					y = 1
				}
				z := w[R]
				for j, r := range d.rows {
					z += float64(d.vals[j]) * w[r]
				}
				g := y*z - 1 + dii[i]*alpha[i]
				pg := g
				if alpha[i] == 0 {
					pg = min(g, 0)
				}
				pgMax, pgMin = max(pgMax, pg), min(pgMin, pg)
				if pg == 0 {
					continue
				}
				old := alpha[i]
				alpha[i] = max(old-g/(qii[i]+dii[i]), 0)
				if delta := (alpha[i] - old) * y; delta != 0 {
					w[R] += delta
					for j, r := range d.rows {
						w[r] += delta * float64(d.vals[j])
					}
				}
			}
			if pgMax-pgMin < svmTol {
				break
			}
		}
		for r := range R {
			theta[r*L+k] = w[r]
		}
		theta[R*L+k] = w[R]
	}
	return theta, alphas, nil
}

// svmTol: dual coordinate descent stops when the projected gradients of
// an epoch span less than this (LIBLINEAR's default for this solver is
// 0.1; a tighter one costs a few epochs more).
const svmTol = 0.05

// The topic head's SVM settings.
const (
	// svmMaxEpochs bounds the passes over the data per label.
	svmMaxEpochs = 300
	// svmScale multiplies the SVM's decision values (about ±1) into the
	// range of log-odds before the temperature is fitted, so that the
	// fitted temperature stays within fitTemperature's bounds; without a
	// held-out part (under selectMin examples) the scores are used
	// with this scale alone.
	svmScale = 4.0
	// svmInnerMax: up to this many data examples, C is chosen by 5-fold
	// cross-validation within them; above, it is svmCDefault (each fit
	// of 40,000 messages costs some 10 CPU-seconds, and training must
	// stay within a minute).
	svmInnerMax = 5000
	// svmCDefault is C when it is not chosen: under selectMin examples
	// or above svmInnerMax (the middle of svmCGrid; inner
	// cross-validation on the development data's training folds chose
	// 0.1 six times in ten, 0.25 twice, README "Measured").
	svmCDefault = 0.25
)

// svmCGrid are the values of C Train chooses from for the topic SVM
// (LinearSVC's default is 1; the reference baseline uses 0.5).
var svmCGrid = []float64{0.1, 0.25, 0.5}

// svmFold is the inner fold of an example (0 to 4, by the same hash as
// heldOut: fold 4 is the held-out fifth).
func svmFold(text string) int {
	h := fnv.New32a()
	h.Write([]byte(text))
	return int(h.Sum32() % 5)
}

// fitTopicSVM fits the topic head as a linear SVM (fitSVMDual) on all of
// docs and returns its parameters, scaled by svmScale, and the
// temperature that calibrates softmax(z/T) as probabilities. When
// calibrate is set (at least selectMin data examples) and there are at
// most svmInnerMax data examples, C is chosen from svmCGrid (unless
// TrainOptions.C sets it) by the macro-F1 of out-of-fold predictions of
// 5 inner folds; the temperature is fitted on the held-out fifth's
// scores under an SVM trained on the other four fifths (with more
// examples, the final fit starts from that SVM's solution). Keyword
// examples are never held out. balance gives the class-balancing weights
// of a set of example indices.
func fitTopicSVM(ctx context.Context, exs []Example, nKeyword int, docs []trainDoc, balance func([]int) []float64, R, L int, opts TrainOptions, calibrate bool, progress func(done, of int)) ([]float64, float64, error) {
	grid := svmCGrid
	if opts.C > 0 {
		grid = []float64{opts.C}
	} else if !calibrate || len(exs)-nKeyword > svmInnerMax {
		grid = []float64{svmCDefault}
	}
	epochs := svmMaxEpochs
	if opts.Epochs > 0 {
		epochs = opts.Epochs
	}
	folds := []int{4}
	if len(exs)-nKeyword <= svmInnerMax && len(grid) > 1 {
		folds = []int{0, 1, 2, 3, 4}
	}
	if !calibrate {
		folds = nil
	}
	of := (len(grid)*len(folds) + 1) * L * epochs
	done := 0
	fold := make([]int, len(exs))
	for i, e := range exs {
		fold[i] = -1 // keyword examples: always in training
		if i >= nKeyword {
			fold[i] = svmFold(e.Text)
		}
	}
	C, temp := grid[0], 1.0
	bestF1 := -1.0
	// With the held-out fifth alone (many examples), the final fit starts
	// from the four-fifths solution (and each C of a longer grid from the
	// previous one's).
	warmStart := len(folds) == 1
	var warm, bestAlpha [][]float64
	var warmIdx []int // the docs warm's columns belong to
	for _, c := range grid {
		var gold, pred []int
		var hoLogits [][]float64
		var hoGold []int
		for _, f := range folds {
			var tr, ho []int
			for i := range exs {
				if fold[i] == f {
					ho = append(ho, i)
				} else {
					tr = append(tr, i)
				}
			}
			trDocs := make([]trainDoc, len(tr))
			for j, i := range tr {
				trDocs[j] = docs[i]
			}
			for j, w := range balance(tr) {
				trDocs[j].w = w
			}
			if !warmStart {
				warm = nil
			}
			theta, alpha, err := fitSVMDual(ctx, trDocs, R, L, c, epochs, warm, func(d int) { progress(done+d, of) })
			if err != nil {
				return nil, 0, err
			}
			warm, warmIdx = alpha, tr
			done += L * epochs
			scaleTheta(theta, svmScale)
			for _, i := range ho {
				z := docLogits(theta, &docs[i], L)
				gold, pred = append(gold, docs[i].label), append(pred, argmaxF(z))
				if f == 4 {
					hoLogits, hoGold = append(hoLogits, z), append(hoGold, docs[i].label)
				}
			}
		}
		if f1 := macroF1Idx(gold, pred, L); len(folds) > 0 && f1 > bestF1+1e-9 {
			bestF1, C = f1, c
			temp = fitTemperature(hoLogits, hoGold)
			bestAlpha = warm
		}
	}
	var start [][]float64
	if warmStart && bestAlpha != nil {
		start = make([][]float64, L)
		for k := range L {
			start[k] = make([]float64, len(docs))
			for j, i := range warmIdx {
				start[k][i] = bestAlpha[k][j]
			}
		}
	}
	theta, _, err := fitSVMDual(ctx, docs, R, L, C, epochs, start, func(d int) { progress(done+d, of) })
	if err != nil {
		return nil, 0, err
	}
	scaleTheta(theta, svmScale)
	return theta, temp, nil
}

func scaleTheta(theta []float64, s float64) {
	for i := range theta {
		theta[i] *= s
	}
}
