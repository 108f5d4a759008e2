package citybot_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
		// (bots/internal holds what their emulators share, without
		// either's types.)
		if strings.HasPrefix(to, "citybot/bots/") {
			other := strings.SplitN(strings.TrimPrefix(to, "citybot/bots/"), "/", 2)[0]
			if other != own && other != "internal" {
				return "adapters do not import each other"
			}
		}
	case under(from, "citybot/responder"), under(from, "citybot/web"), under(from, "citybot/casework"), under(from, "citybot/accountability"):
		if under(to, "citybot/store") || strings.HasPrefix(to, "citybot/bots/") {
			return "responder, casework, accountability and web use interfaces, not the concrete store or adapters"
		}
		if under(from, "citybot/responder") && (under(to, "citybot/casework") || under(to, "citybot/accountability")) {
			return "the pipeline (responder) is below the officers' actions (casework) and accountability, which build on its texts"
		}
		if under(from, "citybot/web") && (under(to, "citybot/casework") || under(to, "citybot/accountability")) {
			return "web declares the interfaces it needs (Officer, Digester…); cmd/citybot hands it the implementations"
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
		{"citybot/bots/telegram/tgemu", "citybot/bots/internal/answerhold", false},
		{"citybot/bots/discord/dcemu", "citybot/bots/telegram/tgemu", true},
		{"citybot/store", "citybot/cmd/citybot", true},
		{"citybot/locale", "golang.org/x/text/language", false},
		{"citybot/locale", "citybot", true},
		{"citybot/locale", "citybot/responder", true},
		{"citybot/bots/discord", "citybot/locale", false},
		{"citybot/responder", "citybot/locale", false},
		{"citybot/cmd/citybot", "citybot/store", false},
		{"citybot/grouping", "citybot/store", true},
		{"citybot/store", "citybot/grouping", false}, // the follow-up rule (grouping.FollowUpCase)
		{"citybot/responder", "citybot/grouping", false},
		{"citybot/grouping", "citybot/responder", true},
		{"citybot/grouping", "citybot", false},
		{"citybot/grouping", "database/sql", true},
		{"citybot/chart", "citybot", false},
		{"citybot/chart", "gonum.org/v1/plot/vg", false},
		{"citybot/chart", "citybot/locale", true},
		{"citybot/chart", "net/http", true},
		{"citybot/responder", "citybot/chart", false},
		{"citybot/accountability", "citybot/store", true},
		{"citybot/casework", "citybot/bots/discord", true},
		{"citybot/accountability", "citybot/responder", false},
		{"citybot/responder", "citybot/accountability", true},
		{"citybot/responder", "citybot/casework", true},
		{"citybot/web", "citybot/casework", true},
		{"citybot/cmd/citybot", "citybot/accountability", false},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			if got := forbidden(tt.from, tt.to) != ""; got != tt.bad {
				t.Errorf("forbidden(%q, %q) = %v, want %v", tt.from, tt.to, got, tt.bad)
			}
		})
	}
}

// TestOnlyCmdBuildsThePolicy holds that the city is built once: outside
// the tests, only cmd/citybot calls citybot.NewPolicy, and no other
// package writes a citybot.Policy literal (a zero Policy has no
// languages).
// Every other package is handed the Policy cmd/citybot built.
func TestOnlyCmdBuildsThePolicy(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		for _, bad := range policyBuilds(fset, f, filepath.ToSlash(filepath.Dir(path))) {
			t.Error(bad)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("found %d Go files; expected the whole module", files)
	}
}

// policyBuilds returns where the file f of the package in directory dir
// (relative to the module's root) builds a citybot.Policy outside
// cmd/citybot.
func policyBuilds(fset *token.FileSet, f *ast.File, dir string) []string {
	if dir == "cmd/citybot" {
		return nil
	}
	// The names the root package goes by in f ("" when f is in it).
	var names []string
	if dir == "." {
		names = append(names, "")
	}
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "citybot" {
			name := "citybot"
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	// rootName reports whether e names id of the root package.
	rootName := func(e ast.Expr, id string) bool {
		switch e := e.(type) {
		case *ast.Ident:
			return e.Name == id && slices.Contains(names, "")
		case *ast.SelectorExpr:
			x, ok := e.X.(*ast.Ident)
			return ok && e.Sel.Name == id && slices.Contains(names, x.Name)
		}
		return false
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if rootName(n.Fun, "NewPolicy") {
				out = append(out, fset.Position(n.Pos()).String()+": only cmd/citybot builds the city's policy (citybot.NewPolicy); take it as an option")
			}
		case *ast.CompositeLit:
			// The root package itself makes its Policy in NewPolicy.
			if n.Type != nil && rootName(n.Type, "Policy") && dir != "." {
				out = append(out, fset.Position(n.Pos()).String()+": a citybot.Policy literal; only cmd/citybot builds the policy, with citybot.NewPolicy")
			}
		}
		return true
	})
	return out
}

// The rule's check finds a policy built outside cmd/citybot, under any
// import name, and leaves cmd/citybot and mere uses alone.
func TestPolicyBuildsCheck(t *testing.T) {
	tests := []struct {
		dir, src string
		bad      int
	}{
		{"web", `package web
import "citybot"
func f() { p, _ := citybot.NewPolicy(citybot.PolicyConfig{}); _ = p }`, 1},
		{"responder", `package responder
import cb "citybot"
var zero = cb.Policy{}
func f(p *cb.Policy) string { return p.City() }`, 1},
		{"cmd/citybot", `package main
import "citybot"
func f() { citybot.NewPolicy(citybot.PolicyConfig{}) }`, 0},
		{".", `package citybot
func f() { NewPolicy(PolicyConfig{}) }
func g() *Policy { return &Policy{} }`, 1},
		{"web", `package web
import "citybot"
func f(p *citybot.Policy) []string { return p.Languages() }`, 0},
	}
	for _, tt := range tests {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", tt.src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if got := policyBuilds(fset, f, tt.dir); len(got) != tt.bad {
			t.Errorf("%s: %d findings %q, want %d", tt.dir, len(got), got, tt.bad)
		}
	}
}
