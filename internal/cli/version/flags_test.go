package version

import (
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "", Want: Options{}},
		{Args: "--json", Want: Options{Output: output.Flags{JSON: true}}},
		{Args: "--short", WantErr: "unknown flag: --short"},
	})
}

func TestRun(t *testing.T) {
	info := Info{Version: "v1.2.3", Commit: "abc123", Modified: true, GoVersion: "go1.26.0", Platform: "linux/amd64"}
	ios, _, out, _ := iostreams.Test()
	if err := write(&Options{IO: ios}, info); err != nil {
		t.Fatal(err)
	}
	want := "sfbridge v1.2.3\ncommit:   abc123 (modified)\ngo:       go1.26.0\nplatform: linux/amd64\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	out.Reset()
	if err := write(&Options{IO: ios, Output: output.Flags{JSON: true}}, Info{Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"version": "v1"`) {
		t.Errorf("JSON = %s", out.String())
	}
}
