package keys

import (
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/cmdutil/cmdutiltest"
	"github.com/sfbridge/sfbridge/internal/output"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

func TestGenerateFlags(t *testing.T) {
	defaults := GenerateOptions{Name: "salesforce", Bits: 2048, Days: libkeys.DefaultDays, Subject: libkeys.DefaultSubject}
	custom := GenerateOptions{OutDir: "secrets", Name: "acme", Bits: 3072, Days: 30, Subject: "CN=acme-integration,O=Acme", PassphraseFile: "pass.txt", Force: true, Out: output.Flags{JSON: true}}
	withDir := defaults
	withDir.OutDir = "secrets"
	cmdutiltest.TestFlags(t, newGenerateCmd, []cmdutiltest.FlagCase[GenerateOptions]{
		{Args: "--out-dir secrets", Want: withDir},
		{ArgList: []string{"--out-dir", "secrets", "--name", "acme", "--bits", "3072", "--days", "30", "--subject", "CN=acme-integration,O=Acme",
			"--passphrase-file", "pass.txt", "--force", "--json"}, Want: custom},
		{Args: "", WantErr: `required flag(s) "out-dir" not set`},
		{Args: "--out-dir secrets --bits many", WantErr: `invalid argument "many" for "--bits"`},
		{Args: "--out-dir secrets --passphrase secret", WantErr: "unknown flag: --passphrase"},
	})
}

func TestInspectFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, newInspectCmd, []cmdutiltest.FlagCase[InspectOptions]{
		{Args: "", Want: InspectOptions{}},
		{Args: "salesforce.jks --alias sf --password-file pw.txt --key-password-file kpw.txt --json",
			Want: InspectOptions{File: "salesforce.jks", Load: loadFlags{Alias: "sf", PasswordFile: "pw.txt", KeyPasswordFile: "kpw.txt"}, Out: output.Flags{JSON: true}}},
		{Args: "a.key b.key", WantErr: "accepts at most 1 arg(s), received 2"},
	})
}

func TestCheckFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, newCheckCmd, []cmdutiltest.FlagCase[CheckOptions]{
		{Args: "--key salesforce.key --cert salesforce.crt", Want: CheckOptions{KeyFile: "salesforce.key", CertFile: "salesforce.crt"}},
		{Args: "--key salesforce.jks --password-file pw.txt --json", Want: CheckOptions{KeyFile: "salesforce.jks", Load: loadFlags{PasswordFile: "pw.txt"}, Out: output.Flags{JSON: true}}},
		{Args: "salesforce.key", WantErr: `unknown command "salesforce.key"`},
	})
}

func TestJWKFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, newJWKCmd, []cmdutiltest.FlagCase[JWKOptions]{
		{Args: "--key salesforce.key --kid moveworks-1", Want: JWKOptions{KeyFile: "salesforce.key", Kid: "moveworks-1"}},
		{Args: "--key salesforce.key --cert salesforce.crt --kid k1 --jwks --alias sf", Want: JWKOptions{KeyFile: "salesforce.key", CertFile: "salesforce.crt", Kid: "k1", Set: true, Load: loadFlags{Alias: "sf"}}},
		{Args: "--key salesforce.key --kid", WantErr: "flag needs an argument: --kid"},
	})
}

func TestConvertFlags(t *testing.T) {
	cmdutiltest.TestFlags(t, newConvertCmd, []cmdutiltest.FlagCase[ConvertOptions]{
		{Args: "--in salesforce.jks --out salesforce.key", Want: ConvertOptions{In: "salesforce.jks", Out: "salesforce.key", OutAlias: "salesforce"}},
		{Args: "--in k.key --cert k.crt --out k.jks --to jks --out-alias sf --passphrase-file p.txt --cert-out c.pem --force --alias src --password-file in.txt",
			Want: ConvertOptions{In: "k.key", CertFile: "k.crt", Out: "k.jks", To: "jks", OutAlias: "sf", PassphraseFile: "p.txt", CertOut: "c.pem", Force: true,
				Load: loadFlags{Alias: "src", PasswordFile: "in.txt"}}},
		{Args: "--in k.key", WantErr: `required flag(s) "out" not set`},
		{Args: "--in k.key --out k.pem --json", WantErr: "unknown flag: --json"},
	})
}
