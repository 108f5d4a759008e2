package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"citybot/classifier"
)

const clsEvalUsage = `usage: citybot eval --data FILE.csv [--model MODEL] [--config PATH] [--json] [--predictions OUT.csv]

Classifies every row of FILE.csv (a header row with a "text" column) and
scores each label column present ("topic", "urgency"): accuracy, macro-F1
(over the labels present in the file), per-class precision, recall and F1,
and the confusion matrix. Labels the model cannot predict are reported and
scored as errors. A "sensitive" column (true/false, 1/0, yes/no; empty
cells are skipped) is scored by the precision and recall of the sensitive
flag. --predictions writes one row per message, with a "sensitive" column
(true/false).

The classifier is built as serve builds it, from the configuration's
[classifier] section (--config, else config.toml when there is one, else
the defaults): the city's topics and keywords, lexicon_dir, places and
thresholds. Without --model it evaluates the model serve would load: the
one retraining switched to ([retrain] dir), else [classifier] model, else
the model shipped with citybot; it says which on stderr.

flags:
`

// clsEvalResult is what --json prints.
type clsEvalResult struct {
	N       int                `json:"n"`
	Model   string             `json:"model"`
	Topic   *classifier.Report `json:"topic,omitempty"`
	Urgency *classifier.Report `json:"urgency,omitempty"`
	// Sensitive scores the sensitive flag when the file has a
	// "sensitive" column.
	Sensitive *clsFlagReport `json:"sensitive,omitempty"`
}

// clsFlagReport scores a boolean flag against labels.
type clsFlagReport struct {
	N              int     `json:"n"`       // labelled rows
	Support        int     `json:"support"` // rows labelled true
	Flagged        int     `json:"flagged"` // labelled rows the classifier flagged
	TruePositives  int     `json:"true_positives"`
	FalsePositives int     `json:"false_positives"`
	FalseNegatives int     `json:"false_negatives"`
	Precision      float64 `json:"precision"`
	Recall         float64 `json:"recall"`
	F1             float64 `json:"f1"`
	// Invalid counts cells that are neither true nor false (skipped).
	Invalid int `json:"invalid,omitempty"`
}

// clsParseBool reads a label cell: true, false, or ok = false when it is
// empty or unreadable.
func clsParseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "y", "t":
		return true, true
	case "false", "0", "no", "n", "f":
		return false, true
	}
	return false, false
}

// clsScoreFlag scores pred against the gold column (nil when absent).
func clsScoreFlag(gold []string, pred []bool) *clsFlagReport {
	if gold == nil {
		return nil
	}
	r := &clsFlagReport{}
	for i, cell := range gold {
		g, ok := clsParseBool(cell)
		if !ok {
			if strings.TrimSpace(cell) != "" {
				r.Invalid++
			}
			continue
		}
		r.N++
		switch p := pred[i]; {
		case g && p:
			r.TruePositives++
		case g:
			r.FalseNegatives++
		case p:
			r.FalsePositives++
		}
		if g {
			r.Support++
		}
		if pred[i] {
			r.Flagged++
		}
	}
	if r.Flagged > 0 {
		r.Precision = float64(r.TruePositives) / float64(r.Flagged)
	}
	if r.Support > 0 {
		r.Recall = float64(r.TruePositives) / float64(r.Support)
	}
	if r.Precision+r.Recall > 0 {
		r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
	}
	return r
}

// runEvalEnv implements `citybot eval`. args exclude the subcommand name.
// Bad flags and arguments return a *UsageError (exit status 2); a
// configuration that cannot be used, a *ConfigError.
func runEvalEnv(ctx context.Context, e *env, args []string) error {
	stdout, stderr := e.stdout, e.stderr
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, clsEvalUsage)
		fs.PrintDefaults()
	}
	data := fs.String("data", "", "CSV `file` to evaluate on (required)")
	modelPath := fs.String("model", "", "model `file` (default: the model serve would load)")
	configPath := fs.String("config", e.configPath, "configuration `file` whose [classifier] section builds the classifier (default as the global --config)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	predictions := fs.String("predictions", "", "write one row per message to this CSV `file`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &UsageError{Command: "citybot eval", Msg: "eval: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &UsageError{Command: "citybot eval", Msg: fmt.Sprintf("eval: unexpected arguments %q", fs.Args())}
	}
	if *data == "" {
		fs.Usage()
		return &UsageError{Command: "citybot eval", Msg: "eval: missing --data"}
	}
	tab, err := classifier.ReadTableFile(*data)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	cfg, err := LoadConfig(*configPath, e.getenv)
	if err != nil {
		return err
	}
	c, which, err := clsEvalClassifier(cfg, *modelPath)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	fmt.Fprintf(stderr, "eval: %s\n", which)

	texts := tab.Column("text")
	topics := make([]string, len(texts))
	urgencies := make([]string, len(texts))
	sensitive := make([]bool, len(texts))
	var pw *csv.Writer
	if *predictions != "" {
		f, err := os.Create(*predictions)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		pw = csv.NewWriter(bw)
		defer func() {
			pw.Flush()
			bw.Flush()
		}()
		if err := pw.Write([]string{"row", "text", "topic", "topic_confidence", "urgency", "urgency_confidence", "urgency_score", "language", "sensitive"}); err != nil {
			return fmt.Errorf("eval: write predictions: %w", err)
		}
	}
	bar := newClsProgress(stderr, "classifying")
	for i, text := range texts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("eval: %w", err)
			}
			bar.update(i, len(texts))
		}
		r := c.Classify(text, "")
		topics[i], urgencies[i], sensitive[i] = r.Topic.Label, string(r.Urgency), r.Sensitive
		if pw != nil {
			rec := []string{strconv.Itoa(i + 1), text, r.Topic.Label, clsFloat(r.Topic.Confidence),
				string(r.Urgency), clsFloat(r.UrgencyConfidence), clsFloat(r.UrgencyScore), r.Language,
				strconv.FormatBool(r.Sensitive)}
			if err := pw.Write(rec); err != nil {
				return fmt.Errorf("eval: write predictions: %w", err)
			}
		}
	}
	bar.update(len(texts), len(texts))
	bar.done()
	if pw != nil {
		pw.Flush()
		if err := pw.Error(); err != nil {
			return fmt.Errorf("eval: write predictions: %w", err)
		}
	}

	res := clsEvalResult{N: len(texts), Model: c.Model().Name()}
	score := func(col string, pred []string, known []string) *classifier.Report {
		gold := tab.Column(col)
		if gold == nil {
			return nil
		}
		var g, p []string
		for i, l := range gold {
			if l = strings.TrimSpace(l); l != "" {
				g, p = append(g, l), append(p, pred[i])
			}
		}
		r := classifier.Evaluate(g, p, known)
		return &r
	}
	res.Topic = score("topic", topics, c.Topics())
	res.Urgency = score("urgency", urgencies, classifier.UrgencyLabels())
	res.Sensitive = clsScoreFlag(tab.Column("sensitive"), sensitive)
	if res.Topic == nil && res.Urgency == nil && res.Sensitive == nil {
		fmt.Fprintf(stderr, "eval: %s has no topic, urgency or sensitive column: nothing to score\n", *data)
	}
	if res.Sensitive != nil && res.Sensitive.Invalid > 0 {
		fmt.Fprintf(stderr, "eval: %d sensitive cells are neither true nor false (skipped)\n", res.Sensitive.Invalid)
	}
	for _, r := range []struct {
		name string
		rep  *classifier.Report
	}{{"topic", res.Topic}, {"urgency", res.Urgency}} {
		if r.rep != nil && len(r.rep.UnknownLabels) > 0 {
			fmt.Fprintf(stderr, "eval: %s labels the model does not know (counted as errors): %s\n", r.name, clsFormatCounts(r.rep.UnknownLabels))
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		return nil
	}
	fmt.Fprintf(stdout, "%d messages, model %s\n", res.N, res.Model)
	if res.Topic != nil {
		clsPrintReport(stdout, "topic", res.Topic)
	}
	if res.Urgency != nil {
		clsPrintReport(stdout, "urgency", res.Urgency)
	}
	if s := res.Sensitive; s != nil {
		fmt.Fprintf(stdout, "\nsensitive: %d labelled, %d true, %d flagged: precision %.3f, recall %.3f, F1 %.3f\n",
			s.N, s.Support, s.Flagged, s.Precision, s.Recall, s.F1)
	}
	return nil
}

// clsEvalClassifier builds the classifier eval uses, with cfg's
// [classifier] options (the default topics when it lists none) plus any
// topic the model knows beyond them, and the model at modelPath, else
// the one serve would load (servingClassifier's order). which says, in
// words, what model and configuration that is.
func clsEvalClassifier(cfg Config, modelPath string) (c *classifier.Classifier, which string, err error) {
	opts := cfg.cityClassifier()
	var m *classifier.Model
	switch {
	case modelPath != "":
		if m, err = classifier.LoadModel(modelPath); err != nil {
			return nil, "", err
		}
		which = "model " + modelPath
	default:
		if m, err = classifier.LoadModel(opts.Model); err != nil {
			return nil, "", fmt.Errorf("[classifier] model: %w", err)
		}
		which = "the model shipped with citybot"
		if opts.Model != "" {
			which = "model " + opts.Model + " ([classifier] model)"
		}
		files := cfg.ModelFiles()
		switched, err := files.Load()
		if err != nil {
			return nil, "", fmt.Errorf("the model retraining switched to: %w (roll back in the console, or pass --model)", err)
		}
		if switched != nil {
			m, which = switched.WithFallback(m), "model "+files.Current+" (switched to by retraining)"
		}
	}
	if cfg.Source != "" {
		which += ", with the [classifier] section of " + cfg.Source
	}
	for _, l := range m.Labels(classifier.KindTopic) {
		if !slices.ContainsFunc(opts.Topics, func(t classifier.Topic) bool { return t.Name == l }) {
			opts.Topics = append(opts.Topics, classifier.Topic{Name: l})
		}
	}
	c, err = classifier.NewWithModel(opts, m)
	return c, which, err
}

func clsFloat(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func clsPrintReport(w io.Writer, name string, r *classifier.Report) {
	fmt.Fprintf(w, "\n%s: %d labelled, accuracy %.3f, macro-F1 %.3f\n", name, r.N, r.Accuracy, r.MacroF1)
	labels := make([]string, 0, len(r.PerClass))
	for l := range r.PerClass {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "label\tprecision\trecall\tf1\tsupport\t")
	for _, l := range labels {
		s := r.PerClass[l]
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%d\t\n", l, s.Precision, s.Recall, s.F1, s.Support)
	}
	tw.Flush()
	fmt.Fprintf(w, "confusion (rows: true label, columns: predicted)\n")
	tw = tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, l := range labels {
		fmt.Fprintf(tw, "%s\t", clsShort(l))
	}
	fmt.Fprintln(tw)
	for _, g := range labels {
		if r.PerClass[g].Support == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t", g)
		for _, p := range labels {
			fmt.Fprintf(tw, "%d\t", r.Confusion[g][p])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// clsShort abbreviates a label for a column header.
func clsShort(l string) string {
	if len(l) <= 8 {
		return l
	}
	return l[:7] + "."
}
