// Command gensensitive rebuilds the learned part of the classifier's
// sensitive detector (sensitive_model.bin) from the hand-written sets
// testdata/sensitive_tune*.tsv (one round each) and the texts of disaster_en.csv (CC BY 4.0) as negatives.
// It never reads the held-out sets testdata/sensitive_fresh*.tsv. Run it through
// `go generate ./classifier`; the data must be in shared/data above the
// repository (or set CITYBOT_DATA). It prints the leave-one-round-out
// cross-validation figures.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"citybot/classifier"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gensensitive:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "sensitive_model.bin", "weights file to write")
	data := flag.String("data", "", "disaster_en.csv (default: found in shared/data above this directory)")
	lambda := flag.Float64("lambda", 0, "L2 penalty (0: default)")
	negw := flag.Float64("negweight", 0, "weight of the negatives as a whole, relative to the controls (0: default)")
	misses := flag.Bool("misses", false, "print the out-of-fold misses and false alarms")
	maxfa := flag.Float64("maxfa", 0, "bound on the out-of-fold false alarms the model adds on the controls when choosing the threshold (0: default)")
	iters := flag.Int("iters", 0, "L-BFGS iterations (0: default)")
	maxveto := flag.Float64("maxveto", 0, "bound on the reports the model may veto out of fold, as a share of all reports, when choosing the evidence threshold (0: default)")
	maxruleveto := flag.Float64("maxruleveto", 0, "bound on the reports the model may veto out of fold, as a share of all reports, when choosing the rule veto threshold (0: default)")
	verbose := flag.Bool("v", false, "log progress")
	flag.Parse()
	path := *data
	if path == "" {
		dir, err := classifier.FindSharedData(".")
		if err != nil {
			return err
		}
		path = filepath.Join(dir, "disaster_en.csv")
	}
	t, err := classifier.ReadTableFile(path)
	if err != nil {
		return err
	}
	files, err := filepath.Glob("testdata/sensitive_tune*.tsv")
	if err != nil {
		return err
	}
	tr := classifier.SensitiveTraining{Negatives: t.Column("text"), Lambda: *lambda, NegWeight: *negw, MaxAddedFA: *maxfa, MaxVetoLoss: *maxveto, MaxRuleVetoLoss: *maxruleveto, Iters: *iters}
	if *verbose {
		tr.Log = func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	}
	for _, f := range files {
		s, err := readSet(f)
		if err != nil {
			return err
		}
		tr.Rounds = append(tr.Rounds, s)
	}
	// Hand-written ordinary city messages join disaster_en's as
	// negatives.
	negFiles, err := filepath.Glob("testdata/sensitive_negatives*.tsv")
	if err != nil {
		return err
	}
	for _, f := range negFiles {
		s, err := readSet(f)
		if err != nil {
			return err
		}
		for i, y := range s.Label {
			if y {
				return fmt.Errorf("%s: line %q is a report; a negatives file holds none", f, s.Texts[i])
			}
		}
		tr.Negatives = append(tr.Negatives, s.Texts...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	b, cv, err := classifier.TrainSensitive(ctx, tr)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes; %d rounds, %d negatives; threshold %.4f, evidence threshold %.4f, rule veto threshold %.4f\n", *out, len(b), len(tr.Rounds), len(tr.Negatives), cv.Threshold, cv.Evidence, cv.RuleVeto)
	fmt.Printf("leave-one-round-out: rules alone recall %.3f, false alarms %.3f, negatives flagged %.4f\n", cv.RulesRecall, cv.RulesFA, cv.RulesNeg)
	fmt.Printf("leave-one-round-out: rules with the vetoes recall %.3f, false alarms %.3f, negatives flagged %.4f\n", cv.VetoRecall, cv.VetoFA, cv.VetoNeg)
	fmt.Printf("leave-one-round-out: rules or model recall %.3f, false alarms %.3f, negatives flagged %.4f\n", cv.Recall, cv.FA, cv.Neg)
	fmt.Printf("leave-one-round-out: model alone recall %.3f, false alarms %.3f, negatives flagged %.4f\n", cv.ModelRecall, cv.ModelFA, cv.ModelNeg)
	for _, r := range cv.PerRound {
		fmt.Println("  " + r)
	}
	if *misses {
		for _, c := range cv.Curve {
			fmt.Println(c)
		}
		for _, m := range cv.Misses {
			fmt.Println("miss " + m)
		}
		for _, m := range cv.FalseAlarms {
			fmt.Println("false alarm " + m)
		}
	}
	return nil
}

// readSet reads a "1<TAB>text" / "0<TAB>text" file ('#' comments).
func readSet(name string) (classifier.SensitiveSet, error) {
	s := classifier.SensitiveSet{Round: strings.TrimSuffix(filepath.Base(name), ".tsv")}
	f, err := os.Open(name)
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		label, text, ok := strings.Cut(line, "\t")
		if !ok || label != "0" && label != "1" {
			return s, fmt.Errorf("%s:%d: want 0 or 1, a tab and a text", name, n)
		}
		s.Texts = append(s.Texts, text)
		s.Label = append(s.Label, label == "1")
	}
	return s, sc.Err()
}
