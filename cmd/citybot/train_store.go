package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"citybot"
	"citybot/classifier"
	"citybot/responder"
	"citybot/store"
)

// storeTrainArgs are the flags of `citybot train --from-store`.
type storeTrainArgs struct {
	config   string // configuration file; "" means the default
	out      string // explicit model file to write; "" means none
	switchTo bool   // write the model to the configured path
	shipped  string // shipped data CSV; "" means found, "none" means none
}

// trainActor is who the audit log says retrained: the command line, not
// a console account.
const trainActor = "citybot train --from-store"

// defaultRetrainModel is the file --switch writes when [classifier] model
// is empty, beside the database.
const defaultRetrainModel = "citybot-model.bin"

// trainFromStore retrains the topic and urgency heads from the officers'
// corrections in the database (and the shipped data) with a
// responder.Retrainer, prints the live and new models' accuracies on the
// held-back corrections, and writes the new model when a.switchTo or
// a.out asks. It returns a *ConfigError for an unusable configuration, and
// an error (exit status 1) when there is no database or no correction, or
// when training or writing fails.
func trainFromStore(ctx context.Context, e *env, a storeTrainArgs) error {
	cfg, err := LoadConfig(a.config, e.getenv)
	if err != nil {
		return err
	}
	// Never create an empty database just to find no correction in it.
	if _, err := os.Stat(cfg.Store.Path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("train: no database at %s ([store] path)", cfg.Store.Path)
	}
	// Only warnings: the command prints its own report.
	logger := newLogger(LogConfig{Level: "warn", Format: cfg.Log.Format}, e.stderr)

	shipped, err := trainShippedData(a.shipped, e.stderr)
	if err != nil {
		return err
	}
	base, err := classifier.New(cfg.Classifier)
	if err != nil {
		return fmt.Errorf("train: classifier: %w", err)
	}

	db, err := store.Open(ctx, cfg.Store.Path, store.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer db.Close()
	labels, err := db.OfficerLabels(ctx)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if len(labels) == 0 {
		return fmt.Errorf("train: no officer corrections in %s yet: officers correct a case's topic or urgency on its page in the console, and those corrections are what --from-store learns from", cfg.Store.Path)
	}

	out := a.out
	if out == "" && a.switchTo {
		out = cfg.Classifier.Model
		if out == "" {
			out = filepath.Join(filepath.Dir(cfg.Store.Path), defaultRetrainModel)
		}
	}
	rt, err := responder.NewRetrainer(responder.RetrainerOptions{
		Store:      db,
		Live:       responder.NewLiveClassifier(base),
		Classifier: cfg.Classifier,
		Shipped:    shipped,
		ModelPath:  out,
		Logger:     logger,
	})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(e.stdout, "retraining from %d officer corrections in %s...\n", len(labels), cfg.Store.Path)
	rep, err := rt.Retrain(ctx, trainActor)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	printRetrainReport(e.stdout, rep)

	if out == "" {
		def := cfg.Classifier.Model
		if def == "" {
			def = filepath.Join(filepath.Dir(cfg.Store.Path), defaultRetrainModel)
		}
		fmt.Fprintf(e.stdout, "not written: run again with --switch to write it to %s, or with --out FILE\n", def)
		return nil
	}
	// Switch writes the candidate to out (and records model.switch in the
	// audit log); the live classifier it swaps is this process's own.
	if err := rt.Switch(ctx, trainActor); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	abs, _ := filepath.Abs(out)
	conf, _ := filepath.Abs(cfg.Classifier.Model)
	if cfg.Classifier.Model != "" && abs == conf {
		fmt.Fprintf(e.stdout, "wrote %s to %s ([classifier] model): restart serve to use it\n", rep.Candidate, out)
	} else {
		fmt.Fprintf(e.stdout, "wrote %s to %s: set [classifier] model = %q and restart serve to use it\n", rep.Candidate, out, out)
	}
	return nil
}

// trainShippedData reads the shipped training data: the file named, none
// for "none", or disaster_en.csv found by classifier.FindSharedData from
// the current directory, saying on w when none is found.
func trainShippedData(name string, w io.Writer) (*classifier.Table, error) {
	switch name {
	case "none":
		fmt.Fprintln(w, "train: --shipped none: training on the officers' corrections and the topics' keywords only")
		return nil, nil
	case "":
		dir, err := classifier.FindSharedData(".")
		if err != nil {
			fmt.Fprintln(w, "train: shipped data not found (shared/data/disaster_en.csv above the current directory, or $CITYBOT_DATA): training on the officers' corrections and the topics' keywords only; name the file with --shipped")
			return nil, nil
		}
		name = filepath.Join(dir, "disaster_en.csv")
	}
	tab, err := classifier.ReadTableFile(name)
	if err != nil {
		return nil, fmt.Errorf("train: shipped data: %w", err)
	}
	if tab.Col("text") < 0 || tab.Col("topic") < 0 {
		return nil, fmt.Errorf("train: shipped data %s needs \"text\" and \"topic\" columns (columns: %v)", name, tab.Header)
	}
	fmt.Fprintf(w, "train: shipped data: %s (%d rows)\n", name, len(tab.Rows))
	return tab, nil
}

// printRetrainReport writes the live and candidate models' accuracies on
// the held-back corrections.
func printRetrainReport(w io.Writer, rep citybot.RetrainReport) {
	fmt.Fprintf(w, "live model %s, new model %s\n", rep.Live, rep.Candidate)
	for _, h := range []struct {
		kind string
		s    citybot.ModelScore
	}{{"topic", rep.Topic}, {"urgency", rep.Urgency}} {
		switch {
		case !h.s.Trained:
			fmt.Fprintf(w, "%-8s not retrained (the corrections need at least two labels); the new model keeps the live head\n", h.kind+":")
		case h.s.HeldOut == 0:
			fmt.Fprintf(w, "%-8s trained on %d examples; no held-back correction to score (one in five is held back)\n", h.kind+":", h.s.Examples)
		default:
			fmt.Fprintf(w, "%-8s live %5.1f%%  new %5.1f%%  on %d held-back corrections (trained on %d examples)\n",
				h.kind+":", 100*h.s.LiveAccuracy, 100*h.s.CandidateAccuracy, h.s.HeldOut, h.s.Examples)
		}
	}
}
