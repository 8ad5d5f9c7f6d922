package doctor

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil"
	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
)

func TestNewCmdFlags(t *testing.T) {
	login := cmdutil.LoginFlags{ClientID: "3MVG9abc", KeyFile: "salesforce.key", Username: "integration@acme.com"}
	cmdutiltest.TestFlags(t, NewCmd, []cmdutiltest.FlagCase[Options]{
		{Args: "", Want: Options{}},
		{Args: "-o acme --require servicedesk,eventlogs --json", Want: Options{Target: cmdutil.Target{Org: "acme"}, Require: []string{"servicedesk", "eventlogs"}, Output: output.Flags{JSON: true}}},
		{Args: "-i 3MVG9abc -f salesforce.key --username integration@acme.com --cert-file salesforce.crt", Want: Options{LoginFlags: login, CertFile: "salesforce.crt"}},
		{Args: "--client-id 3MVG9abc --jwt-key-file salesforce.key --username integration@acme.com -r https://acme.my.salesforce.com --audience https://login.salesforce.com --keystore-alias sf --keystore-password-file pw.txt",
			Want: Options{LoginFlags: cmdutil.LoginFlags{ClientID: "3MVG9abc", KeyFile: "salesforce.key", Username: "integration@acme.com",
				InstanceURL: "https://acme.my.salesforce.com", Audience: "https://login.salesforce.com", KeystoreAlias: "sf", KeystorePasswordFile: "pw.txt"}}},
		{Args: "-o dev --require messaging --messaging-user emp-1 --messaging-conversation --messaging-routing Topic=Payroll,UserId=emp-1",
			Want: Options{Target: cmdutil.Target{Org: "dev"}, Require: []string{"messaging"}, MessagingUser: "emp-1", MessagingConversation: true,
				MessagingRouting: map[string]string{"Topic": "Payroll", "UserId": "emp-1"}}},
		{Args: "--require messaging --messaging-profile acme", Want: Options{Require: []string{"messaging"}, MessagingProfile: "acme"}},
		{Args: "-o acme --messaging-conversation", WantErr: "the --messaging-* flags need --require messaging"},
		{Args: "--require knowledge", WantErr: `--require: unknown check group "knowledge"`},
		{Args: "-o acme --client-id 3MVG9abc --jwt-key-file k --username u", WantErr: "use either -o/--target-org or the login flags, not both"},
		{Args: "--client-id 3MVG9abc", WantErr: "the login flags need --client-id, --jwt-key-file and --username together"},
		{Args: "--csv", WantErr: "unknown flag: --csv"},
	})
}
