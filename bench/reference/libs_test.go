package main

import (
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLibsLinksWhatMainLinks keeps the libs build honest: every package
// outside the standard library that the service's main imports must be
// imported by the reference too, by libs.go or by the reference's own
// main, or the libs build would carry fewer libraries than the service.
func TestLibsLinksWhatMainLinks(t *testing.T) {
	imports := func(path string) []string {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		var pkgs []string
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			// Standard library paths have no dot in their first element.
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				pkgs = append(pkgs, p)
			}
		}
		return pkgs
	}
	service := imports("../../main.go")
	reference := append(imports("libs.go"), imports("main.go")...)
	if len(service) == 0 {
		t.Fatal("main.go imports nothing outside the standard library: wrong file?")
	}
	for _, p := range service {
		if !slices.Contains(reference, p) {
			t.Errorf("main.go imports %s; the libs build does not", p)
		}
	}
}
