// Package responder is citybot's inbound pipeline and outbox dispatch.
//
// A Responder implements bots.Handler: for each citizen message it
// classifies the text, then in one store transaction saves the message,
// attaches it to the citizen's open case in that chat or opens a new one,
// stores the tags and queues the acknowledgement in the outbox (with how
// identity is protected, for a sensitive case), or for a message that
// joins an open case, at most one short "added to your case" note per
// Options.FollowUpInterval. With Options.Grouping, a new report that is
// the same problem as another citizen's recent open case joins it as a
// new follower (its acknowledgement says so, Catalog.AckJoined), and a
// weaker match is kept as a suggestion for officers; the decision is
// written in the same transaction (see package grouping). It answers the
// commands /start, /help, /status [REF], /language [xx] and /report.
// Replies longer than a platform's limit (in UTF-16 code units) are
// split (Split).
//
// A Dispatcher sends what the outbox holds through the platforms' bots:
// rows of one chat one at a time and in order, different chats
// concurrently, with retries, and marks a case acknowledged once its
// acknowledgement is sent.
//
// A Retrainer retrains the classifier from officers' corrections. The
// chat texts (Catalog) are shared with the officers' actions (package
// casework) and the digest, reminders, alerts, follow-ups and retention
// (package accountability).
//
// responder declares the small interfaces it needs (Store, Classifier,
// OutboxStore); it imports no concrete store or adapter.
package responder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"citybot"
	"citybot/bots"
	"citybot/classifier"
	"citybot/grouping"
	"citybot/locale"
)

// Store is what the Responder needs from storage.
type Store interface {
	// Ingest records one inbound message and what it causes in one
	// transaction; reply runs inside it and returns the outbox rows to
	// queue. A redelivery returns a result with Duplicate set.
	Ingest(ctx context.Context, in citybot.Intake, reply func(citybot.IntakeResult) ([]citybot.OutboxItem, error)) (citybot.IntakeResult, error)
	// SetCitizenLanguage records the preferred language of the citizen
	// behind a platform identity.
	SetCitizenLanguage(ctx context.Context, p citybot.Platform, s citybot.Sender, lang string) (citybot.Citizen, error)
	// Enqueue queues outgoing messages; a key already queued is skipped.
	Enqueue(ctx context.Context, items ...citybot.OutboxItem) (int, error)
	// CitizenByIdentity finds the citizen behind a platform user id
	// (citybot.ErrNotFound when unknown or erased).
	CitizenByIdentity(ctx context.Context, p citybot.Platform, user citybot.UserID) (citybot.CitizenID, error)
	// CitizenData returns what the city holds about a citizen (/mydata).
	CitizenData(ctx context.Context, id citybot.CitizenID) (citybot.CitizenData, error)
	// ForgetCitizen erases a citizen's identity and texts (/forget),
	// leaving the outbox row keyed keep alone.
	ForgetCitizen(ctx context.Context, id citybot.CitizenID, actor, keep string) (citybot.Forgotten, error)
}

// Classifier tags a text. It must be safe for concurrent use.
type Classifier interface {
	Classify(text, langHint string) citybot.Classification
}

// ClassifierFunc adapts a function to Classifier.
type ClassifierFunc func(text, langHint string) citybot.Classification

// Classify calls f.
func (f ClassifierFunc) Classify(text, langHint string) citybot.Classification {
	return f(text, langHint)
}

// Options configure a Responder. Store and Classifier are required.
type Options struct {
	Store      Store
	Classifier Classifier
	Logger     *slog.Logger     // nil discards logs
	Now        func() time.Time // nil means time.Now
	// Policy is the city: its languages (the bot speaks these and offers
	// them in /language; each must have a catalog) and default language,
	// emergency number, sensitive topics and per-platform text limits.
	// Required.
	//
	// A message is sensitive when its classification says so
	// (Classification.Sensitive) or its topic is one of the policy's
	// sensitive topics; the case it opens or joins becomes sensitive (the
	// store keeps the flag). The acknowledgement of a new sensitive case
	// ends with Catalog.Sensitive, how the citizen's identity is
	// protected; in a group it also leaves the topic out and asks the
	// citizen to go on in a private chat (Catalog.SensitiveGroup). A
	// follow-up that makes a case sensitive gets that notice once, in
	// private when it came from a group. The acknowledgement of a
	// critical message gives the emergency number first. Replies longer
	// than the platform's text limit (UTF-16 code units) are split into
	// several outbox rows.
	Policy *citybot.Policy
	// Locales are the language files the texts come from (package
	// locale: the shipped ones with a city's directory on top); nil means
	// the shipped ones.
	Locales *locale.Set
	// Catalogs add or replace languages in code (keyed by code, e.g.
	// "de"), on top of Locales. Missing fields fall back to English.
	Catalogs map[string]Catalog
	// SensitiveReaderRoles and SensitiveReaderNames say who reads a
	// sensitive case ([web] sensitive_readers): the sensitive notice
	// names the roles in words and counts the accounts named beside
	// them (never their names). nil roles and no names mean admins only.
	SensitiveReaderRoles []citybot.Role
	SensitiveReaderNames int
	// CaseWindow is how long after a case's last message a citizen's new
	// message in the same chat still joins it; 0 means 30 minutes.
	CaseWindow time.Duration
	// FollowUpInterval is the least time between two short notes
	// ("Added to your case REF.") that tell a citizen a follow-up message
	// joined their case: a message that joins an open case gets one only
	// when nothing about the case (acknowledgement, note, officer's
	// answer) was queued for that long, so that several lines typed in a
	// row get one answer, the acknowledgement. 0 means 10 minutes; < 0
	// sends no notes. Now must agree with the store's clock.
	FollowUpInterval time.Duration
	// Notify is called after a message queued outbox rows, e.g. a
	// Dispatcher's Notify, so that the reply goes out at once. May be nil.
	Notify func()
	// Critical is called after a message opened a critical case or made
	// a case critical (an Alerter's Kick), so that officers hear of it at
	// once. May be nil.
	Critical func()
	// Registerer receives the metrics (messages received, cases opened,
	// classification time); nil registers none.
	Registerer prometheus.Registerer
	// Grouping, when set, compares each new report (not sensitive, not
	// feedback, not an edit) with the recent open cases of
	// GroupingSource (the store) before it is stored; its decision is
	// written in the intake transaction (citybot.Intake.Group): a
	// confident match opens the report's own case merged at once into
	// the case it matched, whose citizens it now follows (the
	// acknowledgement says so, Catalog.AckJoined); a weaker match is
	// kept as a suggestion for officers. A message that follows up one
	// of the citizen's own open cases joins it as before, whatever
	// grouping said. nil: no grouping.
	Grouping       *grouping.Grouper
	GroupingSource grouping.Source
	// Expect, when set, says in every acknowledgement and /status when
	// the city usually answers such a report, from its own history (or
	// its service level), and /status whether the case is past it.
	Expect *Expectations
}

// Responder is the inbound pipeline. It implements bots.Handler and is
// safe for concurrent use.
type Responder struct {
	expect     *Expectations
	store      Store
	classifier Classifier
	log        *slog.Logger
	now        func() time.Time
	defLang    string
	languages  []string
	locales    *locale.Set
	catalogs   map[string]Catalog
	emergency  string
	sensitive  []string
	window     time.Duration
	followUp   time.Duration
	policy     *citybot.Policy
	notify     func()
	critical   func()
	grouper    *grouping.Grouper
	groupSrc   grouping.Source

	received   *prometheus.CounterVec
	opened     *prometheus.CounterVec
	classifyHi prometheus.Histogram
}

var _ bots.Handler = (*Responder)(nil)

// New returns a Responder. It returns an error wrapping citybot.ErrInvalid
// when a required option is missing or a language has no catalog, and the
// registerer's error when the metrics cannot be registered.
func New(opts Options) (*Responder, error) {
	if opts.Store == nil || opts.Classifier == nil || opts.Policy == nil {
		return nil, fmt.Errorf("responder: %w: Store, Classifier and Policy are required", citybot.ErrInvalid)
	}
	r := &Responder{
		store: opts.Store, classifier: opts.Classifier, log: opts.Logger, now: opts.Now, policy: opts.Policy,
		defLang: opts.Policy.DefaultLanguage(), emergency: opts.Policy.EmergencyNumber(), window: opts.CaseWindow, notify: opts.Notify,
		critical: opts.Critical, languages: opts.Policy.Languages(), sensitive: opts.Policy.SensitiveTopics(),
		expect: opts.Expect, grouper: opts.Grouping, groupSrc: opts.GroupingSource,
	}
	if r.grouper != nil && r.groupSrc == nil {
		return nil, fmt.Errorf("responder: %w: Grouping needs a GroupingSource", citybot.ErrInvalid)
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r.log = r.log.With("component", "responder")
	if r.now == nil {
		r.now = time.Now
	}
	if r.window <= 0 {
		r.window = 30 * time.Minute
	}
	switch r.followUp = opts.FollowUpInterval; {
	case r.followUp == 0:
		r.followUp = 10 * time.Minute
	case r.followUp < 0:
		r.followUp = 0 // off
	}
	if r.notify == nil {
		r.notify = func() {}
	}
	r.locales = locales(opts.Locales)
	r.catalogs = catalogsOf(r.locales)
	en := r.catalogs[locale.Reference]
	for code, c := range opts.Catalogs {
		if base, ok := r.catalogs[code]; ok {
			r.catalogs[code] = c.withFallback(base)
		} else {
			r.catalogs[code] = c.withFallback(en)
		}
	}
	for _, l := range r.languages {
		if _, ok := r.catalogs[l]; !ok {
			return nil, fmt.Errorf("responder: %w: language %q has no catalog", citybot.ErrInvalid, l)
		}
	}
	roles := opts.SensitiveReaderRoles
	if roles == nil && opts.SensitiveReaderNames == 0 {
		roles = []citybot.Role{citybot.RoleAdmin}
	}
	for code, c := range r.catalogs {
		c.Sensitive = fill(c.Sensitive, "readers", readersIn(r.locales, code, roles, opts.SensitiveReaderNames))
		r.catalogs[code] = c
	}
	r.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "citybot_messages_received_total", Help: "Citizen messages received, by platform.",
	}, []string{"platform"})
	r.opened = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "citybot_cases_opened_total", Help: "Cases opened, by platform.",
	}, []string{"platform"})
	r.classifyHi = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "citybot_classification_seconds", Help: "Time to classify one message.",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	})
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{r.received, r.opened, r.classifyHi} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("responder: register metrics: %w", err)
			}
		}
	}
	return r, nil
}

func (r *Responder) speaks(lang string) bool { return slices.Contains(r.languages, lang) }

// baseLang turns a BCP 47 tag ("fr-CA", "en_US") into its language code.
func baseLang(tag string) string {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// language chooses the language to answer in: the citizen's stored
// preference, then the platform's language code, then the language the
// message was detected in, then the city's default.
func (r *Responder) language(preferred, platformCode, detected string) string {
	for _, l := range []string{preferred, r.match(platformCode), detected} {
		if l != "" && r.speaks(l) {
			return l
		}
	}
	return r.defLang
}

// match returns the language the bot speaks that fits a BCP 47 tag
// ("pt-BR" → "pt", "es-419" → "es"), or "".
func (r *Responder) match(tag string) string {
	if l := r.locales.Match(tag, r.languages...); l != "" {
		return l
	}
	// A language added in code only (Options.Catalogs) has no file.
	if l := baseLang(tag); r.speaks(l) && !r.locales.Has(l) {
		return l
	}
	return ""
}

func (r *Responder) catalog(lang string) Catalog { return r.catalogs[lang] }

// HandleMessage runs the pipeline for one inbound message; see the package
// comment. It returns nil once the message and everything it causes are
// stored, and also for a redelivery, a bot's message or a message without
// platform, chat or id (all skipped, the last one with a warning). It
// returns an error when nothing was stored (the store failed, ctx ended),
// so that the adapter delivers the message again.
func (r *Responder) HandleMessage(ctx context.Context, m citybot.Message) error {
	if m.Sender.IsBot {
		r.log.Debug("message from a bot skipped", "platform", m.Platform)
		return nil
	}
	r.received.WithLabelValues(string(m.Platform)).Inc()
	cmd := strings.ToLower(m.Command)
	if i := strings.IndexByte(cmd, '@'); i >= 0 { // "/status@citybot"
		cmd = cmd[:i]
	}
	var (
		res    citybot.IntakeResult
		queued bool
		err    error
	)
	switch cmd {
	case "", "report":
		res, queued, err = r.report(ctx, m, cmd == "report")
	default:
		res, queued, err = r.command(ctx, m, cmd)
	}
	if errors.Is(err, citybot.ErrInvalid) {
		// No chat, id or known platform: it can never be stored, and
		// asking the adapter to deliver it again cannot help.
		r.log.Warn("invalid message skipped", "platform", m.Platform, "err", err)
		return nil
	}
	if err != nil {
		r.log.Error("message not stored", "platform", m.Platform, "command", cmd, "err", err)
		return fmt.Errorf("responder: handle message: %w", err)
	}
	if res.Duplicate {
		r.log.Debug("redelivery ignored", "platform", m.Platform, "message_id", res.Message)
		return nil
	}
	if res.NewCase {
		r.opened.WithLabelValues(string(m.Platform)).Inc()
	}
	// Hook for the surge warning (issue 15, item 3): a report stored
	// here either opened res.Case or, with res.Joined set, made that case
	// one follower bigger; a surge detector reads both from here.
	if queued {
		r.notify()
	}
	if c := res.Case; c != nil && r.critical != nil && c.Urgency == citybot.UrgencyCritical && (res.NewCase || res.Escalated) {
		r.critical()
	}
	return nil
}

// report stores a citizen's report and queues its acknowledgement.
func (r *Responder) report(ctx context.Context, m citybot.Message, isCommand bool) (citybot.IntakeResult, bool, error) {
	text := m.Text
	if isCommand {
		text = m.Args
	}
	text, _ = citybot.CleanText(text, citybot.MaxStoredText)
	hasContent := strings.TrimSpace(text) != ""
	mode := citybot.CaseJoinOrOpen
	if !hasContent && len(m.Attachments) == 0 && m.Location == nil {
		// Nothing to report: keep the message, join an open case if
		// there is one, open none.
		mode = citybot.CaseJoinOnly
	}
	var cl *citybot.Classification
	if hasContent {
		start := r.now()
		c := r.classify(text, baseLang(m.Sender.LanguageCode))
		r.classifyHi.Observe(r.now().Sub(start).Seconds())
		cl = &c
	}
	in := citybot.Intake{Message: m, Classification: cl, Mode: mode, Window: r.window}
	in.Sensitive, in.SensitiveCues = r.sensitiveOf(cl)
	if !isCommand && !in.Sensitive && !m.Edit && cl != nil && cl.Intent.IsFeedback() && len(m.Attachments) == 0 && m.Location == nil {
		return r.feedback(ctx, in, cl)
	}
	if mode == citybot.CaseJoinOrOpen && !in.Sensitive && !m.Edit && cl != nil {
		in.Group = r.group(ctx, m, text, cl)
	}
	queued := false
	r.expect.Refresh(ctx) // outside the transaction: the ack says it from memory
	res, err := r.store.Ingest(ctx, in, func(res citybot.IntakeResult) ([]citybot.OutboxItem, error) {
		items := r.reportReplies(m, cl, res)
		queued = len(items) > 0
		return items, nil
	})
	return res, queued, err
}

// group asks grouping whether a new report is the same problem as a
// recent open case (read before the intake transaction, so that the
// write lock is not held while it reads; the store checks the joined case
// again inside it). It returns nil when grouping is off, found nothing or
// failed: a failure is logged, and the report opens its own case.
func (r *Responder) group(ctx context.Context, m citybot.Message, text string, cl *citybot.Classification) *citybot.GroupDecision {
	if r.grouper == nil {
		return nil
	}
	rep := grouping.Report{Text: text, At: r.now(), Class: *cl, Location: m.Location}
	d, err := r.grouper.Group(ctx, r.groupSrc, rep)
	if err != nil {
		r.log.Warn("grouping skipped", "platform", m.Platform, "err", err)
		return nil
	}
	switch d.Outcome {
	case grouping.Join:
		return &citybot.GroupDecision{Join: d.Join.Case}
	case grouping.Suggest:
		return &citybot.GroupDecision{Suggest: d.Suggested(0, "", rep.At)}
	}
	return nil
}

// sensitiveOf applies the city's rule: a message is sensitive when its
// classification says so or its topic is one of the sensitive topics. It
// returns the cues that say why.
func (r *Responder) sensitiveOf(cl *citybot.Classification) (bool, []string) {
	if cl == nil {
		return false, nil
	}
	sensitive, cues := cl.Sensitive, slices.Clone(cl.SensitiveCues)
	if slices.Contains(r.sensitive, cl.Topic.Label) {
		sensitive = true
		cues = append(cues, "topic:"+cl.Topic.Label)
	}
	if !sensitive {
		return false, nil
	}
	return true, cues
}

// feedback stores a message that is feedback, not a report: a thank-you
// joins the citizen's most recent case in the chat (any status); a
// greeting, a bare "ok" or a question about the bot joins their open case
// as a follow-up would (so that officers read the whole conversation).
// None opens a case; each gets one short reply, except chatter in a group.
func (r *Responder) feedback(ctx context.Context, in citybot.Intake, cl *citybot.Classification) (citybot.IntakeResult, bool, error) {
	m := in.Message
	in.Intent, in.Mode = cl.Intent, citybot.CaseJoinOnly
	if cl.Intent == citybot.IntentThanks {
		in.Mode = citybot.CaseFeedback
	}
	queued := false
	res, err := r.store.Ingest(ctx, in, func(res citybot.IntakeResult) ([]citybot.OutboxItem, error) {
		cat := r.catalog(r.language(res.Citizen.Language, m.Sender.LanguageCode, cl.Language))
		out := citybot.Outgoing{
			Key:      fmt.Sprintf("in:%d:feedback", res.Message),
			Platform: m.Platform, Chat: m.Chat, ChatKind: m.ChatKind,
		}
		group := m.ChatKind == citybot.ChatGroup || m.ChatKind == citybot.ChatChannel
		if group && (cl.Intent == citybot.IntentGreeting || cl.Intent == citybot.IntentAck ||
			(cl.Intent == citybot.IntentThanks && res.Case == nil)) {
			// A group is a conversation among citizens: a "hello", an
			// "ok" or a thank-you that is not about one of their cases
			// is not said to the bot, and answering each would flood it.
			return nil, nil
		}
		switch cl.Intent {
		case citybot.IntentThanks:
			out.Text = cat.Thanks
		case citybot.IntentGreeting:
			out.Text = cat.Greeting
		case citybot.IntentAck:
			out.Text = cat.AckOK
		default: // a question about the bot
			out.Text = fill(cat.Help, "city", r.policy.City())
		}
		if group {
			out.ReplyTo = m.ID
		}
		it := citybot.OutboxItem{Out: out, Kind: citybot.OutboxReply}
		if res.Case != nil {
			it.Case = res.Case.ID
		}
		items := SplitItem(it, r.policy.MaxText(m.Platform))
		queued = len(items) > 0
		return items, nil
	})
	return res, queued, err
}

// classify runs the classifier. A panicking classifier must not fail the
// intake (the message would be redelivered and panic again): the message is
// then stored unclassified, topic "other" with low confidence and normal
// urgency, for an officer to tag, and an error is logged without the text.
func (r *Responder) classify(text, langHint string) (c citybot.Classification) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("classifier panicked; message stored unclassified", "panic_type", fmt.Sprintf("%T", p))
			c = citybot.Classification{
				Topic:             citybot.Scored{Label: classifier.OtherTopic, Confidence: 0},
				Urgency:           citybot.UrgencyNormal,
				UrgencyConfidence: 0,
				UrgencyScore:      0.25,
				UrgencyCues:       []string{"classifier failed"},
				Language:          classifier.LangOther,
				Model:             "none (classifier failed)",
			}
		}
	}()
	return r.classifier.Classify(text, langHint)
}

// reportReplies decides what a stored report causes: the acknowledgement
// of a new case; for a follow-up that joins a case, an emergency notice
// when it made the case critical and a short "added to your case" note
// when the citizen heard nothing about the case for FollowUpInterval; an
// emergency notice for an edit that made a case critical; or a request
// for words when nothing was said.
func (r *Responder) reportReplies(m citybot.Message, cl *citybot.Classification, res citybot.IntakeResult) []citybot.OutboxItem {
	if res.Edited && !res.Escalated && !res.BecameSensitive {
		return nil // the acknowledgement of the first version stands
	}
	detected := ""
	if cl != nil {
		detected = cl.Language
	}
	lang := r.language(res.Citizen.Language, m.Sender.LanguageCode, detected)
	cat := r.catalog(lang)
	group := m.ChatKind == citybot.ChatGroup || m.ChatKind == citybot.ChatChannel
	var parts []string
	kind := citybot.OutboxNotice
	switch {
	case res.NewCase:
		kind = citybot.OutboxAck
		c := res.Case
		if c.Urgency == citybot.UrgencyCritical && r.emergency != "" {
			parts = append(parts, fill(cat.Emergency, "number", r.emergency))
		}
		ref := string(c.Ref)
		sensitive := c.Sensitive
		if j := res.Joined; j != nil {
			// A new follower of another citizens' case: the same news
			// as them from now on. (The surge engineer's holding
			// statement reaches them through the case's followers.)
			parts = append(parts, fill(cat.AckJoined, "ref", ref, "case", string(j.Ref)), fill(cat.AckStatus, "ref", ref))
			if group {
				parts = append(parts, cat.AckGroup)
			}
			break
		}
		parts = append(parts, fill(cat.AckNew, "ref", ref))
		if !sensitive || !group {
			// In a group, naming a sensitive topic would tell everyone
			// there what the citizen reported.
			parts = append(parts, fill(cat.AckTopic, "topic", cat.topic(c.Topic)))
		}
		parts = append(parts, cat.AckNext)
		if !sensitive || !group {
			if line := r.expect.Sentence(lang, *c, false); line != "" {
				parts = append(parts, line)
			}
		}
		parts = append(parts, fill(cat.AckStatus, "ref", ref))
		switch {
		case sensitive && group:
			parts = append(parts, cat.Sensitive, cat.SensitiveGroup)
		case sensitive:
			parts = append(parts, cat.Sensitive)
		case group:
			parts = append(parts, cat.AckGroup)
		}
	case res.Case != nil && res.BecameSensitive:
		return r.sensitiveNotice(m, cat, res, group)
	case res.Case != nil:
		if res.Escalated && res.Case.Urgency == citybot.UrgencyCritical && r.emergency != "" {
			parts = append(parts, fill(cat.Emergency, "number", r.emergency))
		}
		if !res.Edited && r.followUp > 0 && (res.CaseLastQueued.IsZero() || r.now().Sub(res.CaseLastQueued) >= r.followUp) {
			parts = append(parts, fill(cat.FollowUp, "ref", string(res.Case.Ref)))
		}
		if len(parts) == 0 {
			return nil
		}
	case !group:
		parts = append(parts, cat.EmptyReport)
	default:
		return nil
	}
	it := citybot.OutboxItem{
		Out: citybot.Outgoing{
			Key:      fmt.Sprintf("in:%d:%s", res.Message, kind),
			Platform: m.Platform, Chat: m.Chat, ChatKind: m.ChatKind,
			Text: strings.Join(parts, "\n\n"),
		},
		Kind: kind,
	}
	if res.Case != nil {
		it.Case = res.Case.ID
	}
	if group {
		it.Out.ReplyTo = m.ID
	}
	return SplitItem(it, r.policy.MaxText(m.Platform))
}

// sensitiveNotice is what a citizen hears when their message made an
// existing case sensitive (a bribe reported as a follow-up to a pothole):
// that it joined the case, and how their identity is protected, once.
// From a group the notice goes to their private chat, and the group hears
// only that they should go on in private, never the topic.
func (r *Responder) sensitiveNotice(m citybot.Message, cat Catalog, res citybot.IntakeResult, group bool) []citybot.OutboxItem {
	var parts []string
	if res.Escalated && res.Case.Urgency == citybot.UrgencyCritical && r.emergency != "" {
		parts = append(parts, fill(cat.Emergency, "number", r.emergency))
	}
	parts = append(parts, fill(cat.FollowUp, "ref", string(res.Case.Ref)), cat.Sensitive)
	key := fmt.Sprintf("in:%d:sensitive", res.Message)
	it := citybot.OutboxItem{
		Out:  citybot.Outgoing{Key: key, Platform: m.Platform, Chat: m.Chat, ChatKind: m.ChatKind, Text: strings.Join(parts, "\n\n")},
		Kind: citybot.OutboxNotice,
		Case: res.Case.ID,
	}
	if !group {
		return SplitItem(it, r.policy.MaxText(m.Platform))
	}
	it.Private = true
	items := SplitItem(it, r.policy.MaxText(m.Platform))
	return append(items, citybot.OutboxItem{
		Out: citybot.Outgoing{Key: key + ":group", Platform: m.Platform, Chat: m.Chat, ChatKind: m.ChatKind,
			ReplyTo: m.ID, Text: cat.SensitiveGroup},
		Kind: citybot.OutboxNotice,
		Case: res.Case.ID,
	})
}

// command stores a command message and queues its answer.
func (r *Responder) command(ctx context.Context, m citybot.Message, cmd string) (citybot.IntakeResult, bool, error) {
	in := citybot.Intake{Message: m, Mode: citybot.CaseNone}
	args := strings.Fields(m.Args)
	var choice string
	// The citizen's latest case tells the language they write in when
	// they chose none and the platform gives none (a typed command on
	// Discord): /help answers a Spanish speaker in Spanish.
	in.LoadCases = 1
	switch cmd {
	case "status":
		in.LoadCases = statusLookup
		r.expect.Refresh(ctx)
	case "language":
		if len(args) > 0 {
			if choice = r.match(args[0]); choice != "" {
				in.SetLanguage = choice
			}
		}
	}
	queued := false
	var lang string
	res, err := r.store.Ingest(ctx, in, func(res citybot.IntakeResult) ([]citybot.OutboxItem, error) {
		lang = r.replyLanguage(m, res)
		items := r.commandReplies(m, cmd, args, choice, res)
		queued = len(items) > 0
		return items, nil
	})
	if err != nil || m.ChatKind != citybot.ChatPrivate {
		return res, queued, err
	}
	// The data rights commands act after the message is stored, and
	// again on a redelivery (every step is idempotent), so that a
	// failure is retried.
	switch {
	case cmd == "mydata":
		n, err := r.sendData(ctx, m, res, lang)
		return res, queued || n > 0, err
	case cmd == "forget" && forgetConfirmed(args):
		n, err := r.forget(ctx, m, res, lang)
		return res, queued || n > 0, err
	}
	return res, queued, err
}

// forgetConfirmed reports whether /forget came with its confirmation
// ("/forget yes", or the word in the city's languages' usual forms).
func forgetConfirmed(args []string) bool {
	return len(args) > 0 && slices.Contains([]string{"yes", "oui", "si", "sí", "sim", "ndiyo", "نعم"}, strings.ToLower(args[0]))
}

// replyLanguage is the language of a command's answer: the citizen's
// choice, else their platform's, else that of their latest case.
func (r *Responder) replyLanguage(m citybot.Message, res citybot.IntakeResult) string {
	written := ""
	if len(res.Cases) > 0 {
		written = res.Cases[0].Language // the latest
	}
	return r.language(res.Citizen.Language, m.Sender.LanguageCode, written)
}

// citizenOf returns the citizen a stored command came from; on a
// redelivery the result holds none, so the identity is looked up.
func (r *Responder) citizenOf(ctx context.Context, m citybot.Message, res citybot.IntakeResult) (citybot.CitizenID, error) {
	if !res.Duplicate && res.Citizen.ID != 0 {
		return res.Citizen.ID, nil
	}
	return r.store.CitizenByIdentity(ctx, m.Platform, m.Sender.ID)
}

// sendData queues, in the citizen's private chat, what the city holds
// about them: a JSON document sent as a file, with a short caption. It
// returns how many messages were queued (1, or 0 on a redelivery).
func (r *Responder) sendData(ctx context.Context, m citybot.Message, res citybot.IntakeResult, lang string) (int, error) {
	id, err := r.citizenOf(ctx, m, res)
	if err != nil {
		return 0, fmt.Errorf("responder: mydata: %w", err)
	}
	d, err := r.store.CitizenData(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("responder: mydata: %w", err)
	}
	doc, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		return 0, fmt.Errorf("responder: mydata: %w", err)
	}
	it := citybot.OutboxItem{Out: citybot.Outgoing{Key: fmt.Sprintf("in:%d:mydata", res.Message), Platform: m.Platform,
		Chat: m.Chat, ChatKind: m.ChatKind, Text: r.catalog(lang).MyData,
		File: &citybot.File{Name: "my-data.json", Data: doc}}, Kind: citybot.OutboxData}
	n, err := r.store.Enqueue(ctx, it)
	if err != nil {
		return 0, fmt.Errorf("responder: mydata: %w", err)
	}
	r.log.Info("citizen data sent", "platform", m.Platform, "citizen", int64(id), "messages", n)
	return n, nil
}

// forget erases the citizen who confirmed /forget, then queues the
// confirmation. It returns how many messages were queued.
func (r *Responder) forget(ctx context.Context, m citybot.Message, res citybot.IntakeResult, lang string) (int, error) {
	key := fmt.Sprintf("in:%d:forget", res.Message)
	id, err := r.citizenOf(ctx, m, res)
	switch {
	case errors.Is(err, citybot.ErrNotFound): // erased already: confirm again
	case err != nil:
		return 0, fmt.Errorf("responder: forget: %w", err)
	default:
		f, err := r.store.ForgetCitizen(ctx, id, "citizen", key)
		if err != nil {
			return 0, fmt.Errorf("responder: forget: %w", err)
		}
		r.log.Info("citizen forgotten", "platform", m.Platform, "citizen", int64(id), "messages", f.Messages, "cases", f.Cases, "cancelled", f.Cancelled)
	}
	n, err := r.store.Enqueue(ctx, citybot.OutboxItem{Out: citybot.Outgoing{Key: key, Platform: m.Platform, Chat: m.Chat, ChatKind: m.ChatKind,
		Text: r.catalog(lang).ForgetDone}, Kind: citybot.OutboxReply})
	if err != nil {
		return 0, fmt.Errorf("responder: forget: %w", err)
	}
	return n, nil
}

func (r *Responder) commandReplies(m citybot.Message, cmd string, args []string, choice string, res citybot.IntakeResult) []citybot.OutboxItem {
	lang := r.replyLanguage(m, res)
	cat := r.catalog(lang)
	group := m.ChatKind == citybot.ChatGroup || m.ChatKind == citybot.ChatChannel
	out := citybot.Outgoing{
		Key:      fmt.Sprintf("in:%d:reply", res.Message),
		Platform: m.Platform, Chat: m.Chat, ChatKind: m.ChatKind,
	}
	if group {
		out.ReplyTo = m.ID
	}
	var caseID citybot.CaseID
	switch cmd {
	case "start":
		out.Text = cat.Start
	case "status":
		out.Text, caseID = r.statusText(cat, args, group, res.Cases, res.Followed)
		if !group {
			out.Text = r.withExpected(out.Text, lang, caseID, res.Cases)
		}
	case "mydata", "forget":
		// Never in a group: what the city holds is shown, and erased,
		// only in the citizen's private chat.
		switch {
		case m.ChatKind != citybot.ChatPrivate:
			out.Text = cat.DataPrivate
		case cmd == "mydata" || forgetConfirmed(args):
			return nil // sendData and forget queue the answer
		default:
			out.Text = cat.ForgetAsk
			out.Buttons = [][]citybot.Button{{{Label: cat.ForgetButton, Data: forgetAction}}}
		}
	case "language":
		if choice != "" {
			out.Text = fill(cat.LanguageSet, "language", r.catalog(choice).Name)
		} else {
			out.Text = cat.LanguageAsk
			var row []citybot.Button
			for _, l := range r.languages {
				row = append(row, citybot.Button{Label: r.catalog(l).Name, Data: "lang:" + l})
			}
			out.Buttons = [][]citybot.Button{row}
		}
	default: // help, and commands we do not know
		out.Text = fill(cat.Help, "city", r.policy.City())
	}
	return SplitItem(citybot.OutboxItem{Out: out, Kind: citybot.OutboxReply, Case: caseID}, r.policy.MaxText(m.Platform))
}

// How many of a citizen's latest cases /status REF searches, and how many
// /status lists.
const (
	statusLookup = 100
	statusList   = 10
)

// statusText answers /status from the citizen's own cases only: a
// reference that is not theirs gets the same answer as one that does not
// exist.
func (r *Responder) statusText(cat Catalog, args []string, group bool, cases []citybot.Case, followed map[citybot.CaseID]citybot.Case) (string, citybot.CaseID) {
	// A follower's own case says where the case it follows stands (and
	// its reference, unless that case is sensitive).
	status := func(c citybot.Case) string {
		f, ok := followed[c.DuplicateOf]
		if c.Status != citybot.StatusDuplicate || !ok {
			return cat.status(c.Status)
		}
		if f.Sensitive || group {
			return cat.status(f.Status)
		}
		return fill(cat.StatusFollows, "status", cat.status(f.Status), "case", string(f.Ref))
	}
	if len(args) > 0 {
		ref := strings.ToUpper(strings.Trim(args[0], "#.,;:!?"))
		for _, c := range cases {
			if string(c.Ref) != ref {
				continue
			}
			if group {
				return fill(cat.StatusGroup, "ref", ref, "status", status(c)), c.ID
			}
			return fill(cat.StatusOne, "ref", ref, "topic", cat.topic(c.Topic), "status", status(c)), c.ID
		}
		safe, _ := citybot.CleanText(ref, 16)
		return fill(cat.StatusFound, "ref", safe), 0
	}
	if group {
		return cat.StatusAsk, 0
	}
	if len(cases) == 0 {
		return cat.StatusNone, 0
	}
	lines := []string{cat.StatusHeader}
	for _, c := range cases[:min(len(cases), statusList)] {
		lines = append(lines, fill(cat.StatusLine, "ref", string(c.Ref), "topic", cat.topic(c.Topic), "status", status(c)))
	}
	return strings.Join(lines, "\n"), 0
}

// HandleAction handles a button press: "lang:xx" sets the citizen's
// language and returns a confirmation in it. Other actions return "".
// Errors come from the store.
func (r *Responder) HandleAction(ctx context.Context, a citybot.Action) (string, error) {
	if a.Data == forgetAction {
		return r.forgetPressed(ctx, a)
	}
	code, ok := strings.CutPrefix(a.Data, "lang:")
	if !ok {
		r.log.Debug("unknown action ignored", "platform", a.Platform)
		return "", nil
	}
	if code = r.match(code); code == "" {
		return "", nil
	}
	if _, err := r.store.SetCitizenLanguage(ctx, a.Platform, a.Sender, code); err != nil {
		if errors.Is(err, citybot.ErrInvalid) {
			return "", nil
		}
		r.log.Error("language not saved", "platform", a.Platform, "err", err)
		return "", fmt.Errorf("responder: handle action: %w", err)
	}
	cat := r.catalog(code)
	return fill(cat.LanguageSet, "language", cat.Name), nil
}

// forgetAction is the Data of /forget's confirmation button.
const forgetAction = "forget:yes"

// forgetPressed erases the citizen who pressed /forget's confirmation
// button, in their private chat only, and returns the confirmation.
func (r *Responder) forgetPressed(ctx context.Context, a citybot.Action) (string, error) {
	lang := r.language("", a.Sender.LanguageCode, "")
	if a.ChatKind != citybot.ChatPrivate {
		return r.catalog(lang).DataPrivate, nil
	}
	id, err := r.store.CitizenByIdentity(ctx, a.Platform, a.Sender.ID)
	switch {
	case errors.Is(err, citybot.ErrNotFound): // erased already
	case err != nil:
		return "", fmt.Errorf("responder: forget: %w", err)
	default:
		f, err := r.store.ForgetCitizen(ctx, id, "citizen", "")
		if err != nil {
			return "", fmt.Errorf("responder: forget: %w", err)
		}
		r.log.Info("citizen forgotten", "platform", a.Platform, "citizen", int64(id), "messages", f.Messages, "cases", f.Cases, "cancelled", f.Cancelled)
	}
	return r.catalog(lang).ForgetDone, nil
}
