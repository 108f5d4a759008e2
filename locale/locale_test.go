package locale

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/language"
)

// shipped are the languages citybot ships; a language file added or
// removed must change this list.
var shipped = []string{"ar", "en", "es", "fr", "pt", "sw"}

// TestCompleteness fails on any shipped file that lacks a text of
// en.toml, has a key en.toml lacks, or whose placeholders differ.
func TestCompleteness(t *testing.T) {
	names, err := fs.Glob(embedded, "*.toml")
	if err != nil {
		t.Fatal(err)
	}
	var langs []string
	for _, n := range names {
		langs = append(langs, strings.TrimSuffix(n, ".toml"))
	}
	if !slices.Equal(langs, shipped) {
		t.Errorf("shipped files %v, want %v", langs, shipped)
	}
	refBytes, _ := fs.ReadFile(embedded, "en.toml")
	ref, err := parse(refBytes)
	if err != nil {
		t.Fatalf("en.toml: %v", err)
	}
	if len(ref) < 80 {
		t.Fatalf("en.toml has %d texts; expected the whole catalog", len(ref))
	}
	for _, lang := range langs {
		t.Run(lang, func(t *testing.T) {
			b, _ := fs.ReadFile(embedded, lang+".toml")
			texts, err := parse(b)
			if err != nil {
				t.Fatalf("%s.toml: %v", lang, err)
			}
			for _, p := range Check(ref, texts, language.Make(lang), true) {
				t.Errorf("%s.toml: %s", lang, p)
			}
			for k, v := range texts {
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s.toml: %s is empty", lang, k)
				}
			}
			if texts["meta.dir"] != "ltr" && texts["meta.dir"] != "rtl" {
				t.Errorf("%s.toml: meta.dir = %q, want ltr or rtl", lang, texts["meta.dir"])
			}
		})
	}
}

// TestCheckFindsProblems makes sure the completeness check can fail.
func TestCheckFindsProblems(t *testing.T) {
	ref := map[string]string{"chat.ack": "Case {ref}.", "chat.help": "Help", "digest.n.one": "{n} case", "digest.n.other": "{n} cases"}
	texts := map[string]string{"chat.ack": "Caso {id}.", "chat.extra": "x", "digest.n.other": "{n} casos {ref}", "digest.n.two": "2"}
	got := strings.Join(Check(ref, texts, language.Spanish, true), "\n")
	for _, want := range []string{
		"chat.ack: placeholders [{id}], English has [{ref}]",
		"chat.extra: unknown key",
		"chat.help: missing",
		"digest.n.one: missing",
		"digest.n: the language has no plural form \"two\"",
		"digest.n.other: placeholder {ref} is not one of English's",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Check does not report %q; got:\n%s", want, got)
		}
	}
}

func TestMatch(t *testing.T) {
	s, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ tag, want string }{
		{"pt-BR", "pt"}, {"pt_PT", "pt"}, {"es-419", "es"}, {"es-MX", "es"}, {"fr-CA", "fr"}, {"EN-us", "en"},
		{"ar-EG", "ar"}, {"ar", "ar"}, {"sw-KE", "sw"}, {"sw", "sw"}, {"en-GB", "en"},
		{"de", ""}, {"de-AT", ""}, {"ru", ""}, {"zh-Hans", ""}, {"", ""}, {"!!", ""}, {"xx", ""},
	}
	for _, tt := range tests {
		if got := s.Match(tt.tag); got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.tag, got, tt.want)
		}
	}
	if got := s.Match("pt-BR", "en", "fr"); got != "" {
		t.Errorf("Match(pt-BR among en, fr) = %q, want \"\"", got)
	}
	if got := s.Match("fr-BE", "en", "fr"); got != "fr" {
		t.Errorf("Match(fr-BE among en, fr) = %q, want fr", got)
	}
}

func TestPlural(t *testing.T) {
	s, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	en, fr := s.Catalog("en"), s.Catalog("fr")
	if got := en.Plural("digest.thanks", 1); !strings.Contains(got, "citizen said") {
		t.Errorf("en 1: %q", got)
	}
	if got := en.Plural("digest.thanks", 0); !strings.Contains(got, "citizens said") {
		t.Errorf("en 0: %q", got)
	}
	if got := fr.Plural("digest.thanks", 0); !strings.Contains(got, "habitant a dit") {
		t.Errorf("fr 0 (singular in French): %q", got)
	}
	if ar := s.Catalog("ar"); ar != nil {
		two, few, many := ar.Plural("digest.thanks", 2), ar.Plural("digest.thanks", 5), ar.Plural("digest.thanks", 11)
		if two == few || few == many || two == many {
			t.Errorf("ar: 2, 5 and 11 share a form: %q %q %q", two, few, many)
		}
		if ar.Dir() != "rtl" {
			t.Errorf("ar dir %q", ar.Dir())
		}
	}
	if en.Dir() != "ltr" {
		t.Errorf("en dir %q", en.Dir())
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fr.toml", "[chat]\nack_new = \"Merci ! Dossier {ref}.\"\n[digest.thanks]\nother = \"Merci x {n}\"\n")
	write("de.toml", "[meta]\nname = \"Deutsch\"\n[chat]\nack_new = \"Danke. Fall {ref}.\"\n")
	write("notes.txt", "ignored")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Catalog("fr").Text("chat.ack_new"); got != "Merci ! Dossier {ref}." {
		t.Errorf("fr override: %q", got)
	}
	if got := s.Catalog("fr").Text("chat.ack_topic"); !strings.Contains(got, "Nous avons compris") {
		t.Errorf("fr kept text: %q", got)
	}
	if got := s.Catalog("fr").Plural("digest.thanks", 1); got != "Merci x {n}" {
		t.Errorf("fr plural replaced as a whole: %q", got)
	}
	de := s.Catalog("de")
	if de == nil || de.Name() != "Deutsch" || de.Text("chat.ack_new") != "Danke. Fall {ref}." {
		t.Fatalf("de added: %+v", de)
	}
	if got := de.Text("chat.help"); got != s.Catalog("en").Text("chat.help") {
		t.Errorf("de falls back to English: %q", got)
	}
	if got := s.Match("de-CH"); got != "de" {
		t.Errorf("Match(de-CH) = %q", got)
	}

	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "es.toml"), []byte("[chat]\nack_new = \"Caso {id}\"\nnope = \"x\"\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "pt-BR.toml"), []byte(""), 0o644)
	os.WriteFile(filepath.Join(bad, "it.toml"), []byte("[chat\n"), 0o644)
	_, err = Load(bad)
	if err == nil {
		t.Fatal("Load of broken files succeeded")
	}
	for _, want := range []string{"es.toml: chat.ack_new: placeholders", "es.toml: chat.nope: unknown key", "pt-BR.toml: the file name", "it.toml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("Load of a missing directory succeeded")
	}
}
