package responder

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"citybot"
	"citybot/locale"
)

// AnswerTimeStore is the city's own history of first answers
// (store.DB.FirstAnswerTimes).
type AnswerTimeStore interface {
	FirstAnswerTimes(ctx context.Context, since time.Time, q float64) ([]citybot.AnswerTime, error)
}

// ExpectOptions configure Expectations. Store is required.
type ExpectOptions struct {
	Store AnswerTimeStore
	// Levels are the first-answer targets ([sla]), said when the history
	// of a kind of report is too thin; with neither, nothing is said.
	Levels  citybot.ServiceLevels
	Locales *locale.Set // nil: the shipped language files
	Logger  *slog.Logger
	Now     func() time.Time
	// Weeks of history looked at; 0 means 8.
	Weeks int
	// Share of the cases the time covers; 0 means 0.8 ("most cases").
	Share float64
	// MinAnswered first answers a topic and urgency needs before its
	// history is said; 0 means 10.
	MinAnswered int
	// Every is how often the history is read again; 0 means 10 minutes.
	Every time.Duration
}

// Expectations tell a citizen, in plain words, when the city usually
// answers a report like theirs: for its topic and urgency, the time
// within which most such cases got a first answer over the last weeks,
// or the service level while that history is thin. It reads the history
// at most every ExpectOptions.Every and keeps it in memory, so that
// Sentence does no I/O (it runs inside the intake's transaction). A nil
// *Expectations says nothing. Safe for concurrent use.
type Expectations struct {
	store   AnswerTimeStore
	levels  citybot.ServiceLevels
	locales *locale.Set
	log     *slog.Logger
	now     func() time.Time
	weeks   int
	share   float64
	min     int
	every   time.Duration

	mu     sync.Mutex
	times  map[[2]string]time.Duration
	loaded time.Time
}

// NewExpectations returns Expectations, or an error wrapping
// citybot.ErrInvalid without a Store or with a share outside (0, 1).
func NewExpectations(opts ExpectOptions) (*Expectations, error) {
	if opts.Store == nil {
		return nil, fmt.Errorf("responder: expectations: %w: Store is required", citybot.ErrInvalid)
	}
	e := &Expectations{store: opts.Store, levels: opts.Levels, locales: opts.Locales, log: opts.Logger, now: opts.Now,
		weeks: opts.Weeks, share: opts.Share, min: opts.MinAnswered, every: opts.Every}
	if e.locales == nil {
		e.locales = locale.MustEmbedded()
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.log = e.log.With("component", "responder")
	if e.now == nil {
		e.now = time.Now
	}
	if e.weeks <= 0 {
		e.weeks = 8
	}
	if e.share == 0 {
		e.share = 0.8
	}
	if e.share <= 0 || e.share >= 1 {
		return nil, fmt.Errorf("responder: expectations: %w: Share must be between 0 and 1", citybot.ErrInvalid)
	}
	if e.min <= 0 {
		e.min = 10
	}
	if e.every <= 0 {
		e.every = 10 * time.Minute
	}
	return e, nil
}

// Refresh reads the history again when it is older than Every. A failed
// read is logged and the history read before is kept. It blocks for one
// store query at most.
func (e *Expectations) Refresh(ctx context.Context) {
	if e == nil {
		return
	}
	now := e.now()
	e.mu.Lock()
	fresh := !e.loaded.IsZero() && now.Sub(e.loaded) < e.every
	e.mu.Unlock()
	if fresh {
		return
	}
	got, err := e.store.FirstAnswerTimes(ctx, now.AddDate(0, 0, -7*e.weeks), e.share)
	if err != nil {
		e.log.Warn("answer times not read; the expected times said are the older ones or the service levels", "err", err)
		return
	}
	times := map[[2]string]time.Duration{}
	for _, t := range got {
		if t.Within > 0 && t.Answered >= e.min {
			times[[2]string{t.Topic, string(t.Urgency)}] = t.Within
		}
	}
	e.mu.Lock()
	e.times, e.loaded = times, now
	e.mu.Unlock()
}

// Expected returns the time the city expects to take to answer a case of
// topic and urgency first: from its history (usual true), else its
// service level (usual false, working hours for normal and low); ok is
// false when there is neither.
func (e *Expectations) Expected(topic string, u citybot.Urgency) (d time.Duration, usual, ok bool) {
	if e == nil {
		return 0, false, false
	}
	e.mu.Lock()
	d, usual = e.times[[2]string{topic, string(u)}]
	e.mu.Unlock()
	if usual {
		return d, true, true
	}
	d = e.levels.Targets[u]
	return d, false, d > 0
}

// Sentence says, in language lang, when the city usually answers a case
// like c ("We usually answer this kind of report within 2 days."); with
// status, for a case still waiting for its first answer (new or
// acknowledged), it also says whether c is past that time. "" when
// nothing can be said.
func (e *Expectations) Sentence(lang string, c citybot.Case, status bool) string {
	d, usual, ok := e.Expected(c.Topic, c.Urgency)
	if !ok {
		return ""
	}
	cat := e.locales.Catalog(lang)
	if cat == nil {
		cat = e.locales.Catalog(locale.Reference)
	}
	key := "chat.expect_aim"
	if usual {
		key = "chat.expect_usual"
	}
	s := fill(cat.Text(key), "time", e.words(cat, d, !usual && citybot.WorkingHoursOnly(c.Urgency)))
	if !status || c.Status != citybot.StatusNew && c.Status != citybot.StatusAcknowledged {
		return s
	}
	due := c.OpenedAt.Add(d)
	if !usual {
		due, _ = e.levels.Due(c.OpenedAt, c.Urgency)
	}
	if e.now().After(due) {
		return s + " " + cat.Text("chat.expect_late")
	}
	return s + " " + cat.Text("chat.expect_on_time")
}

// words says a duration as a citizen would, rounded up: minutes (by 5)
// under an hour, hours under a day, then days; a working-hours target in
// working days once it is a day or more.
func (e *Expectations) words(cat *locale.Catalog, d time.Duration, working bool) string {
	plural := func(key string, n int) string {
		return fill(cat.Plural("chat."+key, n), "n", strconv.Itoa(n))
	}
	ceil := func(d, unit time.Duration) int { return int((d + unit - 1) / unit) }
	if working {
		start, end := e.levels.WorkStart, e.levels.WorkEnd
		if start == 0 && end == 0 {
			start, end = 9, 17
		}
		if day := time.Duration(end-start) * time.Hour; day > 0 && d >= day {
			return plural("work_days", ceil(d, day))
		}
	}
	switch {
	case d < time.Hour && ceil(d, 5*time.Minute) < 12:
		return plural("minutes", 5*max(1, ceil(d, 5*time.Minute)))
	case d < 24*time.Hour:
		return plural("hours", ceil(d, time.Hour))
	}
	return plural("days", ceil(d, 24*time.Hour))
}

// withExpected adds to a /status answer, for the case it is about (id)
// or, for the list (id 0), for each listed case still waiting for its
// first answer, when such cases are usually answered and whether it is
// past that.
func (r *Responder) withExpected(text, lang string, id citybot.CaseID, cases []citybot.Case) string {
	if r.expect == nil {
		return text
	}
	waiting := func(c citybot.Case) bool {
		return c.Status == citybot.StatusNew || c.Status == citybot.StatusAcknowledged
	}
	if id != 0 {
		for _, c := range cases {
			if c.ID == id && waiting(c) {
				if line := r.expect.Sentence(lang, c, true); line != "" {
					return text + "\n" + line
				}
			}
		}
		return text
	}
	for _, c := range cases[:min(len(cases), statusList)] {
		if waiting(c) {
			if line := r.expect.Sentence(lang, c, true); line != "" {
				text += "\n" + string(c.Ref) + ": " + line
			}
		}
	}
	return text
}
