package classifier

import (
	"context"
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
// start, which needs fewer epochs to the same optimum. nbMix > 0 scales
// each feature in label k's problem by nbRatios' scale for k; the weights
// returned are multiplied back by it, so a message is scored on its plain
// features, at no cost at run time.
func fitSVMDual(ctx context.Context, docs []trainDoc, R, L int, C, nbMix float64, maxEpochs int, warm [][]float64, progress func(int)) ([]float64, [][]float64, error) {
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
	var nb []float64 // per row: the label's log-count ratio (nbRatios)
	for k := range L {
		clear(w)
		if nbMix > 0 {
			nb = nbRatios(docs, R, k, nbMix, nb)
			for i := range docs {
				s := 1.0
				for j, r := range docs[i].rows {
					x := float64(docs[i].vals[j]) * nb[r]
					s += x * x
				}
				qii[i] = s
			}
		}
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
					w[r] += a * float64(docs[i].vals[j]) * nbOf(nb, r)
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
					z += float64(d.vals[j]) * nbOf(nb, r) * w[r]
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
						w[r] += delta * float64(d.vals[j]) * nbOf(nb, r)
					}
				}
			}
			if pgMax-pgMin < svmTol {
				break
			}
		}
		for r := range R {
			theta[r*L+k] = w[r] * nbOf(nb, int32(r))
		}
		theta[R*L+k] = w[R]
	}
	return theta, alphas, nil
}

// nbOf returns the scale of row r (1 without NB scaling: nb nil).
func nbOf(nb []float64, r int32) float64 {
	if nb == nil {
		return 1
	}
	return nb[r]
}

// nbRatios returns in dst the NB scale of each row for label k (NB-SVM,
// Wang and Manning 2012): the absolute log-count ratio
// |log((p_r / ‖p‖₁) / (q_r / ‖q‖₁))|, where p_r and q_r count, plus one,
// the messages holding feature r among k's messages and among the
// others, interpolated with 1 by nbMix (nbMix × ratio + 1 − nbMix). A
// feature that tells k from the rest weighs more in k's problem, one
// spread evenly less; the penalty on its weight shrinks accordingly.
// Any language and script alike: it only counts features.
func nbRatios(docs []trainDoc, R, k int, nbMix float64, dst []float64) []float64 {
	p, q := make([]float64, R), make([]float64, R)
	for r := range R {
		p[r], q[r] = 1, 1
	}
	for i := range docs {
		d := &docs[i]
		if d.w <= 0 {
			continue
		}
		c := q
		if d.label == k {
			c = p
		}
		for _, r := range d.rows {
			c[r]++
		}
	}
	var sp, sq float64
	for r := range R {
		sp += p[r]
		sq += q[r]
	}
	if cap(dst) < R {
		dst = make([]float64, R)
	}
	dst = dst[:R]
	for r := range R {
		dst[r] = math.Abs(math.Log((p[r] / sp) / (q[r] / sq)))
		dst[r] = nbMix*dst[r] + (1 - nbMix)
	}
	return dst
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

// svmSetting is one choice of the topic SVM's C and NB scaling
// (nbRatios' mix; 0: none).
type svmSetting struct{ C, nb float64 }

// svmNBGrid are the NB scalings (nbRatios) Train tries with each C, by
// the inner folds, beside none; without inner folds (under selectMin or above
// svmInnerMax examples) the features are not scaled: on the development
// data the inner folds chose scaling on newport_en (4 folds in 5) and
// never on disaster_en, and at 40,000 messages it would cost two thirds
// more training time (README "Measured").
var svmNBGrid = []float64{0.5, 1}

// svmCGrid are the values of C Train chooses from for the topic SVM
// (LinearSVC's default is 1; the reference baseline uses 0.5).
var svmCGrid = []float64{0.1, 0.25, 0.5}

// fitTopicSVM fits the topic head as a linear SVM (fitSVMDual) on all of
// docs and returns its parameters, scaled by svmScale, the temperature
// that calibrates softmax(z/T) as probabilities, and the setting chosen.
// When calibrate is set (at least selectMin data examples), there are
// at most svmInnerMax data examples and TrainOptions.NoSearch is not
// set, C is chosen from svmCGrid (unless
// TrainOptions.C sets it) by the macro-F1 of out-of-fold predictions of
// 5 inner folds, together with the NB scaling (none, or one of
// svmNBGrid: 3 × 3 settings, 45 fits); the
// temperature is fitted on the held-out fifth's scores under an SVM
// trained on the other four fifths (with more examples, C is
// svmCDefault, there is no NB scaling, and the final fit starts from that
// SVM's solution). Keyword examples are never held out. balance gives the
// class-balancing weights of a set of example indices.
//
// With foldWarm (augmented Aux examples, whose fits take several times
// longer), each inner fold's fit starts from that fold's solution under
// the previous setting: any non-negative dual point is feasible for the
// squared hinge loss, so the optimum is the same, reached in fewer
// passes.
func fitTopicSVM(ctx context.Context, exs []Example, nKeyword int, docs []trainDoc, balance func([]int) []float64, R, L int, opts TrainOptions, calibrate, foldWarm bool, progress func(done, of int)) (theta []float64, temp float64, chosen svmSetting, err error) {
	inner := calibrate && !opts.NoSearch && len(exs)-nKeyword <= svmInnerMax
	cs := svmCGrid
	if opts.C > 0 {
		cs = []float64{opts.C}
	} else if !inner {
		cs = []float64{svmCDefault}
	}
	var nbs []float64 // tried with every C
	if inner {
		nbs = svmNBGrid
	}
	epochs := svmMaxEpochs
	if opts.Epochs > 0 {
		epochs = opts.Epochs
	}
	folds := []int{4}
	if inner && len(cs)*(1+len(nbs)) > 1 {
		folds = []int{0, 1, 2, 3, 4}
	}
	if !calibrate {
		folds = nil
	}
	of := (len(cs)*(1+len(nbs))*len(folds) + 1) * L * epochs
	done := 0
	fold := make([]int, len(exs))
	for i, e := range exs {
		fold[i] = -1 // keyword examples: always in training
		if i >= nKeyword {
			fold[i] = innerFold(e.Text)
		}
	}
	best := svmSetting{C: cs[0]}
	temp = 1.0
	bestF1 := -1.0
	// With the held-out fifth alone (many examples), the final fit starts
	// from the four-fifths solution (and each C of a longer grid from the
	// previous one's).
	warmStart := len(folds) == 1
	var warm, bestAlpha [][]float64
	var warmIdx []int                // the docs warm's columns belong to
	perFold := map[int][][]float64{} // foldWarm: each fold's last solution
	// try scores setting c on the folds and keeps it when its macro-F1
	// is the best so far.
	try := func(c svmSetting) error {
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
				warm = perFold[f] // nil unless foldWarm
			}
			theta, alpha, err := fitSVMDual(ctx, trDocs, R, L, c.C, c.nb, epochs, warm, func(d int) { progress(done+d, of) })
			if err != nil {
				return err
			}
			warm, warmIdx = alpha, tr
			if foldWarm && !warmStart {
				perFold[f] = alpha
			}
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
			bestF1, best = f1, c
			temp = fitTemperature(hoLogits, hoGold)
			bestAlpha = warm
		}
		return nil
	}
	// Every C without NB scaling, then with each scaling: a scaling is
	// kept only when it beats every plain setting on the same folds.
	for _, nb := range append([]float64{0}, nbs...) {
		for _, c := range cs {
			if err := try(svmSetting{C: c, nb: nb}); err != nil {
				return nil, 0, svmSetting{}, err
			}
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
	theta, _, err = fitSVMDual(ctx, docs, R, L, best.C, best.nb, epochs, start, func(d int) { progress(done+d, of) })
	if err != nil {
		return nil, 0, svmSetting{}, err
	}
	scaleTheta(theta, svmScale)
	return theta, temp, best, nil
}

func scaleTheta(theta []float64, s float64) {
	for i := range theta {
		theta[i] *= s
	}
}
