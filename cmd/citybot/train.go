package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"citybot/classifier"
)

const clsTrainUsage = `usage: citybot train --data FILE.csv --label topic|urgency --out MODEL [flags]
       citybot train --from-store [--config PATH] [--out MODEL] [--switch] [--shipped FILE.csv]

Trains a classifier model head on FILE.csv (a header row with a "text"
column and the label column; other columns are ignored) and writes MODEL.
The model's other head (urgency when training topics, and the reverse) is
taken from --base, or from the model shipped with citybot. Point
[classifier] model in config.toml at MODEL to serve with it.

Topic training reads the city's topics from the configuration ([classifier]
topics and lexicon_dir of --config, else config.toml when there is one,
else the default topics): a label that is not one of them is reported, and
the keywords of a topic FILE.csv has no label for are counted in its
messages, so that the new model trusts them less where they were found in
messages of other topics (--keywords=false to leave the keywords out).
For up to 5,000 messages it also learns from the messages of the city
corpus embedded in citybot of the topics FILE.csv has (six languages;
--corpus=false to learn from FILE.csv alone): FILE.csv's own messages
decide where the two disagree. Labels citybot does not know are reported, not fatal:
new topics are trained as they are; invalid urgency levels are skipped.

--from-store retrains topic and urgency, with the trainer of the console's
model page, from the officers' corrections in the database at [store]
path, plus the data the shipped model learnt from (embedded in citybot;
--shipped FILE.csv to use another, "none" for the corrections and the
topics' keywords only). A label kind is retrained only with at least
[retrain] min_corrections (30) corrections of it; otherwise the live
model's is kept. Each correction is scored by the live model (the one
serve loads) and by a new model trained without it (5-fold
cross-validation): n, accuracy, macro-F1 and the 95% interval of the
accuracy difference are printed. The new model may serve only when the
interval lies above 0 for a retrained kind and it does not collapse
urgency on the recent messages; otherwise the reason and the corrections
still needed are printed. --switch then makes it the model serve loads
at start ([retrain] dir, by default citybot-model beside the database;
restart serve), keeping the one it replaces for a rollback in the
console; --out FILE writes it to FILE. A refused --switch or --out exits
1, as does a database with no correction.

flags:
`

// trainUsage is a bad `citybot train` command line (exit status 2).
func trainUsage(format string, a ...any) error {
	return &UsageError{Command: "citybot train", Msg: "train: " + fmt.Sprintf(format, a...)}
}

// runTrainEnv implements `citybot train`. args exclude the subcommand
// name. Bad flags and arguments return a *UsageError; --from-store reads
// the configuration through e (a *ConfigError when it cannot be used).
func runTrainEnv(ctx context.Context, e *env, args []string) error {
	stdout, stderr := e.stdout, e.stderr
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, clsTrainUsage)
		fs.PrintDefaults()
	}
	data := fs.String("data", "", "training CSV `file` (required without --from-store)")
	label := fs.String("label", "", "label column: topic or urgency (required without --from-store)")
	out := fs.String("out", "", "model `file` to write (required without --from-store; with it, optional)")
	base := fs.String("base", "", "model `file` whose other head is kept (default: the shipped model)")
	name := fs.String("name", "", "model name reported in classifications (default: the output file name)")
	epochs := fs.Int("epochs", 0, "bound on the solver's passes over the data, per label for a topic model (default: until converged)")
	seed := fs.Uint64("seed", 1, "random seed; the same data and seed give the same model")
	keywords := fs.Bool("keywords", true, "topic training: learn which messages hold the city's topic keywords (config [classifier] topics and lexicon_dir, else the defaults)")
	corpus := fs.Bool("corpus", true, "topic training: also learn from the city corpus embedded in citybot (its messages of the topics the data has; up to 5,000 data messages)")
	trust := fs.Float64("trust", 1, "how far serving trusts this model against the keyword lists, in (0,1]; the shipped model, trained on data unlike a city's, uses 0.4")
	fromStore := fs.Bool("from-store", false, "retrain topic and urgency from the officers' corrections in the database")
	configPath := fs.String("config", e.configPath, "configuration `file`: the city's topics and keywords ([classifier] topics, lexicon_dir), or with --from-store its database (default as the global --config)")
	switchTo := fs.Bool("switch", false, "with --from-store: switch to the new model if it passes the rules ([retrain] dir, loaded by serve at start)")
	shipped := fs.String("shipped", "", "with --from-store: the shipped data CSV `file` (default: the data embedded in citybot; \"none\" for corrections only)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return trainUsage("%v", err)
	}
	if fs.NArg() > 0 {
		return trainUsage("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *fromStore {
		var wrong []string
		for _, f := range []string{"data", "label", "base", "name", "epochs", "seed", "keywords", "corpus", "trust"} {
			if set[f] {
				wrong = append(wrong, "--"+f)
			}
		}
		if len(wrong) > 0 {
			return trainUsage("%s cannot be used with --from-store", strings.Join(wrong, ", "))
		}
		return trainFromStore(ctx, e, storeTrainArgs{config: *configPath, out: *out, switchTo: *switchTo, shipped: *shipped})
	}
	for _, f := range []string{"switch", "shipped"} {
		if set[f] {
			return trainUsage("--%s needs --from-store", f)
		}
	}
	var missing []string
	for _, f := range []struct{ name, val string }{{"--data", *data}, {"--label", *label}, {"--out", *out}} {
		if f.val == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return trainUsage("missing %s", strings.Join(missing, ", "))
	}
	kind := classifier.LabelKind(*label)
	if kind != classifier.KindTopic && kind != classifier.KindUrgency {
		return trainUsage("--label must be topic or urgency, not %q", *label)
	}
	tab, err := classifier.ReadTableFile(*data)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if tab.Col(*label) < 0 {
		return fmt.Errorf("train: %s has no %q column (columns: %s)", *data, *label, strings.Join(tab.Header, ", "))
	}
	exs := tab.Examples(*label)

	// The city's topics: a topic model is served with them, so its
	// labels are checked against them and their keywords (with the
	// lexicon directory's) are counted in the messages.
	var city classifier.Options
	if kind == classifier.KindTopic {
		cfg, err := LoadConfig(*configPath, e.getenv)
		if err != nil {
			return err
		}
		city = cfg.cityClassifier()
		if cfg.Source != "" {
			from := cfg.Source
			if city.LexiconDir != "" {
				from += " and " + city.LexiconDir
			}
			fmt.Fprintf(stderr, "train: the city's topics and keywords from %s\n", from)
		}
	}

	// Report labels citybot does not know.
	known := classifier.UrgencyLabels()
	if kind == classifier.KindTopic {
		known = nil
		for _, t := range city.Topics {
			known = append(known, strings.TrimSpace(t.Name))
		}
	}
	unknown := map[string]int{}
	for _, e := range exs {
		if !slices.Contains(known, e.Label) {
			unknown[e.Label]++
		}
	}
	if len(unknown) > 0 {
		what := "new topics (trained as given)"
		if kind == classifier.KindUrgency {
			what = "unknown urgency levels (skipped; use critical, high, normal, low)"
		}
		fmt.Fprintf(stderr, "train: %s: %s\n", what, clsFormatCounts(unknown))
	}
	if empty := len(tab.Rows) - len(exs); empty > 0 {
		fmt.Fprintf(stderr, "train: %d rows without a %s label skipped\n", empty, *label)
	}

	if !(*trust > 0 && *trust <= 1) {
		return trainUsage("--trust %v is not in (0,1]", *trust)
	}
	opts := classifier.TrainOptions{Name: *name, Epochs: *epochs, Seed: *seed, Trust: *trust}
	if opts.Name == "" {
		opts.Name = strings.TrimSuffix(clsBaseName(*out), ".model")
	}
	if kind == classifier.KindTopic && *keywords {
		opts.Topics, opts.LexiconDir = city.Topics, city.LexiconDir
	}
	if kind == classifier.KindTopic && *corpus {
		if opts.Aux, err = classifier.CityTopicExamples(); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		switch n := len(classifier.AuxFor(exs, opts.Aux)); {
		case len(exs) > classifier.AuxMax:
			fmt.Fprintf(stderr, "train: %d examples: the city corpus is not used above %d\n", len(exs), classifier.AuxMax)
		case n > 0:
			fmt.Fprintf(stderr, "train: also learning from %d messages of the city corpus (--corpus=false to leave them out)\n", n)
		}
	} else if set["corpus"] && *corpus {
		return trainUsage("--corpus applies to --label topic only")
	}
	bar := newClsProgress(stderr, "training")
	opts.Progress = bar.update
	start := time.Now()
	m, err := classifier.Train(ctx, kind, exs, opts)
	bar.done()
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if seen := m.KeywordSeen(); len(seen) > 0 {
		fmt.Fprintf(stderr, "train: keywords of topics without a label in %s were found in messages labelled otherwise, so they weigh less in this model: %s\n", *data, clsFormatCounts(seen))
	}
	var other *classifier.Model
	if *base != "" {
		other, err = classifier.ReadModelFile(*base)
	} else {
		other, err = classifier.DefaultModel()
	}
	if err != nil {
		return fmt.Errorf("train: base model: %w", err)
	}
	m = m.WithFallback(other)
	if err := m.WriteFile(*out); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	fmt.Fprintf(stdout, "trained %s on %d examples in %s: labels %s, %d features; wrote %s\n",
		kind, len(exs), time.Since(start).Round(time.Millisecond), strings.Join(m.Labels(kind), ", "), m.Features(kind), *out)
	return nil
}

func clsBaseName(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[i+1:]
	}
	return path
}

// clsFormatCounts renders label counts as "a (3), b (1)", most frequent
// first.
func clsFormatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q (%d)", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// clsProgress draws a progress bar on w: redrawn in place when w is a
// terminal; otherwise, only once the run has lasted clsQuietFor, a line
// every 10 %. Short runs (and tests) print nothing.
type clsProgress struct {
	w        io.Writer
	label    string
	terminal bool
	start    time.Time
	lastPct  int
	shown    bool
}

const clsQuietFor = 3 * time.Second

func newClsProgress(w io.Writer, label string) *clsProgress {
	p := &clsProgress{w: w, label: label, start: time.Now(), lastPct: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *clsProgress) update(done, total int) {
	if total <= 0 {
		return
	}
	pct := done * 100 / total
	if pct == p.lastPct {
		return
	}
	elapsed := time.Since(p.start)
	switch {
	case p.terminal:
		const width = 30
		n := pct * width / 100
		fmt.Fprintf(p.w, "\r%s [%s%s] %3d%% %s", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), pct, elapsed.Round(time.Second))
		p.shown = true
	case elapsed >= clsQuietFor && (pct/10 != p.lastPct/10 || !p.shown):
		fmt.Fprintf(p.w, "%s: %d%% (%d/%d) after %s\n", p.label, pct, done, total, elapsed.Round(time.Second))
		p.shown = true
	}
	p.lastPct = pct
}

func (p *clsProgress) done() {
	if p.terminal && p.shown {
		fmt.Fprintln(p.w)
	}
}
