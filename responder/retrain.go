package responder

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
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
	// RecordAudit appends an entry to the audit log.
	RecordAudit(ctx context.Context, e citybot.AuditEntry) error
}

// RetrainerOptions configure a Retrainer. Store and Live are required.
type RetrainerOptions struct {
	Store RetrainStore
	Live  *LiveClassifier
	// Classifier are the options the live classifier was built with
	// (topics and their keywords, places, thresholds); a candidate is
	// built with the same.
	Classifier classifier.Options
	// Shipped is the data the shipped model learnt from (disaster_en.csv
	// read with classifier.ReadTableFile); nil trains on the officers'
	// corrections and the topics' keywords only.
	Shipped *classifier.Table
	// HoldOut keeps one correction in HoldOut out of training to score
	// the models; <= 1 means 5.
	HoldOut int
	// CorrectionWeight repeats each officer correction this many times in
	// training, so that the city's own labels weigh more than the
	// shipped data; <= 0 means 3.
	CorrectionWeight int
	// ModelPath, when set, is where a switched model is written, so that
	// [classifier] model can load it at the next start.
	ModelPath string
	Logger    *slog.Logger     // nil discards logs
	Now       func() time.Time // nil means time.Now
}

// Retrainer trains candidate models from officers' corrections and the
// shipped data, compares them with the live model on held-back
// corrections, and switches the live classifier only when asked. One
// training runs at a time. It is safe for concurrent use.
type Retrainer struct {
	opts RetrainerOptions
	log  *slog.Logger

	run       sync.Mutex // held while training
	mu        sync.Mutex
	candidate *classifier.Classifier
	report    *citybot.RetrainReport
}

// NewRetrainer returns a Retrainer, or an error wrapping citybot.ErrInvalid
// when Store or Live is missing.
func NewRetrainer(opts RetrainerOptions) (*Retrainer, error) {
	if opts.Store == nil || opts.Live == nil {
		return nil, fmt.Errorf("responder: retrainer: %w: Store and Live are required", citybot.ErrInvalid)
	}
	if opts.HoldOut <= 1 {
		opts.HoldOut = 5
	}
	if opts.CorrectionWeight <= 0 {
		opts.CorrectionWeight = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Retrainer{opts: opts, log: opts.Logger}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r.log = r.log.With("component", "retrainer")
	return r, nil
}

// Status returns the live model's name and the last training's report
// while its candidate waits to be switched (nil when none waits).
func (r *Retrainer) Status() (live string, pending *citybot.RetrainReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	live = r.opts.Live.Current().Model().Name()
	if r.report != nil {
		rep := *r.report
		pending = &rep
	}
	return live, pending
}

// Retrain trains a candidate topic and urgency model from the officers'
// corrections (all but the held-back ones) and the shipped data, scores
// it and the live model on the held-back corrections, and keeps it until
// Switch. It blocks until done (seconds for the shipped data). It returns
// an error wrapping citybot.ErrInvalid when another training runs, when
// there is no correction yet, or when neither head could be trained
// (fewer than two labels), and ctx.Err() when cancelled.
func (r *Retrainer) Retrain(ctx context.Context, actor string) (citybot.RetrainReport, error) {
	if !r.run.TryLock() {
		return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w: a training is already running", citybot.ErrInvalid)
	}
	defer r.run.Unlock()
	labels, err := r.opts.Store.OfficerLabels(ctx)
	if err != nil {
		return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w", err)
	}
	if len(labels) == 0 {
		return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w: officers have corrected no case yet", citybot.ErrInvalid)
	}
	live := r.opts.Live.Current()
	now := r.opts.Now().UTC()
	name := "citybot-city-" + now.Format("20060102-150405")
	rep := citybot.RetrainReport{At: now, By: actor, Live: live.Model().Name(), Candidate: name, Corrections: len(labels)}

	split := func(kind string) (train, held []classifier.Example) {
		i := 0
		for _, l := range labels {
			if l.Kind != kind || l.Text == "" {
				continue
			}
			ex := classifier.Example{Text: l.Text, Label: l.Label}
			if i%r.opts.HoldOut == r.opts.HoldOut-1 {
				held = append(held, ex)
			} else {
				for range r.opts.CorrectionWeight {
					train = append(train, ex)
				}
			}
			i++
		}
		return train, held
	}
	topicTrain, topicHeld := split("topic")
	urgTrain, urgHeld := split("urgency")
	if r.opts.Shipped != nil {
		topicTrain = append(r.opts.Shipped.Examples("topic"), topicTrain...)
		urgTrain = append(classifier.UrgencyExamples(r.opts.Shipped), urgTrain...)
	}
	rep.Topic.Examples, rep.Urgency.Examples = len(topicTrain), len(urgTrain)

	topicM, err := classifier.Train(ctx, classifier.KindTopic, topicTrain, classifier.TrainOptions{
		Name: name, Topics: r.opts.Classifier.Topics, Seed: 1})
	if ctx.Err() != nil {
		return citybot.RetrainReport{}, ctx.Err()
	}
	rep.Topic.Trained = err == nil
	urgM, uerr := classifier.Train(ctx, classifier.KindUrgency, urgTrain, classifier.TrainOptions{Name: name, Seed: 1})
	if ctx.Err() != nil {
		return citybot.RetrainReport{}, ctx.Err()
	}
	rep.Urgency.Trained = uerr == nil
	var m *classifier.Model
	switch {
	case err == nil && uerr == nil:
		m = topicM.WithFallback(urgM)
	case err == nil:
		m = topicM.WithFallback(live.Model())
	case uerr == nil:
		m = urgM.WithFallback(live.Model())
	default:
		return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w: not enough labels to train (topic: %v; urgency: %v)", citybot.ErrInvalid, err, uerr)
	}
	cand, err := classifier.NewWithModel(r.opts.Classifier, m)
	if err != nil {
		return citybot.RetrainReport{}, fmt.Errorf("responder: retrain: %w", err)
	}
	score := func(held []classifier.Example, pick func(citybot.Classification) string) (liveAcc, candAcc float64) {
		if len(held) == 0 {
			return 0, 0
		}
		var nl, nc int
		for _, ex := range held {
			if pick(r.opts.Live.Current().Classify(ex.Text, "")) == ex.Label {
				nl++
			}
			if pick(candClassify(cand, ex.Text)) == ex.Label {
				nc++
			}
		}
		return float64(nl) / float64(len(held)), float64(nc) / float64(len(held))
	}
	rep.Topic.HeldOut, rep.Urgency.HeldOut = len(topicHeld), len(urgHeld)
	rep.Topic.LiveAccuracy, rep.Topic.CandidateAccuracy = score(topicHeld, func(c citybot.Classification) string { return c.Topic.Label })
	rep.Urgency.LiveAccuracy, rep.Urgency.CandidateAccuracy = score(urgHeld, func(c citybot.Classification) string { return string(c.Urgency) })

	r.mu.Lock()
	r.candidate, r.report = cand, &rep
	r.mu.Unlock()
	r.audit(ctx, actor, "model.train", nil, rep)
	r.log.Info("candidate model trained", "model", name, "corrections", len(labels),
		"topic_live", rep.Topic.LiveAccuracy, "topic_candidate", rep.Topic.CandidateAccuracy,
		"urgency_live", rep.Urgency.LiveAccuracy, "urgency_candidate", rep.Urgency.CandidateAccuracy)
	return rep, nil
}

func candClassify(c *classifier.Classifier, text string) citybot.Classification {
	return c.Classify(text, "")
}

// Switch makes the candidate of the last Retrain the live model (and
// writes it to ModelPath when set). It returns an error wrapping
// citybot.ErrNotFound when no candidate waits, and the write's error (the
// live model then stays).
func (r *Retrainer) Switch(ctx context.Context, actor string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.candidate == nil {
		return fmt.Errorf("responder: switch model: %w: no trained candidate waits", citybot.ErrNotFound)
	}
	if r.opts.ModelPath != "" {
		if err := r.candidate.Model().WriteFile(r.opts.ModelPath); err != nil {
			return fmt.Errorf("responder: switch model: %w", err)
		}
	}
	old := r.opts.Live.Current().Model().Name()
	r.opts.Live.set(r.candidate)
	rep := *r.report
	r.candidate, r.report = nil, nil
	r.audit(ctx, actor, "model.switch", map[string]string{"model": old}, map[string]any{"model": rep.Candidate, "report": rep})
	r.log.Info("model switched", "from", old, "to", rep.Candidate)
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
