package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"
)

func TestParsePrivateKeyForms(t *testing.T) {
	t.Parallel()
	k := testKey(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	der8, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der8})
	enc, err := MarshalPrivateKeyPEM(k, WriteOptions{Passphrase: []byte("s3cret pass"), KDFIterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(enc), "-----BEGIN ENCRYPTED PRIVATE KEY-----") {
		t.Fatalf("encrypted key starts %q", enc[:40])
	}
	literal := strings.ReplaceAll(strings.TrimSpace(string(pkcs1)), "\n", `\n`)
	oneLine := strings.ReplaceAll(string(pkcs8), "\n", " ")
	pass := LoadOptions{Passphrase: []byte("s3cret pass")}

	cases := []struct {
		name string
		data string
		opts LoadOptions
	}{
		{"PEM PKCS#1", string(pkcs1), LoadOptions{}},
		{"PEM PKCS#8", string(pkcs8), LoadOptions{}},
		{"DER PKCS#1", string(x509.MarshalPKCS1PrivateKey(k)), LoadOptions{}},
		{"DER PKCS#8", string(der8), LoadOptions{}},
		{"encrypted PKCS#8", string(enc), pass},
		{"literal backslash-n", literal, LoadOptions{}},
		{"literal backslash-n in quotes", `"` + literal + `"`, LoadOptions{}},
		{"CRLF", strings.ReplaceAll(string(pkcs1), "\n", "\r\n"), LoadOptions{}},
		{"single line", oneLine, LoadOptions{}},
		{"base64 of PEM", base64.StdEncoding.EncodeToString(pkcs1), LoadOptions{}},
		{"base64 of PEM wrapped", wrap(base64.StdEncoding.EncodeToString(pkcs8)), LoadOptions{}},
		{"base64 of DER", base64.StdEncoding.EncodeToString(der8), LoadOptions{}},
		{"base64 with literal backslash-n", strings.ReplaceAll(wrap(base64.StdEncoding.EncodeToString(pkcs1)), "\n", `\n`), LoadOptions{}},
		{"base64 of encrypted PEM", base64.StdEncoding.EncodeToString(enc), pass},
		{"key after certificate", string(MarshalCertificatesPEM(mustCert(t, k))) + string(pkcs8), LoadOptions{}},
	}
	for _, tc := range cases {
		got, err := ParsePrivateKey([]byte(tc.data), tc.name, tc.opts)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !got.Equal(k) {
			t.Errorf("%s: parsed a different key", tc.name)
		}
	}
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return b.String() + s + "\n"
}

func mustCert(t *testing.T, k *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	c, err := NewSelfSignedCertificate(k, CertificateOptions{Subject: "CN=test", Days: 0, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadPrivateKeyEnv(t *testing.T) {
	t.Parallel()
	k := testKey(t)
	pemKey, _ := MarshalPrivateKeyPEM(k, WriteOptions{})
	env := map[string]string{
		"RAW":    strings.ReplaceAll(string(pemKey), "\n", `\n`),
		"B64":    base64.StdEncoding.EncodeToString(pemKey),
		"EMPTY":  "",
		"GARBLE": "zzzz qqqq xxxx y",
	}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	for _, n := range []string{"RAW", "B64"} {
		got, err := LoadPrivateKeyEnv(lookup, n, LoadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if !got.Equal(k) {
			t.Errorf("%s: different key", n)
		}
	}
	_, err := LoadPrivateKeyEnv(lookup, "UNSET", LoadOptions{})
	wantErr(t, err, ErrEmpty, "environment variable UNSET", "", "not set")
	_, err = LoadPrivateKeyEnv(lookup, "EMPTY", LoadOptions{})
	wantErr(t, err, ErrEmpty, "environment variable EMPTY", "")
	_, err = LoadPrivateKeyEnv(lookup, "GARBLE", LoadOptions{})
	wantErr(t, err, ErrUnrecognized, "environment variable GARBLE", "zzzz", "16 bytes of text")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	k, keyPEM, certPEM := testPair(t, "CN=bad-input", 0, time.Now())
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecSEC1, _ := x509.MarshalECPrivateKey(ec)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(ed)
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	enc, _ := MarshalPrivateKeyPEM(k, WriteOptions{Passphrase: []byte("right-passphrase"), KDFIterations: 1000})
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k)

	cases := []struct {
		name      string
		data      []byte
		opts      LoadOptions
		sentinel  error
		fragments []string
	}{
		{"certificate as key", certPEM, LoadOptions{}, ErrNoPrivateKey, []string{"a certificate (subject CN=bad-input)", "upload"}},
		{"EC PKCS#8", pemOf("PRIVATE KEY", ecDER), LoadOptions{}, ErrNotRSA, []string{"EC P-256", "Salesforce's JWT bearer flow needs an RSA key"}},
		{"EC SEC1", pemOf("EC PRIVATE KEY", ecSEC1), LoadOptions{}, ErrNotRSA, []string{"EC P-256", "needs an RSA key"}},
		{"Ed25519", pemOf("PRIVATE KEY", edDER), LoadOptions{}, ErrNotRSA, []string{"Ed25519", "needs an RSA key"}},
		{"public key", pemOf("PUBLIC KEY", pubDER), LoadOptions{}, ErrNoPrivateKey, []string{"RSA 2048-bit public key", "cannot sign"}},
		{"RSA public key PKCS#1", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.PublicKey)), LoadOptions{}, ErrNoPrivateKey, []string{"public key"}},
		{"CSR", pemOf("CERTIFICATE REQUEST", csr), LoadOptions{}, ErrNoPrivateKey, []string{"certificate signing request"}},
		{"empty", nil, LoadOptions{}, ErrEmpty, nil},
		{"whitespace", []byte(" \n\t\n"), LoadOptions{}, ErrEmpty, nil},
		{"truncated PEM", keyPEM[:len(keyPEM)/2], LoadOptions{}, ErrTruncated, []string{`"PRIVATE KEY" block`, "END"}},
		{"truncated DER", x509.MarshalPKCS1PrivateKey(k)[:300], LoadOptions{}, ErrTruncated, []string{"DER"}},
		{"garbage text", []byte("hello, this is not a key"), LoadOptions{}, ErrUnrecognized, []string{"bytes of text"}},
		{"text starting with a zero", []byte("0123 not der at all"), LoadOptions{}, ErrUnrecognized, []string{"19 bytes of text"}},
		{"garbage binary", []byte{0x00, 0x01, 0x02, 0xff, 0x10}, LoadOptions{}, ErrUnrecognized, []string{"binary"}},
		{"encrypted without passphrase", enc, LoadOptions{}, ErrPassphraseRequired, []string{"encrypted PKCS#8"}},
		{"encrypted wrong passphrase", enc, LoadOptions{Passphrase: []byte("wrong-passphrase")}, ErrWrongPassphrase, []string{"encrypted PKCS#8"}},
		{"OpenSSH", []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"), LoadOptions{}, ErrUnsupported, []string{"ssh-keygen"}},
		{"JCEKS", []byte{0xce, 0xce, 0xce, 0xce, 0, 0, 0, 2}, LoadOptions{}, ErrUnsupported, []string{"JCEKS"}},
		{"damaged PEM body", pemOf("RSA PRIVATE KEY", []byte("not der")), LoadOptions{}, ErrTruncated, []string{"do not parse"}},
	}
	for _, tc := range cases {
		_, err := ParsePrivateKey(tc.data, tc.name+".pem", tc.opts)
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, err, tc.sentinel, tc.name+".pem", string(tc.opts.Passphrase), tc.fragments...)
		})
	}
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseCertificates(t *testing.T) {
	t.Parallel()
	k, keyPEM, certPEM := testPair(t, "CN=certs,O=Acme", 10, time.Now())
	for _, data := range [][]byte{certPEM, append(append([]byte{}, keyPEM...), certPEM...)} {
		certs, err := ParseCertificates(data, "x.pem", LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(certs) != 1 || certs[0].Subject.CommonName != "certs" || certs[0].Subject.Organization[0] != "Acme" {
			t.Fatalf("got %v", certs)
		}
		if err := Match(k, certs[0]); err != nil {
			t.Fatal(err)
		}
	}
	block, _ := pem.Decode(certPEM)
	certs, err := ParseCertificates(block.Bytes, "x.der", LoadOptions{})
	if err != nil || len(certs) != 1 {
		t.Fatalf("DER: %v %v", certs, err)
	}
	_, err = ParseCertificates(keyPEM, "only.key", LoadOptions{})
	wantErr(t, err, ErrNoCertificate, "only.key", "", "upload")
}

func TestParsePrivateKeyWithCertificates(t *testing.T) {
	t.Parallel()
	k, keyPEM, certPEM := testPair(t, "CN=both", 10, time.Now())
	got, certs, err := ParsePrivateKeyWithCertificates(append(append([]byte{}, keyPEM...), certPEM...), "both.pem", LoadOptions{})
	if err != nil || !got.Equal(k) || len(certs) != 1 || certs[0].Subject.CommonName != "both" {
		t.Fatalf("key and certificate: %v, %d certificates, %v", got != nil, len(certs), err)
	}
	got, certs, err = ParsePrivateKeyWithCertificates(keyPEM, "only.key", LoadOptions{})
	if err != nil || !got.Equal(k) || len(certs) != 0 {
		t.Fatalf("key alone: %v, %d certificates, %v", got != nil, len(certs), err)
	}
	_, _, err = ParsePrivateKeyWithCertificates(certPEM, "only.crt", LoadOptions{})
	wantErr(t, err, ErrNoPrivateKey, "only.crt", "", "certificate")
}
