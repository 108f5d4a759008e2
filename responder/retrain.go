package responder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"citybot"
	"citybot/classifier"
)

// LiveClassifier is a Classifier whose model can be switched while it
// serves: pass it as Options.Classifier and to a Retrainer. It is safe for
// concurrent use.
type LiveClassifier struct {
	cur atomic.Pointer[classifier.Classifier]
}

// NewLiveClassifier returns a LiveClassifier serving c (not nil).
func NewLiveClassifier(c *classifier.Classifier) *LiveClassifier {
	l := &LiveClassifier{}
	l.cur.Store(c)
	return l
}

// Classify classifies with the model serving now.
func (l *LiveClassifier) Classify(text, langHint string) citybot.Classification {
	return l.cur.Load().Classify(text, langHint)
}

// Current returns the classifier serving now.
func (l *LiveClassifier) Current() *classifier.Classifier { return l.cur.Load() }

func (l *LiveClassifier) set(c *classifier.Classifier) { l.cur.Store(c) }

// RetrainStore is what a Retrainer needs from storage.
type RetrainStore interface {
	// OfficerLabels returns the officers' latest topic and urgency label
	// of each case they labelled, with the case's first message.
	OfficerLabels(ctx context.Context) ([]citybot.LabeledText, error)
	// RecentMessageTexts returns the texts of the latest limit citizen
	// messages, newest first.
	RecentMessageTexts(ctx context.Context, limit int) ([]string, error)
	// RecordAudit appends an entry to the audit log.
	RecordAudit(ctx context.Context, e citybot.AuditEntry) error
}

// The rules a candidate must pass; see RetrainerOptions.
const (
	// DefaultMinCorrections is the fewest corrections of one kind (topic
	// or urgency) for which that head is retrained and judged.
	DefaultMinCorrections = 30
	// DefaultFolds is the number of cross-validation folds.
	DefaultFolds = 5
	// DefaultMaxUrgencyChange is the largest share of recent messages
	// whose urgency level a candidate may change.
	DefaultMaxUrgencyChange = 0.30
	// DefaultMaxCritical is the largest share of recent messages a
	// candidate may call critical (unless the live model calls more).
	DefaultMaxCritical = 0.02
	// DefaultMaxLevelShare is the largest share of recent messages one
	// urgency level may take in the candidate's tags (unless the live
	// model's most frequent level takes more).
	DefaultMaxLevelShare = 0.90
	// minCheckMessages: below this many recent messages the urgency check
	// has too little to judge and passes, saying so.
	minCheckMessages = 20
	// bootstrapRounds resamples the paired differences.
	bootstrapRounds = 2000
	// fewWordsTrust is how far a head trained on the corrections alone
	// (no shipped data: Shipped is nil) is trusted against the keyword
	// lists and urgency cues: it knows few words. A head trained on the
	// shipped data is trusted as the shipped one (classifier.TrainDefault:
	// DefaultTopicTrust, DefaultUrgencyTrust), since most of its data is
	// the same.
	fewWordsTrust = 0.4
)

// RetrainerOptions configure a Retrainer. Store and Live are required.
type RetrainerOptions struct {
	Store RetrainStore
	Live  *LiveClassifier
	// Base is the model a rollback to "shipped" returns to: the model in
	// the binary, or the one [classifier] model names. Nil means the model
	// Live serves when NewRetrainer is called.
	Base *classifier.Model
	// Classifier are the options the live classifier was built with
	// (topics and their keywords, places, thresholds); a candidate is
	// built with the same.
	Classifier classifier.Options
	// Shipped returns the data the shipped model learnt from (the rows of
	// disaster_en.csv); it is called once per training, and the topic
	// head also learns from the city corpus (classifier.CityTopicExamples)
	// as the shipped one did. Nil trains on the officers' corrections and
	// the topics' keywords only (tests).
	Shipped func() (*classifier.Table, error)
	// Files is where a switched model is kept so that it survives
	// restarts; the zero value keeps it in memory only.
	Files ModelFiles
	// MinCorrections per head; <= 0 means DefaultMinCorrections.
	MinCorrections int
	// Folds of the cross-validation over corrections; < 2 means
	// DefaultFolds.
	Folds int
	// CorrectionWeight repeats each officer correction this many times in
	// training, so that the city's own labels weigh more than the
	// shipped data; <= 0 means 3.
	CorrectionWeight int
	// Leases, when set (store.DB fits), make one training run at a time
	// among the processes sharing the database: a training holds the
	// lease RetrainLease as Holder (a name unique to this process, as
	// the scheduler's), renewed while it runs, for LeaseTTL (<= 0 means
	// DefaultRetrainLeaseTTL) should the process die.
	Leases   RetrainLeases
	Holder   string
	LeaseTTL time.Duration
	// NoSearch trains the topic head without choosing its settings by
	// inner cross-validation (classifier.TrainOptions.NoSearch): several
	// times faster, a slightly weaker head.
	NoSearch bool
	// RecentMessages checked for an urgency collapse; <= 0 means 500.
	RecentMessages int
	// MaxUrgencyChange, MaxCritical and MaxLevelShare bound the urgency
	// check (shares in (0,1]); <= 0 means the defaults.
	MaxUrgencyChange, MaxCritical, MaxLevelShare float64
	Logger                                       *slog.Logger     // nil discards logs
	Now                                          func() time.Time // nil means time.Now
}

// Retrainer trains candidate models from officers' corrections and the
// shipped data, compares them with the live model on the same
// corrections, switches the live classifier only when asked and only to a
// candidate that passed, and rolls back. One training runs at a time. It
// is safe for concurrent use.
type Retrainer struct {
	opts RetrainerOptions
	log  *slog.Logger

	mu        sync.Mutex // guards the fields below and every switch
	busy      bool       // a training runs (Retrain, or one Start began)
	serving   bool       // Run was called
	stopped   bool       // Run returned: Start refuses
	jobs      chan trainJob
	running   *citybot.TrainingRun // the training in progress
	failed    *citybot.TrainingRun // the last background training, when it failed
	candidate *classifier.Classifier
	trainedOn *classifier.Classifier // the live classifier the candidate was judged against
	report    *citybot.RetrainReport
	previous  *classifier.Model // the model before the last change; nil: none
}

// NewRetrainer returns a Retrainer, or an error wrapping citybot.ErrInvalid
// when Store or Live is missing. It reads Files' previous model, when
// there is one, for a rollback; a damaged one is logged and ignored.
func NewRetrainer(opts RetrainerOptions) (*Retrainer, error) {
	if opts.Store == nil || opts.Live == nil {
		return nil, fmt.Errorf("responder: retrainer: %w: Store and Live are required", citybot.ErrInvalid)
	}
	if opts.MinCorrections <= 0 {
		opts.MinCorrections = DefaultMinCorrections
	}
	if opts.Folds < 2 {
		opts.Folds = DefaultFolds
	}
	if opts.CorrectionWeight <= 0 {
		opts.CorrectionWeight = 3
	}
	if opts.RecentMessages <= 0 {
		opts.RecentMessages = 500
	}
	if opts.MaxUrgencyChange <= 0 {
		opts.MaxUrgencyChange = DefaultMaxUrgencyChange
	}
	if opts.MaxCritical <= 0 {
		opts.MaxCritical = DefaultMaxCritical
	}
	if opts.MaxLevelShare <= 0 {
		opts.MaxLevelShare = DefaultMaxLevelShare
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Base == nil {
		opts.Base = opts.Live.Current().Model()
	}
	if opts.Leases != nil && strings.TrimSpace(opts.Holder) == "" {
		return nil, fmt.Errorf("responder: retrainer: %w: Leases need a Holder", citybot.ErrInvalid)
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultRetrainLeaseTTL
	}
	r := &Retrainer{opts: opts, log: opts.Logger, jobs: make(chan trainJob, 1)}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r.log = r.log.With("component", "retrainer")
	if prev, err := opts.Files.loadPrevious(); err != nil {
		r.log.Error("previous model unreadable: a rollback to it is not possible", "path", opts.Files.previous(), "err", err)
	} else {
		r.previous = prev
	}
	if r.previous == nil && opts.Live.Current().Model() != opts.Base {
		// A switched model serves and nothing was kept before it: the
		// shipped model was.
		r.previous = opts.Base
	}
	return r, nil
}

// Status returns the live, base and previous models' names and the last
// training's report while it is the latest (nil after a switch).
func (r *Retrainer) Status() citybot.ModelStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := citybot.ModelStatus{
		Live: r.opts.Live.Current().Model().Name(),
		Base: r.opts.Base.Name(),
		Kept: r.opts.Files.Current,

		MinCorrections: r.opts.MinCorrections,
		Folds:          r.opts.Folds,
	}
	if r.previous != nil {
		st.Previous = r.previous.Name()
	}
	if r.report != nil {
		rep := *r.report
		st.Pending = &rep
	}
	if r.running != nil {
		run := *r.running
		st.Training = &run
	}
	if r.failed != nil {
		f := *r.failed
		st.Failed = &f
	}
	return st
}

// Retrain trains a candidate topic and urgency model from the officers'
// corrections and the shipped data and judges it against the live model:
//
//   - a head (topic, urgency) is retrained only with at least
//     MinCorrections corrections of its kind; otherwise the live head is
//     kept, so corrections of one kind never change the other;
//   - each correction is scored by the live model and by a candidate
//     trained without it (Folds-fold cross-validation, folds assigned by a
//     hash of the text, stratified by label); a retrained head is adopted
//     only when the lower bound of the 95% paired bootstrap interval of
//     the accuracy difference is above 0;
//   - the final candidate (adopted heads trained on every correction, the
//     live model's other heads) must not collapse urgency on the most
//     recent citizen messages (see UrgencyCheck).
//
// The report says whether the candidate may be switched to, and if not
// why and what would be needed. It blocks until done (seconds to minutes;
// Start runs it in the background). It returns an error wrapping
// citybot.ErrDuplicate when another training runs (here, or in another
// process holding the Leases' RetrainLease), one wrapping
// citybot.ErrInvalid when there is no correction yet, and ctx.Err() when
// cancelled.
func (r *Retrainer) Retrain(ctx context.Context, actor string) (citybot.RetrainReport, error) {
	labels, err := r.begin(ctx, actor)
	if err != nil {
		return citybot.RetrainReport{}, err
	}
	stop := r.keepLease(ctx)
	rep, err := r.train(ctx, actor, labels)
	stop()
	r.end(ctx, nil)
	return rep, err
}

// train is Retrain's work on labels, the officers' corrections read when
// it began.
func (r *Retrainer) train(ctx context.Context, actor string, labels []citybot.LabeledText) (citybot.RetrainReport, error) {
	var err error
	var shipped *classifier.Table
	if r.opts.Shipped != nil {
		if shipped, err = r.opts.Shipped(); err != nil {
			return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w", err)
		}
	}
	live := r.opts.Live.Current()
	now := r.opts.Now().UTC()
	name := "citybot-city-" + now.Format("20060102-150405")
	rep := citybot.RetrainReport{At: now, By: actor, Live: live.Model().Name(), Candidate: name,
		Corrections: len(labels), Folds: r.opts.Folds}

	heads := []*headJob{
		{kind: classifier.KindTopic, score: &rep.Topic, pick: func(c citybot.Classification) string { return c.Topic.Label }},
		{kind: classifier.KindUrgency, score: &rep.Urgency, pick: func(c citybot.Classification) string { return string(c.Urgency) }},
	}
	for _, h := range heads {
		h.corr = corrections(labels, string(h.kind))
		if h.kind == classifier.KindTopic {
			if h.shipped, err = r.shippedTopics(shipped); err != nil {
				return citybot.RetrainReport{}, err
			}
		} else {
			h.shipped = shippedExamples(shipped, "urgency")
		}
		h.score.HeldOut = len(h.corr)
		if len(h.corr) < r.opts.MinCorrections {
			h.score.NeedMore = r.opts.MinCorrections - len(h.corr)
			h.score.Reason = citybot.ModelReason{Key: "console.mod_why_few", N: h.score.NeedMore,
				Args: map[string]string{"have": strconv.Itoa(len(h.corr)), "min": strconv.Itoa(r.opts.MinCorrections)}}
			continue
		}
		h.score.Trained = true
		h.folds = assignFolds(h.corr, r.opts.Folds)
		h.liveOK = make([]bool, len(h.corr))
		h.candOK = make([]bool, len(h.corr))
		h.livePred = make([]string, len(h.corr))
		h.candPred = make([]string, len(h.corr))
		for i, ex := range h.corr {
			h.livePred[i] = h.pick(live.Classify(ex.Text, ""))
			h.liveOK[i] = h.livePred[i] == ex.Label
		}
	}

	// Cross-validation: one candidate per fold, trained without it.
	for f := range r.opts.Folds {
		var foldHeads []*classifier.Model
		for _, h := range heads {
			if !h.score.Trained {
				continue
			}
			m, err := r.trainHead(ctx, h, name, func(i int) bool { return h.folds[i] != f })
			if errors.Is(err, citybot.ErrInvalid) {
				// Not trainable (one label only): keep the live head.
				h.score.Trained = false
				h.score.Reason = citybot.ModelReason{Key: "console.mod_why_untrainable"}
				r.log.Info("head not retrainable from the corrections", "head", string(h.kind), "err", err)
				continue
			}
			if err != nil {
				return citybot.RetrainReport{}, err
			}
			foldHeads = append(foldHeads, m)
		}
		if len(foldHeads) == 0 {
			break
		}
		cand, err := classifier.NewWithModel(r.opts.Classifier, compose(foldHeads, live.Model()))
		if err != nil {
			return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w", err)
		}
		for _, h := range heads {
			if !h.score.Trained {
				continue
			}
			for i, ex := range h.corr {
				if h.folds[i] == f {
					h.candPred[i] = h.pick(cand.Classify(ex.Text, ""))
					h.candOK[i] = h.candPred[i] == ex.Label
				}
			}
		}
	}

	var adopted []*classifier.Model
	for _, h := range heads {
		if !h.score.Trained {
			continue
		}
		r.judge(h)
		if !h.score.Adopted {
			continue
		}
		m, err := r.trainHead(ctx, h, name, func(int) bool { return true })
		if err != nil {
			return citybot.RetrainReport{}, err
		}
		adopted = append(adopted, m)
	}

	var cand *classifier.Classifier
	if len(adopted) > 0 {
		if cand, err = classifier.NewWithModel(r.opts.Classifier, compose(adopted, live.Model())); err != nil {
			return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w", err)
		}
		recent, err := r.opts.Store.RecentMessageTexts(ctx, r.opts.RecentMessages)
		if err != nil {
			return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w", err)
		}
		// Messages officers corrected are left out: changing them is
		// what the corrections ask for.
		corrected := map[string]bool{}
		for _, l := range labels {
			corrected[l.Text] = true
		}
		recent = slices.DeleteFunc(recent, func(t string) bool { return corrected[t] })
		source := "recent"
		if len(recent) < minCheckMessages && shipped != nil && shipped.Col("text") >= 0 {
			// A young city: judge on the shipped data's messages instead.
			recent = recent[:0]
			tc := shipped.Col("text")
			step := max(len(shipped.Rows)/r.opts.RecentMessages, 1)
			for i := 0; i < len(shipped.Rows) && len(recent) < r.opts.RecentMessages; i += step {
				recent = append(recent, shipped.Rows[i][tc])
			}
			source = "shipped"
		}
		rep.Check = r.checkUrgency(live, cand, recent)
		rep.Check.Source = source
	}

	switch {
	case len(adopted) == 0:
		rep.Refused = citybot.RefusedNoBetter
	case !rep.Check.Passed:
		rep.Refused = citybot.RefusedUrgency
	default:
		rep.Switchable = true
	}
	r.mu.Lock()
	r.report = &rep
	r.candidate, r.trainedOn = nil, nil
	if rep.Switchable {
		r.candidate, r.trainedOn = cand, live
	}
	r.mu.Unlock()
	r.audit(ctx, actor, "model.train", nil, rep)
	r.log.Info("candidate model trained", "model", name, "corrections", len(labels), "switchable", rep.Switchable,
		"topic_n", rep.Topic.HeldOut, "topic_live", rep.Topic.LiveAccuracy, "topic_candidate", rep.Topic.CandidateAccuracy,
		"urgency_n", rep.Urgency.HeldOut, "urgency_live", rep.Urgency.LiveAccuracy, "urgency_candidate", rep.Urgency.CandidateAccuracy)
	return rep, nil
}

// headJob is one head's corrections and scores during a Retrain.
type headJob struct {
	kind               classifier.LabelKind
	score              *citybot.ModelScore
	pick               func(citybot.Classification) string
	corr, shipped      []classifier.Example
	folds              []int
	liveOK, candOK     []bool
	livePred, candPred []string
}

// trainHead trains h's head on the shipped data and the corrections use
// keeps, each repeated CorrectionWeight times.
func (r *Retrainer) trainHead(ctx context.Context, h *headJob, name string, use func(i int) bool) (*classifier.Model, error) {
	exs := slices.Clone(h.shipped)
	for i, ex := range h.corr {
		if use(i) {
			for range r.opts.CorrectionWeight {
				exs = append(exs, ex)
			}
		}
	}
	h.score.Examples = len(exs)
	opts := classifier.TrainOptions{Name: name, Seed: 1, Trust: fewWordsTrust, NoSearch: r.opts.NoSearch}
	switch shipped := len(h.shipped) > 0; {
	case h.kind == classifier.KindTopic:
		opts.Topics, opts.LexiconDir = r.topics(), r.opts.Classifier.LexiconDir
		if shipped {
			opts.Trust, opts.UnknownTrust = classifier.DefaultTopicTrust, classifier.DefaultUnknownTrust
		}
	case shipped:
		opts.Trust = classifier.DefaultUrgencyTrust
	}
	m, err := classifier.Train(ctx, h.kind, exs, opts)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("responder: retrain %s: %w", h.kind, err)
	}
	return m, nil
}

// judge fills h's scores from its paired predictions and decides whether
// its head is adopted.
func (r *Retrainer) judge(h *headJob) {
	s := h.score
	gold := make([]string, len(h.corr))
	for i, ex := range h.corr {
		gold[i] = ex.Label
	}
	lr := classifier.Evaluate(gold, h.livePred, nil)
	cr := classifier.Evaluate(gold, h.candPred, nil)
	s.LiveAccuracy, s.CandidateAccuracy = lr.Accuracy, cr.Accuracy
	s.LiveMacroF1, s.CandidateMacroF1 = lr.MacroF1, cr.MacroF1
	s.DiffLow, s.DiffHigh = pairedBootstrap(h.liveOK, h.candOK, bootstrapRounds)
	if s.DiffLow > 0 {
		s.Adopted = true
		return
	}
	if s.CandidateAccuracy <= s.LiveAccuracy {
		s.Reason = citybot.ModelReason{Key: "console.mod_why_no_help"}
		return
	}
	s.NeedMore = needMore(h.liveOK, h.candOK, r.opts.Folds)
	s.Reason = citybot.ModelReason{Key: "console.mod_why_more", N: s.NeedMore}
}

// checkUrgency compares the urgency levels live and cand give texts (the
// recent messages officers did not correct).
func (r *Retrainer) checkUrgency(live, cand *classifier.Classifier, texts []string) citybot.UrgencyCheck {
	c := citybot.UrgencyCheck{Messages: len(texts), Passed: true}
	if len(texts) < minCheckMessages {
		c.Reasons = []citybot.ModelReason{{Key: "console.mod_check_few", N: len(texts), Args: map[string]string{"min": strconv.Itoa(minCheckMessages)}}}
		return c
	}
	liveN, candN := map[citybot.Urgency]int{}, map[citybot.Urgency]int{}
	changed := 0
	for _, t := range texts {
		lu, cu := live.Classify(t, "").Urgency, cand.Classify(t, "").Urgency
		liveN[lu]++
		candN[cu]++
		if lu != cu {
			changed++
		}
	}
	n := float64(len(texts))
	top := func(m map[citybot.Urgency]int) (citybot.Urgency, float64) {
		var best citybot.Urgency
		bn := -1
		for _, l := range classifier.UrgencyLabels() {
			if m[citybot.Urgency(l)] > bn {
				best, bn = citybot.Urgency(l), m[citybot.Urgency(l)]
			}
		}
		return best, float64(bn) / n
	}
	c.Changed = float64(changed) / n
	c.LiveCritical, c.Critical = float64(liveN[citybot.UrgencyCritical])/n, float64(candN[citybot.UrgencyCritical])/n
	_, c.LiveTopShare = top(liveN)
	lv, share := top(candN)
	c.TopLevel, c.TopShare = string(lv), share
	pct := func(f float64, prec int) string { return strconv.FormatFloat(100*f, 'f', prec, 64) + "%" }
	if c.Changed > r.opts.MaxUrgencyChange {
		c.Reasons = append(c.Reasons, citybot.ModelReason{Key: "console.mod_check_changed", N: len(texts),
			Args: map[string]string{"share": pct(c.Changed, 0), "max": pct(r.opts.MaxUrgencyChange, 0)}})
	}
	if c.Critical > max(r.opts.MaxCritical, c.LiveCritical) {
		c.Reasons = append(c.Reasons, citybot.ModelReason{Key: "console.mod_check_critical",
			Args: map[string]string{"share": pct(c.Critical, 1), "live": pct(c.LiveCritical, 1), "max": pct(r.opts.MaxCritical, 1)}})
	}
	if c.TopShare > max(r.opts.MaxLevelShare, c.LiveTopShare) {
		c.Reasons = append(c.Reasons, citybot.ModelReason{Key: "console.mod_check_level",
			Args: map[string]string{"share": pct(c.TopShare, 0), "level": c.TopLevel, "max": pct(r.opts.MaxLevelShare, 0)}})
	}
	c.Passed = len(c.Reasons) == 0
	return c
}

// refusedWords say RetrainReport.Refused in an error's words.
var refusedWords = map[string]string{
	citybot.RefusedNoBetter: "the new model is no better than the live one",
	citybot.RefusedUrgency:  "the new model would change the urgency of recent messages too much",
}

// ErrRefused is wrapped (with citybot.ErrInvalid) by Switch when the last
// training's candidate failed the rules; the error says why.
var ErrRefused = errors.New("switch refused")

// Switch makes the candidate of the last Retrain the live model, writes
// it to Files (the model it replaces becomes the previous one) and audits
// it. It returns an error wrapping citybot.ErrNotFound when no training
// was done, one wrapping citybot.ErrInvalid and ErrRefused, with the
// reason, when the candidate failed the rules or the live model changed
// since, and the write's error (the live model then stays).
func (r *Retrainer) Switch(ctx context.Context, actor string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.report == nil {
		return fmt.Errorf("responder: switch model: %w: no trained candidate waits", citybot.ErrNotFound)
	}
	if r.candidate == nil {
		return fmt.Errorf("responder: switch model: %w: %w: %s", citybot.ErrInvalid, ErrRefused, refusedWords[r.report.Refused])
	}
	cur := r.opts.Live.Current()
	if cur != r.trainedOn {
		return fmt.Errorf("responder: switch model: %w: %w: the live model changed since the training; train again", citybot.ErrInvalid, ErrRefused)
	}
	if err := r.opts.Files.save(r.candidate.Model(), cur.Model() != r.opts.Base); err != nil {
		return fmt.Errorf("responder: switch model: %w", err)
	}
	old := cur.Model()
	r.opts.Live.set(r.candidate)
	r.previous = old
	rep := *r.report
	r.candidate, r.trainedOn, r.report = nil, nil, nil
	r.audit(ctx, actor, "model.switch", map[string]string{"model": old.Name()},
		map[string]any{"model": rep.Candidate, "file": r.opts.Files.Current, "report": rep})
	r.log.Info("model switched", "from", old.Name(), "to", rep.Candidate, "file", r.opts.Files.Current)
	return nil
}

// Rollback targets.
const (
	RollbackPrevious = "previous" // the model before the last switch or rollback
	RollbackShipped  = "shipped"  // RetrainerOptions.Base
)

// Rollback makes the previous model (to = RollbackPrevious) or the base
// model (RollbackShipped) the live one, updates Files so that it holds
// after a restart, drops a waiting candidate, and audits it. It returns an
// error wrapping citybot.ErrInvalid for another target, citybot.ErrNotFound
// when there is no previous model (or the live model is already the base),
// and a file error (the live model then stays).
func (r *Retrainer) Rollback(ctx context.Context, actor, to string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur := r.opts.Live.Current()
	var target *classifier.Model
	switch to {
	case RollbackPrevious:
		if r.previous == nil {
			return fmt.Errorf("responder: roll back model: %w: no previous model", citybot.ErrNotFound)
		}
		target = r.previous
	case RollbackShipped:
		if cur.Model() == r.opts.Base {
			return fmt.Errorf("responder: roll back model: %w: the shipped model already serves", citybot.ErrNotFound)
		}
		target = r.opts.Base
	default:
		return fmt.Errorf("responder: roll back model: %w: unknown target %q (previous or shipped)", citybot.ErrInvalid, to)
	}
	next, err := classifier.NewWithModel(r.opts.Classifier, target)
	if err != nil {
		return fmt.Errorf("responder: roll back model: %w", err)
	}
	if err := r.opts.Files.rollback(target, target == r.opts.Base, cur.Model() != r.opts.Base); err != nil {
		return fmt.Errorf("responder: roll back model: %w", err)
	}
	r.opts.Live.set(next)
	r.previous = cur.Model()
	r.candidate, r.trainedOn, r.report = nil, nil, nil
	r.audit(ctx, actor, "model.rollback", map[string]string{"model": cur.Model().Name()},
		map[string]string{"model": target.Name(), "to": to, "file": r.opts.Files.Current})
	r.log.Info("model rolled back", "from", cur.Model().Name(), "to", target.Name(), "target", to)
	return nil
}

// audit records an action; a failure is logged, not returned: the model
// action itself succeeded.
func (r *Retrainer) audit(ctx context.Context, actor, action string, before, after any) {
	enc := func(v any) string {
		if v == nil {
			return ""
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	err := r.opts.Store.RecordAudit(ctx, citybot.AuditEntry{Actor: actor, Action: action, Subject: "model", Before: enc(before), After: enc(after)})
	if err != nil {
		r.log.Error("audit model action", "action", action, "err", err)
	}
}

// compose returns the first model with every head of the others, and
// fallback's heads for the kinds none has.
func compose(heads []*classifier.Model, fallback *classifier.Model) *classifier.Model {
	m := heads[0]
	for _, h := range heads[1:] {
		m = m.WithFallback(h)
	}
	return m.WithFallback(fallback)
}

// corrections returns the officers' labels of kind as examples, one per
// distinct text (the latest label wins), leaving out empty texts and
// urgency labels citybot does not know.
func corrections(labels []citybot.LabeledText, kind string) []classifier.Example {
	idx := map[string]int{}
	var out []classifier.Example
	for _, l := range labels {
		if l.Kind != kind || strings.TrimSpace(l.Text) == "" || l.Label == "" {
			continue
		}
		if kind == string(classifier.KindUrgency) && !slices.Contains(classifier.UrgencyLabels(), l.Label) {
			continue
		}
		if i, ok := idx[l.Text]; ok {
			out[i].Label = l.Label
			continue
		}
		idx[l.Text] = len(out)
		out = append(out, classifier.Example{Text: l.Text, Label: l.Label})
	}
	return out
}

// shippedExamples returns the shipped table's examples of kind.
func shippedExamples(t *classifier.Table, kind string) []classifier.Example {
	if t == nil {
		return nil
	}
	if kind == "urgency" {
		return classifier.UrgencyExamples(t)
	}
	return t.Examples(kind)
}

// shippedTopics returns the topic examples of the shipped data and the
// city corpus, keeping only the corpus messages of topics the city has
// (a city may have dropped or renamed a default topic).
func (r *Retrainer) shippedTopics(t *classifier.Table) ([]classifier.Example, error) {
	if t == nil {
		return nil, nil
	}
	exs := shippedExamples(t, "topic")
	city, err := classifier.CityTopicExamples()
	if err != nil {
		return nil, fmt.Errorf("responder: retrain: %w", err)
	}
	has := map[string]bool{classifier.OtherTopic: true}
	for _, tp := range r.topics() {
		has[tp.Name] = true
	}
	for _, e := range city {
		if has[e.Label] {
			exs = append(exs, e)
		}
	}
	return exs, nil
}

// topics returns the city's topics: those the live classifier was built
// with, or the defaults.
func (r *Retrainer) topics() []classifier.Topic {
	if len(r.opts.Classifier.Topics) > 0 {
		return r.opts.Classifier.Topics
	}
	return classifier.DefaultOptions().Topics
}

// assignFolds gives each example a fold in [0,k): within each label,
// examples ordered by a hash of their text are dealt out in turn, so the
// split is deterministic, independent of the order of corrections, and
// stratified.
func assignFolds(exs []classifier.Example, k int) []int {
	byLabel := map[string][]int{}
	for i, ex := range exs {
		byLabel[ex.Label] = append(byLabel[ex.Label], i)
	}
	hash := func(s string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(s))
		return h.Sum64()
	}
	folds := make([]int, len(exs))
	labels := make([]string, 0, len(byLabel))
	for l := range byLabel {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	next := 0 // continue dealing across labels, so small labels spread
	for _, l := range labels {
		idx := byLabel[l]
		sort.Slice(idx, func(a, b int) bool {
			ha, hb := hash(exs[idx[a]].Text), hash(exs[idx[b]].Text)
			if ha != hb {
				return ha < hb
			}
			return exs[idx[a]].Text < exs[idx[b]].Text
		})
		for _, i := range idx {
			folds[i] = next % k
			next++
		}
	}
	return folds
}

// pairedBootstrap returns the 95% percentile interval of the mean of
// cand[i] − live[i] (each 1 when right) over rounds resamples of the
// pairs, with a fixed seed so that a report is reproducible.
func pairedBootstrap(live, cand []bool, rounds int) (lo, hi float64) {
	n := len(live)
	if n == 0 {
		return 0, 0
	}
	d := make([]int, n)
	for i := range n {
		if cand[i] {
			d[i]++
		}
		if live[i] {
			d[i]--
		}
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	means := make([]float64, rounds)
	for b := range rounds {
		s := 0
		for range n {
			s += d[rng.IntN(n)]
		}
		means[b] = float64(s) / float64(n)
	}
	slices.Sort(means)
	return means[int(0.025*float64(rounds))], means[int(math.Ceil(0.975*float64(rounds)))-1]
}

// needMore estimates how many more corrections, differing as these do,
// would put the lower bound of the difference's 95% interval above 0
// (normal approximation), at least one fold's worth.
func needMore(live, cand []bool, folds int) int {
	n := float64(len(live))
	var sum, sq float64
	for i := range live {
		v := 0.0
		if cand[i] {
			v++
		}
		if live[i] {
			v--
		}
		sum += v
		sq += v * v
	}
	mean := sum / n
	sd := math.Sqrt(max(sq/n-mean*mean, 0))
	if mean <= 0 {
		return 0
	}
	need := int(math.Ceil(math.Pow(1.96*sd/mean, 2))) - len(live)
	return max(need, max(len(live)/folds, 1))
}

// SetShipped replaces the shipped data Retrain learns from with t (nil:
// none); for `citybot train --from-store --shipped FILE`. Call it before
// Retrain.
func (r *Retrainer) SetShipped(t *classifier.Table) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts.Shipped = func() (*classifier.Table, error) { return t, nil }
}

// Candidate returns the model of the last training when it may be
// switched to, or nil.
func (r *Retrainer) Candidate() *classifier.Model {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.candidate == nil {
		return nil
	}
	return r.candidate.Model()
}
