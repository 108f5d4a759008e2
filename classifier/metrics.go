package classifier

import (
	"slices"
)

// ClassScore is one label's precision, recall, F1 and support (the number
// of gold examples with that label).
type ClassScore struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Report scores predictions against gold labels.
type Report struct {
	N        int                   `json:"n"`
	Accuracy float64               `json:"accuracy"`
	MacroF1  float64               `json:"macro_f1"`
	PerClass map[string]ClassScore `json:"per_class"`
	// Confusion[gold][predicted] counts examples.
	Confusion map[string]map[string]int `json:"confusion"`
	// UnknownLabels counts gold labels the model cannot predict; they
	// are scored (always wrong) and reported, not an error.
	UnknownLabels map[string]int `json:"unknown_labels,omitempty"`
}

// Evaluate scores pred against gold (same length; extra entries of the
// longer slice are ignored). Macro-F1 averages F1 over the labels present
// in gold. known lists the labels the model can predict; gold labels not in
// it are counted in UnknownLabels (a nil known counts none).
func Evaluate(gold, pred []string, known []string) Report {
	n := min(len(gold), len(pred))
	r := Report{N: n, PerClass: map[string]ClassScore{}, Confusion: map[string]map[string]int{}}
	tp := map[string]int{}
	predicted := map[string]int{}
	support := map[string]int{}
	correct := 0
	for i := range n {
		g, p := gold[i], pred[i]
		support[g]++
		predicted[p]++
		if r.Confusion[g] == nil {
			r.Confusion[g] = map[string]int{}
		}
		r.Confusion[g][p]++
		if g == p {
			tp[g]++
			correct++
		}
		if known != nil && !slices.Contains(known, g) {
			if r.UnknownLabels == nil {
				r.UnknownLabels = map[string]int{}
			}
			r.UnknownLabels[g]++
		}
	}
	if n > 0 {
		r.Accuracy = float64(correct) / float64(n)
	}
	labels := map[string]bool{}
	for l := range support {
		labels[l] = true
	}
	for l := range predicted {
		labels[l] = true
	}
	var sumF1 float64
	for _, l := range sortedKeys(labels) {
		var cs ClassScore
		cs.Support = support[l]
		if predicted[l] > 0 {
			cs.Precision = float64(tp[l]) / float64(predicted[l])
		}
		if support[l] > 0 {
			cs.Recall = float64(tp[l]) / float64(support[l])
		}
		if cs.Precision+cs.Recall > 0 {
			cs.F1 = 2 * cs.Precision * cs.Recall / (cs.Precision + cs.Recall)
		}
		r.PerClass[l] = cs
		if support[l] > 0 {
			sumF1 += cs.F1
		}
	}
	if len(support) > 0 {
		r.MacroF1 = sumF1 / float64(len(support))
	}
	return r
}
