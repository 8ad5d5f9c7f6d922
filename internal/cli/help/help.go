// Package help holds the additional help topics of the CLI:
// `sfbridge help environment` and `sfbridge help exit-codes`.
package help

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
)

// EnvVar documents one environment variable the CLI reads.
type EnvVar struct {
	Name    string
	Meaning string
}

// Environment lists every environment variable the CLI reads. A test checks
// that every variable named in the CLI's code appears here.
func Environment() []EnvVar {
	return []EnvVar{
		{"SFBRIDGE_CONFIG_DIR", "Directory for profiles and the encrypted token cache (default: $XDG_CONFIG_HOME/sfbridge or ~/.config/sfbridge)."},
		{"SFBRIDGE_DEBUG", "Set to 1 to log debug output to stderr, like --debug."},
		{"XDG_CONFIG_HOME", "Base of the default configuration directory."},
		{"HOME", "Home directory, for the default configuration directory."},
		{"SFBRIDGE_JWT_KEY", "The JWT signing key itself (PEM, PEM with literal \\n, or base64), used by `keys` commands when no key file is given."},
		{"SFBRIDGE_KEY_PASSWORD", "Passphrase of an encrypted key, or the JKS/PKCS#12 store password, when no password file is given (--password-file for `keys`, --keystore-password-file for login and doctor, or one stored in the profile); read by `keys`, login, doctor and every command that opens a profile."},
		{"SFBRIDGE_KEY_ENTRY_PASSWORD", "Key password of a JKS entry when it differs from the store password and --key-password-file (or one stored in the profile) is not given; read by `keys`, login, doctor and every command that opens a profile."},
		{"SFBRIDGE_NEW_KEY_PASSPHRASE", "Passphrase for a key or keystore that `keys generate` or `keys convert` writes, when --passphrase-file is not given."},
		{"SFBRIDGE_STATE", "State store URL (sqlite:PATH or postgres://…) for `state` and `keys import|list|rotate-master` when --state is not given (default: sqlite:<config dir>/state.db)."},
		{"SFBRIDGE_MASTER_KEY_FILE", "File holding the master key that seals keys in the state store (32 bytes as base64 or hex), when --master-key-file is not given."},
		{"SFBRIDGE_MASTER_KEY", "The master key itself (base64 or hex), when neither --master-key-file nor SFBRIDGE_MASTER_KEY_FILE is given."},
		{"SFBRIDGE_PREVIOUS_MASTER_KEY_FILE", "File holding a second master key that still opens sealed keys during a rotation (see `keys rotate-master`)."},
		{"SFBRIDGE_PREVIOUS_MASTER_KEY", "The previous master key itself, when SFBRIDGE_PREVIOUS_MASTER_KEY_FILE is not given."},
		{"NO_COLOR", "Set to anything to turn off colour in terminal output."},
		{"TERM", "A value of \"dumb\" turns off colour."},
		{"COLUMNS", "Terminal width used to fit tables."},
		{"HTTPS_PROXY, HTTP_PROXY, NO_PROXY", "Proxy for requests to Salesforce, and the hosts that bypass it (standard Go semantics)."},
	}
}

func topic(use, short, long string) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: long}
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) {
		fmt.Fprint(c.OutOrStdout(), c.Long)
	})
	return cmd
}

// NewEnvironmentTopic returns the `environment` help topic.
func NewEnvironmentTopic(_ *factory.Factory) *cobra.Command {
	var b strings.Builder
	b.WriteString("Environment variables sfbridge reads:\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, v := range Environment() {
		fmt.Fprintf(tw, "  %s\t%s\n", v.Name, v.Meaning)
	}
	tw.Flush()
	b.WriteString("\nSecrets (passphrases, keystore passwords) are read from files named by flags or\nfrom the variables above, never from flag values, and are never printed.\n")
	return topic("environment", "Environment variables sfbridge reads", b.String())
}

// NewExitCodesTopic returns the `exit-codes` help topic.
func NewExitCodesTopic(_ *factory.Factory) *cobra.Command {
	var b strings.Builder
	b.WriteString("sfbridge exits with one of these codes:\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, e := range exitcode.Table() {
		fmt.Fprintf(tw, "  %d\t%s\n", e.Code, e.Meaning)
	}
	tw.Flush()
	b.WriteString(`
With --json a failure is printed on stdout as JSON in the Salesforce CLI's
error shape, with the same exit code:

  {"status": 3, "name": "AuthRefusedError", "message": "...", "exitCode": 3,
   "code": "invalid_grant", "context": "login", "commandName": "login",
   "actions": ["..."], "stack": "*auth.Error", "warnings": []}

name is UsageError (2), AuthRefusedError (3), UnreachableError (4),
CheckFailedError (5) or SfbridgeError (1); code is Salesforce's error code
when there is one, else the exit code; actions are the hints to fix it.
doctor --json prints its report instead.
`)
	return topic("exit-codes", "Exit codes and what they mean", b.String())
}
