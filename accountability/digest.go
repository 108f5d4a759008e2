package accountability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/bots"
	"citybot/locale"
	"citybot/responder"
)

// DigestStore is what a Digester needs from storage (store.DB).
type DigestStore interface {
	DigestFigures(ctx context.Context, start, end time.Time, hide []string) (citybot.DigestFigures, error)
	DigestExamples(ctx context.Context, start, end time.Time, hide []string, limit int) ([]citybot.ExampleSource, error)
	SaveDigestDraft(ctx context.Context, d citybot.Digest, notify func(citybot.Digest) ([]citybot.OutboxItem, error)) (citybot.Digest, error)
	RedraftDigest(ctx context.Context, d citybot.Digest, notify func(citybot.Digest) ([]citybot.OutboxItem, error)) (citybot.Digest, error)
	DecideDigest(ctx context.Context, id citybot.DigestID, dec citybot.DigestDecision, posts func(citybot.Digest) ([]citybot.OutboxItem, error)) (citybot.Digest, error)
	Digest(ctx context.Context, id citybot.DigestID) (citybot.Digest, error)
	ApprovedDigest(ctx context.Context, week citybot.Week) (citybot.Digest, error)
	Digests(ctx context.Context, limit int, states ...citybot.DigestState) ([]citybot.Digest, error)
	CommentDigest(ctx context.Context, id citybot.DigestID, actor, comment string) error

	DueFollowups(ctx context.Context, resolvedBefore time.Time, hide []string, limit int) ([]citybot.FollowupTarget, error)
	QueueFollowup(ctx context.Context, id citybot.CaseID, it citybot.OutboxItem) (bool, error)
	// RecordFollowup records an answer to "Is it fixed?"; when "Not
	// fixed" reopens the case followed, reopened builds, in the same
	// transaction, what its other followers are told.
	RecordFollowup(ctx context.Context, id citybot.CaseID, p citybot.Platform, user citybot.UserID, fixed bool,
		reopened func(v citybot.CaseView, by citybot.Case) []citybot.OutboxItem) (citybot.Case, error)
	DueReminders(ctx context.Context, openedBefore time.Time, limit int) ([]citybot.Case, error)
	QueueReminders(ctx context.Context, ids []citybot.CaseID, items []citybot.OutboxItem) (int, error)
	UnansweredCases(ctx context.Context, openedBefore time.Time, limit int) ([]citybot.ReminderTarget, error)
	RecordReminders(ctx context.Context, times map[citybot.CaseID]int, items []citybot.OutboxItem) (int, error)
	OverduePromises(ctx context.Context, before time.Time, limit int) ([]citybot.ReminderTarget, error)
	RecordPromiseReminders(ctx context.Context, times map[citybot.CaseID]int, items []citybot.OutboxItem) (int, error)
	FirstAnswers(ctx context.Context, start, end time.Time) ([]citybot.FirstAnswer, error)
	Promises(ctx context.Context, from, to time.Time) ([]citybot.Promise, error)
	OutboxItems(ctx context.Context, prefix string) ([]citybot.OutboxItem, error)
	Enqueue(ctx context.Context, items ...citybot.OutboxItem) (int, error)
	ApplyRetention(ctx context.Context, p citybot.RetentionPolicy) (citybot.RetentionResult, error)
}

// Channel is a public chat or channel the digest is posted to.
type Channel struct {
	Platform citybot.Platform
	Chat     citybot.ChatID
	// Language of the posts; "" posts the digest once per language.
	Language string
}

// DigestOptions configure a Digester. Store is required.
type DigestOptions struct {
	Store  DigestStore
	Logger *slog.Logger     // nil discards logs
	Now    func() time.Time // nil means time.Now
	// Policy is the city: its name (the digest's title), time zone
	// (weeks run Monday to Sunday there, and working hours are counted
	// there), languages and per-platform text limits. Required.
	Policy *citybot.Policy
	// Location is the digest's own time zone when the city sets one
	// ([digest] timezone); nil is the policy's.
	Location *time.Location
	// Languages the digest is written in when the city sets them
	// ([digest] languages), each one of the policy's; empty is the
	// policy's. The first is the officials' language.
	Languages []string
	// Texts add or replace languages (missing fields fall back to
	// English); Catalogs give topic words as for Options.Catalogs.
	Texts map[string]DigestTexts
	// Locales are the language files (as for Options.Locales); nil
	// means the shipped ones.
	Locales  *locale.Set
	Catalogs map[string]Catalog
	// Hide are topics additionally kept out of examples, places and
	// follow-ups. Sensitive cases (citybot.Case.Sensitive, the flag
	// the store keeps) are always kept out, whatever their topic, and
	// reminders name them by reference only; nil and empty mean no
	// extra topic.
	Hide []string
	// Channels receive the approved digest.
	Channels []Channel
	// Officials is the private chat of officials where drafts are
	// announced with Approve / Request changes buttons; zero disables it.
	Officials Channel
	// Approvers maps the platform user ids allowed to decide from the
	// officials' chat to their console account names (recorded in the
	// audit log). A press by anyone else is refused.
	Approvers map[citybot.UserID]string
	// Officers is the chat where reminders about unanswered cases go;
	// zero disables reminders.
	Officers Channel
	// Examples is how many "you said, we did" examples a digest carries;
	// 0 means 3, negative none.
	Examples int
	// PublicURL is the public accountability page, linked from the
	// digest; "" leaves the link out.
	PublicURL string
	// Classifier, when set, finds personal data in officers' answers
	// before they are quoted.
	Classifier Classifier
	// FollowupAfter is how long after resolution the citizen is asked
	// "Is it fixed?"; 0 means 3 days.
	FollowupAfter time.Duration
	// ReminderHours is how many working hours without a first answer
	// trigger a reminder; 0 means 8.
	ReminderHours int
	// Targets are the first-answer service levels per urgency: officers
	// are reminded of a case without a first answer once it passes its
	// target, then again 2, 4, 8… targets after the reminder before (a
	// backoff), until it is answered. Critical and high run on the wall clock; normal
	// and low on working hours only (WorkStart to WorkEnd, Monday to
	// Friday, in Location). An urgency without a target is never
	// reminded. nil keeps the single reminder after ReminderHours.
	Targets map[citybot.Urgency]time.Duration
	// WorkStart and WorkEnd bound a working day, in hours of the day;
	// 0, 0 means 9 to 17. Working days are Monday to Friday.
	WorkStart, WorkEnd int
	// Retention is the data retention policy applied by Retain.
	Retention citybot.RetentionPolicy
	// Notify is called after rows were queued (a Dispatcher's Notify).
	Notify func()
}

// Digester drafts the weekly digest, carries officials' decisions, posts
// approved digests through the outbox, asks citizens "Is it fixed?",
// reminds officers and applies retention. Its methods are the scheduler's
// jobs and the handlers of the digest's buttons. It is safe for
// concurrent use.
type Digester struct {
	store     DigestStore
	log       *slog.Logger
	now       func() time.Time
	loc       *time.Location
	languages []string
	texts     map[string]DigestTexts
	catalogs  map[string]Catalog
	english   Catalog
	hide      []string
	channels  []Channel
	officials Channel
	approvers map[citybot.UserID]string
	officers  Channel
	examples  int
	url       string
	cls       Classifier
	policy    *citybot.Policy
	after     time.Duration
	remindH   int
	targets   map[citybot.Urgency]time.Duration
	workStart int
	workEnd   int
	retention citybot.RetentionPolicy
	notify    func()
	redactor  *Redactor
	locs      *locale.Set // the language files, for the chart's words
}

// NewDigester returns a Digester, or an error wrapping citybot.ErrInvalid
// when Store is missing, a language has no texts, or a channel is
// malformed.
func NewDigester(opts DigestOptions) (*Digester, error) {
	if opts.Store == nil || opts.Policy == nil {
		return nil, fmt.Errorf("accountability: digester: %w: Store and Policy are required", citybot.ErrInvalid)
	}
	d := &Digester{
		store: opts.Store, log: opts.Logger, now: opts.Now, loc: opts.Location, languages: opts.Languages,
		hide: opts.Hide, channels: opts.Channels, officials: opts.Officials, approvers: opts.Approvers,
		officers: opts.Officers, examples: opts.Examples, url: opts.PublicURL, cls: opts.Classifier,
		after: opts.FollowupAfter, remindH: opts.ReminderHours, targets: opts.Targets, workStart: opts.WorkStart, workEnd: opts.WorkEnd,
		retention: opts.Retention, notify: opts.Notify, redactor: NewRedactor(), policy: opts.Policy,
	}
	d.log = componentLog(d.log, "digest")
	if d.now == nil {
		d.now = time.Now
	}
	if d.loc == nil {
		d.loc = opts.Policy.Location()
	}
	if len(d.languages) == 0 {
		d.languages = opts.Policy.Languages()
	}
	for _, l := range d.languages {
		if !opts.Policy.Speaks(l) {
			return nil, fmt.Errorf("accountability: digester: %w: digest language %q is not one of the city's", citybot.ErrInvalid, l)
		}
	}
	if d.examples == 0 {
		d.examples = 3
	}
	if d.after <= 0 {
		d.after = 72 * time.Hour
	}
	if d.remindH <= 0 {
		d.remindH = 8
	}
	if d.workStart == 0 && d.workEnd == 0 {
		d.workStart, d.workEnd = 9, 17
	}
	if d.workStart < 0 || d.workEnd > 24 || d.workStart >= d.workEnd {
		return nil, fmt.Errorf("accountability: digester: %w: working hours %d to %d", citybot.ErrInvalid, d.workStart, d.workEnd)
	}
	if d.notify == nil {
		d.notify = func() {}
	}
	set := locales(opts.Locales)
	d.locs = set
	d.texts = digestTextsOf(set)
	en := d.texts[locale.Reference]
	for code, t := range opts.Texts {
		d.texts[code] = t.withFallback(en)
	}
	d.catalogs = catalogsOf(set)
	d.english = d.catalogs[locale.Reference]
	for code, c := range opts.Catalogs {
		if base, ok := d.catalogs[code]; ok {
			d.catalogs[code] = c.WithFallback(base)
		} else {
			d.catalogs[code] = c.WithFallback(d.english)
		}
	}
	for _, l := range d.languages {
		if _, ok := d.texts[l]; !ok {
			return nil, fmt.Errorf("accountability: digester: %w: language %q has no digest texts", citybot.ErrInvalid, l)
		}
		if _, ok := d.catalogs[l]; !ok {
			d.catalogs[l] = d.english
		}
	}
	for _, c := range append(slices.Clone(d.channels), d.officials, d.officers) {
		if c == (Channel{}) {
			continue
		}
		if !c.Platform.Valid() || c.Chat == "" {
			return nil, fmt.Errorf("accountability: digester: %w: a channel needs a known platform and a chat", citybot.ErrInvalid)
		}
		if c.Language != "" && !slices.Contains(d.languages, c.Language) {
			return nil, fmt.Errorf("accountability: digester: %w: channel language %q is not a digest language", citybot.ErrInvalid, c.Language)
		}
	}
	d.warnChartGlyphs()
	if f, ok := opts.Store.(failureFollowup); ok {
		// A public post the platform refuses is announced to the
		// officials, in the transaction that records the failure.
		f.SetFailureFollowup(d.PostFailedAlert)
	}
	return d, nil
}

// withFallback fills t's empty fields from fb.
func (t DigestTexts) withFallback(fb DigestTexts) DigestTexts {
	out := t
	pairs := []struct{ dst, src *string }{
		{&out.Title, &fb.Title}, {&out.DatesSameMonth, &fb.DatesSameMonth}, {&out.Dates, &fb.Dates}, {&out.ReceivedPlain, &fb.ReceivedPlain},
		{&out.TopicLinePlain, &fb.TopicLinePlain}, {&out.ResolvedPlain, &fb.ResolvedPlain}, {&out.FirstWeek, &fb.FirstWeek},
		{&out.NoReports, &fb.NoReports}, {&out.InLanguage, &fb.InLanguage}, {&out.Received, &fb.Received}, {&out.TopicLine, &fb.TopicLine}, {&out.ByPlatform, &fb.ByPlatform}, {&out.Places, &fb.Places},
		{&out.Answered, &fb.Answered}, {&out.FirstAnswer, &fb.FirstAnswer}, {&out.Resolved, &fb.Resolved},
		{&out.Resolution, &fb.Resolution}, {&out.Fixed, &fb.Fixed}, {&out.NotFixed, &fb.NotFixed}, {&out.Thanks, &fb.Thanks}, {&out.ThanksOne, &fb.ThanksOne}, {&out.StillOpen, &fb.StillOpen},
		{&out.Promises, &fb.Promises}, {&out.Overdue, &fb.Overdue}, {&out.NoPromises, &fb.NoPromises}, {&out.Examples, &fb.Examples},
		{&out.Said, &fb.Said}, {&out.Did, &fb.Did}, {&out.More, &fb.More}, {&out.Change, &fb.Change}, {&out.Same, &fb.Same},
		{&out.Others, &fb.Others}, {&out.Of, &fb.Of}, {&out.Percent, &fb.Percent}, {&out.None, &fb.None},
		{&out.Minutes, &fb.Minutes}, {&out.Hours, &fb.Hours}, {&out.Days, &fb.Days}, {&out.ChartCaption, &fb.ChartCaption},
		{&out.DraftNotice, &fb.DraftNotice}, {&out.Approved, &fb.Approved}, {&out.SentBack, &fb.SentBack},
		{&out.AlreadyDone, &fb.AlreadyDone}, {&out.NotAllowed, &fb.NotAllowed}, {&out.FixedAsk, &fb.FixedAsk},
		{&out.FixedYes, &fb.FixedYes}, {&out.FixedNo, &fb.FixedNo}, {&out.FixedThanks, &fb.FixedThanks},
		{&out.FixedReopened, &fb.FixedReopened}, {&out.FixedReopenedAll, &fb.FixedReopenedAll}, {&out.Reminder, &fb.Reminder}, {&out.ReminderLine, &fb.ReminderLine},
		{&out.Approve, &fb.Approve}, {&out.RequestChanges, &fb.RequestChanges}, {&out.ChartReports, &fb.ChartReports},
		{&out.ChartAnswer, &fb.ChartAnswer}, {&out.PercentSign, &fb.PercentSign}, {&out.DecimalPoint, &fb.DecimalPoint},
	}
	for _, p := range pairs {
		if *p.dst == "" {
			*p.dst = *p.src
		}
	}
	if out.Months[0] == "" {
		out.Months = fb.Months
	}
	return out
}

// Location returns the city's time zone.
func (d *Digester) Location() *time.Location { return d.loc }

// Languages returns the digest's languages, the officials' first.
func (d *Digester) Languages() []string { return slices.Clone(d.languages) }

// TopicName returns a topic in words in lang.
func (d *Digester) TopicName(lang, topic string) string {
	c, ok := d.catalogs[lang]
	if !ok {
		c = d.english
	}
	return c.TopicName(topic)
}

// Figures computes the public figures of [start, end) (sensitive cases'
// places left out). It is what the public page shows live.
func (d *Digester) Figures(ctx context.Context, start, end time.Time) (citybot.DigestFigures, error) {
	f, err := d.figures(ctx, start, end)
	if err != nil {
		return f, fmt.Errorf("accountability: figures: %w", err)
	}
	return f, nil
}

// figures are the store's figures of [start, end) with the promises
// counted in the city's time zone.
func (d *Digester) figures(ctx context.Context, start, end time.Time) (citybot.DigestFigures, error) {
	f, err := d.store.DigestFigures(ctx, start, end, d.hide)
	if err != nil {
		return f, err
	}
	// A promised day is stored as its date; any zone is within 14 hours
	// of UTC, so two days either side hold every day of the period.
	ps, err := d.store.Promises(ctx, start.Add(-48*time.Hour), end.Add(48*time.Hour))
	if err != nil {
		return f, err
	}
	f.PromisesDue, f.PromisesKept, f.PromisesOverdue, f.PromisesMoved = 0, 0, 0, 0
	now := d.now()
	day := func(t time.Time) time.Time {
		y, m, dd := t.UTC().Date()
		return time.Date(y, m, dd, 0, 0, 0, 0, d.loc)
	}
	for _, p := range ps {
		begins := day(p.ExpectedBy)
		// Due at the end of the promised day in the city's time zone.
		due := begins.AddDate(0, 0, 1)
		if p.MovedAt != nil {
			// A date moved to a later one counts as moved in the period
			// of the move.
			if !p.MovedTo.IsZero() && day(p.MovedTo).After(begins) && !p.MovedAt.Before(start) && p.MovedAt.Before(end) {
				f.PromisesMoved++
			}
			// A date moved before its day was over was never due; one
			// moved after it counts as due at that day, below.
			if p.MovedAt.Before(due) {
				continue
			}
		}
		if begins.Before(start) || !begins.Before(end) {
			continue
		}
		if due.After(now) {
			continue
		}
		f.PromisesDue++
		if p.ResolvedAt != nil && p.ResolvedAt.Before(due) {
			f.PromisesKept++
		} else {
			f.PromisesOverdue++
		}
	}
	return f, nil
}

// Compute builds the digest of the week holding at (figures, the week
// before, redacted examples, texts in every language, chart) without
// storing it. note is an optional paragraph put before the figures.
func (d *Digester) Compute(ctx context.Context, at time.Time, note string) (citybot.Digest, error) {
	week, start, end := citybot.WeekOf(at, d.loc)
	_, pstart, pend := citybot.WeekOf(start.Add(-time.Hour), d.loc)
	var dg citybot.Digest
	dg.Week = week
	var err error
	if dg.Figures, err = d.figures(ctx, start, end); err != nil {
		return dg, fmt.Errorf("accountability: compute digest: %w", err)
	}
	if dg.Previous, err = d.figures(ctx, pstart, pend); err != nil {
		return dg, fmt.Errorf("accountability: compute digest: %w", err)
	}
	if d.targets != nil {
		fas, err := d.store.FirstAnswers(ctx, start, end)
		if err != nil {
			return dg, fmt.Errorf("accountability: compute digest: %w", err)
		}
		dg.Figures.WithinTarget = d.withinTarget(fas)
	}
	if d.examples > 0 {
		srcs, err := d.store.DigestExamples(ctx, start, end, d.hide, d.examples*4)
		if err != nil {
			return dg, fmt.Errorf("accountability: compute digest: %w", err)
		}
		for _, s := range srcs {
			if ex, ok := d.example(s); ok {
				dg.Examples = append(dg.Examples, ex)
				if len(dg.Examples) == d.examples {
					break
				}
			}
		}
	}
	dg.Note, _ = citybot.CleanText(strings.TrimSpace(note), 2000)
	dg.Texts = map[string]string{}
	for _, l := range d.languages {
		dg.Texts[l] = renderDigest(dg, l, d.policy.City(), d.texts[l], d.catalogs[l], d.loc, d.url, d.now())
	}
	if dg.Chart, err = d.ChartPNG(dg, d.languages[0]); err != nil {
		return dg, err
	}
	return dg, nil
}

// example redacts one "you said, we did" pair; ok is false when nothing
// worth quoting is left.
func (d *Digester) example(s citybot.ExampleSource) (citybot.DigestExample, bool) {
	said := excerpt(d.redactor.Redact(s.Said, s.SaidPersonal, s.Avoid), 160)
	if countLetters(said) < 12 {
		return citybot.DigestExample{}, false
	}
	dids := s.Dids
	if len(dids) == 0 && s.Did != "" {
		dids = []string{s.Did}
	}
	// What was done: the first answer (those after resolution come
	// first) that tells of something done, never one promising an action
	// to come.
	for _, did := range dids {
		// An officer's answer is wrapped in the notice ("Answer from the
		// city about your case REF:\n\n…"): keep the officer's words.
		if _, rest, ok := strings.Cut(did, "\n\n"); ok {
			did = rest
		}
		lang := s.CaseLang
		var spans []citybot.PersonalSpan
		if d.cls != nil {
			c := d.cls.Classify(did, "")
			spans = c.PersonalData
			if c.Language != "" && c.Language != "other" {
				lang = c.Language
			}
		}
		if promisesAction(did, lang) {
			continue
		}
		did = excerpt(d.redactor.Redact(did, spans, s.Avoid), 160)
		if countLetters(did) < 8 {
			continue
		}
		return citybot.DigestExample{Topic: s.Topic, Said: said, Did: did, SaidLang: s.SaidLang, DidLang: lang, Reporters: s.Reporters}, true
	}
	return citybot.DigestExample{}, false
}

func countLetters(s string) int {
	n := 0
	for _, r := range strings.ReplaceAll(s, Mask, "") {
		if r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r > 127 {
			n++
		}
	}
	return n
}

// DraftLastWeek drafts the digest of the week before now's week: the
// scheduler's weekly job. A week that already has a digest in any state
// drafted after the week ended, or approved, is left alone (nil): a
// second fire changes nothing, and a draft sent back is redrafted by
// staff, not by the schedule. Only drafts made on demand before the week
// was over (its figures so far) are not enough: a pending one is replaced
// by the whole week's. The officials are notified.
func (d *Digester) DraftLastWeek(ctx context.Context) error {
	_, start, _ := citybot.WeekOf(d.now(), d.loc)
	at := start.Add(-time.Hour)
	week := weekOf(at, d.loc)
	recent, err := d.store.Digests(ctx, 50)
	if err != nil {
		return fmt.Errorf("accountability: draft last week: %w", err)
	}
	partial := false
	for _, dg := range recent {
		if dg.Week != week {
			continue
		}
		if dg.State == citybot.DigestApproved || !dg.CreatedAt.Before(start) {
			d.log.Info("digest of last week exists already", "week", string(week), "state", string(dg.State))
			return nil
		}
		partial = true
	}
	if partial {
		_, err = d.Redraft(ctx, at, "scheduler", "")
		if errors.Is(err, citybot.ErrDuplicate) {
			return nil
		}
		return err
	}
	_, err = d.Draft(ctx, at, "scheduler", "")
	if errors.Is(err, citybot.ErrDuplicate) {
		d.log.Info("digest draft exists already", "week", string(week))
		return nil
	}
	return err
}

func weekOf(t time.Time, loc *time.Location) citybot.Week {
	w, _, _ := citybot.WeekOf(t, loc)
	return w
}

// Draft computes and stores a new draft of the week holding at, and
// queues its announcement to the officials' chat in the same transaction.
// Errors wrap citybot.ErrDuplicate when the week has a pending draft or an
// approved digest.
func (d *Digester) Draft(ctx context.Context, at time.Time, actor, note string) (citybot.Digest, error) {
	dg, err := d.Compute(ctx, at, note)
	if err != nil {
		return dg, err
	}
	dg.DraftedBy = actor
	saved, err := d.store.SaveDigestDraft(ctx, dg, d.officialsNotice)
	if err != nil {
		return saved, fmt.Errorf("accountability: draft digest: %w", err)
	}
	d.log.Info("digest drafted", "week", string(saved.Week), "revision", saved.Revision, "digest_id", int64(saved.ID))
	d.notify()
	return saved, nil
}

// Redraft drafts the week holding at on demand, for actor (a console
// account, or "cli"): a new revision from the figures as they are now,
// announced to the officials' chat like a scheduled draft. A pending
// draft of the week is replaced (it can no longer be approved); a week
// whose digest is approved is refused with an error wrapping
// citybot.ErrDuplicate. A week not over yet gets the figures so far.
func (d *Digester) Redraft(ctx context.Context, at time.Time, actor, note string) (citybot.Digest, error) {
	dg, err := d.Compute(ctx, at, note)
	if err != nil {
		return dg, err
	}
	dg.DraftedBy = actor
	saved, err := d.store.RedraftDigest(ctx, dg, d.officialsNotice)
	if err != nil {
		return saved, fmt.Errorf("accountability: redraft digest: %w", err)
	}
	d.log.Info("digest drafted on demand", "week", string(saved.Week), "revision", saved.Revision, "digest_id", int64(saved.ID))
	d.notify()
	return saved, nil
}

// LastWeek returns an instant in the week before now's week, in the
// city's time zone: what "last week" means to Redraft.
func (d *Digester) LastWeek() time.Time {
	_, start, _ := citybot.WeekOf(d.now(), d.loc)
	return start.Add(-time.Hour)
}

// Now returns the Digester's clock.
func (d *Digester) Now() time.Time { return d.now() }

// Action data of the digest's buttons. Telegram allows 64 bytes.
const (
	actApprove  = "dg:a:"
	actSendBack = "dg:r:"
	actFixed    = "fx:y:"
	actNotFixed = "fx:n:"
)

// officialsNotice is the draft's announcement: the notice, then the draft
// exactly as it will be posted on the officials' platform in the first
// language, with Approve / Request changes buttons on the last part.
func (d *Digester) officialsNotice(dg citybot.Digest) ([]citybot.OutboxItem, error) {
	if d.officials == (Channel{}) {
		return nil, nil
	}
	lang := d.officials.Language
	if lang == "" {
		lang = d.languages[0]
	}
	t := d.texts[lang]
	id := strconv.FormatInt(int64(dg.ID), 10)
	key := fmt.Sprintf("digest:%s:r%d:officials", dg.Week, dg.Revision)
	out := []citybot.OutboxItem{{
		Out: citybot.Outgoing{Key: key + ":notice", Platform: d.officials.Platform, Chat: d.officials.Chat, ChatKind: citybot.ChatGroup,
			Text: fill(t.DraftNotice, "week", string(dg.Week), "revision", strconv.Itoa(dg.Revision)) + d.equityNote(dg, lang)},
		Kind: citybot.OutboxNotice,
	}}
	body := citybot.OutboxItem{
		Out: citybot.Outgoing{Key: key + ":draft", Platform: d.officials.Platform, Chat: d.officials.Chat, ChatKind: citybot.ChatGroup,
			Text: dg.Texts[lang],
			Buttons: [][]citybot.Button{{
				{Label: t.Approve, Data: actApprove + id},
				{Label: t.RequestChanges, Data: actSendBack + id},
			}}},
		Kind: citybot.OutboxNotice,
	}
	return append(out, responder.SplitItem(body, d.policy.MaxText(d.officials.Platform))...), nil
}

// Decide records an official's decision on a draft. Approving queues the
// posts to every channel in the same transaction (so a restart between
// approval and posting still posts, once); sending back needs a comment
// and posts nothing. Errors wrap citybot.ErrNotFound for an unknown
// digest and citybot.ErrInvalid for a digest already decided or a
// send-back without comment.
func (d *Digester) Decide(ctx context.Context, id citybot.DigestID, dec citybot.DigestDecision) (citybot.Digest, error) {
	dg, err := d.store.DecideDigest(ctx, id, dec, func(dg citybot.Digest) ([]citybot.OutboxItem, error) {
		return d.Posts(dg), nil
	})
	if err != nil {
		return dg, fmt.Errorf("accountability: decide digest: %w", err)
	}
	d.log.Info("digest decided", "digest_id", int64(id), "week", string(dg.Week), "state", string(dg.State))
	if dg.State == citybot.DigestApproved {
		d.notify()
	}
	return dg, nil
}

// ChartKeySuffix ends the key of the outbox row that posts a digest's
// chart (an citybot.OutboxChart row), so that the posting status finds
// it among the week's rows.
const ChartKeySuffix = ":chart"

// PostKey is the idempotency key of a digest's post in one language to
// one channel: digest:WEEK:PLATFORM:CHAT:LANG. Split parts add #N; the
// chart row adds ChartKeySuffix.
func PostKey(week citybot.Week, c Channel, lang string) string {
	return fmt.Sprintf("digest:%s:%s:%s:%s", week, c.Platform, c.Chat, lang)
}

// Posts returns the outbox rows that post an approved digest: for each
// channel and each of its languages, the chart (caption only where photos
// are not supported) then the text, split to the platform's limit. A
// channel gets one chart, drawn in its first language (its own language
// when it has one) and carried by the chart row; a chart that cannot be
// drawn leaves the row to the digest's stored chart (the officials'
// language), as rows queued before charts were drawn per language.
func (d *Digester) Posts(dg citybot.Digest) []citybot.OutboxItem {
	var out []citybot.OutboxItem
	charts := map[string]*citybot.File{}
	chartIn := func(lang string) *citybot.File {
		if f, ok := charts[lang]; ok {
			return f
		}
		var f *citybot.File
		if png, err := d.ChartPNG(dg, lang); err != nil {
			d.log.Warn("the chart in a channel's language could not be drawn: the officials' chart is posted", "lang", lang, "err", err)
		} else {
			f = &citybot.File{Name: "digest-" + string(dg.Week) + "-" + lang + ".png", Data: png}
		}
		charts[lang] = f
		return f
	}
	for _, c := range d.channels {
		langs := d.languages
		if c.Language != "" {
			langs = []string{c.Language}
		}
		for i, l := range langs {
			key := PostKey(dg.Week, c, l)
			if i == 0 && len(dg.Chart) > 0 {
				out = append(out, citybot.OutboxItem{Kind: citybot.OutboxChart, ChartWeek: dg.Week, Out: citybot.Outgoing{
					Key: key + ChartKeySuffix, Platform: c.Platform, Chat: c.Chat, ChatKind: citybot.ChatChannel,
					Text: fill(d.texts[l].ChartCaption, "week", string(dg.Week)), File: chartIn(l),
				}})
			}
			out = append(out, responder.SplitItem(citybot.OutboxItem{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{
				Key: key, Platform: c.Platform, Chat: c.Chat, ChatKind: citybot.ChatChannel, Text: dg.Texts[l],
			}}, d.policy.MaxText(c.Platform))...)
		}
	}
	return out
}

// Previews returns the digest exactly as it will be posted, per platform
// the channels use (both Telegram and Discord when no channel is
// configured) and per language.
func (d *Digester) Previews(dg citybot.Digest) []citybot.DigestPreview {
	var plats []citybot.Platform
	for _, c := range d.channels {
		if !slices.Contains(plats, c.Platform) {
			plats = append(plats, c.Platform)
		}
	}
	if len(plats) == 0 {
		plats = []citybot.Platform{citybot.Telegram, citybot.Discord}
	}
	var out []citybot.DigestPreview
	for _, p := range plats {
		for _, l := range d.languages {
			out = append(out, citybot.DigestPreview{Platform: p, Language: l, Parts: responder.Split(dg.Texts[l], d.policy.MaxText(p))})
		}
	}
	return out
}

// HandleAction handles the digest's buttons: Approve / Request changes
// from the officials' chat (only by an approver, in that chat), and Fixed
// / Not fixed from a citizen. handled is false for any other action. The
// text is the toast for the presser.
func (d *Digester) HandleAction(ctx context.Context, a citybot.Action) (text string, handled bool, err error) {
	switch {
	case strings.HasPrefix(a.Data, "dg:"):
		return d.decideAction(ctx, a)
	case strings.HasPrefix(a.Data, "fx:"):
		return d.fixedAction(ctx, a)
	}
	return "", false, nil
}

func (d *Digester) decideAction(ctx context.Context, a citybot.Action) (string, bool, error) {
	lang := d.officials.Language
	if lang == "" {
		lang = d.languages[0]
	}
	t := d.texts[lang]
	approve := strings.HasPrefix(a.Data, actApprove)
	raw := strings.TrimPrefix(strings.TrimPrefix(a.Data, actApprove), actSendBack)
	id, perr := strconv.ParseInt(raw, 10, 64)
	name, ok := d.approvers[a.Sender.ID]
	if perr != nil || !ok || d.officials == (Channel{}) || a.Platform != d.officials.Platform || a.Chat != d.officials.Chat {
		d.log.Warn("digest decision refused", "platform", a.Platform)
		return t.NotAllowed, true, nil
	}
	dec := citybot.DigestDecision{Approve: approve, Actor: name}
	if !approve {
		dec.Comment = "Changes requested from the officials' chat."
	}
	dg, err := d.Decide(ctx, citybot.DigestID(id), dec)
	switch {
	case errors.Is(err, citybot.ErrInvalid) || errors.Is(err, citybot.ErrNotFound):
		return t.AlreadyDone, true, nil
	case err != nil:
		d.log.Error("digest decision not saved", "digest_id", id, "err", err)
		return "", true, err
	}
	if approve {
		return fill(t.Approved, "week", string(dg.Week), "actor", name), true, nil
	}
	return fill(t.SentBack, "week", string(dg.Week)), true, nil
}

func (d *Digester) fixedAction(ctx context.Context, a citybot.Action) (string, bool, error) {
	fixed := strings.HasPrefix(a.Data, actFixed)
	raw := strings.TrimPrefix(strings.TrimPrefix(a.Data, actFixed), actNotFixed)
	id, perr := strconv.ParseInt(raw, 10, 64)
	lang := baseLang(a.Sender.LanguageCode)
	t, ok := d.texts[lang]
	if !ok {
		t = d.texts[d.languages[0]]
	}
	if perr != nil {
		return "", true, nil
	}
	c, err := d.store.RecordFollowup(ctx, citybot.CaseID(id), a.Platform, a.Sender.ID, fixed, d.reopenedItems)
	switch {
	case errors.Is(err, citybot.ErrDuplicate):
		return t.AlreadyDone, true, nil
	case errors.Is(err, citybot.ErrForbidden), errors.Is(err, citybot.ErrNotFound):
		return "", true, nil
	case err != nil:
		d.log.Error("followup answer not saved", "case_id", id, "err", err)
		return "", true, err
	}
	if fixed {
		return t.FixedThanks, true, nil
	}
	d.notify() // the other followers' notices
	return fill(t.FixedReopened, "ref", string(c.Ref)), true, nil
}

// reopenedItems tells every follower of the case v, but the one whose
// "Not fixed" (by) reopened it, that it is open again, each in their
// language and under their own reference, once (keyed by the answering
// case, which answers once).
func (d *Digester) reopenedItems(v citybot.CaseView, by citybot.Case) []citybot.OutboxItem {
	var items []citybot.OutboxItem
	for _, f := range v.Followers() {
		if f.ID == by.ID || (f.Citizen == by.Citizen && f.Chat == by.Chat) {
			continue
		}
		lang := v.Languages[f.Citizen]
		if _, ok := d.texts[lang]; !ok {
			lang = f.Language
		}
		if _, ok := d.texts[lang]; !ok {
			lang = d.languages[0]
		}
		items = append(items, citybot.OutboxItem{Kind: citybot.OutboxNotice, Case: f.ID, Out: citybot.Outgoing{
			Key:      fmt.Sprintf("fixed:reopen:%d:%d", by.ID, f.ID),
			Platform: f.Platform, Chat: f.Chat,
			Text: fill(d.texts[lang].FixedReopenedAll, "ref", string(f.Ref)),
		}})
	}
	return items
}

// Wrap returns a bots.Handler that gives the digest's button presses to
// the Digester and everything else to h.
func (d *Digester) Wrap(h bots.Handler) bots.Handler { return wrapped{d: d, h: h} }

type wrapped struct {
	d *Digester
	h bots.Handler
}

func (w wrapped) HandleMessage(ctx context.Context, m citybot.Message) error {
	if w.d.officials != (Channel{}) && m.Platform == w.d.officials.Platform && m.Chat == w.d.officials.Chat {
		return w.d.officialsMessage(ctx, m)
	}
	return w.h.HandleMessage(ctx, m)
}

// officialsMessage handles a message in the officials' chat: it opens no
// case; an approver's reply there is the comment on the digest they last
// sent back.
func (d *Digester) officialsMessage(ctx context.Context, m citybot.Message) error {
	name, ok := d.approvers[m.Sender.ID]
	text := strings.TrimSpace(m.Text)
	if !ok || m.ReplyTo == "" || text == "" || m.Command != "" || m.Edit {
		return nil
	}
	ds, err := d.store.Digests(ctx, 10, citybot.DigestChangesRequested)
	if err != nil {
		return fmt.Errorf("accountability: officials' comment: %w", err)
	}
	for _, dg := range ds {
		if dg.DecidedBy != name {
			continue
		}
		err := d.store.CommentDigest(ctx, dg.ID, name, text)
		if err != nil && !errors.Is(err, citybot.ErrInvalid) {
			return fmt.Errorf("accountability: officials' comment: %w", err)
		}
		d.log.Info("digest comment recorded", "digest_id", int64(dg.ID))
		return nil
	}
	return nil
}

func (w wrapped) HandleAction(ctx context.Context, a citybot.Action) (string, error) {
	text, handled, err := w.d.HandleAction(ctx, a)
	if handled {
		return text, err
	}
	return w.h.HandleAction(ctx, a)
}

// AskFixed queues "Is it fixed?" with Fixed / Not fixed buttons to the
// citizens of cases resolved at least FollowupAfter ago, once per case,
// sensitive cases left out. It returns how many were queued.
func (d *Digester) AskFixed(ctx context.Context) (int, error) {
	targets, err := d.store.DueFollowups(ctx, d.now().Add(-d.after), d.hide, 200)
	if err != nil {
		return 0, fmt.Errorf("accountability: ask fixed: %w", err)
	}
	n := 0
	for _, tg := range targets {
		c := tg.Case
		lang := tg.Language
		if _, ok := d.texts[lang]; !ok {
			lang = c.Language
		}
		if _, ok := d.texts[lang]; !ok {
			lang = d.languages[0]
		}
		t, cat := d.texts[lang], d.catalogs[lang]
		if cat.Topics == nil {
			cat = d.english
		}
		id := strconv.FormatInt(int64(c.ID), 10)
		it := citybot.OutboxItem{Kind: citybot.OutboxNotice, Case: c.ID, Out: citybot.Outgoing{
			Key: "fixed:" + id, Platform: c.Platform, Chat: c.Chat,
			Text: fill(t.FixedAsk, "ref", string(c.Ref), "topic", cat.TopicName(c.Topic)),
			Buttons: [][]citybot.Button{{
				{Label: t.FixedYes, Data: actFixed + id}, {Label: t.FixedNo, Data: actNotFixed + id},
			}},
		}}
		added, err := d.store.QueueFollowup(ctx, c.ID, it)
		if err != nil {
			return n, fmt.Errorf("accountability: ask fixed: %w", err)
		}
		if added {
			n++
		}
	}
	if n > 0 {
		d.notify()
	}
	return n, nil
}

// WorkingCutoff returns the instant before now such that the working
// hours between it and now add up to hours (Monday to Friday, from
// WorkStart to WorkEnd, in the city's time zone).
func (d *Digester) WorkingCutoff(now time.Time, hours int) time.Time {
	return d.workingCutoff(now, time.Duration(hours)*time.Hour)
}

// workingCutoff returns the instant before now such that the working time
// between it and now adds up to left.
func (d *Digester) workingCutoff(now time.Time, left time.Duration) time.Time {
	t := now.In(d.loc)
	for i := 0; left > 0 && i < 3650; i++ {
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, d.loc)
		ws := day.Add(time.Duration(d.workStart) * time.Hour)
		we := day.Add(time.Duration(d.workEnd) * time.Hour)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			end := t
			if end.After(we) {
				end = we
			}
			if end.After(ws) {
				if avail := end.Sub(ws); avail >= left {
					return end.Add(-left).UTC()
				} else {
					left -= avail
				}
			}
		}
		t = day.Add(-time.Nanosecond) // the end of the day before
	}
	return t.UTC()
}

// Remind queues one reminder to the officers' chat listing the open cases
// with no first answer after ReminderHours working hours, each case once.
// Sensitive cases are listed by reference only. It returns how many cases
// it listed.
func (d *Digester) Remind(ctx context.Context) (int, error) {
	if d.officers == (Channel{}) {
		return 0, nil
	}
	if d.targets != nil {
		return d.remindTargets(ctx)
	}
	now := d.now()
	cases, err := d.store.DueReminders(ctx, d.WorkingCutoff(now, d.remindH), 50)
	if err != nil || len(cases) == 0 {
		if err != nil {
			err = fmt.Errorf("accountability: remind: %w", err)
		}
		return 0, err
	}
	lang := d.officers.Language
	if lang == "" {
		lang = d.languages[0]
	}
	t, cat := d.texts[lang], d.catalogs[lang]
	lines := []string{t.count("reminder", t.Reminder, len(cases), "hours", strconv.Itoa(d.remindH))}
	ids := make([]citybot.CaseID, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
		topic := cat.TopicName(c.Topic)
		if c.Sensitive || slices.Contains(d.hide, c.Topic) {
			topic = "—"
		}
		lines = append(lines, fill(t.ReminderLine, "ref", string(c.Ref), "topic", topic, "urgency", string(c.Urgency),
			"age", t.duration(now.Sub(c.OpenedAt))))
	}
	key := fmt.Sprintf("remind:%d:%d", now.Unix(), ids[0])
	items := responder.SplitItem(citybot.OutboxItem{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{
		Key: key, Platform: d.officers.Platform, Chat: d.officers.Chat, ChatKind: citybot.ChatGroup, Text: strings.Join(lines, "\n"),
	}}, d.policy.MaxText(d.officers.Platform))
	n, err := d.store.QueueReminders(ctx, ids, items)
	if err != nil {
		return 0, fmt.Errorf("accountability: remind: %w", err)
	}
	if n > 0 {
		d.notify()
	}
	return n, nil
}

// withinTarget counts the first answers within their urgency's target
// (wall clock for critical and high, working hours for normal and low),
// per urgency that has a target, most urgent first.
func (d *Digester) withinTarget(fas []citybot.FirstAnswer) []citybot.TargetShare {
	var out []citybot.TargetShare
	for _, u := range []citybot.Urgency{citybot.UrgencyCritical, citybot.UrgencyHigh, citybot.UrgencyNormal, citybot.UrgencyLow} {
		target := d.targets[u]
		if target <= 0 {
			continue
		}
		sh := citybot.TargetShare{Urgency: u}
		for _, fa := range fas {
			if fa.Urgency != u {
				continue
			}
			sh.Answered++
			cutoff := fa.AnsweredAt.Add(-target)
			if u != citybot.UrgencyCritical && u != citybot.UrgencyHigh {
				cutoff = d.workingCutoff(fa.AnsweredAt, target)
			}
			if !fa.OpenedAt.Before(cutoff) {
				sh.Within++
			}
		}
		if sh.Answered > 0 {
			out = append(out, sh)
		}
	}
	return out
}

// remindTargets queues one reminder to the officers' chat listing the
// open cases without a first answer that passed their target, or whose
// next reminder is due (the k-th comes 2^(k-1) targets after the one
// before; see DigestOptions.Targets).
func (d *Digester) remindTargets(ctx context.Context) (int, error) {
	now := d.now()
	var shortest time.Duration
	for _, t := range d.targets {
		if t > 0 && (shortest == 0 || t < shortest) {
			shortest = t
		}
	}
	if shortest == 0 {
		return 0, nil
	}
	// Working time never runs faster than the wall clock: a case opened
	// later than the shortest target ago is not due.
	cands, err := d.store.UnansweredCases(ctx, now.Add(-shortest), 500)
	if err != nil {
		return 0, fmt.Errorf("accountability: remind: %w", err)
	}
	lang := d.officersLanguage()
	t, cat := d.texts[lang], d.catalogs[lang]
	var lines []string
	times := map[citybot.CaseID]int{}
	var first citybot.CaseID
	for _, tg := range cands {
		c := tg.Case
		target := d.targets[c.Urgency]
		if target <= 0 || tg.Reminded >= 30 {
			continue
		}
		// The first reminder once the target has passed since the case
		// opened; each next one twice as long after the previous (a
		// backoff: at 1, 3, 7… times the target).
		wait, since := target<<tg.Reminded, c.OpenedAt
		if tg.Reminded > 0 {
			since = tg.LastReminded
		}
		if wait <= 0 || wait > 100*365*24*time.Hour {
			continue
		}
		cutoff := now.Add(-wait)
		if c.Urgency != citybot.UrgencyCritical && c.Urgency != citybot.UrgencyHigh {
			cutoff = d.workingCutoff(now, wait)
		}
		if since.After(cutoff) {
			continue
		}
		if first == 0 {
			first = c.ID
		}
		times[c.ID] = tg.Reminded + 1
		lines = append(lines, fill(t.ReminderDueLine, "ref", string(c.Ref), "topic", d.listedTopic(cat, c), "urgency", string(c.Urgency),
			"age", t.duration(now.Sub(c.OpenedAt)), "target", t.duration(target), "times", strconv.Itoa(tg.Reminded+1)))
	}
	if len(lines) == 0 {
		return 0, nil
	}
	n, err := d.queueReminder(fmt.Sprintf("remind:%d:%d", now.Unix(), first), fill(t.ReminderDue, "n", strconv.Itoa(len(lines))), lines,
		func(items []citybot.OutboxItem) (int, error) { return d.store.RecordReminders(ctx, times, items) })
	if err != nil {
		return 0, fmt.Errorf("accountability: remind: %w", err)
	}
	return n, nil
}

// officersLanguage is the language of the officers' chat: its own, else
// the city's default.
func (d *Digester) officersLanguage() string {
	if d.officers.Language != "" {
		return d.officers.Language
	}
	return d.languages[0]
}

// listedTopic names c's topic in a reminder's list: "—" for a sensitive
// case or a topic the digest hides.
func (d *Digester) listedTopic(cat Catalog, c citybot.Case) string {
	if c.Sensitive || slices.Contains(d.hide, c.Topic) {
		return "—"
	}
	return cat.TopicName(c.Topic)
}

// queueReminder makes one notice to the officers' chat of header and its
// lines, under key, split to the platform's limit, and hands its outbox
// rows to record, which stores them with the reminders it counts (none
// when those were recorded already). It wakes the dispatcher when rows
// were recorded and returns record's count; record's error is returned
// as it is.
func (d *Digester) queueReminder(key, header string, lines []string, record func([]citybot.OutboxItem) (int, error)) (int, error) {
	items := responder.SplitItem(citybot.OutboxItem{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{
		Key: key, Platform: d.officers.Platform, Chat: d.officers.Chat,
		ChatKind: citybot.ChatGroup, Text: header + "\n" + strings.Join(lines, "\n"),
	}}, d.policy.MaxText(d.officers.Platform))
	n, err := record(items)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		d.notify()
	}
	return n, nil
}

// Retain applies the retention policy and logs what it changed.
func (d *Digester) Retain(ctx context.Context) error {
	if d.retention == (citybot.RetentionPolicy{}) {
		return nil
	}
	res, err := d.store.ApplyRetention(ctx, d.retention)
	if err != nil {
		return fmt.Errorf("accountability: retention: %w", err)
	}
	d.log.Info("retention applied", "messages", res.Messages, "identities", res.Identities,
		"attachments", res.Attachments, "outbox", res.Outbox)
	return nil
}
