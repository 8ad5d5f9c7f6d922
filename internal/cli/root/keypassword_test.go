package root

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"

	"github.com/sfbridge/sfbridge/keys"
)

// writeJKS writes the org's key as a JKS whose entry "sf_cert" has its own
// key password, as keytool -keypass ≠ -storepass makes.
func (e *cliEnv) writeJKS(storePass, keyPass string) string {
	e.t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(e.org.Key)
	if err != nil {
		e.t.Fatal(err)
	}
	certs, err := keys.ParseCertificates(e.org.CertPEM, "cert", keys.LoadOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	ks := keystore.New()
	entry := keystore.PrivateKeyEntry{CreationTime: time.Now(), PrivateKey: der,
		CertificateChain: []keystore.Certificate{{Type: "X.509", Content: certs[0].Raw}}}
	if err := ks.SetPrivateKeyEntry("sf_cert", entry, []byte(keyPass)); err != nil {
		e.t.Fatal(err)
	}
	var b bytes.Buffer
	if err := ks.Store(&b, []byte(storePass)); err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.keyDir, "provar.jks")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *cliEnv) writeFile(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.keyDir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// A JKS entry whose key password differs from the store password works for
// login, doctor and the commands after them, from files or the environment;
// without it the error names the flag and the variable.
func TestJKSWithItsOwnKeyPassword(t *testing.T) {
	o := newOrg(t)
	e := newCLIEnv(t, o)
	jks := e.writeJKS("store-pass", "entry-pass")
	storeFile, entryFile := e.writeFile("store.txt", "store-pass"), e.writeFile("entry.txt", "entry-pass")
	loginArgs := []string{"login", "--client-id", o.ClientID, "--jwt-key-file", jks, "--username", integration, "--instance-url", o.URL,
		"--keystore-password-file", storeFile}

	code, _, errOut := e.run(loginArgs...)
	if code != 1 || !strings.Contains(errOut, "--key-password-file") || !strings.Contains(errOut, "SFBRIDGE_KEY_ENTRY_PASSWORD") {
		t.Errorf("login without the key password: exit %d, want 1 naming --key-password-file and SFBRIDGE_KEY_ENTRY_PASSWORD:\n%s", code, errOut)
	}

	code, _, errOut = e.run(append(loginArgs, "--key-password-file", entryFile, "--alias", "provar")...)
	if code != 0 {
		t.Fatalf("login --key-password-file: exit %d: %s", code, errOut)
	}
	// The profile names the file (never the password) so later commands
	// open the key too.
	prof, _ := os.ReadFile(filepath.Join(e.dir, "profiles.json"))
	if !strings.Contains(string(prof), `"key_password_file": "`+entryFile+`"`) || strings.Contains(string(prof), "entry-pass\"") {
		t.Errorf("profile:\n%s", prof)
	}
	expireAll(t, o)
	if code, _, errOut := e.token("-o", "provar"); code != 0 {
		t.Errorf("token -o provar after expiry: exit %d: %s", code, errOut)
	}

	code, out, errOut := e.run("doctor", "--client-id", o.ClientID, "--jwt-key-file", jks, "--username", integration, "--instance-url", o.URL,
		"--keystore-password-file", storeFile, "--key-password-file", entryFile, "--json")
	var rep struct {
		Checks []struct {
			ID, Status string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	for _, c := range rep.Checks {
		if (strings.HasPrefix(c.ID, "key") || c.ID == "token") && c.Status != "pass" {
			t.Errorf("doctor check %s = %s, want pass\n%s", c.ID, c.Status, out)
		}
	}
	if len(rep.Checks) == 0 || rep.Checks[0].Status != "pass" {
		t.Errorf("doctor: first check %+v", rep.Checks)
	}

	// The environment variables help environment lists, instead of files.
	e.env = map[string]string{"SFBRIDGE_KEY_PASSWORD": "store-pass", "SFBRIDGE_KEY_ENTRY_PASSWORD": "entry-pass"}
	code, _, errOut = e.run("login", "--client-id", o.ClientID, "--jwt-key-file", jks, "--username", integration, "--instance-url", o.URL, "--alias", "env")
	if code != 0 {
		t.Fatalf("login with SFBRIDGE_KEY_PASSWORD and SFBRIDGE_KEY_ENTRY_PASSWORD: exit %d: %s", code, errOut)
	}
	expireAll(t, o)
	if code, _, errOut := e.token("-o", "env"); code != 0 {
		t.Errorf("token -o env with the variables: exit %d: %s", code, errOut)
	}
	code, out, _ = e.run("doctor", "--client-id", o.ClientID, "--jwt-key-file", jks, "--username", integration, "--instance-url", o.URL, "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Checks) == 0 || rep.Checks[0].Status != "pass" {
		t.Errorf("doctor with the variables: exit %d, %v\n%s", code, err, out)
	}
	for _, secret := range []string{"store-pass", "entry-pass"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("output shows the password %q", secret)
		}
	}
}

// An encrypted PEM without its passphrase names the flag and the variable.
func TestEncryptedKeyWithoutPassphraseNamesTheWay(t *testing.T) {
	o := newOrg(t)
	e := newCLIEnv(t, o)
	key := e.writeKey("enc.key", []byte("pem-pass"))
	code, _, errOut := e.run("login", "--client-id", o.ClientID, "--jwt-key-file", key, "--username", integration, "--instance-url", o.URL)
	if code != 1 || !strings.Contains(errOut, "--keystore-password-file") || !strings.Contains(errOut, "SFBRIDGE_KEY_PASSWORD") {
		t.Errorf("exit %d, want 1 naming --keystore-password-file and SFBRIDGE_KEY_PASSWORD:\n%s", code, errOut)
	}
	e.env = map[string]string{"SFBRIDGE_KEY_PASSWORD": "pem-pass"}
	if code, _, errOut := e.run("login", "--client-id", o.ClientID, "--jwt-key-file", key, "--username", integration, "--instance-url", o.URL); code != 0 {
		t.Errorf("login with SFBRIDGE_KEY_PASSWORD: exit %d: %s", code, errOut)
	}
}
