package hygiene

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// libraryRoots are the importable library trees: other people's programs
// link them, so they must not pull in the CLI or the daemon's dependencies.
// The verticals' packages are listed before they exist so that they start
// under the rule.
var libraryRoots = []string{"auth", "keys", "rest", "doctor", "emulator", "sftest", "state", "eventlog", "messaging", "servicedesk", "sink"}

// forbidden are import-path prefixes no library package may depend on,
// directly or through another package, with the reason.
var forbidden = []struct{ prefix, why string }{
	{"github.com/sfbridge/sfbridge/internal/cli", "the CLI classifies library errors, not the other way round"},
	{"github.com/spf13/cobra", "the CLI framework belongs to the CLI"},
	{"github.com/prometheus/client_golang", "metrics belong to the daemon; expose a hook or a RoundTripper"},
}

// TestLibraryPackagesDependOnNoCLIOrMetrics checks every library package's
// transitive dependencies (go list -deps), which depguard, looking at one
// file's imports, cannot; and that auth and rest do not link x/oauth2,
// whose adapter lives in auth/oauth2adapter.
func TestLibraryPackagesDependOnNoCLIOrMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./...")
	cmd.Dir = moduleRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/sfbridge/sfbridge/"
	checked := 0
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || !isLibrary(strings.TrimPrefix(fields[0], module)) {
			continue
		}
		checked++
		pkg, deps := fields[0], fields[1:]
		for _, dep := range deps {
			for _, f := range forbidden {
				if dep == f.prefix || strings.HasPrefix(dep, f.prefix+"/") {
					t.Errorf("%s depends on %s: %s", pkg, dep, f.why)
				}
			}
			if (pkg == module+"auth" || pkg == module+"rest") && strings.HasPrefix(dep, "golang.org/x/oauth2") {
				t.Errorf("%s depends on %s: the x/oauth2 adapter belongs in auth/oauth2adapter", pkg, dep)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d library packages; is the list of roots right?", checked)
	}
}

func isLibrary(rel string) bool {
	for _, root := range libraryRoots {
		if rel == root || strings.HasPrefix(rel, root+"/") {
			return true
		}
	}
	return false
}

// TestTargetOrgFlagDeclaredOnce fails when a command declares
// -o/--target-org itself instead of through cmdutil.AddTargetOrgFlag, so
// that the flag's name, shorthand and help stay one.
func TestTargetOrgFlagDeclaredOnce(t *testing.T) {
	var places []string
	for dir, files := range goDirs(t) {
		if !strings.Contains(filepath.ToSlash(dir), "internal/cli") {
			continue
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), `"target-org"`) {
				places = append(places, filepath.ToSlash(f))
			}
		}
	}
	if len(places) != 1 || !strings.HasSuffix(places[0], "internal/cli/cmdutil/flags.go") {
		t.Errorf("--target-org is declared in %v; declare it only in internal/cli/cmdutil/flags.go (cmdutil.AddTargetOrgFlag)", places)
	}
}
