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
	"sync"
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
// (accountability.Digester).
type PublicFigures interface {
	Figures(ctx context.Context, start, end time.Time) (citybot.DigestFigures, error)
	TopicName(lang, topic string) string
}

// PublicCharts draws an approved digest's chart, and says its figures in
// words, in any digest language (responder.Digester). Optional: when
// Figures does not have it, the chart as posted is served.
type PublicCharts interface {
	ChartPNG(d citybot.Digest, lang string) ([]byte, error)
	ChartAlt(d citybot.Digest, lang string) string
}

// PublicOptions configure the public pages. Store and Figures are
// required.
type PublicOptions struct {
	Store   PublicStore
	Figures PublicFigures
	Logger  *slog.Logger     // nil discards logs
	Now     func() time.Time // nil means time.Now
	// Policy is the city: its name (on every page), languages (the
	// pages' languages, the default first), topics (the Open311
	// services, less the sensitive topics, which are not offered) and
	// time zone (dates). Sensitive cases (citybot.Case.Sensitive,
	// whatever their topic) never appear case by case (Open311
	// requests, CSV): the store leaves them out. Their counts stay in
	// the figures. Required.
	Policy *citybot.Policy
	// Agency is the Open311 agency_responsible ("City of …").
	Agency string
	// JurisdictionID is the city's Open311 jurisdiction_id: a request
	// naming another one is answered 404; "" means the city has none, so
	// any id a request names is answered 404.
	JurisdictionID string
	// Location is the time zone of the digests' weeks when it is not
	// the city's ([digest] timezone); nil is the policy's.
	Location *time.Location
	// ApprovedBy names, per language, the office that approves the
	// digests ("the Mayor's office"), shown on the public pages instead
	// of the approving official's account, which is never public. A
	// language left out gets the first language's name, else the
	// city's name.
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
	city      string
	locales   *locale.Set
	approved  map[string]string
	exports   chan struct{}
	loc       *time.Location
	pages     map[string]*template.Template
	handler   http.Handler
	locs      *locale.Set
	charts    chartCache
	weeks     weekCache
	// jurisdiction is Open311's jurisdiction_id.
	jurisdiction string
}

// NewPublic returns the public pages, or an error wrapping
// citybot.ErrInvalid when a required option is missing, and a template's
// parse error.
func NewPublic(opts PublicOptions) (*Public, error) {
	if opts.Store == nil || opts.Figures == nil || opts.Policy == nil {
		return nil, fmt.Errorf("web: public: %w: Store, Figures and Policy are required", citybot.ErrInvalid)
	}
	p := &Public{store: opts.Store, figures: opts.Figures, log: opts.Logger, now: opts.Now, languages: opts.Policy.Languages(),
		topics: opts.Policy.Topics(), sensitive: opts.Policy.SensitiveTopics(), agency: opts.Agency, loc: opts.Location, city: opts.Policy.City(),
		jurisdiction: opts.JurisdictionID,
		approved:     map[string]string{}, exports: make(chan struct{}, max(opts.MaxExports, 0))}
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
	if p.loc == nil {
		p.loc = opts.Policy.Location()
	}
	if p.locales = opts.Locales; p.locales == nil {
		p.locales = locale.MustEmbedded()
	}
	p.locs = opts.Locales
	if p.locs == nil {
		p.locs = locale.MustEmbedded()
	}
	if p.locales == nil {
		p.locales = locale.MustEmbedded()
	}
	p.pages = map[string]*template.Template{}
	for _, name := range []string{"home", "digest"} {
		t, err := template.New(name).Funcs(templateFuncs(opts.Locales)).Funcs(template.FuncMap{"city": p.cityName}).ParseFS(templateFiles, "templates/public_layout.html", "templates/public_equity.html", "templates/public_"+name+".html")
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

// fail answers a public request that failed, in the reader's language:
// a plain sentence, the details to the log.
func (p *Public) fail(w http.ResponseWriter, r *http.Request, err error) {
	words := wordsFor(p.locs, p.lang(r))
	w.Header().Set("Content-Language", p.lang(r))
	if errors.Is(err, citybot.ErrNotFound) {
		http.Error(w, words.t("public.err_not_found"), http.StatusNotFound)
		return
	}
	if !errors.Is(err, context.Canceled) {
		p.log.Error("public request failed", "path", r.URL.Path, "err", err)
	}
	http.Error(w, words.t("public.err_failed"), http.StatusInternalServerError)
}

// publicTopicRow is one line of the live figures by topic.
type publicTopicRow struct {
	Topic       string
	Received    int
	Answered    int
	Resolved    int
	MedianFirst string // in words; "" when no case was answered
}

type publicHome struct {
	Lang      string
	W         publicTexts
	Languages []string
	Latest    *publicDigest
	Past      []publicDigest
	Live      []publicTopicRow
	LiveFrom  time.Time
	LiveTo    time.Time
	Total     citybot.DigestFigures
	// Promises over the trend's weeks: dates past, kept, missed.
	PromisesDue, PromisesKept, PromisesMissed int
	Trend                                     []trendRow
	// Many are the open problems several citizens reported (grouped
	// reports): what, where, and how many, never who.
	Many []publicManyRow
}

// publicManyRow is an open problem several citizens reported.
type publicManyRow struct {
	Topic      string
	Places     string
	ReportedBy string // "reported by 12 citizens"
}

// manyReported is how many of the most recent open problems reported by
// several citizens the public page lists.
const manyReported = 10

type publicDigest struct {
	Week     citybot.Week
	Dates    string // the week's days in words
	Text     string
	TextLang string // the language of Text (the page's, or the first)
	Texts    []langText
	Decided  time.Time
	By       string
	ChartAlt string
	// Equity is set when the official published it with the digest.
	Equity *equityView
}

type langText struct {
	Lang string
	Text string
}

func (p *Public) digestView(d citybot.Digest, lang string) publicDigest {
	// Never d.DecidedBy: that is a console account.
	w := wordsFor(p.locs, lang)
	v := publicDigest{Week: d.Week, Text: citybot.VisibleText(d.Texts[lang]), TextLang: lang, Decided: d.DecidedAt, By: p.approvedBy(lang)}
	if !d.Figures.Start.IsZero() {
		v.Dates = w.dates(d.Figures.Start.In(p.loc), d.Figures.End.In(p.loc).Add(-time.Second))
	} else {
		v.Dates = string(d.Week)
	}
	if c, ok := p.figures.(PublicCharts); ok {
		v.ChartAlt = c.ChartAlt(d, lang)
	} else {
		v.ChartAlt = w.t("public.chart_note")
	}
	if d.PublishEquity {
		e := equityOf(d.Figures.Equity, w, p.locs)
		v.Equity = &e
	}
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

// cityName is the city's name, shown on every public page.
func (p *Public) cityName() string { return p.city }

// approvedBy names the approving office in lang: [digest] approved_by
// in that language, else in the first language, else the city's name.
func (p *Public) approvedBy(lang string) string {
	if by := p.approved[lang]; by != "" {
		return by
	}
	if by := p.approved[p.languages[0]]; by != "" {
		return by
	}
	return p.city
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
	wd := wordsFor(p.locs, lang)
	data := publicHome{Lang: lang, W: publicTexts{wd}, Languages: p.languages, LiveFrom: from, LiveTo: now, Total: f}
	if data.Trend, err = p.trend(ctx, wd, now, &data); err != nil {
		p.fail(w, r, err)
		return
	}
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
			row.MedianFirst = wd.duration(t.FirstAnswer.Median)
		}
		data.Live = append(data.Live, row)
	}
	open := true
	many, err := p.store.PublicCases(ctx, citybot.PublicCaseQuery{Open: &open, MinReporters: 2, Limit: manyReported})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	for _, c := range many {
		places := make([]string, 0, len(c.Places))
		for _, pl := range c.Places {
			if pl = citybot.VisibleText(pl); pl != "" {
				places = append(places, pl)
			}
		}
		data.Many = append(data.Many, publicManyRow{Topic: p.figures.TopicName(lang, c.Topic), Places: strings.Join(places, ", "),
			ReportedBy: data.W.Tn("public.reported_by", c.Reporters)})
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
		W      publicTexts
		Digest publicDigest
	}{lang, publicTexts{wordsFor(p.locs, lang)}, p.digestView(d, lang)})
}

// chart serves an approved digest's PNG in the reader's language (?lang=,
// then Accept-Language) when the figures can draw it, else the chart as
// posted.
func (p *Public) chart(w http.ResponseWriter, r *http.Request) {
	d, err := p.store.ApprovedDigest(r.Context(), citybot.Week(r.PathValue("week")))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	png := d.Chart
	if c, ok := p.figures.(PublicCharts); ok {
		lang := p.lang(r)
		key := fmt.Sprintf("%d:%s", d.ID, lang)
		if png = p.charts.get(key); png == nil {
			if png, err = c.ChartPNG(d, lang); err != nil {
				p.fail(w, r, err)
				return
			}
			p.charts.put(key, png)
		}
	}
	if len(png) == 0 {
		p.fail(w, r, citybot.ErrNotFound)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

// chartCache keeps the last charts drawn, by digest and language: an
// approved digest never changes, and drawing takes a few tens of
// milliseconds.
type chartCache struct {
	mu    sync.Mutex
	pngs  map[string][]byte
	order []string
}

const chartCacheSize = 32

func (c *chartCache) get(key string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pngs[key]
}

func (c *chartCache) put(key string, png []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pngs == nil {
		c.pngs = map[string][]byte{}
	}
	if _, ok := c.pngs[key]; ok {
		return
	}
	if len(c.order) == chartCacheSize {
		delete(c.pngs, c.order[0])
		c.order = c.order[1:]
	}
	c.pngs[key] = png
	c.order = append(c.order, key)
}

// weekCache keeps the figures of weeks that are over for a while: the
// public page shows 12 weeks to anyone who asks, and a past week's
// figures change only as late answers and promises come in.
type weekCache struct {
	mu   sync.Mutex
	figs map[time.Time]cachedWeek
}

type cachedWeek struct {
	f  citybot.DigestFigures
	at time.Time
}

// weekTTL is how long a past week's figures are kept.
const weekTTL = 10 * time.Minute

// weekFigures returns the figures of [start, end): from the cache for a
// week over before now and computed less than weekTTL ago, else computed
// (and kept when the week is over).
func (p *Public) weekFigures(ctx context.Context, start, end, now time.Time) (citybot.DigestFigures, error) {
	over := !end.After(now)
	if over {
		p.weeks.mu.Lock()
		c, ok := p.weeks.figs[start]
		p.weeks.mu.Unlock()
		if ok && c.f.End.Equal(end) && now.Sub(c.at) < weekTTL && !now.Before(c.at) {
			return c.f, nil
		}
	}
	f, err := p.figures.Figures(ctx, start, end)
	if err != nil || !over {
		return f, err
	}
	p.weeks.mu.Lock()
	defer p.weeks.mu.Unlock()
	if p.weeks.figs == nil {
		p.weeks.figs = map[time.Time]cachedWeek{}
	}
	for k, c := range p.weeks.figs {
		if now.Sub(c.at) >= weekTTL {
			delete(p.weeks.figs, k)
		}
	}
	p.weeks.figs[start] = cachedWeek{f: f, at: now}
	return f, nil
}

// trend returns the last 12 weeks (the week so far last), each from the
// live figures, and adds their promises to h.
func (p *Public) trend(ctx context.Context, w words, now time.Time, h *publicHome) ([]trendRow, error) {
	_, thisWeek, _ := citybot.WeekOf(now, p.loc)
	rows := make([]trendRow, 0, 12)
	busiest := 0
	for i := 11; i >= 0; i-- {
		_, start, end := citybot.WeekOf(thisWeek.AddDate(0, 0, -7*i).Add(time.Hour), p.loc)
		last := end.Add(-time.Second)
		if now.Before(end) {
			end, last = now, now
		}
		f, err := p.weekFigures(ctx, start, end, now)
		if err != nil {
			return nil, fmt.Errorf("web: trend: %w", err)
		}
		row := trendRow{Week: w.dates(start.In(p.loc), last.In(p.loc)), Received: f.Received}
		if f.Received > 0 {
			row.WithinDay = w.of(f.AnsweredWithinDay, f.Received)
			row.Wait = w.t("public.no_answer")
		}
		if f.FirstAnswer.Count > 0 {
			row.Wait = w.duration(f.FirstAnswer.Median)
		}
		if f.PromisesDue > 0 {
			row.Promises = w.of(f.PromisesKept, f.PromisesDue)
		}
		h.PromisesDue += f.PromisesDue
		h.PromisesKept += f.PromisesKept
		h.PromisesMissed += f.PromisesOverdue
		busiest = max(busiest, f.Received)
		rows = append(rows, row)
	}
	for i := range rows {
		if busiest > 0 {
			// In steps of 5 (public.css has a class per step), at least
			// one step for a week with reports.
			rows[i].Bar = (100*rows[i].Received/busiest + 4) / 5 * 5
		}
	}
	return rows, nil
}
