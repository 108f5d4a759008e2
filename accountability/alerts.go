package accountability

import (
	"citybot/locale"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/bots"
)

// AlertStore is what an Alerter needs from storage (store.DB). The store
// records a due alert in the transaction that makes a case critical.
type AlertStore interface {
	// DueAlerts returns alerts waiting to be queued, oldest first.
	DueAlerts(ctx context.Context, limit int) ([]citybot.Alert, error)
	// OpenAlerts returns queued alerts not closed yet, oldest first.
	OpenAlerts(ctx context.Context, limit int) ([]citybot.Alert, error)
	// QueueAlert queues a due alert's rows and opens it; false when it
	// was no longer due.
	QueueAlert(ctx context.Context, id citybot.CaseID, items []citybot.OutboxItem) (bool, error)
	// EscalateAlert queues the n-th escalation of an open alert; false
	// when it is closed or had it already.
	EscalateAlert(ctx context.Context, id citybot.CaseID, n int, items []citybot.OutboxItem) (bool, error)
	// CloseAlert stops a case's alert.
	CloseAlert(ctx context.Context, id citybot.CaseID, why string) error
	// RedactAlert replaces, once, the alert messages in chats where keep
	// is false with what edit returns; false when done already.
	RedactAlert(ctx context.Context, id citybot.CaseID, keep func(citybot.OutboxItem) bool,
		edit func(citybot.OutboxItem) citybot.Outgoing) (bool, error)
	// TakeCase assigns the case to account unless someone has it,
	// closes its alert and replaces its alert messages (edit gives the
	// new text of each), in one transaction.
	TakeCase(ctx context.Context, id citybot.CaseID, account string, mayRead []citybot.Role,
		edit func(c citybot.Case, takenBy string, row citybot.OutboxItem) citybot.Outgoing) (citybot.TakeResult, error)
	// TakenUnedited returns cases taken since since with an alert sent
	// after the take (in flight then) and not edited yet; EditTakenAlerts
	// queues those edits.
	TakenUnedited(ctx context.Context, since time.Time) ([]citybot.TakeResult, error)
	EditTakenAlerts(ctx context.Context, id citybot.CaseID, edit func(c citybot.Case, takenBy string, row citybot.OutboxItem) citybot.Outgoing) error
}

// AlertChat is an officers' chat on a platform.
type AlertChat struct {
	Platform citybot.Platform
	Chat     citybot.ChatID
}

// AlertOptions configure an Alerter. Store is required.
type AlertOptions struct {
	Store  AlertStore
	Logger *slog.Logger     // nil discards logs
	Now    func() time.Time // nil means time.Now; must agree with the store's clock
	// Chats get the alert of every critical case that is not
	// sensitive.
	Chats []AlertChat
	// SensitiveChats are the only chats that hear of a sensitive case
	// (reference only), its alert and its escalations; none means a
	// sensitive case alerts nobody.
	SensitiveChats []AlertChat
	// EscalateChats get an escalation of a case nobody took or answered
	// within EscalateAfter, again every EscalateAfter.
	EscalateChats []AlertChat
	// EscalateAfter is how long an alert may wait; 0 means 10 minutes,
	// negative means no escalation. Working hours play no part.
	EscalateAfter time.Duration
	// Officers maps the platform user ids allowed to press Take it to
	// their console account names.
	Officers map[citybot.UserID]string
	// SensitiveRoles may take a sensitive case (those who may read it in
	// the console); nil means admins only.
	SensitiveRoles []citybot.Role
	// ConsoleURL is the console's public base URL ("https://city.example");
	// the alert links to ConsoleURL + "/cases/ID", the path alone when "".
	ConsoleURL string
	// Policy is the city; the alerts are in its default language unless
	// Language names another of its languages. Required.
	Policy *citybot.Policy
	// Language of the alerts, one of the policy's; "" is the policy's
	// default language.
	Language string
	// Catalogs add or replace languages (see Options.Catalogs).
	Catalogs map[string]Catalog
	// Locales are the language files the texts come from; nil means the
	// shipped ones.
	Locales *locale.Set
	// Tick is how often Run looks for due alerts and escalations
	// besides Kick; 0 means 5 s.
	Tick time.Duration
	// Notify is called after rows were queued (a Dispatcher's Notify).
	Notify func()
}

// Alerter tells officers of critical cases within seconds: an alert with
// the reference, topic, place, the cues that made it critical, its age
// and a link to the console (a sensitive case: its reference only, and
// only to the sensitive chats), with a Take it button; escalations while
// nobody takes or answers it. Everything goes through the outbox with
// deterministic keys (alert:CASE:N:PLATFORM:CHAT, N = 0 for the alert,
// 1, 2… for the escalations), so that a restart or a second run never
// sends one twice. It is safe for concurrent use.
type Alerter struct {
	store     AlertStore
	log       *slog.Logger
	now       func() time.Time
	chats     []AlertChat
	sensitive []AlertChat
	escalate  []AlertChat
	after     time.Duration
	officers  map[citybot.UserID]string
	sensRoles []citybot.Role
	console   string
	cat       Catalog
	durations DigestTexts
	lang      string
	tick      time.Duration
	notify    func()
	kick      chan struct{}
}

// NewAlerter returns an Alerter, or an error wrapping citybot.ErrInvalid
// when Store is missing or a chat is malformed.
func NewAlerter(opts AlertOptions) (*Alerter, error) {
	if opts.Store == nil || opts.Policy == nil {
		return nil, fmt.Errorf("accountability: alerter: %w: Store and Policy are required", citybot.ErrInvalid)
	}
	a := &Alerter{
		store: opts.Store, log: opts.Logger, now: opts.Now, chats: opts.Chats, sensitive: opts.SensitiveChats,
		escalate: opts.EscalateChats, after: opts.EscalateAfter, officers: opts.Officers, sensRoles: opts.SensitiveRoles,
		console: strings.TrimRight(opts.ConsoleURL, "/"), tick: opts.Tick, notify: opts.Notify,
		kick: make(chan struct{}, 1),
	}
	if err := checkChats(slices.Concat(a.chats, a.sensitive, a.escalate)); err != nil {
		return nil, fmt.Errorf("accountability: alerter: %w", err)
	}
	a.log = componentLog(a.log, "alerts")
	if a.now == nil {
		a.now = time.Now
	}
	if a.after == 0 {
		a.after = 10 * time.Minute
	}
	if a.sensRoles == nil {
		a.sensRoles = []citybot.Role{citybot.RoleAdmin}
	}
	if a.tick <= 0 {
		a.tick = 5 * time.Second
	}
	if a.notify == nil {
		a.notify = func() {}
	}
	var set *locale.Set
	var err error
	if a.lang, set, a.cat, err = alertTexts(opts); err != nil {
		return nil, fmt.Errorf("accountability: alerter: %w", err)
	}
	dts := digestTextsOf(set)
	var ok bool
	if a.durations, ok = dts[a.lang]; !ok {
		a.durations = dts[locale.Reference]
	}
	return a, nil
}

// alertTexts resolves the language of the officers' alerts (opts.Language,
// else the city's default; it must be one of the city's), the language
// files they come from, and that language's chat texts with
// opts.Catalogs laid over the shipped ones. The alerts and the surge
// warning share it. Errors wrap citybot.ErrInvalid.
func alertTexts(opts AlertOptions) (lang string, set *locale.Set, cat Catalog, err error) {
	lang = baseLang(opts.Language)
	if lang == "" {
		lang = opts.Policy.DefaultLanguage()
	}
	if !opts.Policy.Speaks(lang) {
		return "", nil, Catalog{}, fmt.Errorf("%w: alert language %q is not one of the city's", citybot.ErrInvalid, lang)
	}
	set = locales(opts.Locales)
	cats := catalogsOf(set)
	ref := cats[locale.Reference]
	for code, c := range opts.Catalogs {
		if base, ok := cats[code]; ok {
			cats[code] = c.WithFallback(base)
		} else {
			cats[code] = c.WithFallback(ref)
		}
	}
	cat, ok := cats[lang]
	if !ok {
		cat = ref
	}
	return lang, set, cat, nil
}

// Kick asks Run to look for due alerts now (a message just made a case
// critical). It never blocks.
func (a *Alerter) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Run queues due alerts and escalations at once, then after every Kick
// and every Tick, until ctx is cancelled; it returns nil then. Errors of
// one round are logged and the next round tries again.
func (a *Alerter) Run(ctx context.Context) error {
	for {
		if _, err := a.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("alerts not queued; will retry", "err", err)
		}
		t := time.NewTimer(a.tick)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.kick:
		case <-t.C:
		}
		t.Stop()
	}
}

// Sweep queues the alerts of cases that became critical and the
// escalations that are due, and closes the alerts of cases taken,
// answered, no longer critical or no longer open, and edits the alerts
// that were in flight when their case was taken. It returns how many
// alerts, escalations and late edits it queued.
func (a *Alerter) Sweep(ctx context.Context) (int, error) {
	n := 0
	due, err := a.store.DueAlerts(ctx, 50)
	if err != nil {
		return 0, fmt.Errorf("accountability: alerts: %w", err)
	}
	for _, al := range due {
		if why := settled(al); why != "" {
			if err := a.store.CloseAlert(ctx, al.Case.ID, why); err != nil {
				return n, fmt.Errorf("accountability: alerts: %w", err)
			}
			continue
		}
		targets := a.chats
		if al.Case.Sensitive {
			targets = a.sensitive
		}
		items := a.items(al, 0, targets)
		ok, err := a.store.QueueAlert(ctx, al.Case.ID, items)
		if err != nil {
			return n, fmt.Errorf("accountability: alerts: %w", err)
		}
		if ok && len(items) > 0 {
			n++
			a.log.Info("alert queued", "case_id", int64(al.Case.ID), "chats", len(items), "sensitive", al.Case.Sensitive)
		}
	}
	open, err := a.store.OpenAlerts(ctx, 200)
	if err != nil {
		return n, fmt.Errorf("accountability: alerts: %w", err)
	}
	now := a.now()
	for _, al := range open {
		if why := settled(al); why != "" {
			if err := a.store.CloseAlert(ctx, al.Case.ID, why); err != nil {
				return n, fmt.Errorf("accountability: alerts: %w", err)
			}
			continue
		}
		if al.Case.Sensitive && !al.Redacted {
			// It became sensitive after its alert went out: what the
			// other chats were told is cut down to the reference.
			ok, err := a.store.RedactAlert(ctx, al.Case.ID, func(row citybot.OutboxItem) bool {
				return slices.Contains(a.sensitive, AlertChat{row.Out.Platform, row.Out.Chat})
			}, func(citybot.OutboxItem) citybot.Outgoing {
				return citybot.Outgoing{Text: fill(a.cat.AlertSensitive, "ref", string(al.Case.Ref)), Buttons: a.takeButton(al.Case.ID)}
			})
			if err != nil {
				return n, fmt.Errorf("accountability: alerts: %w", err)
			}
			if ok {
				n++
				a.log.Info("alert cut down to the reference: the case became sensitive", "case_id", int64(al.Case.ID))
			}
		}
		if a.after < 0 {
			continue
		}
		k := int(now.Sub(al.QueuedAt) / a.after)
		if k <= al.Escalations {
			continue
		}
		targets := a.escalate
		if al.Case.Sensitive {
			targets = a.sensitive
		}
		items := a.items(al, k, targets)
		ok, err := a.store.EscalateAlert(ctx, al.Case.ID, k, items)
		if err != nil {
			return n, fmt.Errorf("accountability: alerts: %w", err)
		}
		if ok && len(items) > 0 {
			n++
			a.log.Info("alert escalated", "case_id", int64(al.Case.ID), "escalation", k, "chats", len(items))
		}
	}
	// An alert in flight when its case was taken went out with its
	// button: it gets its edit once recorded sent.
	late, err := a.store.TakenUnedited(ctx, now.Add(-time.Hour))
	if err != nil {
		return n, fmt.Errorf("accountability: alerts: %w", err)
	}
	for _, tk := range late {
		if err := a.store.EditTakenAlerts(ctx, tk.Case.ID, a.takenEdit); err != nil {
			return n, fmt.Errorf("accountability: alerts: %w", err)
		}
		n++
	}
	if n > 0 {
		a.notify()
	}
	return n, nil
}

// takenEdit is what an alert row says once its case is taken: its text
// (the reference alone for a sensitive case) and who took it, without
// the button.
func (a *Alerter) takenEdit(c citybot.Case, by string, row citybot.OutboxItem) citybot.Outgoing {
	text := row.Out.Text
	if c.Sensitive {
		// Never more than the reference, whatever the row said before
		// the case became sensitive.
		text = fill(a.cat.AlertSensitive, "ref", string(c.Ref))
	}
	return citybot.Outgoing{Text: text + "\n\n" + fill(a.cat.AlertTaken, "name", by)}
}

// settled says why an alert needs no (more) telling, "" when it does.
func settled(al citybot.Alert) string {
	switch {
	case !al.Case.Status.Open():
		return "case " + string(al.Case.Status)
	case al.Case.Urgency != citybot.UrgencyCritical:
		return "no longer critical"
	case al.Assignee != "":
		return "assigned"
	case al.AnsweredAt != nil:
		return "answered"
	}
	return ""
}

// Action data of the Take it button. Telegram allows 64 bytes.
const actTake = "al:t:"

// items builds the alert (n = 0) or its n-th escalation for each chat.
func (a *Alerter) items(al citybot.Alert, n int, targets []AlertChat) []citybot.OutboxItem {
	c, cat := al.Case, a.cat
	age := a.durations.duration(max(a.now().Sub(al.RaisedAt), 0))
	var text string
	switch {
	case c.Sensitive:
		// Reference only: not even the topic reaches a chat.
		text = fill(cat.AlertSensitive, "ref", string(c.Ref))
		if n > 0 {
			text = fill(cat.AlertEscalated, "ref", string(c.Ref), "age", age, "n", strconv.Itoa(n))
		}
	default:
		head := fill(cat.AlertNew, "ref", string(c.Ref))
		if n > 0 {
			head = fill(cat.AlertEscalated, "ref", string(c.Ref), "age", age, "n", strconv.Itoa(n))
		}
		place, cues := strings.Join(c.Places, ", "), strings.Join(al.Cues, ", ")
		if place == "" {
			place = cat.AlertUnknown
		}
		if cues == "" {
			cues = cat.AlertUnknown
		}
		text = head + "\n" + fill(cat.AlertDetails, "topic", cat.TopicName(c.Topic), "place", place, "cues", cues,
			"age", age, "link", a.console+"/cases/"+strconv.FormatInt(int64(c.ID), 10))
	}
	key := fmt.Sprintf("alert:%d:%d", c.ID, n)
	return chatRows(key, c.ID, citybot.Outgoing{Text: text, Buttons: a.takeButton(c.ID)}, targets)
}

// chatRows is the outbox row of an alert out to each officers' chat of
// targets: a group message, keyed key:platform:chat so that it is queued
// once per chat.
func chatRows(key string, c citybot.CaseID, out citybot.Outgoing, targets []AlertChat) []citybot.OutboxItem {
	var rows []citybot.OutboxItem
	for _, t := range targets {
		o := out
		o.Key = fmt.Sprintf("%s:%s:%s", key, t.Platform, t.Chat)
		o.Platform, o.Chat, o.ChatKind = t.Platform, t.Chat, citybot.ChatGroup
		rows = append(rows, citybot.OutboxItem{Kind: citybot.OutboxAlert, Case: c, Out: o})
	}
	return rows
}

// checkChats returns an error wrapping citybot.ErrInvalid when a chat
// has no known platform or no id.
func checkChats(chats []AlertChat) error {
	for _, c := range chats {
		if !c.Platform.Valid() || c.Chat == "" {
			return fmt.Errorf("%w: a chat needs a known platform and an id", citybot.ErrInvalid)
		}
	}
	return nil
}

// componentLog is log (none: a discarding one) for the named component.
func componentLog(log *slog.Logger, component string) *slog.Logger {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return log.With("component", component)
}

func (a *Alerter) takeButton(id citybot.CaseID) [][]citybot.Button {
	return [][]citybot.Button{{{Label: a.cat.AlertTake, Data: actTake + strconv.FormatInt(int64(id), 10)}}}
}

// alertChat reports whether a message or press comes from one of the
// alert chats.
func (a *Alerter) alertChat(p citybot.Platform, chat citybot.ChatID) bool {
	return slices.Contains(a.chats, AlertChat{p, chat}) || slices.Contains(a.sensitive, AlertChat{p, chat}) ||
		slices.Contains(a.escalate, AlertChat{p, chat})
}

// HandleAction handles Take it: the first officer who presses it (one of
// Officers, in an alert chat) is assigned the case, and every alert about
// it is edited to say who took it; a later press is told who has it.
// handled is false for any other action. The text is the toast for the
// presser.
func (a *Alerter) HandleAction(ctx context.Context, act citybot.Action) (text string, handled bool, err error) {
	raw, ok := strings.CutPrefix(act.Data, actTake)
	if !ok {
		return "", false, nil
	}
	cat := a.cat
	id, perr := strconv.ParseInt(raw, 10, 64)
	name, known := a.officers[act.Sender.ID]
	if perr != nil || !known || !a.alertChat(act.Platform, act.Chat) {
		a.log.Warn("take refused: not an officer of an alert chat", "platform", act.Platform)
		return cat.AlertRefused, true, nil
	}
	res, err := a.store.TakeCase(ctx, citybot.CaseID(id), name, a.sensRoles, a.takenEdit)
	switch {
	case errors.Is(err, citybot.ErrForbidden):
		a.log.Warn("take refused", "case_id", id, "account", name, "err", err)
		return cat.AlertRefused, true, nil
	case errors.Is(err, citybot.ErrNotFound):
		return "", true, nil
	case err != nil:
		a.log.Error("take not saved", "case_id", id, "err", err)
		return "", true, fmt.Errorf("accountability: take case: %w", err)
	}
	ref := string(res.Case.Ref)
	if res.Already && res.TakenBy != name {
		return fill(cat.AlertAlready, "ref", ref, "name", res.TakenBy), true, nil
	}
	if !res.Already {
		a.log.Info("case taken from an alert", "case_id", id, "account", name)
		a.notify()
	}
	return fill(cat.AlertYouTook, "ref", ref), true, nil
}

// Wrap returns a bots.Handler that gives Take it presses to the Alerter,
// ignores messages written in the alert chats (staff chats: nothing said
// there opens a case), and hands everything else to h.
func (a *Alerter) Wrap(h bots.Handler) bots.Handler { return alertWrapped{a: a, h: h} }

type alertWrapped struct {
	a *Alerter
	h bots.Handler
}

func (w alertWrapped) HandleMessage(ctx context.Context, m citybot.Message) error {
	if w.a.alertChat(m.Platform, m.Chat) {
		return nil
	}
	return w.h.HandleMessage(ctx, m)
}

func (w alertWrapped) HandleAction(ctx context.Context, act citybot.Action) (string, error) {
	text, handled, err := w.a.HandleAction(ctx, act)
	if handled {
		return text, err
	}
	return w.h.HandleAction(ctx, act)
}
