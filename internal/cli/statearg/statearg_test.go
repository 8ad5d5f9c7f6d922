package statearg

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	"github.com/sfbridge/sfbridge/keys"
	"github.com/sfbridge/sfbridge/state"
)

func newFactory(env map[string]string) *factory.Factory {
	ios, _, _, _ := iostreams.Test()
	return factory.New(ios, func(k string) string { return env[k] }, "test")
}

func TestResolveDefaultsToTheConfigDir(t *testing.T) {
	f := newFactory(map[string]string{"SFBRIDGE_CONFIG_DIR": "/cfg"})
	if u, err := (&Flag{}).Resolve(f); err != nil || u != "sqlite:/cfg/state.db" {
		t.Fatalf("default = %q, %v", u, err)
	}
	f = newFactory(map[string]string{"SFBRIDGE_CONFIG_DIR": "/cfg", EnvState: "postgres://db/x"})
	if u, _ := (&Flag{}).Resolve(f); u != "postgres://db/x" {
		t.Fatalf("from the environment = %q", u)
	}
	if u, _ := (&Flag{URL: "sqlite:x.db"}).Resolve(f); u != "sqlite:x.db" {
		t.Fatalf("flag = %q", u)
	}
}

func TestLoadStoredKey(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "state.db")
	master := make([]byte, 32)
	master[0] = 1
	keyFile := filepath.Join(dir, "master.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(master)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := keys.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	kr, _ := state.NewKeyring(master)
	sealed, err := kr.Seal("acme", state.KindPrivateKey, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "fp")
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.Open(ctx, url, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSecret(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	st.Close()

	got, err := LoadStoredKey(ctx, newFactory(map[string]string{EnvMasterKeyFile: keyFile}), url, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(k) {
		t.Fatal("the stored key differs from the imported one")
	}
	_, err = LoadStoredKey(ctx, newFactory(map[string]string{EnvMasterKeyFile: keyFile}), url, "globex")
	if !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("missing alias: err = %v, want ErrNotFound", err)
	}
	_, err = LoadStoredKey(ctx, newFactory(nil), url, "acme")
	if err == nil || !strings.Contains(err.Error(), "no master key") {
		t.Fatalf("without a master key: err = %v", err)
	}
	other := base64.StdEncoding.EncodeToString(make([]byte, 32))
	_, err = LoadStoredKey(ctx, newFactory(map[string]string{EnvMasterKey: other}), url, "acme")
	var se *state.SealError
	if !errors.As(err, &se) {
		t.Fatalf("with the wrong master key: err = %v, want SealError", err)
	}
}
