package serve

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/emulator/localorg"
	"github.com/sfbridge/sfbridge/internal/botapi"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
)

// devBanner renders the banner for the default address, as the README
// shows it.
func devBanner(self string) string {
	base := "http://127.0.0.1:8421"
	info := Info{URL: base, ReadyURL: base + "/readyz", MetricsURL: base + "/metrics", OrgsURL: base + "/v1/orgs"}
	emu := &localorg.Org{Info: localorg.Info{BaseURL: "http://127.0.0.1:40000", OrgID: "00Dxx0000000001EAA", ClientID: "3MVG9x",
		KeyFile: "server.key", Users: map[string]string{"integration": "integration@sfbridge.test"}}}
	var b bytes.Buffer
	printDevBanner(&b, self, devBannerArgs{Info: info, StateDir: "/home/you/.config/sfbridge/dev", HandoffKey: "try-4242-17"}, emu, "info.json")
	return b.String()
}

// tryNext is the banner's "Try next" block, up to the line before "Press
// Ctrl-C".
func tryNext(t *testing.T, banner string) string {
	t.Helper()
	i := strings.Index(banner, "Try next")
	j := strings.Index(banner, "Press Ctrl-C")
	if i < 0 || j < i {
		t.Fatalf("banner has no Try next block:\n%s", banner)
	}
	return strings.TrimSpace(banner[i:j])
}

func TestDevBannerUnderGoRunPrintsGoRunCommandsAndHowToInstall(t *testing.T) {
	got := tryNext(t, devBanner(cmdutil.GoRun))
	for _, want := range []string{
		"\n  go run ./cmd/sfbridge doctor -o dev --require servicedesk,eventlogs\n",
		"\n  go run ./cmd/sfbridge query \"SELECT CaseNumber",
		"\n  go run ./cmd/sfbridge record create Case -o dev --values",
		"\n  go install ./cmd/sfbridge ",
		"in this repository",
		"\n  curl -N http://127.0.0.1:8421/v1/orgs/dev/events\n",
		"\n  ls -l /home/you/.config/sfbridge/dev/eventlogs\n",
		"\n  curl -N http://127.0.0.1:8421/v1/orgs/dev/handoffs/" + botapi.HandoffIDForKey("dev", "try-4242-17") + "/events\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("banner lacks %q:\n%s", want, got)
		}
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "  sfbridge ") {
			t.Errorf("banner under go run has a bare sfbridge command, which is not on PATH: %q", line)
		}
	}
}

func TestDevBannerWithSfbridgeOnPathUsesTheName(t *testing.T) {
	got := tryNext(t, devBanner("sfbridge"))
	if !strings.Contains(got, "\n  sfbridge doctor -o dev --require servicedesk,eventlogs\n") {
		t.Errorf("banner lacks the bare sfbridge doctor command:\n%s", got)
	}
	if strings.Contains(got, "go run") || strings.Contains(got, "go install") {
		t.Errorf("banner mentions go run or go install although sfbridge is installed:\n%s", got)
	}
}

// The README quotes the banner a `go run` reader sees; it must match it.
func TestREADMEQuotesTheDevBanner(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := tryNext(t, devBanner(cmdutil.GoRun))
	if !strings.Contains(string(readme), block) {
		t.Errorf("README.md does not quote the banner's Try next block exactly; it should contain:\n%s", block)
	}
}
