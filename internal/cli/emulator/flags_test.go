package emulator

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
)

func TestNewCmdFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "--state-dir st", Want: Options{Addr: "127.0.0.1:8484", StateDir: "st"}},
		{Args: "--addr 127.0.0.1:0 --state-dir st --tls --fixture org.yaml --info-file emulator.json",
			Want: Options{Addr: "127.0.0.1:0", StateDir: "st", TLS: true, Fixture: "org.yaml", InfoFile: "emulator.json"}},
		{Args: "--state-dir st --port 1", WantErr: "unknown flag: --port"},
		{Args: "--state-dir st now", WantErr: `unknown command "now"`},
	})
}
