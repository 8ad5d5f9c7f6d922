package login

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	login := cmdutil.LoginFlags{ClientID: "3MVG9abc", KeyFile: "salesforce.key", Username: "integration@acme.com"}
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "--client-id 3MVG9abc --jwt-key-file salesforce.key --username integration@acme.com", Want: Options{LoginFlags: login}},
		// -o is --username here, as in `sf org login jwt`.
		{Args: "-i 3MVG9abc -f salesforce.key -o integration@acme.com -a acme -s --json", Want: Options{LoginFlags: login, Alias: "acme", SetDefault: true, Output: output.Flags{JSON: true}}},
		{Args: "-i 3MVG9abc -f salesforce.key -o integration@acme.com -r https://acme.my.salesforce.com --audience https://test.salesforce.com --keystore-alias sf --keystore-password-file pw.txt",
			Want: Options{LoginFlags: cmdutil.LoginFlags{ClientID: "3MVG9abc", KeyFile: "salesforce.key", Username: "integration@acme.com",
				InstanceURL: "https://acme.my.salesforce.com", Audience: "https://test.salesforce.com", KeystoreAlias: "sf", KeystorePasswordFile: "pw.txt"}}},
		{Args: "--jwt-key-file salesforce.key --username integration@acme.com", WantErr: "--client-id is required"},
		{Args: "--client-id 3MVG9abc --username integration@acme.com", WantErr: "--jwt-key-file is required"},
		{Args: "--client-id 3MVG9abc --jwt-key-file salesforce.key", WantErr: "--username is required"},
		{Args: "--client-id 3MVG9abc --jwt-key-file salesforce.key --username u --target-org acme", WantErr: "unknown flag: --target-org"},
	})
}
