package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"citybot"
	"citybot/locale"
)

// pageNames are the templates in templates/, one per page, each rendered
// inside layout.html.
func pageNames() []string {
	return []string{"login", "inbox", "case", "audit", "canned", "accounts", "account_confirm", "model", "error", "totp", "login_code", "open311_keys"}
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
		"ago":   age,
		"words": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
		"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		"pct1":  func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"pts":   func(f float64) string { return fmt.Sprintf("%+.1f", f*100) },
		"geo":   func(f float64) string { return fmt.Sprintf("%.5f", f) },
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
	f["auditWords"] = auditWords
	f["subjectLink"] = subjectLink
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
}

func (s *Server) pageFor(sess *session, data any) page {
	p := page{Data: data, PollSecs: int(s.pollEvery.Seconds())}
	if sess != nil {
		a := sess.account
		p.MustEnrol = mustEnrol(a)                               // before the secret is blanked: it reads it
		a.PasswordHash, a.TOTPSecret, a.TOTPPending = "", "", "" // never near a template
		p.Account, p.CSRF = &a, sess.csrf
		p.IsAdmin = a.Role == citybot.RoleAdmin
		p.CanAct = a.Role == citybot.RoleAdmin || a.Role == citybot.RoleOfficer
	}
	return p
}

// render executes a page into a buffer first, so that a template error
// never sends half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, sess *session, data any) {
	s.renderTemplate(w, status, name, "layout", sess, data)
}

func (s *Server) renderTemplate(w http.ResponseWriter, status int, name, tmpl string, sess *session, data any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, tmpl, s.pageFor(sess, data)); err != nil {
		s.log.Error("render", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
