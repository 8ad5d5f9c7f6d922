package cmdutil

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/sfbridge/sfbridge/internal/profile"
	"github.com/sfbridge/sfbridge/rest"
)

// Target names the org a command works on.
type Target struct {
	// Org is the alias or username of a stored profile; empty is the
	// default org.
	Org string
	// APIVersion, like "66.0", pins the REST API version; empty uses the
	// highest the org offers.
	APIVersion string
}

// AddTargetOrgFlag registers -o/--target-org, the one declaration of the
// flag every command that works on a stored org shares.
func AddTargetOrgFlag(fs *pflag.FlagSet, t *Target) {
	fs.StringVarP(&t.Org, "target-org", "o", "", "Alias or username of the org (default: the default org)")
}

// AddTargetFlags registers -o/--target-org and --api-version, the flags of
// the commands that call the REST API.
func AddTargetFlags(fs *pflag.FlagSet, t *Target) {
	AddTargetOrgFlag(fs, t)
	fs.Var((*apiVersion)(&t.APIVersion), "api-version", "API version to use, like 66.0 (default: the highest the org offers)")
}

// apiVersion is the --api-version flag: a version checked as the flag is
// parsed, so a bad one is a usage error before anything runs.
type apiVersion string

func (v *apiVersion) String() string { return string(*v) }
func (v *apiVersion) Type() string   { return "version" }
func (v *apiVersion) Set(s string) error {
	if _, err := rest.ParseAPIVersion(s); err != nil {
		return fmt.Errorf("%q is not an API version like 66.0", s)
	}
	*v = apiVersion(s)
	return nil
}

// LoginFlags name an app, a user and a signing key for a JWT bearer login,
// with the flag names of `sf org login jwt`.
type LoginFlags struct {
	ClientID             string
	KeyFile              string
	Username             string
	InstanceURL          string
	Audience             string
	KeystoreAlias        string
	KeystorePasswordFile string
	KeyPasswordFile      string
}

// AddLoginFlags registers the login flags. usernameShorthand is "o" where
// -o means --username (as in `sf org login jwt`) and "" where -o is
// --target-org.
func AddLoginFlags(fs *pflag.FlagSet, l *LoginFlags, usernameShorthand string) {
	fs.StringVarP(&l.ClientID, "client-id", "i", "", "Consumer key of the Connected App or External Client App")
	fs.StringVarP(&l.KeyFile, "jwt-key-file", "f", "", "Private key or keystore whose certificate is uploaded to the app")
	fs.StringVarP(&l.Username, "username", usernameShorthand, "", "Username of the integration user")
	fs.StringVarP(&l.InstanceURL, "instance-url", "r", "", "Login URL: My Domain, sandbox or site URL (default https://login.salesforce.com)")
	fs.StringVar(&l.Audience, "audience", "", "Audience (aud) of the assertion; empty tries the usual ones")
	fs.StringVar(&l.KeystoreAlias, "keystore-alias", "", "Entry of a JKS or PKCS#12 keystore (default: its only key)")
	fs.StringVar(&l.KeystorePasswordFile, "keystore-password-file", "", "File holding the password of the keystore or encrypted key (env SFBRIDGE_KEY_PASSWORD)")
	fs.StringVar(&l.KeyPasswordFile, "key-password-file", "", "File holding a JKS entry's key password when it differs from the store password (env SFBRIDGE_KEY_ENTRY_PASSWORD)")
}

// Given reports whether any of the flags that name a login was set.
func (l LoginFlags) Given() bool { return l.ClientID != "" || l.KeyFile != "" || l.Username != "" }

// Missing returns the first required login flag that is empty, or "".
func (l LoginFlags) Missing() string {
	for _, r := range []struct{ flag, val string }{
		{"--client-id", l.ClientID}, {"--jwt-key-file", l.KeyFile}, {"--username", l.Username},
	} {
		if r.val == "" {
			return r.flag
		}
	}
	return ""
}

// KeySpec is the signing key the flags name.
func (l LoginFlags) KeySpec() profile.KeySpec {
	return profile.KeySpec{File: l.KeyFile, Alias: l.KeystoreAlias, PasswordFile: l.KeystorePasswordFile, KeyPasswordFile: l.KeyPasswordFile}
}
