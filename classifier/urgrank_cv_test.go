package classifier

import (
	"context"
	"encoding/gob"
	"maps"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
)

// rankRow is one disaster_en.csv row as the urgency combiner sees it.
type rankRow struct {
	Text, Genre string
	Pos         bool // proxy-critical: a request naming a threat to life
	Fold        int
	// Outer: head probabilities (request, life threat, urgency) from heads
	// trained without the row's fold.
	Outer [3]float64
	// Inner[f]: for a row outside fold f, from heads trained without
	// folds f and the row's own (the out-of-fold outputs a combiner for
	// outer fold f is fitted on).
	Inner [5][3]float64
	Tags  posTags
}

// headProbs returns P(request = 1), P(life threat = 1) and P(critical) +
// ½·P(high) of c's heads for text, and its signals.
func headProbs(c *Classifier, text string) ([3]float64, signals) {
	sc := &scratch{}
	text = prefix(text, c.opts.maxBytes())
	sc.toks, _ = tokenize(text, nil)
	sig := scanSignals(c.cues, text, sc.toks, nil)
	sc.feats = appendSignals(featurize(sc.toks, nil), &sig)
	c.scoreHeads(sc)
	softmax(sc.rlogits)
	softmax(sc.llogits)
	softmax(sc.ulogits)
	u := c.model.urgency.labels
	return [3]float64{
		pOf(c.model.request.labels, sc.rlogits, "1"),
		pOf(c.model.lifeThreat.labels, sc.llogits, "1"),
		pOf(u, sc.ulogits, "critical") + 0.5*pOf(u, sc.ulogits, "high"),
	}, sig
}

// rankRows trains the urgency heads on every fold pair and returns the
// rows with their outer and inner out-of-fold head outputs. With
// CITYBOT_URGRANK_CACHE set, the rows are read from (or written to) that
// file: the heads take minutes to train.
func rankRows(t *testing.T, k int) []rankRow {
	t.Helper()
	cache := os.Getenv("CITYBOT_URGRANK_CACHE")
	if cache != "" {
		if f, err := os.Open(cache); err == nil {
			defer f.Close()
			var rows []rankRow
			if err := gob.NewDecoder(f).Decode(&rows); err == nil {
				return rows
			}
		}
	}
	dis := readShared(t, "disaster_en.csv")
	texts, genres := dis.Column("text"), dis.Column("genre")
	urg, req, life := UrgencyExamples(dis), RequestExamples(dis), LifeThreatExamples(dis)
	rows := make([]rankRow, len(texts))
	for i := range rows {
		rows[i] = rankRow{Text: texts[i], Genre: genres[i], Pos: urg[i].Label == "critical", Fold: foldOf(texts[i], k)}
	}
	opts := DefaultOptions()
	opts.DisableNER = true
	// train returns a classifier whose heads never saw folds a and b.
	train := func(a, b int) *Classifier {
		var tu, tr, tl []Example
		for i, r := range rows {
			if r.Fold == a || r.Fold == b {
				continue
			}
			tu, tr, tl = append(tu, urg[i]), append(tr, req[i]), append(tl, life[i])
		}
		ctx := context.Background()
		um, err := Train(ctx, KindUrgency, tu, TrainOptions{})
		if err != nil {
			t.Error(err)
			return nil
		}
		rm, err := Train(ctx, KindRequest, tr, TrainOptions{})
		if err != nil {
			t.Error(err)
			return nil
		}
		lm, err := Train(ctx, KindLifeThreat, tl, TrainOptions{})
		if err != nil {
			t.Error(err)
			return nil
		}
		c, err := NewWithModel(opts, um.WithFallback(rm).WithFallback(lm))
		if err != nil {
			t.Error(err)
			return nil
		}
		return c
	}
	// Every pair of folds (and each fold alone) in parallel: the
	// machine is shared, and each training is single-threaded.
	type job struct{ a, b int }
	var jobs []job
	for f := range k {
		for g := f; g < k; g++ {
			jobs = append(jobs, job{f, g})
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c := train(j.a, j.b)
			if c == nil {
				return
			}
			for i := range rows {
				if rows[i].Fold != j.a && rows[i].Fold != j.b {
					continue
				}
				p, _ := headProbs(c, rows[i].Text)
				mu.Lock()
				switch {
				case j.a == j.b:
					rows[i].Outer = p
				case rows[i].Fold == j.a:
					rows[i].Inner[j.b] = p
				default:
					rows[i].Inner[j.a] = p
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	n, err := newNER()
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].Tags = n.tags(prefix(rows[i].Text, maxNERBytes))
	}
	if cache != "" {
		f, err := os.Create(cache)
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(f).Encode(rows); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return rows
}

// fitRanker fits an L2-penalised logistic regression (no penalty on the
// bias) by Newton's method.
func fitRanker(X [][nRankFeatures]float64, y []bool, lambda float64) [nRankFeatures]float64 {
	const D = nRankFeatures
	var w [D]float64
	for range 50 {
		var g [D]float64
		var H [D][D]float64
		for i, x := range X {
			z := 0.0
			for j := range D {
				z += w[j] * x[j]
			}
			p := 1 / (1 + math.Exp(-z))
			r := p
			if y[i] {
				r = p - 1
			}
			s := p * (1 - p)
			for j := range D {
				if x[j] == 0 {
					continue
				}
				g[j] += r * x[j]
				for l := range D {
					H[j][l] += s * x[j] * x[l]
				}
			}
		}
		for j := 1; j < D; j++ {
			g[j] += lambda * w[j]
			H[j][j] += lambda
		}
		for j := range D {
			H[j][j] += 1e-9
		}
		step := solve(H, g)
		maxStep := 0.0
		for j := range D {
			w[j] -= step[j]
			maxStep = max(maxStep, math.Abs(step[j]))
		}
		if maxStep < 1e-8 {
			break
		}
	}
	return w
}

// solve solves H x = g by Gaussian elimination with partial pivoting.
func solve(H [nRankFeatures][nRankFeatures]float64, g [nRankFeatures]float64) [nRankFeatures]float64 {
	const D = nRankFeatures
	for c := range D {
		p := c
		for r := c + 1; r < D; r++ {
			if math.Abs(H[r][c]) > math.Abs(H[p][c]) {
				p = r
			}
		}
		H[c], H[p] = H[p], H[c]
		g[c], g[p] = g[p], g[c]
		if H[c][c] == 0 {
			continue
		}
		for r := c + 1; r < D; r++ {
			f := H[r][c] / H[c][c]
			for k := c; k < D; k++ {
				H[r][k] -= f * H[c][k]
			}
			g[r] -= f * g[c]
		}
	}
	var x [D]float64
	for c := D - 1; c >= 0; c-- {
		s := g[c]
		for k := c + 1; k < D; k++ {
			s -= H[c][k] * x[k]
		}
		if H[c][c] != 0 {
			x[c] = s / H[c][c]
		}
	}
	return x
}

func score(w *[nRankFeatures]float64, x *[nRankFeatures]float64) float64 {
	z := 0.0
	for j := range w {
		z += w[j] * x[j]
	}
	return 1 / (1 + math.Exp(-z))
}

// rankX returns row r's combiner features with head outputs p.
func rankX(c *Classifier, r *rankRow, p [3]float64, usePOS func(*signals) bool) [nRankFeatures]float64 {
	text := prefix(r.Text, c.opts.maxBytes())
	toks, _ := tokenize(text, nil)
	sig := scanSignals(c.cues, text, toks, nil)
	in := rankInputs{req: p[0], life: p[1], urg: p[2], sig: &sig}
	if usePOS != nil && usePOS(&sig) {
		in.pos = r.Tags
	}
	var x [nRankFeatures]float64
	rankFeatures(&in, &x)
	return x
}

// rankEval is what evalRank measures under the outer folds.
type rankEval struct {
	top, topDirect       float64 // proxy-critical in the top tenth by score
	rawTop               float64 // the same by the combiner's probability alone
	newsCrit, directCrit float64 // share called critical
	w                    [nRankFeatures]float64
	rules                []float64 // the rule cut chosen for each outer fold
}

// evalRank fits the combiner for each outer fold on the inner
// out-of-fold head outputs of the other folds, scores the outer fold, and
// fits the shipped combiner on every row's outer out-of-fold outputs.
func evalRank(c *Classifier, rows []rankRow, k int, gate func(*signals) bool, lambda float64, cut cuts, chooseRule bool) rankEval {
	n := len(rows)
	raw, final := make([]float64, n), make([]float64, n)
	crit := make([]bool, n)
	sigs := make([]signals, n)
	past := make([]bool, n)
	for i := range rows {
		text := prefix(rows[i].Text, c.opts.maxBytes())
		toks, _ := tokenize(text, nil)
		sigs[i] = scanSignals(c.cues, text, toks, nil)
		tags := rows[i].Tags
		past[i] = sigs[i].needsTense(LangEnglish) && tags.Tagged && tags.Past && !tags.Present
	}
	var e rankEval
	for f := range k {
		var X [][nRankFeatures]float64
		var y []bool
		for i := range rows {
			if rows[i].Fold != f {
				X = append(X, rankX(c, &rows[i], rows[i].Inner[f], gate))
				y = append(y, rows[i].Pos)
			}
		}
		w := fitRanker(X, y, lambda)
		// The rule cut: chosen on the other folds' scores.
		var ts []float64
		var tp []bool
		var tsig []signals
		var tpast, tnews []bool
		for i := range rows {
			if rows[i].Fold != f {
				x := rankX(c, &rows[i], rows[i].Inner[f], gate)
				ts, tp, tsig = append(ts, score(&w, &x)), append(tp, rows[i].Pos), append(tsig, sigs[i])
				tpast, tnews = append(tpast, past[i]), append(tnews, rows[i].Genre != "direct")
			}
		}
		fc := cut
		if chooseRule {
			fc.rule = chooseRuleCut(ts, tp, tsig, tpast, tnews, cut)
			e.rules = append(e.rules, fc.rule)
		}
		for i := range rows {
			if rows[i].Fold == f {
				x := rankX(c, &rows[i], rows[i].Outer, gate)
				raw[i] = score(&w, &x)
				lv := rankLevel(raw[i], &sigs[i], past[i], fc)
				final[i], crit[i] = lv.score, lv.u == "critical"
			}
		}
	}
	var X [][nRankFeatures]float64
	var y []bool
	for i := range rows {
		X = append(X, rankX(c, &rows[i], rows[i].Outer, gate))
		y = append(y, rows[i].Pos)
	}
	e.w = fitRanker(X, y, lambda)
	pos := make([]bool, n)
	var ds []float64
	var dp []bool
	var nn, nc, dn, dc int
	for i := range rows {
		pos[i] = rows[i].Pos
		if rows[i].Genre == "direct" {
			ds, dp = append(ds, final[i]), append(dp, pos[i])
			dn++
			if crit[i] {
				dc++
			}
		} else {
			nn++
			if crit[i] {
				nc++
			}
		}
	}
	e.top, e.rawTop, e.topDirect = topShare(final, pos), topShare(raw, pos), topShare(ds, dp)
	e.newsCrit, e.directCrit = float64(nc)/float64(max(nn, 1)), float64(dc)/float64(max(dn, 1))
	return e
}

// Shipped combiner settings: prose's tags only for messages with a
// critical or risk cue (needsTags), L2 penalty rankLambda.
const rankLambda = 10

// TestUrgencyRankCV measures the urgency ranking under nested 5-fold
// cross-validation on disaster_en.csv (the combiner and its rule cut for
// each outer fold fitted on the other folds' inner out-of-fold head
// outputs), with and without prose's tags, and checks that the shipped
// weights and rule cut are what the fit on every row's out-of-fold head
// outputs gives. CITYBOT_URGRANK_VARIANTS=1 also prints other prose gates
// and penalties. It trains 45 heads (CITYBOT_URGRANK_CACHE keeps their
// outputs in a file for the next run). It runs only with
// CITYBOT_URGRANK_CV=1: it takes about 20 minutes on two cores without the
// cache, more than CI allows; run it after any change to the heads, the
// signals or the lexicons' urgency words.
func TestUrgencyRankCV(t *testing.T) {
	if testing.Short() || os.Getenv("CITYBOT_URGRANK_CV") == "" {
		t.Skip("trains 45 heads: set CITYBOT_URGRANK_CV=1")
	}
	const k = 5
	rows := rankRows(t, k)
	c := newDefault(t)
	shipGate := func(s *signals) bool { return needsTags(s, LangEnglish) }
	variants := map[string]func(*signals) bool{
		"noPOS":          nil,
		"POS(needsTags)": shipGate,
	}
	lambdas := []float64{rankLambda}
	if os.Getenv("CITYBOT_URGRANK_VARIANTS") != "" {
		variants["POSall"] = func(*signals) bool { return true }
		variants["POS(any cue)"] = func(s *signals) bool { return len(s.crit)+len(s.high)+len(s.risk) > 0 }
		lambdas = []float64{0.1, 1, 10}
	}
	for _, name := range slices.Sorted(maps.Keys(variants)) {
		for _, lambda := range lambdas {
			e := evalRank(c, rows, k, variants[name], lambda, rankCuts, true)
			t.Logf("%-14s λ=%-4g proxy-critical in the top 10%%: %.3f (combiner alone %.3f, direct %.3f); called critical: news %.3f, direct %.3f; rule cuts %v",
				name, lambda, e.top, e.rawTop, e.topDirect, e.newsCrit, e.directCrit, e.rules)
		}
	}
	e := evalRank(c, rows, k, shipGate, rankLambda, rankCuts, true)
	if e.top < 0.44 || e.newsCrit > 0.04 || e.directCrit > 0.10 {
		t.Errorf("nested CV: top 10%% %.3f (want at least 0.44), news called critical %.3f (at most 0.04), direct %.3f (at most 0.10)", e.top, e.newsCrit, e.directCrit)
	}
	// The shipped combiner: fitted on every row's out-of-fold outputs;
	// its rule cut chosen on them.
	var s []float64
	var pos, past, news []bool
	var sigs []signals
	for i := range rows {
		x := rankX(c, &rows[i], rows[i].Outer, shipGate)
		s, pos = append(s, score(&e.w, &x)), append(pos, rows[i].Pos)
		text := prefix(rows[i].Text, c.opts.maxBytes())
		toks, _ := tokenize(text, nil)
		sig := scanSignals(c.cues, text, toks, nil)
		tags := rows[i].Tags
		sigs, news = append(sigs, sig), append(news, rows[i].Genre != "direct")
		past = append(past, sig.needsTense(LangEnglish) && tags.Tagged && tags.Past && !tags.Present)
	}
	rule := chooseRuleCut(s, pos, sigs, past, news, rankCuts)
	t.Logf("shipped: rule cut %g; weights %#v", rule, e.w)
	for j := range e.w {
		if math.Abs(e.w[j]-rankWeights[j]) > 1e-6 {
			t.Errorf("rankWeights[%d] = %g, the fit gives %g: paste the weights printed above", j, rankWeights[j], e.w[j])
		}
	}
	if rule != rankCuts.rule {
		t.Errorf("rankCuts.rule = %g, chosen %g", rankCuts.rule, rule)
	}
	// The shipped classifier on newport_en.csv (city messages, none an
	// emergency, never trained on): the share it calls critical.
	nw := readShared(t, "newport_en.csv")
	crit := 0
	for _, text := range nw.Column("text") {
		if r := c.Classify(text, ""); r.Urgency == "critical" {
			crit++
			t.Logf("newport critical: %q %.3f %v", text, r.UrgencyScore, r.UrgencyCues)
		}
	}
	share := float64(crit) / float64(len(nw.Rows))
	t.Logf("newport_en called critical by the shipped classifier: %.1f%% (%d of %d)", 100*share, crit, len(nw.Rows))
	if share > 0.02 {
		t.Errorf("newport_en: %.1f%% called critical, want at most 2%%", 100*share)
	}
}

// ruleGrid are the candidate rule cuts (cuts.rule).
var ruleGrid = []float64{0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3}

// chooseRuleCut returns the rule cut of ruleGrid that puts the most
// proxy-critical messages in the top tenth of the scores, among those
// calling at most 3 % of the news sentences critical (the lowest such cut
// on a tie: a cue should count).
func chooseRuleCut(s []float64, pos []bool, sig []signals, past, news []bool, k cuts) float64 {
	best, bestTop := ruleGrid[len(ruleGrid)-1], -1.0
	for _, r := range ruleGrid {
		k.rule = r
		final := make([]float64, len(s))
		nn, nc := 0, 0
		for i := range s {
			lv := rankLevel(s[i], &sig[i], past[i], k)
			final[i] = lv.score
			if news[i] {
				nn++
				if lv.u == "critical" {
					nc++
				}
			}
		}
		if float64(nc) > 0.03*float64(nn) {
			continue
		}
		if top := topShare(final, pos); top > bestTop+1e-9 {
			best, bestTop = r, top
		}
	}
	return best
}
