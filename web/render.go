package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"citybot"
	"citybot/locale"
)

// pageNames are the templates in templates/, one per page, each rendered
// inside layout.html.
func pageNames() []string {
	return []string{"login", "inbox", "case", "audit", "canned", "accounts", "account_confirm", "model", "error", "totp", "login_code", "open311_keys", "statements", "statement_send"}
}

// templateFuncs are the templates' functions; locs gives the languages'
// names and writing directions (nil: the shipped language files).
func templateFuncs(locs *locale.Set) template.FuncMap {
	if locs == nil {
		locs = locale.MustEmbedded()
	}
	return template.FuncMap{
		// dir is the HTML dir attribute of a language: "rtl" for Arabic.
		"dir": func(lang string) string {
			if c := locs.Catalog(lang); c != nil {
				return c.Dir()
			}
			return "ltr"
		},
		// langName is a language's name in itself ("Español").
		"langName": func(lang string) string {
			if c := locs.Catalog(lang); c != nil {
				return c.Name()
			}
			return lang
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"day": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.UTC().Format("2006-01-02")
		},
		"words": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		"pct1":  func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"pts":   func(f float64) string { return fmt.Sprintf("%+.1f", f*100) },
		"geo":   func(f float64) string { return fmt.Sprintf("%.5f", f) },
		// deref reads an optional time (zero when nil).
		"deref": func(t *time.Time) time.Time {
			if t == nil {
				return time.Time{}
			}
			return *t
		},
		// usual writes a surge's usual count: "0.5", "2".
		"usual": func(f float64) string { return strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0") },
		"join":  strings.Join,
		"add":   func(a, b int) int { return a + b },
		"has": func(list []string, v string) bool {
			for _, x := range list {
				if x == v {
					return true
				}
			}
			return false
		},
	}
}

// consoleFuncs are the console's template functions: times are shown in
// the city's time zone, loc, with its abbreviation.
func consoleFuncs(locs *locale.Set, loc *time.Location) template.FuncMap {
	f := templateFuncs(locs)
	f["when"] = func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04 MST")
	}
	return f
}

func parsePages(locs *locale.Set, loc *time.Location) (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames() {
		t, err := template.New(name).Funcs(consoleFuncs(locs, loc)).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every page template gets.
type page struct {
	Account  *citybot.Account // nil when not signed in
	CSRF     string
	IsAdmin  bool
	CanAct   bool // may change cases
	Data     any
	PollSecs int
	// MustEnrol: the account must set up one-time codes before anything
	// else (the menu is hidden).
	MustEnrol bool
	// Lang is the page's language (see consoleLang); W gives its texts
	// ({{.W.T "console.inbox"}}), as on the public pages.
	Lang string
	W    publicTexts
	// Langs are the city's languages, for the header's picker; Chosen
	// is the account's choice ("" when it follows the browser).
	Langs  []string
	Chosen string
	// Back is the page to return to after choosing a language.
	Back string
	// Statements: the holding statements' page is served.
	Statements bool
}

// consoleLang picks the console's language: the signed-in account's
// choice when the city still speaks it, else the browser's
// Accept-Language matched to the city's languages (pt-BR → pt), else the
// city's default language.
func (s *Server) consoleLang(r *http.Request, sess *session) string {
	if sess != nil && sess.lang != "" && slices.Contains(s.languages, sess.lang) {
		return sess.lang
	}
	if r != nil {
		for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
			tag, q, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.ReplaceAll(strings.TrimSpace(q), " ", "") == "q=0" || tag == "*" {
				continue
			}
			if l := s.locs().Match(tag, s.languages...); l != "" {
				return l
			}
		}
	}
	if s.deflang != "" {
		return s.deflang
	}
	return locale.Reference
}

// locs are the console's language files.
func (s *Server) locs() *locale.Set {
	if s.locales != nil {
		return s.locales
	}
	return locale.MustEmbedded()
}

func (s *Server) pageFor(r *http.Request, sess *session, data any) page {
	p := page{Data: data, PollSecs: int(s.pollEvery.Seconds()), Statements: s.stmts != nil}
	p.Lang = s.consoleLang(r, sess)
	p.W = publicTexts{wordsFor(s.locs(), p.Lang)}
	p.Langs = s.languages
	if r != nil && r.Method == http.MethodGet {
		p.Back = safeNext(r.URL.RequestURI())
	}
	if sess != nil {
		a := sess.account
		p.MustEnrol = mustEnrol(a)                               // before the secret is blanked: it reads it
		a.PasswordHash, a.TOTPSecret, a.TOTPPending = "", "", "" // never near a template
		p.Account, p.CSRF = &a, sess.csrf
		p.IsAdmin = a.Role == citybot.RoleAdmin
		p.CanAct = a.Role == citybot.RoleAdmin || a.Role == citybot.RoleOfficer
		p.Chosen = sess.lang
	}
	return p
}

// render executes a page into a buffer first, so that a template error
// never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, data any) {
	s.renderTemplate(w, r, status, name, "layout", sess, data)
}

func (s *Server) renderTemplate(w http.ResponseWriter, r *http.Request, status int, name, tmpl string, sess *session, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, tmpl, s.pageFor(r, sess, data)); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, s.texts(r, sess).T("console.err_failed"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The language may come from Accept-Language.
	w.Header().Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// texts are the console's words in the language of the request's page.
func (s *Server) texts(r *http.Request, sess *session) publicTexts {
	return publicTexts{wordsFor(s.locs(), s.consoleLang(r, sess))}
}

// errorPage is an error page in the page's language: its title is the
// text console.err_<kind>_title, its message the text msgKey, or msg
// when msgKey is "".
func (s *Server) errorPage(r *http.Request, sess *session, kind, msgKey string, msg ...string) errorPage {
	w := s.texts(r, sess)
	e := errorPage{Title: w.T("console.err_" + kind + "_title")}
	if msgKey != "" {
		e.Message = w.T(msgKey)
	} else {
		e.Message = strings.Join(msg, " ")
	}
	return e
}
