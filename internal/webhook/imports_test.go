package webhook

import (
	"os/exec"
	"strings"
	"testing"
)

// The daemon imports this package and maps its Status and Observe to its
// health and metrics, so it must not import the daemon (a cycle), the CLI
// or the Prometheus client.
func TestDependsOnNoDaemonCLIOrMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for dep := range strings.Lines(string(out)) {
		dep = strings.TrimSpace(dep)
		for _, bad := range []string{"github.com/sfbridge/sfbridge/internal/daemon", "github.com/sfbridge/sfbridge/internal/cli", "github.com/prometheus/client_golang"} {
			if dep == bad || strings.HasPrefix(dep, bad+"/") {
				t.Errorf("internal/webhook depends on %s", dep)
			}
		}
	}
}
