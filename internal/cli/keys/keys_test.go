package keys

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sfbridge/sfbridge/internal/cli/exitcode"
	"github.com/sfbridge/sfbridge/internal/cli/factory"
	"github.com/sfbridge/sfbridge/internal/iostreams"
	libkeys "github.com/sfbridge/sfbridge/keys"
)

func newFactory(env map[string]string) (*factory.Factory, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	ios, in, out, errb := iostreams.Test()
	f := factory.New(ios, func(k string) string { return env[k] }, "test")
	f.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	return f, in, out, errb
}

func TestReadSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "pw")
	os.WriteFile(p, []byte("from file\r\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)

	cases := []struct {
		file, env, stdin, want string
		wantErr                string
	}{
		{file: p, env: "from env", want: "from file"},
		{env: "from env", want: "from env"},
		{want: ""},
		{file: "-", stdin: "from stdin\nsecond line", want: "from stdin"},
		{file: empty, wantErr: "is empty"},
		{file: filepath.Join(dir, "missing"), wantErr: "no such file"},
	}
	for _, tc := range cases {
		got, err := readSecret(strings.NewReader(tc.stdin), tc.file, tc.env, "X_ENV", "passphrase")
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: err %v, want %q", tc, err, tc.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%+v: got %q, %v", tc, got, err)
		}
	}
}

// The key can come from SFBRIDGE_JWT_KEY as base64 or with literal \n, and
// the secret never reaches the output.
func TestKeyFromEnvironment(t *testing.T) {
	t.Parallel()
	k, err := libkeys.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := libkeys.MarshalPrivateKeyPEM(k, libkeys.WriteOptions{Passphrase: []byte("env-pass"), KDFIterations: 1000})
	cert, _ := libkeys.NewSelfSignedCertificate(k, libkeys.CertificateOptions{Subject: "CN=env", Days: 0, Now: time.Now()})
	dir := t.TempDir()
	certPath := filepath.Join(dir, "c.crt")
	os.WriteFile(certPath, libkeys.MarshalCertificatesPEM(cert), 0o644)

	for name, v := range map[string]string{
		"base64":  base64.StdEncoding.EncodeToString(pemKey),
		"literal": strings.ReplaceAll(string(pemKey), "\n", `\n`),
	} {
		f, _, out, _ := newFactory(map[string]string{"SFBRIDGE_JWT_KEY": v, "SFBRIDGE_KEY_PASSWORD": "env-pass"})
		if err := runCheck(context.Background(), &CheckOptions{Env: envOf(f), CertFile: certPath}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(out.String(), "environment variable SFBRIDGE_JWT_KEY matches") || strings.Contains(out.String(), "env-pass") {
			t.Errorf("%s: output %q", name, out.String())
		}
	}
	f, _, _, _ := newFactory(nil)
	err = runCheck(context.Background(), &CheckOptions{Env: envOf(f), CertFile: certPath})
	if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "SFBRIDGE_JWT_KEY") {
		t.Fatalf("no key: %v (code %d)", err, exitcode.Of(err))
	}
}

func TestGenerateJSONUsesClock(t *testing.T) {
	t.Parallel()
	f, _, out, _ := newFactory(nil)
	dir := filepath.Join(t.TempDir(), "keys")
	opts := &GenerateOptions{Env: envOf(f), OutDir: dir, Name: "sf", Bits: 2048, Days: 10, Subject: "CN=clock"}
	opts.Out.JSON = true
	if err := runGenerate(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"not_after": "2026-01-12T03:04:05Z"`) {
		t.Fatalf("output %s", out.String())
	}
}

// A passphrase read from stdin (--password-file -) is read once: check and
// jwk with --cert must not read stdin a second time for the certificate.
func TestPassphraseFromStdinReadOnce(t *testing.T) {
	t.Parallel()
	k, err := libkeys.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := libkeys.MarshalPrivateKeyPEM(k, libkeys.WriteOptions{Passphrase: []byte("stdin-pass"), KDFIterations: 1000})
	cert, _ := libkeys.NewSelfSignedCertificate(k, libkeys.CertificateOptions{Subject: "CN=stdin", Days: 0, Now: time.Now()})
	dir := t.TempDir()
	keyPath, certPath := filepath.Join(dir, "k.key"), filepath.Join(dir, "c.crt")
	os.WriteFile(keyPath, pemKey, 0o600)
	os.WriteFile(certPath, libkeys.MarshalCertificatesPEM(cert), 0o644)

	f, in, out, _ := newFactory(nil)
	in.WriteString("stdin-pass\n")
	if err := runCheck(context.Background(), &CheckOptions{Env: envOf(f), KeyFile: keyPath, CertFile: certPath, Load: loadFlags{PasswordFile: "-"}}); err != nil {
		t.Fatalf("check: %v", err)
	}
	if strings.Contains(out.String(), "stdin-pass") {
		t.Errorf("check printed the passphrase: %s", out.String())
	}

	f, in, out, _ = newFactory(nil)
	in.WriteString("stdin-pass\n")
	if err := runJWK(context.Background(), &JWKOptions{Env: envOf(f), KeyFile: keyPath, CertFile: certPath, Kid: "k1", Load: loadFlags{PasswordFile: "-"}}); err != nil {
		t.Fatalf("jwk: %v", err)
	}
	if !strings.Contains(out.String(), `"x5c"`) || strings.Contains(out.String(), "stdin-pass") {
		t.Errorf("jwk output: %s", out.String())
	}
}
