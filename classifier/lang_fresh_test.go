package classifier

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// langSet reads a language set: lines "lang<TAB>hint<TAB>text", # comments.
func langSet(t testing.TB, path string) [][3]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][3]string
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := strings.SplitN(line, "\t", 3)
		if len(p) != 3 {
			t.Fatalf("%s:%d: want 3 tab-separated fields", path, n+1)
		}
		out = append(out, [3]string{p[0], p[1], p[2]})
	}
	return out
}

// langScore is how a set came out: foreign lines said "other", lines in
// citybot's languages right, and the misses.
type langScore struct {
	foreign, foreignRight, own, ownRight int
	misses                               []string
}

func (s langScore) String() string {
	return fmt.Sprintf("foreign→other %d/%d, own languages right %d/%d, all %d/%d",
		s.foreignRight, s.foreign, s.ownRight, s.own, s.foreignRight+s.ownRight, s.foreign+s.own)
}

func scoreLangSet(c *Classifier, rows [][3]string) langScore {
	var s langScore
	for _, r := range rows {
		got := c.Classify(r[2], r[1]).Language
		ok := got == r[0]
		if r[0] == LangOther {
			s.foreign++
			if ok {
				s.foreignRight++
			}
		} else {
			s.own++
			if ok {
				s.ownRight++
			}
		}
		if !ok {
			s.misses = append(s.misses, fmt.Sprintf("  %s→%s %q", r[0], got, r[2]))
		}
	}
	return s
}

// TestLanguageTuning measures the sets the foreign rules were tuned on
// (testdata/lang_tune_foreign.tsv, with the foreign lines of
// lang_detect.tsv and lang_heldout.tsv) and the English shared data,
// which must stay English: it fails when fewer than 90% of the tuning
// foreign lines say "other" or more than 1% of the English lines do.
func TestLanguageTuning(t *testing.T) {
	c := newDefault(t)
	var foreign [][3]string
	for _, f := range []string{"testdata/lang_tune_foreign.tsv", "testdata/lang_detect.tsv", "testdata/lang_heldout.tsv"} {
		for _, r := range langSet(t, f) {
			if r[0] == LangOther {
				foreign = append(foreign, r)
			}
		}
	}
	s := scoreLangSet(c, foreign)
	t.Logf("tuning foreign lines: %s\n%s", s, strings.Join(s.misses, "\n"))
	if s.foreign < 70 || float64(s.foreignRight) < 0.9*float64(s.foreign) {
		t.Errorf("tuning foreign lines: %s", s)
	}
	if testing.Short() {
		return
	}
	n, other, notEn := 0, 0, 0
	var odd []string
	for _, name := range []string{"disaster_en.csv", "newport_en.csv"} {
		for _, text := range readShared(t, name).Column("text") {
			n++
			switch got := c.Classify(text, "").Language; got {
			case LangEnglish:
			case LangOther:
				other++
				odd = append(odd, fmt.Sprintf("  other %.100q", text))
			default:
				notEn++
			}
		}
	}
	t.Logf("English shared data: %d lines, %d said other, %d another language\n%s", n, other, notEn, strings.Join(odd, "\n"))
	if float64(other) > 0.01*float64(n) {
		t.Errorf("English shared data: %d of %d lines said other", other, n)
	}
}

// TestLanguageFresh measures testdata/lang_fresh.tsv (written before the
// foreign rules, whose lists then held words of its lines until they were
// taken out) and testdata/lang_fresh2.tsv (written after the detector was
// frozen), never tuned on, and prints the result; it fails only below
// floors against a regression (70% of foreign lines other, 90% of the six
// languages' lines right), not goals.
func TestLanguageFresh(t *testing.T) {
	c := newDefault(t)
	for _, f := range []string{"testdata/lang_fresh.tsv", "testdata/lang_fresh2.tsv"} {
		s := scoreLangSet(c, langSet(t, f))
		t.Logf("%s: %s\n%s", f, s, strings.Join(s.misses, "\n"))
		if s.foreign < 50 || s.own < 50 {
			t.Fatalf("%s: %d foreign and %d own lines, want 50 each at least", f, s.foreign, s.own)
		}
		if float64(s.foreignRight) < 0.7*float64(s.foreign) || float64(s.ownRight) < 0.9*float64(s.own) {
			t.Errorf("%s: %s", f, s)
		}
	}
}

// TestLanguageCityAddsForeign: a language a city adds with a lexicon file
// takes its words and letters out of the foreign votes, so German text is
// German, not other, once de.toml says what German looks like; without
// it, the same text is other.
func TestLanguageCityAddsForeign(t *testing.T) {
	const text = "Die Straße hat größere Löcher, gefährlich für Fußgänger"
	if got := newDefault(t).Classify(text, "").Language; got != LangOther {
		t.Fatalf("without a German lexicon: %s, want other", got)
	}
	dir := t.TempDir()
	de := "[language]\nscripts = [\"Latin\"]\nwords = [\"der\", \"die\", \"das\", \"und\", \"ist\", \"wir\", \"über\", \"wären\", \"für\", \"straße\", \"schön\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "de.toml"), []byte(de), 0o644); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.LexiconDir = dir
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Classify(text, "").Language; got != "de" {
		t.Errorf("with de.toml: %s, want de", got)
	}
	if got := c.Classify("Ælfred wrote from Århus: the street light is out", "").Language; got != LangEnglish {
		t.Errorf("English with two foreign names: %s, want en", got)
	}
}
