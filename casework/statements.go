package casework

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"citybot"
	"citybot/locale"
	"citybot/responder"
)

// StatementStore is what Statements need from storage (store.DB).
type StatementStore interface {
	// StatementTemplate returns a template with its texts
	// (citybot.ErrNotFound).
	StatementTemplate(ctx context.Context, id int64) (citybot.StatementTemplate, error)
	// SendStatement records a statement once per nonce and queues the
	// rows build returns, in one transaction, after checking that the
	// texts used are still approved at rec.Versions.
	SendStatement(ctx context.Context, rec citybot.StatementSend,
		build func(v citybot.CaseView) (followers, public []citybot.OutboxItem, err error)) (citybot.StatementSend, error)
}

// PublicChannel is one of the city's public channels (where the approved
// digest is posted): a holding statement sent "to the public" goes there
// too, in the channel's language ("" = every language the statement has).
type PublicChannel struct {
	Platform citybot.Platform
	Chat     citybot.ChatID
	Language string
}

// StatementOptions configure Statements. Officer and Store are required.
type StatementOptions struct {
	Officer *Officer
	Store   StatementStore
	// Channels are the city's public channels ([[digest.channels]]).
	Channels []PublicChannel
	// Locales are the language files (as for Options.Locales); nil
	// means the shipped ones.
	Locales *locale.Set
}

// Statements send holding statements officials approved in advance: to
// every citizen following a case (each in their language when the
// template has an approved text in it, else in the city's default
// language) and, when asked, to the city's public channels, through the
// outbox, once per form nonce, audited. It is safe for concurrent use.
type Statements struct {
	o        *Officer
	store    StatementStore
	channels []PublicChannel
	frames   map[string]string // [officer] statement by language
}

// MaxBlank is the longest value of a blank, in runes.
const MaxBlank = 200

// NewStatements returns Statements, or an error wrapping
// citybot.ErrInvalid when a required option is missing.
func NewStatements(opts StatementOptions) (*Statements, error) {
	if opts.Officer == nil || opts.Store == nil {
		return nil, fmt.Errorf("casework: statements: %w: Officer and Store are required", citybot.ErrInvalid)
	}
	for _, c := range opts.Channels {
		if !c.Platform.Valid() || c.Chat == "" {
			return nil, fmt.Errorf("casework: statements: %w: a public channel needs a known platform and an id", citybot.ErrInvalid)
		}
	}
	st := &Statements{o: opts.Officer, store: opts.Store, channels: slices.Clone(opts.Channels), frames: map[string]string{}}
	set := locales(opts.Locales)
	for _, l := range set.Languages() {
		st.frames[l] = set.Catalog(l).Text("officer.statement")
	}
	return st, nil
}

// HasPublicChannels reports whether the city has public channels to
// post a statement to.
func (s *Statements) HasPublicChannels() bool { return len(s.channels) > 0 }

// statementPlan is what a send does: the rows and the text versions used.
type statementPlan struct {
	followers, public []citybot.OutboxItem
	versions          map[string]int
	previews          []citybot.StatementPreview
}

// plan builds the rows of template t with values on case v. key prefixes
// the rows' keys. Errors wrap citybot.ErrInvalid, in words an officer
// reads: a follower's language and the default language have no
// approved text, a blank is empty, a public statement on a sensitive case.
func (s *Statements) plan(v citybot.CaseView, t citybot.StatementTemplate, values map[string]string, public bool, key string) (statementPlan, error) {
	o := s.o
	p := statementPlan{versions: map[string]int{}}
	approved := t.Approved()
	if len(approved) == 0 {
		return p, fmt.Errorf("%w: this statement has no approved text yet", citybot.ErrInvalid)
	}
	if public && v.Case.Sensitive {
		return p, fmt.Errorf("%w: a sensitive case is never announced in public", citybot.ErrInvalid)
	}
	textFor := func(lang string) (string, citybot.StatementText, bool) {
		if x, ok := approved[lang]; ok {
			return lang, x, true
		}
		x, ok := approved[o.defLang]
		return o.defLang, x, ok
	}
	fillText := func(x citybot.StatementText) (string, error) {
		for _, b := range citybot.StatementBlanks(x.Text) {
			if strings.TrimSpace(values[b]) == "" {
				return "", fmt.Errorf("%w: fill in the blank {%s}", citybot.ErrInvalid, b)
			}
		}
		vals := maps.Clone(values)
		if vals == nil {
			vals = map[string]string{}
		}
		vals[citybot.StatementRef] = string(v.Case.Ref)
		return citybot.FillStatement(x.Text, vals), nil
	}
	for _, f := range followers(v) {
		lang, x, ok := textFor(o.lang(v.Languages[f.Citizen], f.Language))
		if !ok {
			return p, fmt.Errorf("%w: case %s needs a text in %s or in the city's default language %s, approved", citybot.ErrInvalid, f.Ref,
				o.lang(v.Languages[f.Citizen], f.Language), o.defLang)
		}
		body, err := fillText(x)
		if err != nil {
			return p, err
		}
		p.versions[lang] = x.Version
		ot, _ := o.textsFor(lang)
		msg := fill(s.frame(lang), "ref", string(f.Ref), "text", body)
		items := o.item(v, f, fmt.Sprintf("%s:%d", key, f.ID), msg, fill(ot.RepliedPrivately, "ref", string(f.Ref)))
		p.followers = append(p.followers, items...)
		pv := citybot.StatementPreview{Ref: f.Ref, Platform: f.Platform, Language: lang}
		for _, it := range items {
			sent, _ := citybot.CleanText(citybot.VisibleText(it.Out.Text), citybot.MaxStoredText)
			if strings.HasSuffix(it.Out.Key, ":group") {
				pv.GroupLine = sent
				continue
			}
			pv.Private = it.Private
			pv.Parts = append(pv.Parts, sent)
		}
		p.previews = append(p.previews, pv)
	}
	if !public {
		return p, nil
	}
	if len(s.channels) == 0 {
		return p, fmt.Errorf("%w: the city has no public channel ([[digest.channels]])", citybot.ErrInvalid)
	}
	for _, c := range s.channels {
		langs := []string{c.Language}
		if c.Language == "" {
			langs = nil
			for _, l := range o.policy.Languages() {
				if _, ok := approved[l]; ok {
					langs = append(langs, l)
				}
			}
		}
		for _, l := range langs {
			lang, x, ok := textFor(l)
			if !ok {
				return p, fmt.Errorf("%w: the public channel in %s needs a text in %s or in %s, approved", citybot.ErrInvalid, l, l, o.defLang)
			}
			body, err := fillText(x)
			if err != nil {
				return p, err
			}
			p.versions[lang] = x.Version
			it := citybot.OutboxItem{Kind: citybot.OutboxNotice, Out: citybot.Outgoing{
				Key:      fmt.Sprintf("%s:public:%s:%s:%s", key, c.Platform, c.Chat, l),
				Platform: c.Platform, Chat: c.Chat, ChatKind: citybot.ChatGroup, Text: body,
			}}
			items := responder.SplitItem(it, o.policy.MaxText(c.Platform))
			p.public = append(p.public, items...)
			pv := citybot.StatementPreview{Public: true, Platform: c.Platform, Language: lang}
			for _, it := range items {
				sent, _ := citybot.CleanText(citybot.VisibleText(it.Out.Text), citybot.MaxStoredText)
				pv.Parts = append(pv.Parts, sent)
			}
			p.previews = append(p.previews, pv)
		}
	}
	return p, nil
}

// frame is the [officer] statement text of lang ("News from the city
// about your case {ref}:" and the statement), English when it has none.
func (s *Statements) frame(lang string) string {
	if t := s.frames[lang]; t != "" {
		return t
	}
	return s.frames[locale.Reference]
}

// cleanValues trims the blanks' values and checks their length.
func cleanValues(values map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(values))
	for k, v := range values {
		v, _ = citybot.CleanText(strings.TrimSpace(v), 0)
		if utf8.RuneCountInString(v) > MaxBlank {
			return nil, fmt.Errorf("%w: a blank holds at most %d characters", citybot.ErrInvalid, MaxBlank)
		}
		if k != citybot.StatementRef {
			out[k] = v
		}
	}
	return out, nil
}

// Preview returns exactly what each follower of case v (and each public
// channel, when public) would receive if template t were sent with
// values now. It queues nothing. Errors are those of Send.
func (s *Statements) Preview(v citybot.CaseView, t citybot.StatementTemplate, values map[string]string, public bool) ([]citybot.StatementPreview, error) {
	values, err := cleanValues(values)
	if err != nil {
		return nil, err
	}
	p, err := s.plan(v, t, values, public, "preview")
	return p.previews, err
}

// Send sends holding statement req.TemplateID with req.Values on case
// req.Case to every follower and, when req.Public, to the public
// channels; once per req.Nonce (a second call returns the first send
// with Already set). Errors wrap citybot.ErrInvalid (see Preview; an
// actor and a well-formed nonce are needed; a text changed or lost its
// approval since the officer read it) and citybot.ErrNotFound.
func (s *Statements) Send(ctx context.Context, req citybot.StatementSend) (citybot.StatementSend, error) {
	if req.Actor == "" || !validNonce(req.Nonce) {
		return req, fmt.Errorf("casework: statement: %w: an officer and a form nonce are needed", citybot.ErrInvalid)
	}
	values, err := cleanValues(req.Values)
	if err != nil {
		return req, fmt.Errorf("casework: statement: %w", err)
	}
	t, err := s.store.StatementTemplate(ctx, req.TemplateID)
	if err != nil {
		return req, fmt.Errorf("casework: statement: %w", err)
	}
	req.Values = values
	// The versions are those approved now; the store checks, in the
	// send's transaction, that they still are.
	req.Versions = map[string]int{}
	for l, x := range t.Approved() {
		req.Versions[l] = x.Version
	}
	if len(req.Versions) == 0 {
		return req, fmt.Errorf("casework: statement: %w: this statement has no approved text yet", citybot.ErrInvalid)
	}
	key := fmt.Sprintf("statement:%d:%s", req.Case, req.Nonce)
	out, err := s.store.SendStatement(ctx, req, func(v citybot.CaseView) ([]citybot.OutboxItem, []citybot.OutboxItem, error) {
		if !v.Case.Status.Open() && v.Case.Status != citybot.StatusResolved {
			return nil, nil, fmt.Errorf("%w: case %s is %s", citybot.ErrInvalid, v.Case.Ref, v.Case.Status)
		}
		p, err := s.plan(v, t, values, req.Public, key)
		return p.followers, p.public, err
	})
	if err != nil {
		return req, fmt.Errorf("casework: statement: %w", err)
	}
	if !out.Already {
		s.o.log.Info("holding statement queued", "case", int64(req.Case), "template", req.TemplateID, "followers", out.Followers,
			"rows", out.Rows, "public", req.Public)
		s.o.wake()
	}
	return out, nil
}
