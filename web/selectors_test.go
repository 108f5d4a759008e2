package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// chromedpQueries are chromedp's actions whose first argument is an
// element selector.
var chromedpQueries = map[string]bool{
	"Query": true, "QueryAfter": true, "WaitReady": true, "WaitVisible": true, "WaitNotVisible": true,
	"WaitEnabled": true, "WaitSelected": true, "WaitNotPresent": true, "Nodes": true, "QueryNodeIDs": true,
	"Focus": true, "Blur": true, "Dimensions": true, "Text": true, "TextContent": true, "Clear": true,
	"Value": true, "SetValue": true, "Attributes": true, "AttributesAll": true, "SetAttributes": true,
	"AttributeValue": true, "SetAttributeValue": true, "RemoveAttribute": true, "JavascriptAttribute": true,
	"SetJavascriptAttribute": true, "OuterHTML": true, "InnerHTML": true, "Click": true, "Tap": true,
	"DoubleClick": true, "SendKeys": true, "SetUploadFiles": true, "Submit": true, "Reset": true,
	"ComputedStyle": true, "MatchedStyle": true, "ScrollIntoView": true, "DumpTo": true, "Dump": true,
	"Screenshot": true, "ScreenshotScale": true,
}

// TestBrowserSelectorsAreCSS: every element query of the browser tests
// names its selector as chromedp.CSS, CSSAll or ID. A plain string is a
// chromedp.Search (DOM.performSearch), which also matches plain text in
// attribute values: WaitVisible("h1") then found the hidden form-token
// input of a session whose random token held "h1" (or "H1") and waited
// forever for it to show, so about one session in fifty hung.
func TestBrowserSelectorsAreCSS(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	queries := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 || !isChromedp(call.Fun, chromedpQueries) {
				return true
			}
			queries++
			if arg, ok := call.Args[0].(*ast.CallExpr); !ok || !isChromedp(arg.Fun, map[string]bool{"CSS": true, "CSSAll": true, "ID": true}) {
				t.Errorf("%s: the selector is a plain-text search; wrap it in chromedp.CSS", fset.Position(call.Pos()))
			}
			return true
		})
	}
	if queries == 0 {
		t.Fatal("no chromedp query found: the check looks at nothing")
	}
}

// isChromedp reports whether fun is chromedp.X (or chromedp.X[T]) with X
// in names.
func isChromedp(fun ast.Expr, names map[string]bool) bool {
	switch f := fun.(type) {
	case *ast.IndexExpr:
		fun = f.X
	case *ast.IndexListExpr:
		fun = f.X
	}
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "chromedp" && names[sel.Sel.Name]
}
