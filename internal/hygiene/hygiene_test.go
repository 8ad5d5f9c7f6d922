package hygiene

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/help"
)

// moduleRoot is two directories up from this package.
const moduleRoot = "../.."

// goDirs returns every directory of the module holding non-test Go files,
// skipping testdata and the separate interop modules.
func goDirs(t *testing.T) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != moduleRoot && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			if path != moduleRoot {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestEveryPackageHasADocComment fails for a package none of whose files
// carries a package doc comment.
func TestEveryPackageHasADocComment(t *testing.T) {
	dirs := goDirs(t)
	if len(dirs) < 5 {
		t.Fatalf("found only %d packages; is moduleRoot right?", len(dirs))
	}
	for dir, files := range dirs {
		documented := false
		for _, f := range files {
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "" {
				documented = true
				break
			}
		}
		if !documented {
			t.Errorf("package in %s has no doc comment: add `// Package name ...` (or `// Command name ...`) above the package clause of one file", dir)
		}
	}
}

// TestEnvironmentTopicIsComplete fails when CLI code reads an environment
// variable that `sfbridge help environment` does not list.
func TestEnvironmentTopicIsComplete(t *testing.T) {
	var listed []string
	for _, v := range help.Environment() {
		for _, n := range strings.Split(v.Name, ",") {
			listed = append(listed, strings.TrimSpace(n))
		}
	}
	getenv := regexp.MustCompile(`(?:Getenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)`)
	for dir, files := range goDirs(t) {
		if !strings.Contains(filepath.ToSlash(dir), "internal/cli") && !strings.Contains(filepath.ToSlash(dir), "cmd/") {
			continue
		}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range getenv.FindAllStringSubmatch(string(src), -1) {
				if !slices.Contains(listed, m[1]) {
					t.Errorf("%s reads %s, which `sfbridge help environment` does not list (add it to help.Environment)", f, m[1])
				}
			}
		}
	}
}
