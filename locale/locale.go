// Package locale holds every text citybot shows to people, one TOML file
// per language (en.toml, fr.toml, …) embedded in the binary, and a city's
// own files that add languages or override texts. It matches a BCP 47
// tag to a language it has (golang.org/x/text/language: "pt-BR" → "pt",
// "es-419" → "es") and picks plural forms by the CLDR rules of
// golang.org/x/text/feature/plural.
//
// A file's sections are [meta] (name, dir), [chat], [officer],
// [digest], [chart], [equity], [public], [open311] and [console] (the
// officers' web console); tables nest ([chat.topics]). A key is its dotted path
// ("chat.ack_new"). A plural text is a table of CLDR forms (zero, one,
// two, few, many, other) under a key that is plural in English, e.g.
// [digest.thanks] one = "…", other = "…". Texts hold placeholders in
// braces ({ref}) that the caller fills.
//
// English (en.toml) is the reference: every shipped file holds each of
// its keys with the same placeholders (TestCompleteness), and a key of a
// city's file that English does not have is an error.
package locale

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
)

//go:embed *.toml
var embedded embed.FS

// Reference is the language every other is checked against and falls
// back to.
const Reference = "en"

// forms are the CLDR plural form names, in the order of plural.Form.
var forms = []string{"other", "zero", "one", "two", "few", "many"}

// Catalog is the texts of one language. It is read-only once loaded and
// safe for concurrent use.
type Catalog struct {
	lang  string
	tag   language.Tag
	texts map[string]string // dotted key → text; plural forms as key.form
}

// Lang returns the catalog's language code ("pt").
func (c *Catalog) Lang() string { return c.lang }

// Name returns the language's name in itself ("Português").
func (c *Catalog) Name() string { return c.texts["meta.name"] }

// Dir returns the writing direction, "ltr" or "rtl", for HTML's dir
// attribute.
func (c *Catalog) Dir() string {
	if c.texts["meta.dir"] == "rtl" {
		return "rtl"
	}
	return "ltr"
}

// Text returns the text of key, or "" when the catalog has none. For a
// plural key it returns the "other" form.
func (c *Catalog) Text(key string) string {
	if s, ok := c.texts[key]; ok {
		return s
	}
	return c.texts[key+".other"]
}

// Plural returns the form of the plural text key that the language uses
// for the count n (CLDR cardinal rules), falling back to "other"; "" when
// the catalog has no such text.
func (c *Catalog) Plural(key string, n int) string {
	abs := n
	if abs < 0 {
		abs = -abs
	}
	// Operands of an integer: i = n, no visible fraction digits.
	f := plural.Cardinal.MatchPlural(c.tag, abs, 0, 0, 0, 0)
	if int(f) < len(forms) {
		if s, ok := c.texts[key+"."+forms[f]]; ok {
			return s
		}
	}
	return c.Text(key)
}

// Table returns the texts directly under prefix (e.g. "chat.topics"),
// keyed by their last segment. The map is the caller's.
func (c *Catalog) Table(prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range c.texts {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok && !strings.Contains(rest, ".") {
			out[rest] = v
		}
	}
	return out
}

// Set is the catalogs of every language citybot can speak. It is
// read-only once loaded and safe for concurrent use.
type Set struct {
	cats    map[string]*Catalog
	langs   []string // Reference first, then sorted
	matcher language.Matcher
}

// Embedded returns the shipped catalogs. It fails only if a shipped file
// is broken, which TestCompleteness rules out.
func Embedded() (*Set, error) { return Load("") }

// MustEmbedded is Embedded for callers that cannot handle the error of a
// broken build; it panics on one.
func MustEmbedded() *Set {
	s, err := Embedded()
	if err != nil {
		panic(err)
	}
	return s
}

// Load returns the shipped catalogs with the files of dir on top ("" for
// none). A file of dir is named after its language (de.toml, pt-BR.toml
// is an error: one file per language, "pt.toml"); other files are
// ignored. A file for a shipped language overrides the texts it holds; a
// file for a new language adds it, its missing texts falling back to
// English. Errors name the file and the key: a key English does not have,
// a text whose placeholders differ from English's, a value that is not a
// text, a file name that is not a language code.
func Load(dir string) (*Set, error) {
	s := &Set{cats: map[string]*Catalog{}}
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		return nil, fmt.Errorf("locale: %w", err)
	}
	var errs []error
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".toml")
		if !ok {
			continue
		}
		b, err := fs.ReadFile(embedded, e.Name())
		if err != nil {
			return nil, fmt.Errorf("locale: %w", err)
		}
		texts, err := parse(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("locale: %s: %w", e.Name(), err))
			continue
		}
		s.cats[lang] = &Catalog{lang: lang, tag: language.Make(lang), texts: texts}
	}
	if s.cats[Reference] == nil {
		return nil, errors.Join(append(errs, fmt.Errorf("locale: %s.toml is missing", Reference))...)
	}
	if dir != "" {
		errs = append(errs, s.overlay(dir)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ref := s.cats[Reference]
	for lang, c := range s.cats {
		if lang == Reference {
			continue
		}
		for k, v := range ref.texts { // a missing text falls back to English
			if _, ok := c.texts[k]; !ok && !hasPlural(c.texts, k) {
				c.texts[k] = v
			}
		}
	}
	s.langs = slices.Sorted(maps.Keys(s.cats))
	s.langs = slices.DeleteFunc(s.langs, func(l string) bool { return l == Reference })
	s.langs = append([]string{Reference}, s.langs...)
	tags := make([]language.Tag, len(s.langs))
	for i, l := range s.langs {
		tags[i] = s.cats[l].tag
	}
	s.matcher = language.NewMatcher(tags)
	return s, nil
}

// hasPlural tells whether texts holds another form of the plural text
// whose form key is k ("digest.thanks.one" when texts has
// "digest.thanks.other"): a language that needs fewer forms than English
// does not get English's.
func hasPlural(texts map[string]string, k string) bool {
	i := strings.LastIndexByte(k, '.')
	if i < 0 || !slices.Contains(forms, k[i+1:]) {
		return false
	}
	_, ok := texts[k[:i]+".other"]
	return ok
}

var fileLang = regexp.MustCompile(`^[a-z]{2,3}$`)

// overlay reads the city's files of dir on top of the catalogs.
func (s *Set) overlay(dir string) []error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return []error{fmt.Errorf("locale: locales_dir: %w", err)}
	}
	var errs []error
	ref := s.cats[Reference]
	for _, e := range entries {
		name := e.Name()
		lang, ok := strings.CutSuffix(name, ".toml")
		if !ok || e.IsDir() {
			continue
		}
		path := filepath.Join(dir, name)
		if !fileLang.MatchString(lang) {
			errs = append(errs, fmt.Errorf("locale: %s: the file name must be a language code like \"es.toml\"", path))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("locale: %w", err))
			continue
		}
		texts, err := parse(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("locale: %s: %w", path, err))
			continue
		}
		tag := language.Make(lang)
		if problems := Check(ref.texts, texts, tag, false); len(problems) > 0 {
			for _, p := range problems {
				errs = append(errs, fmt.Errorf("locale: %s: %s", path, p))
			}
			continue
		}
		c := s.cats[lang]
		if c == nil {
			c = &Catalog{lang: lang, tag: tag, texts: map[string]string{}}
			s.cats[lang] = c
		}
		for k := range texts {
			if i := strings.LastIndexByte(k, '.'); i >= 0 && slices.Contains(forms, k[i+1:]) && isPluralKey(ref.texts, k[:i]) {
				// A plural text replaces every form of the one below.
				for _, f := range forms {
					delete(c.texts, k[:i]+"."+f)
				}
			}
		}
		maps.Copy(c.texts, texts)
	}
	return errs
}

// parse reads one file into dotted keys.
func parse(b []byte) (map[string]string, error) {
	var raw map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(b)).Decode(&raw); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, m map[string]any) error
	walk = func(prefix string, m map[string]any) error {
		for k, v := range m {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			switch v := v.(type) {
			case string:
				out[key] = v
			case map[string]any:
				if err := walk(key, v); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s: want a text in quotes, got a %T", key, v)
			}
		}
		return nil
	}
	if err := walk("", raw); err != nil {
		return nil, err
	}
	return out, nil
}

// isPluralKey tells whether key is a plural text in ref (it has an
// "other" form and one more form, and no text of its own).
func isPluralKey(ref map[string]string, key string) bool {
	if _, ok := ref[key+".other"]; !ok {
		return false
	}
	for _, f := range forms[1:] {
		if _, ok := ref[key+"."+f]; ok {
			return true
		}
	}
	return false
}

var placeholder = regexp.MustCompile(`\{[a-z0-9_]+\}`)

// placeholders returns the sorted, distinct placeholders of s.
func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	slices.Sort(p)
	return slices.Compact(p)
}

// Check compares the texts of a language (tag) with the reference
// texts and returns its problems, sorted: a key the reference lacks, a
// text whose placeholders differ from the reference's (a plural form may
// leave some out, never add one), a plural form the language does not
// use, and, when complete is true, a reference key it lacks (for a
// plural text: a form its rules use for some count from 0 to 1000).
func Check(ref, texts map[string]string, tag language.Tag, complete bool) []string {
	var problems []string
	for k, v := range texts {
		refText, ok := ref[k]
		base, form := k, ""
		if i := strings.LastIndexByte(k, '.'); i >= 0 && isPluralKey(ref, k[:i]) {
			base, form = k[:i], k[i+1:]
		}
		switch {
		case form != "":
			if !slices.Contains(forms, form) {
				problems = append(problems, fmt.Sprintf("%s: %q is not a plural form (%s)", base, form, strings.Join(forms, ", ")))
				continue
			}
			if !slices.Contains(usedForms(tag), form) {
				problems = append(problems, fmt.Sprintf("%s: the language has no plural form %q", base, form))
				continue
			}
			allowed := placeholders(ref[base+".other"])
			for _, p := range placeholders(v) {
				if !slices.Contains(allowed, p) {
					problems = append(problems, fmt.Sprintf("%s.%s: placeholder %s is not one of English's %v", base, form, p, allowed))
				}
			}
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: unknown key (English has no such text)", k))
		case !slices.Equal(placeholders(v), placeholders(refText)):
			problems = append(problems, fmt.Sprintf("%s: placeholders %v, English has %v", k, placeholders(v), placeholders(refText)))
		}
	}
	if complete {
		for k := range ref {
			if i := strings.LastIndexByte(k, '.'); i >= 0 && isPluralKey(ref, k[:i]) {
				continue
			}
			if _, ok := texts[k]; !ok {
				problems = append(problems, fmt.Sprintf("%s: missing", k))
			}
		}
		seen := map[string]bool{}
		for k := range ref {
			i := strings.LastIndexByte(k, '.')
			if i < 0 || !isPluralKey(ref, k[:i]) || seen[k[:i]] {
				continue
			}
			seen[k[:i]] = true
			for _, f := range usedForms(tag) {
				if _, ok := texts[k[:i]+"."+f]; !ok {
					problems = append(problems, fmt.Sprintf("%s.%s: missing (the language uses this plural form)", k[:i], f))
				}
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// usedForms returns the plural forms tag's cardinal rules give to the
// counts 0 to 1000, "other" always among them.
func usedForms(tag language.Tag) []string {
	used := []string{"other"}
	for n := 0; n <= 1000; n++ {
		f := forms[plural.Cardinal.MatchPlural(tag, n, 0, 0, 0, 0)]
		if !slices.Contains(used, f) {
			used = append(used, f)
		}
	}
	return used
}

// Languages returns the codes of every catalog, English first, then in
// alphabetical order. The slice is the caller's.
func (s *Set) Languages() []string { return slices.Clone(s.langs) }

// Catalog returns the catalog of lang (a code as Languages gives), or nil.
func (s *Set) Catalog(lang string) *Catalog { return s.cats[lang] }

// Has tells whether lang has a catalog.
func (s *Set) Has(lang string) bool { return s.cats[lang] != nil }

// Match returns the language of the set that best fits a BCP 47 tag
// ("pt-BR", "es-419", "fr_CA", "EN"), among langs when langs is not
// empty, or "" when none does with at least high confidence (a German
// speaker is not answered in English by this match).
func (s *Set) Match(tag string, langs ...string) string {
	tag = strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")
	if tag == "" {
		return ""
	}
	t, err := language.Parse(tag)
	if err != nil {
		// a malformed tag may still start with a language ("pt-XX-!!")
		base, _, _ := strings.Cut(tag, "-")
		if t, err = language.Parse(base); err != nil {
			return ""
		}
	}
	m, cands := s.matcher, s.langs
	if len(langs) > 0 {
		cands = nil
		var tags []language.Tag
		for _, l := range langs {
			if c := s.cats[l]; c != nil {
				cands = append(cands, l)
				tags = append(tags, c.tag)
			}
		}
		if len(tags) == 0 {
			return ""
		}
		m = language.NewMatcher(tags)
	}
	_, i, conf := m.Match(t)
	if conf < language.High {
		return ""
	}
	// The matcher may offer a neighbour (English to a Swahili speaker in
	// Kenya); only the same language is an answer here.
	want, _ := t.Base()
	if got, _ := s.cats[cands[i]].tag.Base(); got != want {
		return ""
	}
	return cands[i]
}

// String is for logs: the languages of the set.
func (s *Set) String() string { return "locale.Set" + strconv.Quote(strings.Join(s.langs, ",")) }
