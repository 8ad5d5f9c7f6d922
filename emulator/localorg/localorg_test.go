package localorg

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/emulator"
	"github.com/sfbridge/sfbridge/keys"
)

func TestKeyPairIsReused(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, keyFile, _, err := LoadOrCreatePair(dir, "server", keys.CertificateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b, _, _, err := LoadOrCreatePair(dir, "server", keys.CertificateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Cert.Raw, b.Cert.Raw) || emulator.ConsumerKeyFor(a.Cert) != emulator.ConsumerKeyFor(b.Cert) {
		t.Error("second start generated a new pair; the client id would change")
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st.Mode(), err)
	}
	// An expired certificate is replaced.
	c, _, _, err := LoadOrCreatePair(dir, "server", keys.CertificateOptions{Now: a.Cert.NotAfter.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Cert.Raw, c.Cert.Raw) {
		t.Error("an expired certificate was reused")
	}
}

func TestStartServeShutdown(t *testing.T) {
	dir := t.TempDir()
	o, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", StateDir: dir, Sample: true})
	if err != nil {
		t.Fatal(err)
	}
	if o.Info.OrgID == "" || o.Info.ClientID == "" || o.Info.KeyFile != filepath.Join(dir, "server.key") || len(o.Info.Users) != 4 {
		t.Errorf("info %+v", o.Info)
	}
	if o.Org.Store().Count("Case") != 120 {
		t.Errorf("sample Cases: %d", o.Org.Store().Count("Case"))
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, o.Info.BaseURL+"/services/data", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("versions: %s", resp.Status)
	}
	if err := o.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(dir, "info.json")
	if err := WriteInfo(info, o.Info); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(info); st.Mode().Perm() != 0o600 {
		t.Errorf("info file mode %v", st.Mode().Perm())
	}
}
