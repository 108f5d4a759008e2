package casework

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"citybot"
	"citybot/locale"
	"citybot/responder"
)

// OfficerStore is what an Officer needs from storage: each call runs build
// inside one write transaction and queues the outbox rows it returns, so
// that a case change and the citizens' notices are stored together.
type OfficerStore interface {
	// AnswerCase queues an officer's answer (rows from build) and moves
	// the case to answered when its status allows.
	AnswerCase(ctx context.Context, id citybot.CaseID, actor, text string, build func(citybot.CaseView) ([]citybot.OutboxItem, error)) (citybot.Case, error)
	// ChangeCaseStatus moves a case along its lifecycle and queues the
	// notices build returns.
	ChangeCaseStatus(ctx context.Context, id citybot.CaseID, ch citybot.StatusChange, build func(before citybot.CaseView, after citybot.Case) ([]citybot.OutboxItem, error)) (citybot.Case, error)
	// MergeCases marks dup a duplicate of into and queues the notices
	// build returns.
	MergeCases(ctx context.Context, dup, into citybot.CaseID, actor string, build func(dup, into citybot.CaseView) ([]citybot.OutboxItem, error)) error
}

// OfficerTexts is what the city says to citizens when an officer acts on
// their case, in one language. Placeholders: {ref} the case reference,
// {into} the surviving case's reference, {status} a status in words,
// {reason} a closing reason, {text} the officer's answer.
type OfficerTexts struct {
	Answer       string // an officer's answer: {ref} {text}
	Status       string // a status change: {ref} {status}
	StatusReason string // appended when a case is closed: {reason}
	Merged       string // to the citizen of the duplicate: {ref} {into}
	// MergedQuiet replaces Merged when the surviving case is sensitive:
	// its reference is not told to those who cannot read it. {ref}
	MergedQuiet string
	MergedInto  string // to the citizen of the surviving case: {ref}
	// RepliedPrivately is all a group hears when an answer on a case on
	// a sensitive topic went to the citizen's private chat: {ref}.
	RepliedPrivately string
}

// officerTextsOf returns the [officer] texts of every language of s,
// keyed by language code.
func officerTextsOf(s *locale.Set) map[string]OfficerTexts {
	out := map[string]OfficerTexts{}
	for _, l := range s.Languages() {
		c := s.Catalog(l)
		t := func(key string) string { return c.Text("officer." + key) }
		out[l] = OfficerTexts{
			Answer: t("answer"), Status: t("status"), StatusReason: t("status_reason"), Merged: t("merged"),
			MergedQuiet: t("merged_quiet"), MergedInto: t("merged_into"), RepliedPrivately: t("replied_privately"),
		}
	}
	return out
}

// OfficerOptions configure an Officer. Store is required.
type OfficerOptions struct {
	Store  OfficerStore
	Logger *slog.Logger // nil discards logs
	// Policy is the city: its default language is used for a citizen
	// whose language is unknown or has no texts, and messages longer than
	// a platform's text limit become several outbox rows. Required.
	Policy *citybot.Policy
	// Texts add or replace languages; missing fields fall back to
	// English.
	Texts map[string]OfficerTexts
	// Catalogs give topic and status words (as for Options.Catalogs).
	Catalogs map[string]Catalog
	// Locales are the language files (as for Options.Locales); nil
	// means the shipped ones.
	Locales *locale.Set
	// Notify is called after rows were queued (a Dispatcher's Notify).
	Notify func()
}

// MaxAnswer is the longest officer answer accepted, in runes.
const MaxAnswer = 8000

// Officer carries officers' actions on cases to the citizens: answers,
// status changes and merges are stored with their notices, in each
// citizen's language, through the outbox on the case's platform. It is
// safe for concurrent use.
type Officer struct {
	store    OfficerStore
	log      *slog.Logger
	defLang  string
	texts    map[string]OfficerTexts
	catalogs map[string]Catalog
	policy   *citybot.Policy
	notify   func()
}

// NewOfficer returns an Officer, or an error wrapping citybot.ErrInvalid
// when Store is missing.
func NewOfficer(opts OfficerOptions) (*Officer, error) {
	if opts.Store == nil || opts.Policy == nil {
		return nil, fmt.Errorf("casework: officer: %w: Store and Policy are required", citybot.ErrInvalid)
	}
	o := &Officer{store: opts.Store, log: opts.Logger, defLang: opts.Policy.DefaultLanguage(), policy: opts.Policy, notify: opts.Notify}
	if o.log == nil {
		o.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.log = o.log.With("component", "officer")
	set := locales(opts.Locales)
	o.texts = officerTextsOf(set)
	en := o.texts[locale.Reference]
	for k, t := range opts.Texts {
		o.texts[k] = t.withFallback(en)
	}
	o.catalogs = catalogsOf(set)
	for k, c := range opts.Catalogs {
		o.catalogs[k] = c.WithFallback(o.catalogs[locale.Reference])
	}
	return o, nil
}

func (t OfficerTexts) withFallback(fb OfficerTexts) OfficerTexts {
	for _, p := range []struct {
		s *string
		f string
	}{{&t.Answer, fb.Answer}, {&t.Status, fb.Status}, {&t.StatusReason, fb.StatusReason}, {&t.Merged, fb.Merged},
		{&t.MergedQuiet, fb.MergedQuiet}, {&t.MergedInto, fb.MergedInto}, {&t.RepliedPrivately, fb.RepliedPrivately}} {
		if *p.s == "" {
			*p.s = p.f
		}
	}
	return t
}

// lang picks the language to write to a citizen in: their preferred
// language, else the case's detected language, else the default.
func (o *Officer) lang(preferred, detected string) string {
	for _, l := range []string{baseLang(preferred), baseLang(detected)} {
		if _, ok := o.texts[l]; ok && o.policy.Speaks(l) {
			return l
		}
	}
	return o.defLang
}

func (o *Officer) textsFor(lang string) (OfficerTexts, Catalog) {
	t, ok := o.texts[lang]
	if !ok {
		t = o.texts[locale.Reference]
	}
	c, ok := o.catalogs[lang]
	if !ok {
		c = o.catalogs[locale.Reference]
	}
	return t, c
}

// item builds the outbox rows of one message to the citizen of c (a case
// that v is about: v.Case or one merged into it), split to the platform's
// limit. When the message must stay private (see private), the rows are
// Private: the store and the dispatcher deliver them to the citizen's
// private chat, and the group gets groupLine instead ("" for nothing).
func (o *Officer) item(v citybot.CaseView, c citybot.Case, key, text, groupLine string) []citybot.OutboxItem {
	it := citybot.OutboxItem{
		Out:  citybot.Outgoing{Key: key, Platform: c.Platform, Chat: c.Chat, Text: text},
		Kind: citybot.OutboxNotice,
		Case: c.ID,
	}
	if !o.private(v, c) {
		return responder.SplitItem(it, o.policy.MaxText(c.Platform))
	}
	it.Private = true
	items := responder.SplitItem(it, o.policy.MaxText(c.Platform))
	if groupLine != "" {
		items = append(items, citybot.OutboxItem{
			Out:  citybot.Outgoing{Key: key + ":group", Platform: c.Platform, Chat: c.Chat, Text: groupLine},
			Kind: citybot.OutboxNotice,
			Case: c.ID,
		})
	}
	return items
}

// private tells whether messages to the citizen of c must go to their
// private chat: c (or the case v it follows) is sensitive (its flag) and
// c's chat is not a private one (an unknown kind counts as shared).
func (o *Officer) private(v citybot.CaseView, c citybot.Case) bool {
	if !c.Sensitive && !v.Case.Sensitive {
		return false
	}
	return v.ChatKinds[c.ID] != citybot.ChatPrivate
}

// followers returns the case and the cases merged into it: every citizen
// who hears about it (citybot.CaseView.Followers, the one list).
func followers(v citybot.CaseView) []citybot.Case {
	return v.Followers()
}

func validNonce(nonce string) bool {
	if nonce == "" || len(nonce) > 64 {
		return false
	}
	for _, r := range nonce {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Answer sends an officer's answer to the citizen of case id (and to the
// citizens of the cases merged into it), through the outbox on each
// case's platform, and moves the case to answered when its status allows.
// nonce identifies the form submission: answering twice with the same
// nonce queues the answer once. It returns the case after. Errors wrap
// citybot.ErrInvalid for an empty or too long text, a missing actor or a
// malformed nonce, and citybot.ErrNotFound for an unknown case.
func (o *Officer) Answer(ctx context.Context, id citybot.CaseID, actor, text, nonce string) (citybot.Case, error) {
	text, _ = citybot.CleanText(strings.TrimSpace(text), 0)
	if text == "" || utf8.RuneCountInString(text) > MaxAnswer || actor == "" || !validNonce(nonce) {
		return citybot.Case{}, fmt.Errorf("casework: answer: %w: an answer needs text (at most %d characters), an officer and a form nonce", citybot.ErrInvalid, MaxAnswer)
	}
	c, err := o.store.AnswerCase(ctx, id, actor, text, func(v citybot.CaseView) ([]citybot.OutboxItem, error) {
		if !v.Case.Status.Open() && v.Case.Status != citybot.StatusResolved {
			return nil, fmt.Errorf("%w: case %s is %s", citybot.ErrInvalid, v.Case.Ref, v.Case.Status)
		}
		return o.answerItems(v, text, nonce), nil
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("casework: answer: %w", err)
	}
	o.log.Info("answer queued", "case", int64(id))
	o.wake()
	return c, nil
}

// ChangeStatus moves case id along its lifecycle and tells its citizen
// (and the citizens of the cases merged into it) in their language.
// Duplicates are made with Merge, not here. nonce identifies the form
// submission (see Answer). Errors wrap citybot.ErrInvalid (a transition
// the lifecycle forbids, a close without reason, StatusDuplicate, a
// malformed nonce) and citybot.ErrNotFound.
func (o *Officer) ChangeStatus(ctx context.Context, id citybot.CaseID, ch citybot.StatusChange, nonce string) (citybot.Case, error) {
	if ch.To == citybot.StatusDuplicate || !ch.To.Valid() || ch.Actor == "" || !validNonce(nonce) {
		return citybot.Case{}, fmt.Errorf("casework: change status: %w: a known status other than duplicate, an officer and a form nonce are needed", citybot.ErrInvalid)
	}
	c, err := o.store.ChangeCaseStatus(ctx, id, ch, func(before citybot.CaseView, after citybot.Case) ([]citybot.OutboxItem, error) {
		var items []citybot.OutboxItem
		for _, f := range followers(before) {
			t, cat := o.textsFor(o.lang(before.Languages[f.Citizen], f.Language))
			msg := fill(t.Status, "ref", string(f.Ref), "status", cat.StatusName(after.Status))
			if after.Status == citybot.StatusClosed && after.CloseReason != "" {
				msg += "\n" + fill(t.StatusReason, "reason", after.CloseReason)
			}
			items = append(items, o.item(before, f, fmt.Sprintf("officer:status:%d:%s:%d", id, nonce, f.ID), msg, "")...)
		}
		return items, nil
	})
	if err != nil {
		return citybot.Case{}, fmt.Errorf("casework: change status: %w", err)
	}
	o.log.Info("status changed", "case", int64(id), "status", string(c.Status))
	o.wake()
	return c, nil
}

// Merge marks case dup a duplicate of case into. The citizen of dup (and
// of any case merged into dup before) is told which case to follow; the
// citizen of into is told another report joined theirs. From then on the
// answers and status changes of into reach them all. Errors wrap
// citybot.ErrInvalid (same case, dup not open, into a duplicate) and
// citybot.ErrNotFound.
func (o *Officer) Merge(ctx context.Context, dup, into citybot.CaseID, actor string) error {
	if actor == "" {
		return fmt.Errorf("casework: merge: %w: an officer is needed", citybot.ErrInvalid)
	}
	err := o.store.MergeCases(ctx, dup, into, actor, func(dv, iv citybot.CaseView) ([]citybot.OutboxItem, error) {
		var items []citybot.OutboxItem
		for _, f := range followers(dv) {
			t, _ := o.textsFor(o.lang(dv.Languages[f.Citizen], f.Language))
			msg := fill(t.Merged, "ref", string(f.Ref), "into", string(iv.Case.Ref))
			if iv.Case.Sensitive {
				// The surviving case is sensitive (or became so by this
				// merge): its reference is not for this citizen, nor
				// for a group, nor for the officers who read this
				// conversation.
				msg = fill(t.MergedQuiet, "ref", string(f.Ref))
			}
			items = append(items, o.item(dv, f, fmt.Sprintf("officer:merge:%d:%d", dup, f.ID), msg, "")...)
		}
		// The surviving case's citizen hears once, unless it is the same
		// citizen in the same chat.
		ic := iv.Case
		if ic.Citizen != dv.Case.Citizen || ic.Chat != dv.Case.Chat {
			t, _ := o.textsFor(o.lang(iv.Languages[ic.Citizen], ic.Language))
			items = append(items, o.item(iv, ic, fmt.Sprintf("officer:merge:%d:into:%d", dup, ic.ID), fill(t.MergedInto, "ref", string(ic.Ref)), "")...)
		}
		return items, nil
	})
	if err != nil {
		return fmt.Errorf("casework: merge: %w", err)
	}
	o.log.Info("cases merged", "case", int64(dup), "into", int64(into))
	o.wake()
	return nil
}

func (o *Officer) wake() {
	if o.notify != nil {
		o.notify()
	}
}
