package citybot_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestImportRules holds the import rules of the project's style guide: it
// lists every package of the module with its imports and fails on each
// forbidden edge.
func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("go tool not found: %v", err)
	}
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps,TestImports", "./...")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	type pkg struct {
		ImportPath  string
		Imports     []string
		Deps        []string
		TestImports []string
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 2 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			if why := forbidden(p.ImportPath, imp); why != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
			}
		}
	}
}

// under reports whether pkg is path or below it.
func under(pkg, path string) bool { return pkg == path || strings.HasPrefix(pkg, path+"/") }

func isModule(imp string) bool { return under(imp, "citybot") }

// forbidden returns why the import edge from → to breaks a rule, or "".
func forbidden(from, to string) string {
	const sqliteDriver = "github.com/mattn/go-sqlite3"
	switch {
	case under(to, "citybot/cmd"):
		return "nothing imports cmd/..."
	case to == sqliteDriver && !under(from, "citybot/store"):
		return "only store imports the SQLite driver"
	}
	switch {
	case from == "citybot":
		if isModule(to) || to == "database/sql" || to == "net/http" || strings.Contains(to, ".") {
			return "the root package imports the standard library only, and not database/sql or net/http"
		}
	case under(from, "citybot/locale"):
		// Texts and language matching: shared by the adapters, the
		// responder and the web, it depends on none of them.
		if isModule(to) || to == "database/sql" || to == "net/http" {
			return "locale holds texts only: it imports nothing of the module, no database or network"
		}
	case under(from, "citybot/classifier"):
		for _, bad := range []string{"citybot/store", "citybot/bots", "citybot/responder", "citybot/web"} {
			if under(to, bad) {
				return "classifier is a pure package"
			}
		}
		if to == "database/sql" || to == "net/http" {
			return "classifier uses no database or network"
		}
	case under(from, "citybot/grouping"):
		// Grouping decides from domain values; the store is behind its
		// Source interface.
		for _, bad := range []string{"citybot/store", "citybot/bots", "citybot/classifier", "citybot/responder", "citybot/web"} {
			if under(to, bad) {
				return "grouping is a pure package: domain values in, a decision out"
			}
		}
		if to == "database/sql" || to == "net/http" {
			return "grouping uses no database or network"
		}
	case under(from, "citybot/chart"):
		// Drawing only: figures and words in, PNG out.
		if (isModule(to) && to != "citybot") || to == "database/sql" || to == "net/http" {
			return "chart draws figures it is given: it imports only the domain, no database or network"
		}
	case under(from, "citybot/store"):
		for _, bad := range []string{"citybot/bots", "citybot/classifier", "citybot/responder", "citybot/web"} {
			if under(to, bad) {
				return "store knows only the domain"
			}
		}
	case strings.HasPrefix(from, "citybot/bots/"):
		for _, bad := range []string{"citybot/store", "citybot/classifier", "citybot/responder", "citybot/web"} {
			if under(to, bad) {
				return "adapters translate; they do not store or decide"
			}
		}
		// one adapter never imports another
		own := strings.SplitN(strings.TrimPrefix(from, "citybot/bots/"), "/", 2)[0]
		if strings.HasPrefix(to, "citybot/bots/") {
			other := strings.SplitN(strings.TrimPrefix(to, "citybot/bots/"), "/", 2)[0]
			if other != own {
				return "adapters do not import each other"
			}
		}
	case under(from, "citybot/responder"), under(from, "citybot/web"):
		if under(to, "citybot/store") || strings.HasPrefix(to, "citybot/bots/") {
			return "responder and web use interfaces, not the concrete store or adapters"
		}
	}
	return ""
}

func TestForbiddenRules(t *testing.T) {
	tests := []struct {
		from, to string
		bad      bool
	}{
		{"citybot", "net/http", true},
		{"citybot", "time", false},
		{"citybot", "citybot/store", true},
		{"citybot/classifier", "citybot/store", true},
		{"citybot/classifier", "github.com/jdkato/prose/v2", false},
		{"citybot/store", "github.com/mattn/go-sqlite3", false},
		{"citybot/responder", "github.com/mattn/go-sqlite3", true},
		{"citybot/responder", "citybot/store", true},
		{"citybot/responder", "citybot/bots", false},
		{"citybot/web", "citybot/bots/telegram", true},
		{"citybot/bots/telegram", "citybot/bots", false},
		{"citybot/bots/telegram", "citybot/bots/discord", true},
		{"citybot/bots/telegram/emulator", "citybot/bots/telegram", false},
		{"citybot/store", "citybot/cmd/citybot", true},
		{"citybot/locale", "golang.org/x/text/language", false},
		{"citybot/locale", "citybot", true},
		{"citybot/locale", "citybot/responder", true},
		{"citybot/bots/discord", "citybot/locale", false},
		{"citybot/responder", "citybot/locale", false},
		{"citybot/cmd/citybot", "citybot/store", false},
		{"citybot/grouping", "citybot/store", true},
		{"citybot/grouping", "citybot", false},
		{"citybot/grouping", "database/sql", true},
		{"citybot/chart", "citybot", false},
		{"citybot/chart", "gonum.org/v1/plot/vg", false},
		{"citybot/chart", "citybot/locale", true},
		{"citybot/chart", "net/http", true},
		{"citybot/responder", "citybot/chart", false},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			if got := forbidden(tt.from, tt.to) != ""; got != tt.bad {
				t.Errorf("forbidden(%q, %q) = %v, want %v", tt.from, tt.to, got, tt.bad)
			}
		})
	}
}
