package daemon

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"

	"github.com/sfbridge/sfbridge/internal/config"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/sftest"
)

// key.key_password_file opens a JKS entry whose key password differs from
// the store password (keytool -keypass ≠ -storepass), end to end.
func TestFromConfigOpensAJKSEntryWithItsOwnPassword(t *testing.T) {
	s := sftest.NewServer(t)
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := keys.ParseCertificates(s.CertPEM, "cert", keys.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ks := keystore.New()
	if err := ks.SetPrivateKeyEntry("sf_cert", keystore.PrivateKeyEntry{CreationTime: time.Now(), PrivateKey: der,
		CertificateChain: []keystore.Certificate{{Type: "X.509", Content: certs[0].Raw}}}, []byte("entry-pass")); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := ks.Store(&b, []byte("store-pass")); err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := config.KeySpec{File: write("provar.jks", b.Bytes()), PassphraseFile: write("store", []byte("store-pass\n")),
		KeystoreAlias: "sf_cert", KeyPasswordFile: write("entry", []byte("entry-pass\n"))}
	cfg := &config.Config{Listen: "127.0.0.1:0", Orgs: []config.Org{{Alias: "provar", ClientID: s.ClientID,
		Username: s.Username("integration"), LoginURL: s.URL, Audience: s.URL, Key: key}}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)

	noKeyPass := *cfg
	noKeyPass.Orgs = []config.Org{cfg.Orgs[0]}
	noKeyPass.Orgs[0].Key.KeyPasswordFile = ""
	if _, err := FromConfig(t.Context(), &noKeyPass, Env{Transport: tr}); err == nil {
		t.Fatal("the entry opened without its key password")
	}
	d, err := FromConfig(t.Context(), cfg, Env{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	runDaemon(t, d)
	waitFor(t, "the org to be ready", d.Ready)
}
