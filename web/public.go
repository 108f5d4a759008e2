package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"citybot"
	"citybot/locale"
)

// PublicStore is what the public pages and open data need from storage.
type PublicStore interface {
	Digests(ctx context.Context, limit int, states ...citybot.DigestState) ([]citybot.Digest, error)
	ApprovedDigest(ctx context.Context, week citybot.Week) (citybot.Digest, error)
	PublicCases(ctx context.Context, q citybot.PublicCaseQuery) ([]citybot.PublicCase, error)
	// PublicCasesEach calls fn with each case, reading a page at a time
	// and holding no read connection while fn runs.
	PublicCasesEach(ctx context.Context, q citybot.PublicCaseQuery, fn func(citybot.PublicCase) error) error
}

// PublicFigures computes live figures and names topics
// (responder.Digester).
type PublicFigures interface {
	Figures(ctx context.Context, start, end time.Time) (citybot.DigestFigures, error)
	TopicName(lang, topic string) string
}

// PublicOptions configure the public pages. Store and Figures are
// required.
type PublicOptions struct {
	Store   PublicStore
	Figures PublicFigures
	Logger  *slog.Logger     // nil discards logs
	Now     func() time.Time // nil means time.Now
	// Languages of the pages, the default first; empty means en, fr.
	Languages []string
	// Topics are the Open311 services; empty means DefaultTopics().
	Topics []string
	// SensitiveTopics are not offered as Open311 services; nil means
	// ["corruption"]. Sensitive cases (citybot.Case.Sensitive, whatever
	// their topic) never appear case by case (Open311 requests, CSV):
	// the store leaves them out. Their counts stay in the figures.
	SensitiveTopics []string
	// Agency is the Open311 agency_responsible ("City of …").
	Agency string
	// JurisdictionID is the city's Open311 jurisdiction_id: a request
	// naming another one is answered 404; "" means the city has none, so
	// any id a request names is answered 404.
	JurisdictionID string
	// Location is the city's time zone for dates; nil means UTC.
	Location *time.Location
	// ApprovedBy names, per language, the office that approves the
	// digests ("the Mayor's office"), shown on the public pages instead
	// of the approving official's account, which is never public. A
	// language left out gets "the city" in its words (en, fr) or the
	// first language's name.
	ApprovedBy map[string]string
	// MaxExports bounds the CSV exports running at once (each reads up
	// to 100,000 cases on one of the store's read connections); one more
	// is answered 503 at once. 0 means 2.
	MaxExports int
	// Locales give the languages' names and writing directions (the
	// pages' lang and dir attributes); nil means the shipped files.
	Locales *locale.Set
}

// Public serves the public accountability pages (no sign-in): the latest
// and past approved digests, live figures by topic, the Open311
// GeoReport v2 read API and a CSV export of cases. Nothing it serves
// carries a citizen's text or identity. It is safe for concurrent use.
type Public struct {
	store     PublicStore
	figures   PublicFigures
	log       *slog.Logger
	now       func() time.Time
	languages []string
	topics    []string
	sensitive []string
	agency    string
	approved  map[string]string
	exports   chan struct{}
	loc       *time.Location
	pages     map[string]*template.Template
	handler   http.Handler

	// jurisdiction is Open311's jurisdiction_id.
	jurisdiction string
	locales      *locale.Set
}

// NewPublic returns the public pages, or an error wrapping
// citybot.ErrInvalid when a required option is missing, and a template's
// parse error.
func NewPublic(opts PublicOptions) (*Public, error) {
	if opts.Store == nil || opts.Figures == nil {
		return nil, fmt.Errorf("web: public: %w: Store and Figures are required", citybot.ErrInvalid)
	}
	p := &Public{store: opts.Store, figures: opts.Figures, log: opts.Logger, now: opts.Now, languages: opts.Languages,
		topics: opts.Topics, sensitive: opts.SensitiveTopics, agency: opts.Agency, loc: opts.Location,
		jurisdiction: opts.JurisdictionID, locales: opts.Locales,
		approved: map[string]string{}, exports: make(chan struct{}, max(opts.MaxExports, 0))}
	if cap(p.exports) == 0 {
		p.exports = make(chan struct{}, 2)
	}
	for l, by := range opts.ApprovedBy {
		if by = strings.TrimSpace(citybot.VisibleText(by)); by != "" {
			p.approved[l] = by
		}
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p.log = p.log.With("component", "public")
	if p.now == nil {
		p.now = time.Now
	}
	if len(p.languages) == 0 {
		p.languages = []string{"en", "fr"}
	}
	if len(p.topics) == 0 {
		p.topics = DefaultTopics()
	}
	if p.sensitive == nil {
		p.sensitive = citybot.DefaultSensitiveTopics()
	}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if p.locales == nil {
		p.locales = locale.MustEmbedded()
	}
	p.pages = map[string]*template.Template{}
	for _, name := range []string{"home", "digest"} {
		t, err := template.New(name).Funcs(templateFuncs(opts.Locales)).ParseFS(templateFiles, "templates/public_layout.html", "templates/public_"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: public template %s: %w", name, err)
		}
		p.pages[name] = t
	}
	mux := http.NewServeMux()
	p.Register(mux)
	p.handler = mux
	return p, nil
}

// Routes returns the public routes, pattern → handler: GET /public/ (the
// page), /public/digests/{week}, /public/digests/{week}/chart.png,
// /public/cases.csv and the Open311 API under /open311/v2/ (services and
// requests, .json or .xml; services/{code} and requests/{id}, .json or
// .xml) with its discovery document at /open311/discovery.json or .xml.
// Open311Intake adds POST requests.
func (p *Public) Routes() map[string]http.Handler {
	h := func(f http.HandlerFunc) http.Handler { return publicHeaders(f) }
	return map[string]http.Handler{
		"GET /public/{$}":                      h(p.home),
		"GET /public/digests/{week}":           h(p.digestPage),
		"GET /public/digests/{week}/chart.png": h(p.chart),
		"GET /public/cases.csv":                h(p.casesCSV),
		"GET /open311/v2/{file}":               h(p.open311),
		"GET /open311/v2/requests/{file}":      h(p.request),
		"GET /open311/v2/services/{file}":      h(p.serviceDef),
		"GET /open311/{file}":                  h(p.discovery),
	}
}

// Register adds Routes to mux, next to the console mounted at "/".
func (p *Public) Register(mux *http.ServeMux) {
	for pattern, h := range p.Routes() {
		mux.Handle(pattern, h)
	}
}

// Handler returns a handler serving only the public routes.
func (p *Public) Handler() http.Handler { return p.handler }

func publicHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, "/open311/") && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			// Open data: any site may read it, without credentials (never
			// Access-Control-Allow-Credentials). The pages and the CSV
			// are for people and are not shared with other sites' scripts.
			h.Set("Access-Control-Allow-Origin", "*")
		}
		h.Set("Cache-Control", "public, max-age=60")
		// The language comes from Accept-Language when ?lang= is absent:
		// a shared cache must not give one reader's language to another.
		h.Add("Vary", "Accept-Language")
		next.ServeHTTP(w, r)
	})
}

// lang picks the page's language: ?lang=, then Accept-Language, then the
// default.
func (p *Public) lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); slices.Contains(p.languages, l) {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag, _, _ = strings.Cut(strings.ToLower(tag), "-")
		if slices.Contains(p.languages, tag) {
			return tag
		}
	}
	return p.languages[0]
}

func (p *Public) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "public_layout", data); err != nil {
		p.log.Error("render", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (p *Public) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, citybot.ErrNotFound) {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	if !errors.Is(err, context.Canceled) {
		p.log.Error("public request failed", "path", r.URL.Path, "err", err)
	}
	http.Error(w, "Something went wrong; try again in a moment.", http.StatusInternalServerError)
}

// publicTopicRow is one line of the live figures table.
type publicTopicRow struct {
	Topic       string
	Received    int
	Answered    int
	Resolved    int
	MedianFirst string
}

type publicHome struct {
	Lang      string
	Languages []string
	Latest    *publicDigest
	Past      []publicDigest
	Live      []publicTopicRow
	LiveFrom  time.Time
	LiveTo    time.Time
	Total     citybot.DigestFigures
}

type publicDigest struct {
	Week     citybot.Week
	Text     string
	TextLang string // the language of Text (the page's, or the first)
	Texts    []langText
	Decided  time.Time
	By       string
}

type langText struct {
	Lang string
	Text string
}

func (p *Public) digestView(d citybot.Digest, lang string) publicDigest {
	// Never d.DecidedBy: that is a console account.
	v := publicDigest{Week: d.Week, Text: citybot.VisibleText(d.Texts[lang]), TextLang: lang, Decided: d.DecidedAt, By: p.approvedBy(lang)}
	if v.Text == "" {
		v.Text, v.TextLang = citybot.VisibleText(d.Texts[p.languages[0]]), p.languages[0]
	}
	for _, l := range p.languages {
		if t, ok := d.Texts[l]; ok {
			v.Texts = append(v.Texts, langText{Lang: l, Text: citybot.VisibleText(t)})
		}
	}
	return v
}

// approvedBy names the approving office in lang.
func (p *Public) approvedBy(lang string) string {
	if by := p.approved[lang]; by != "" {
		return by
	}
	switch lang {
	case "fr":
		return "la ville"
	case "en":
		return "the city"
	}
	if by := p.approved[p.languages[0]]; by != "" {
		return by
	}
	return "the city"
}

// home is the public page: the latest approved digest, live figures of
// the last seven days by topic, and the past digests.
func (p *Public) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := p.lang(r)
	ds, err := p.store.Digests(ctx, 60, citybot.DigestApproved)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	now := p.now().UTC()
	from := now.Add(-7 * 24 * time.Hour)
	f, err := p.figures.Figures(ctx, from, now)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	data := publicHome{Lang: lang, Languages: p.languages, LiveFrom: from, LiveTo: now, Total: f}
	for i, d := range ds {
		v := p.digestView(d, lang)
		if i == 0 {
			data.Latest = &v
			continue
		}
		data.Past = append(data.Past, v)
	}
	for _, t := range f.ByTopic {
		row := publicTopicRow{Topic: p.figures.TopicName(lang, t.Topic), Received: t.Received, Answered: t.Answered, Resolved: t.Resolved}
		if t.FirstAnswer.Count > 0 {
			row.MedianFirst = fmt.Sprintf("%.1f h", t.FirstAnswer.Median.Hours())
		}
		data.Live = append(data.Live, row)
	}
	p.render(w, http.StatusOK, "home", data)
}

// digestPage shows one approved digest in every language, with its chart.
func (p *Public) digestPage(w http.ResponseWriter, r *http.Request) {
	d, err := p.store.ApprovedDigest(r.Context(), citybot.Week(r.PathValue("week")))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	lang := p.lang(r)
	p.render(w, http.StatusOK, "digest", struct {
		Lang   string
		Digest publicDigest
	}{lang, p.digestView(d, lang)})
}

// chart serves an approved digest's PNG.
func (p *Public) chart(w http.ResponseWriter, r *http.Request) {
	d, err := p.store.ApprovedDigest(r.Context(), citybot.Week(r.PathValue("week")))
	if err == nil && len(d.Chart) == 0 {
		err = citybot.ErrNotFound
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(d.Chart)
}
