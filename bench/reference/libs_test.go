package main

import (
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLibsLinksWhatMainLinks keeps the libs build honest: it must link the
// same packages of this module as the service's main, or it would measure
// fewer libraries than the service carries.
func TestLibsLinksWhatMainLinks(t *testing.T) {
	ours := func(path string) []string {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		var pkgs []string
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/acme/totp/") {
				pkgs = append(pkgs, p)
			}
		}
		slices.Sort(pkgs)
		return pkgs
	}
	main, libs := ours("../../main.go"), ours("libs.go")
	if len(main) == 0 || !slices.Equal(main, libs) {
		t.Errorf("libs.go links %v; main.go links %v", libs, main)
	}
}
