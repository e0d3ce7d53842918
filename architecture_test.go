package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/chatbot/chatbot/"

// layers is docs/architecture.md's picture as a rule: a package may import
// only packages of lower layers (never its own layer's, never a higher
// one's). A new package must be placed here, which is the moment to say
// where it belongs.
var layers = map[string]int{
	// 0: leaves, no imports of ours.
	"apperr": 0, "secret": 0, "llm": 0, "internal/netguard": 0, "client": 0,
	// 1: storage, HTTP helpers, text analysis, crawling.
	"store": 1, "httpapi": 1, "embed": 1, "crawl": 1,
	// 2: the knowledge base, the curated answers beside it, /metrics.
	"rag": 2, "faq": 2, "metrics": 2,
	// 3: the answering engine.
	"chat": 3,
	// 4: what the engine and the turn consult.
	"livechat": 4, "conversation": 4, "tools": 4,
	// 5: channels and management APIs over the turn and the stores.
	"webhook": 5, "widget": 5, "askapi": 5, "admin": 5, "insights": 5,
	// 6: the native platform adapters (channels that deliver through the
	// webhook package's queue and sender).
	"platform": 6,
	// 7: the wiring of one server, and the load tool.
	"internal/server": 7, "bench": 7,
	// 8: the command tree.
	"cmd": 8,
	// test support, imported only by tests
	"internal/ollamatest": 0, "httpapi/clientiptest": 0, "admin/browser": 9,
}

// TestNoPackageImportsOneAboveIt reads every package's imports (test files
// left out) and checks them against layers.
func TestNoPackageImportsOneAboveIt(t *testing.T) {
	imports := map[string]map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			return nil // main: imports cmd only
		}
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			if p, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), module); ok {
				imports[pkg][p] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		own, ok := layers[p]
		if !ok {
			t.Errorf("package %s has no layer: place it in architecture_test.go and docs/architecture.md", p)
			continue
		}
		for imp := range imports[p] {
			l, ok := layers[imp]
			switch {
			case !ok:
				t.Errorf("%s imports %s, which has no layer", p, imp)
			case l >= own:
				t.Errorf("%s (layer %d) imports %s (layer %d): a package imports only lower layers", p, own, imp, l)
			}
		}
	}
	if len(imports["client"]) != 0 {
		t.Errorf("client imports %v: the API client depends on nothing of the server", imports["client"])
	}
}
