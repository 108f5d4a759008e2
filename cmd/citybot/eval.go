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

const clsEvalUsage = `usage: citybot eval --data FILE.csv [--model MODEL] [--json] [--predictions OUT.csv]

Classifies every row of FILE.csv (a header row with a "text" column) and
scores each label column present ("topic", "urgency"): accuracy, macro-F1
(over the labels present in the file), per-class precision, recall and F1,
and the confusion matrix. Labels the model cannot predict are reported and
scored as errors. Without --model, the model shipped with citybot is used.

flags:
`

// clsEvalResult is what --json prints.
type clsEvalResult struct {
	N       int                `json:"n"`
	Model   string             `json:"model"`
	Topic   *classifier.Report `json:"topic,omitempty"`
	Urgency *classifier.Report `json:"urgency,omitempty"`
}

// runEval implements `citybot eval`. args exclude the subcommand name.
// Bad flags and arguments return a *UsageError (exit status 2).
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, clsEvalUsage)
		fs.PrintDefaults()
	}
	data := fs.String("data", "", "CSV `file` to evaluate on (required)")
	modelPath := fs.String("model", "", "model `file` (default: the shipped model)")
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
	c, err := clsEvalClassifier(*modelPath)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}

	texts := tab.Column("text")
	topics := make([]string, len(texts))
	urgencies := make([]string, len(texts))
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
		if err := pw.Write([]string{"row", "text", "topic", "topic_confidence", "urgency", "urgency_confidence", "urgency_score", "language"}); err != nil {
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
		topics[i], urgencies[i] = r.Topic.Label, string(r.Urgency)
		if pw != nil {
			rec := []string{strconv.Itoa(i + 1), text, r.Topic.Label, clsFloat(r.Topic.Confidence),
				string(r.Urgency), clsFloat(r.UrgencyConfidence), clsFloat(r.UrgencyScore), r.Language}
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
	if res.Topic == nil && res.Urgency == nil {
		fmt.Fprintf(stderr, "eval: %s has no topic or urgency column: nothing to score\n", *data)
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
	return nil
}

// clsEvalClassifier builds the classifier eval uses: the default topics
// plus any topic the model knows beyond them.
func clsEvalClassifier(modelPath string) (*classifier.Classifier, error) {
	opts := classifier.DefaultOptions()
	def, err := classifier.DefaultModel()
	if err != nil {
		return nil, err
	}
	m := def
	if modelPath != "" {
		own, err := classifier.ReadModelFile(modelPath)
		if err != nil {
			return nil, err
		}
		m = own.WithFallback(def)
	}
	for _, l := range m.Labels(classifier.KindTopic) {
		if !slices.ContainsFunc(opts.Topics, func(t classifier.Topic) bool { return t.Name == l }) {
			opts.Topics = append(opts.Topics, classifier.Topic{Name: l})
		}
	}
	return classifier.NewWithModel(opts, m)
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
