package accountability

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/internal/pause"
	"citybot/locale"
)

// SurgeStore is what a Surger needs from storage (store.DB).
type SurgeStore interface {
	// SurgeReports returns the reports opened in [from, to).
	SurgeReports(ctx context.Context, from, to time.Time) ([]citybot.SurgeReport, error)
	// FirstCaseAt returns when the city's first case was opened (ok
	// false: none yet).
	FirstCaseAt(ctx context.Context) (at time.Time, ok bool, err error)
	// FollowerCounts returns how many citizens follow each case.
	FollowerCounts(ctx context.Context, ids []citybot.CaseID) (map[citybot.CaseID]int, error)
	// QuietSurges returns topic's surges still quiet at now (their
	// keys and main case).
	QuietSurges(ctx context.Context, topic string, now time.Time) ([]citybot.Surge, error)
	// RecordSurge records a surge and queues the rows build returns, in
	// one transaction; false when it overlaps a surge still quiet
	// (citybot.Surge.Overlaps).
	RecordSurge(ctx context.Context, s citybot.Surge, build func(id int64) []citybot.OutboxItem) (bool, error)
}

// SurgeRule is the surge warning's sensitivity: a topic at a place (or
// in the whole city) surges when its reports of the last Window number
// at least MinCount and at least Factor times the usual count for that
// hour of the week, the mean over the past Weeks weeks (only the weeks
// since the city's first case), and never less than Floor.
type SurgeRule struct {
	Window   time.Duration // 0 means one hour
	Factor   float64       // 0 means 3
	MinCount int           // 0 means 5
	Floor    float64       // 0 means 1 report
	Weeks    int           // 0 means 8
}

func (r SurgeRule) withDefaults() SurgeRule {
	if r.Window <= 0 {
		r.Window = time.Hour
	}
	if r.Factor <= 0 {
		r.Factor = 3
	}
	if r.MinCount <= 0 {
		r.MinCount = 5
	}
	if r.Floor <= 0 {
		r.Floor = 1
	}
	if r.Weeks <= 0 {
		r.Weeks = 8
	}
	return r
}

// CityWide is the place key of a topic's reports wherever they are.
const CityWide = citybot.SurgeCityWide

// PlaceKey is the key a place is counted under: lower case, spaces
// collapsed ("Rue  Victor Hugo" and "rue victor hugo" are one place).
func PlaceKey(place string) string {
	return strings.Join(strings.Fields(strings.ToLower(place)), " ")
}

// SurgeCount is what a topic at a place (Key, CityWide for the whole
// city) counted: the last window's reports and the usual count.
type SurgeCount struct {
	Topic string
	Key   string
	Place string // as a citizen first wrote it; "" for CityWide
	Count int
	Usual float64
	Cases []citybot.SurgeReport
}

// Surging reports whether c is a surge under r.
func (r SurgeRule) Surging(c SurgeCount) bool {
	r = r.withDefaults()
	return c.Count >= r.MinCount && float64(c.Count) >= r.Factor*max(c.Usual, r.Floor)
}

// CountSurges counts, per topic and per place (and per topic in the
// whole city), the reports of current and the usual count from history:
// history[k] are the reports of the same window k+1 weeks before, nil for
// a week before the city's first case (not counted in the mean). The
// usual count is at least r.Floor. Counts are sorted by topic, then
// biggest first.
func CountSurges(r SurgeRule, current []citybot.SurgeReport, history [][]citybot.SurgeReport) []SurgeCount {
	r = r.withDefaults()
	type key struct{ topic, place string }
	byKey := map[key]*SurgeCount{}
	var order []key
	keysOf := func(rep citybot.SurgeReport) []key {
		ks := []key{{rep.Topic, CityWide}}
		for _, p := range rep.Places {
			if k := (key{rep.Topic, PlaceKey(p)}); k.place != "" && !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
		return ks
	}
	for _, rep := range current {
		for _, k := range keysOf(rep) {
			c, ok := byKey[k]
			if !ok {
				c = &SurgeCount{Topic: k.topic, Key: k.place}
				if k.place != CityWide {
					for _, p := range rep.Places {
						if PlaceKey(p) == k.place {
							c.Place = strings.TrimSpace(p)
							break
						}
					}
				}
				byKey[k] = c
				order = append(order, k)
			}
			c.Count++
			c.Cases = append(c.Cases, rep)
		}
	}
	weeks := 0
	past := map[key]int{}
	for _, week := range history {
		if week == nil {
			continue
		}
		weeks++
		for _, rep := range week {
			for _, k := range keysOf(rep) {
				past[k]++
			}
		}
	}
	out := make([]SurgeCount, 0, len(order))
	for _, k := range order {
		c := byKey[k]
		if weeks > 0 {
			c.Usual = float64(past[k]) / float64(weeks)
		}
		c.Usual = max(c.Usual, r.Floor)
		out = append(out, *c)
	}
	slices.SortStableFunc(out, func(a, b SurgeCount) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// SurgeOptions configure a Surger. Store, Policy and Alerts are required.
type SurgeOptions struct {
	Store  SurgeStore
	Logger *slog.Logger     // nil discards logs
	Now    func() time.Time // nil means time.Now; must agree with the store's clock
	Policy *citybot.Policy
	// Alerts are the officers' alert options ([alerts]): the surge
	// alert goes to the same chats (a sensitive surge to the sensitive
	// chats only, by reference), in the same language, with the same
	// console link. Only Chats, SensitiveChats, ConsoleURL, Language,
	// Locales and Catalogs are read.
	Alerts AlertOptions
	Rule   SurgeRule
	// Quiet is how long the places of a surge alert nothing more for
	// its topic; 0 means 3 hours.
	Quiet time.Duration
	// Tick is how often Run looks for surges; 0 means one minute.
	Tick time.Duration
	// Notify is called after rows were queued (a Dispatcher's Notify).
	Notify func()
}

// Surger is the surge warning: it compares each topic's reports of the
// last hour, per place and in the whole city, with the usual count for
// that hour of the week (on the city's clock, summer time included), and alerts the officers' chats once per surge
// (the topic, the count, the usual count, the places and the main case:
// the one the most citizens follow), through the outbox (keys
// surge:ID:PLATFORM:CHAT). The places of a surge stay quiet for Quiet.
// Citizens are never named. It is safe for concurrent use.
type Surger struct {
	store     SurgeStore
	log       *slog.Logger
	now       func() time.Time
	policy    *citybot.Policy
	chats     []AlertChat
	sensitive []AlertChat
	console   string
	rule      SurgeRule
	quiet     time.Duration
	tick      time.Duration
	notify    func()
	texts     *locale.Catalog
	ref       *locale.Catalog
	cat       Catalog
}

// NewSurger returns a Surger, or an error wrapping citybot.ErrInvalid
// when a required option is missing or the rule is out of range.
func NewSurger(opts SurgeOptions) (*Surger, error) {
	if opts.Store == nil || opts.Policy == nil {
		return nil, fmt.Errorf("accountability: surger: %w: Store and Policy are required", citybot.ErrInvalid)
	}
	if opts.Rule.Factor < 0 || opts.Rule.MinCount < 0 || opts.Rule.Floor < 0 || opts.Rule.Weeks < 0 || opts.Quiet < 0 {
		return nil, fmt.Errorf("accountability: surger: %w: the surge rule's numbers must not be negative", citybot.ErrInvalid)
	}
	s := &Surger{store: opts.Store, log: opts.Logger, now: opts.Now, policy: opts.Policy, chats: opts.Alerts.Chats,
		sensitive: opts.Alerts.SensitiveChats, console: strings.TrimRight(opts.Alerts.ConsoleURL, "/"),
		rule: opts.Rule.withDefaults(), quiet: opts.Quiet, tick: opts.Tick, notify: opts.Notify}
	if err := checkChats(slices.Concat(s.chats, s.sensitive)); err != nil {
		return nil, fmt.Errorf("accountability: surger: %w", err)
	}
	s.log = componentLog(s.log, "surge")
	if s.now == nil {
		s.now = time.Now
	}
	if s.quiet == 0 {
		s.quiet = 3 * time.Hour
	}
	if s.tick <= 0 {
		s.tick = time.Minute
	}
	if s.notify == nil {
		s.notify = func() {}
	}
	alerts := opts.Alerts
	alerts.Policy = opts.Policy
	lang, set, cat, err := alertTexts(alerts)
	if err != nil {
		return nil, fmt.Errorf("accountability: surger: %w", err)
	}
	s.cat = cat
	s.ref = set.Catalog(locale.Reference)
	if s.texts = set.Catalog(lang); s.texts == nil {
		s.texts = s.ref
	}
	return s, nil
}

// Run looks for surges at once, then every Tick, until ctx is cancelled;
// it returns nil then. The errors of one round are logged and the next
// round tries again.
func (s *Surger) Run(ctx context.Context) error {
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("surges not checked; will retry", "err", err)
		}
		if !pause.For(ctx, s.tick) {
			return nil
		}
	}
}

// Sweep counts the last window's reports against the usual counts and
// records and alerts each new surge, one per topic (its surging places
// together); sensitive reports are counted apart, as sensitive surges.
// It returns the surges alerted.
func (s *Surger) Sweep(ctx context.Context) ([]citybot.Surge, error) {
	now := s.now().UTC()
	r := s.rule
	current, err := s.store.SurgeReports(ctx, now.Add(-r.Window), now)
	if err != nil || len(current) < r.MinCount {
		return nil, err
	}
	first, started, err := s.store.FirstCaseAt(ctx)
	if err != nil {
		return nil, err
	}
	history := make([][]citybot.SurgeReport, r.Weeks)
	local := now.In(s.policy.Location())
	for k := range r.Weeks {
		// The same hour of the week on the city's clock: across a change
		// to or from summer time, a week is not 168 hours.
		to := local.AddDate(0, 0, -7*(k+1)).UTC()
		from := to.Add(-r.Window)
		if !started || from.Before(first) {
			continue // the city had not started: not a week of zero
		}
		if history[k], err = s.store.SurgeReports(ctx, from, to); err != nil {
			return nil, err
		}
		if history[k] == nil {
			history[k] = []citybot.SurgeReport{}
		}
	}
	// Sensitive reports are counted apart from the others: one bribe
	// among thirty reports of a burst main must neither turn the main's
	// alert into a sensitive one (sent to the sensitive chats only) nor
	// be counted, or its place named, in it; a burst of sensitive
	// reports is a sensitive surge of its own.
	var out []citybot.Surge
	for _, sensitive := range []bool{false, true} {
		cur := sensitiveOnly(current, sensitive)
		if len(cur) < r.MinCount {
			continue
		}
		hist := make([][]citybot.SurgeReport, len(history))
		for k, week := range history {
			if week != nil {
				hist[k] = append([]citybot.SurgeReport{}, sensitiveOnly(week, sensitive)...)
			}
		}
		got, err := s.sweep(ctx, cur, hist, now)
		out = append(out, got...)
		if err != nil {
			return out, err
		}
	}
	if len(out) > 0 {
		s.notify()
	}
	return out, nil
}

// sensitiveOnly returns the reports of reps whose sensitive flag is
// sensitive.
func sensitiveOnly(reps []citybot.SurgeReport, sensitive bool) []citybot.SurgeReport {
	var out []citybot.SurgeReport
	for _, rep := range reps {
		if rep.Sensitive == sensitive {
			out = append(out, rep)
		}
	}
	return out
}

// sweep records and alerts the surges of current against history (all
// sensitive reports, or none), one per topic; it returns those alerted.
func (s *Surger) sweep(ctx context.Context, current []citybot.SurgeReport, history [][]citybot.SurgeReport, now time.Time) ([]citybot.Surge, error) {
	r := s.rule
	byTopic := map[string][]SurgeCount{}
	var topics []string
	for _, c := range CountSurges(r, current, history) {
		if !r.Surging(c) {
			continue
		}
		if _, ok := byTopic[c.Topic]; !ok {
			topics = append(topics, c.Topic)
		}
		byTopic[c.Topic] = append(byTopic[c.Topic], c)
	}
	var out []citybot.Surge
	for _, topic := range topics {
		quiet, err := s.store.QuietSurges(ctx, topic, now)
		if err != nil {
			return out, err
		}
		// A place (or the whole city) that is part of a burst alerted
		// already stays quiet; another burst of the topic does not.
		counts := slices.DeleteFunc(byTopic[topic], func(c SurgeCount) bool {
			one := citybot.Surge{Topic: topic, Keys: []string{c.Key}}
			for _, rep := range c.Cases {
				one.Roots = append(one.Roots, rep.Root)
			}
			return slices.ContainsFunc(quiet, one.Overlaps)
		})
		if len(counts) == 0 {
			continue
		}
		sg, err := s.surge(ctx, topic, counts, now)
		if err != nil {
			return out, err
		}
		targets := s.chats
		if sg.Sensitive {
			targets = s.sensitive
		}
		ok, err := s.store.RecordSurge(ctx, sg, func(id int64) []citybot.OutboxItem { return s.items(sg, id, targets) })
		if err != nil {
			return out, err
		}
		if ok {
			s.log.Info("surge alerted", "topic", topic, "reports", sg.Count, "usual", sg.Usual, "places", len(sg.Keys),
				"case_id", int64(sg.Case), "chats", len(targets), "sensitive", sg.Sensitive)
			out = append(out, sg)
		}
	}
	return out, nil
}

// surge builds one topic's surge from its surging counts: the reports of
// all its places, the places by name, the main case.
func (s *Surger) surge(ctx context.Context, topic string, counts []SurgeCount, now time.Time) (citybot.Surge, error) {
	sg := citybot.Surge{Topic: topic, At: now, QuietUntil: now.Add(s.quiet), Sensitive: s.policy.IsSensitiveTopic(topic)}
	seen := map[citybot.CaseID]bool{}
	hits := map[citybot.CaseID]int{}
	refs := map[citybot.CaseID]citybot.CaseRef{}
	var roots []citybot.CaseID
	for i, c := range counts {
		sg.Keys = append(sg.Keys, c.Key)
		if c.Key != CityWide {
			sg.Places = append(sg.Places, c.Place)
		}
		if i == 0 {
			sg.Usual = c.Usual
		}
		for _, rep := range c.Cases {
			if seen[rep.Case] {
				continue
			}
			seen[rep.Case] = true
			sg.Count++
			sg.Sensitive = sg.Sensitive || rep.Sensitive
			if hits[rep.Root] == 0 {
				roots = append(roots, rep.Root)
				refs[rep.Root] = rep.RootRef
			}
			hits[rep.Root]++
		}
	}
	if len(sg.Places) == 0 {
		sg.Places = topPlaces(counts, 3)
	}
	followers, err := s.store.FollowerCounts(ctx, roots)
	if err != nil {
		return sg, err
	}
	slices.SortStableFunc(roots, func(a, b citybot.CaseID) int {
		return cmp.Or(cmp.Compare(followers[b], followers[a]), cmp.Compare(hits[b], hits[a]), cmp.Compare(a, b))
	})
	sg.Roots = slices.Clone(roots)
	if len(roots) > 0 {
		sg.Case = roots[0]
		sg.Ref = refs[sg.Case]
	}
	return sg, nil
}

// topPlaces are the places the reports of counts name most, at most n.
func topPlaces(counts []SurgeCount, n int) []string {
	tally := map[string]int{}
	name := map[string]string{}
	for _, c := range counts {
		for _, rep := range c.Cases {
			for _, p := range rep.Places {
				k := PlaceKey(p)
				if k == "" {
					continue
				}
				if _, ok := name[k]; !ok {
					name[k] = strings.TrimSpace(p)
				}
				tally[k]++
			}
		}
	}
	keys := make([]string, 0, len(tally))
	for k := range tally {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(tally[b], tally[a]), cmp.Compare(a, b)) })
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, name[k])
	}
	return out
}

// formatUsual writes a usual count: "0.5", "2".
func formatUsual(x float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0")
}

func (s *Surger) text(key string) string {
	if t := s.texts.Text(key); t != "" {
		return t
	}
	return s.ref.Text(key)
}

// items builds the surge alert for each chat: never a citizen's name or
// words; a sensitive surge says only the main case's reference and the
// count.
func (s *Surger) items(sg citybot.Surge, id int64, targets []AlertChat) []citybot.OutboxItem {
	ref := string(sg.Ref)
	if ref == "" {
		ref = "#" + strconv.FormatInt(int64(sg.Case), 10)
	}
	var text string
	if sg.Sensitive {
		text = fill(s.text("chat.surge_sensitive"), "ref", ref, "count", strconv.Itoa(sg.Count))
	} else {
		places := strings.Join(sg.Places, ", ")
		if places == "" {
			places = s.cat.AlertUnknown
		}
		if slices.Contains(sg.Keys, CityWide) && len(sg.Keys) == 1 {
			places = fill(s.text("chat.surge_citywide"), "places", places)
		}
		text = fill(s.text("chat.surge_alert"), "count", strconv.Itoa(sg.Count), "topic", s.cat.TopicName(sg.Topic),
			"usual", formatUsual(sg.Usual), "places", places, "ref", ref,
			"link", s.console+"/cases/"+strconv.FormatInt(int64(sg.Case), 10))
	}
	return chatRows(fmt.Sprintf("surge:%d", id), 0, citybot.Outgoing{Text: text}, targets)
}
