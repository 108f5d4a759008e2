package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"citybot"
	"citybot/classifier"
	"citybot/locale"
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

// trainFromStore retrains the topic and urgency heads from the officers'
// corrections in the database (and the shipped data) with the
// responder.Retrainer of the console, prints how the live and new models
// score on the same corrections and whether the new one may serve, and,
// with a.switchTo, switches to it under the console's rules (written to
// [retrain] dir, where serve loads it at start); with a.out it writes the
// new model there. It returns a *ConfigError for an unusable
// configuration, and an error (exit status 1) when there is no database
// or no correction, when --switch or --out is refused (the reason and
// what is needed), or when training or writing fails.
func trainFromStore(ctx context.Context, e *env, a storeTrainArgs) error {
	cfg, err := LoadConfig(a.config, e.getenv)
	if err != nil {
		return err
	}
	// Never create an empty database just to find no correction in it.
	if err := cfg.Store.mustExist("train"); err != nil {
		return err
	}
	// Only warnings: the command prints its own report.
	logger := newLogger(LogConfig{Level: "warn", Format: cfg.Log.Format}, e.stderr)

	shipped, err := trainShippedData(a.shipped, e.stderr)
	if err != nil {
		return err
	}
	app, err := openApp(ctx, cfg, logger, appOptions{})
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer app.Close()
	labels, err := app.db.OfficerLabels(ctx)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if len(labels) == 0 {
		return fmt.Errorf("train: no officer corrections in %s yet: officers correct a case's topic or urgency on its page in the console, and those corrections are what --from-store learns from", cfg.Store.Describe())
	}
	rt, err := app.newRetrainer()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if a.shipped != "" {
		rt.SetShipped(shipped)
	}
	fmt.Fprintf(e.stdout, "retraining from %d officer corrections in %s...\n", len(labels), cfg.Store.Describe())
	rep, err := rt.Retrain(ctx, trainActor)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	printRetrainReport(e.stdout, rep)

	files := cfg.ModelFiles()
	if !rep.Switchable {
		if a.switchTo || a.out != "" {
			return fmt.Errorf("train: switch refused: %s", refusalWords(rep))
		}
		fmt.Fprintf(e.stdout, "the new model may not serve: %s\n", refusalWords(rep))
		return nil
	}
	if a.out != "" {
		if err := rt.Candidate().WriteFile(a.out); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		fmt.Fprintf(e.stdout, "wrote %s to %s\n", rep.Candidate, a.out)
	}
	if !a.switchTo {
		fmt.Fprintf(e.stdout, "not switched: run again with --switch to make it the model serve loads (%s)\n", files.Current)
		return nil
	}
	// Switch writes the candidate where serve loads it (the model it
	// replaces becomes the previous one) and records model.switch.
	if err := rt.Switch(ctx, trainActor); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(e.stdout, "switched to %s: wrote %s; restart serve to use it (the console can roll it back)\n", rep.Candidate, files.Current)
	return nil
}

// trainShippedData reads the shipped training data: the file named, none
// for "none", or nil for "" (the data embedded in the binary).
func trainShippedData(name string, w io.Writer) (*classifier.Table, error) {
	switch name {
	case "none":
		fmt.Fprintln(w, "train: --shipped none: training on the officers' corrections and the topics' keywords only")
		return nil, nil
	case "":
		return nil, nil
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

// printRetrainReport writes how the live and candidate models score on
// the same corrections, the urgency check and the verdict.
func printRetrainReport(w io.Writer, rep citybot.RetrainReport) {
	fmt.Fprintf(w, "live model %s, new model %s (%d-fold cross-validation over the corrections)\n", rep.Live, rep.Candidate, rep.Folds)
	for _, h := range []struct {
		kind string
		s    citybot.ModelScore
	}{{"topic", rep.Topic}, {"urgency", rep.Urgency}} {
		if !h.s.Trained {
			fmt.Fprintf(w, "%-8s n=%d: not retrained (%s); the live model's is kept\n", h.kind+":", h.s.HeldOut, reasonWords(h.s.Reason))
			continue
		}
		fmt.Fprintf(w, "%-8s n=%d  accuracy live %5.1f%%  new %5.1f%%  macro-F1 live %.3f  new %.3f  difference %+.1f points, 95%% interval [%+.1f, %+.1f]\n",
			h.kind+":", h.s.HeldOut, 100*h.s.LiveAccuracy, 100*h.s.CandidateAccuracy, h.s.LiveMacroF1, h.s.CandidateMacroF1,
			100*(h.s.CandidateAccuracy-h.s.LiveAccuracy), 100*h.s.DiffLow, 100*h.s.DiffHigh)
		if h.s.Adopted {
			fmt.Fprintf(w, "%-8s new head adopted (trained on %d examples)\n", "", h.s.Examples)
		} else {
			fmt.Fprintf(w, "%-8s live head kept: %s\n", "", reasonWords(h.s.Reason))
		}
	}
	c := rep.Check
	if c.Messages >= 1 && (c.Passed && len(c.Reasons) == 0 || !c.Passed) {
		fmt.Fprintf(w, "urgency on %d %s: %.1f%% change level, critical %.1f%% -> %.1f%%, most frequent %s %.1f%%\n",
			c.Messages, englishText("console.mod_source_"+c.Source), 100*c.Changed, 100*c.LiveCritical, 100*c.Critical, c.TopLevel, 100*c.TopShare)
	}
	for _, why := range c.Reasons {
		fmt.Fprintf(w, "urgency check: %s\n", reasonWords(why))
	}
	if rep.Switchable {
		fmt.Fprintln(w, "verdict: the new model may be switched to")
	} else {
		fmt.Fprintf(w, "verdict: refused: %s\n", refusalWords(rep))
	}
}

// englishText is key's text in English, the language of the commands'
// output.
func englishText(key string) string {
	return locale.MustEmbedded().Catalog(locale.Reference).Text(key)
}

// reasonWords says a retrainer's reason in English (see
// citybot.ModelReason).
func reasonWords(why citybot.ModelReason) string {
	if why.Key == "" {
		return ""
	}
	s := locale.MustEmbedded().Catalog(locale.Reference).Plural(why.Key, why.N)
	s = strings.ReplaceAll(s, "{n}", strconv.Itoa(why.N))
	for k, v := range why.Args {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// refusalWords says in English why rep's candidate may not serve: the
// verdict, then the reasons of the heads kept or of the urgency check.
func refusalWords(rep citybot.RetrainReport) string {
	s := strings.TrimSuffix(englishText("console.mod_refused_"+rep.Refused), ".")
	var why []string
	switch rep.Refused {
	case citybot.RefusedNoBetter:
		for _, h := range []struct {
			kind string
			s    citybot.ModelScore
		}{{"topic", rep.Topic}, {"urgency", rep.Urgency}} {
			if h.s.Reason.Key != "" {
				why = append(why, h.kind+": "+reasonWords(h.s.Reason))
			}
		}
	case citybot.RefusedUrgency:
		for _, r := range rep.Check.Reasons {
			why = append(why, reasonWords(r))
		}
	}
	if len(why) == 0 {
		return s
	}
	return s + ". " + strings.Join(why, "; ")
}
