package keys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInspectWarnings(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	k := testKey(t)
	expired, _ := NewSelfSignedCertificate(k, CertificateOptions{Subject: "CN=old", Days: 10, Now: now.AddDate(0, 0, -20)})
	expiring, _ := NewSelfSignedCertificate(k, CertificateOptions{Subject: "CN=soon", Days: 40, Now: now.AddDate(0, 0, -30)})
	fine, _ := NewSelfSignedCertificate(k, CertificateOptions{Subject: "CN=fine", Days: 0, Now: now})
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakPEM, _ := MarshalPrivateKeyPEM(weak, WriteOptions{})

	r, err := Inspect(MarshalCertificatesPEM(expired), "old.crt", LoadOptions{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(r, WarnExpired) || r.Certs[0].DaysLeft != -10 {
		t.Errorf("expired: %+v", r)
	}
	r, _ = Inspect(MarshalCertificatesPEM(expiring), "soon.crt", LoadOptions{}, now)
	if !hasWarning(r, WarnExpiring) || r.Certs[0].DaysLeft != 10 || hasWarning(r, WarnExpired) {
		t.Errorf("expiring: %+v", r)
	}
	r, _ = Inspect(MarshalCertificatesPEM(fine), "fine.crt", LoadOptions{}, now)
	if len(r.Warnings) != 0 || r.Certs[0].DaysLeft != DefaultDays || !r.Certs[0].SelfSigned || r.Certs[0].Subject != "CN=fine" {
		t.Errorf("fine: %+v", r)
	}
	r, _ = Inspect(weakPEM, "weak.key", LoadOptions{}, now)
	if !hasWarning(r, WarnWeakKey) || r.Key.Bits != 1024 || r.Kind != "private key" || r.KeyForm != "PKCS#8" {
		t.Errorf("weak: %+v", r)
	}
	// A key next to a certificate it does not match.
	mismatch := append(weakPEM, MarshalCertificatesPEM(fine)...)
	r, _ = Inspect(mismatch, "both.pem", LoadOptions{}, now)
	if r.Matches == nil || *r.Matches || !hasWarning(r, WarnMismatch) || r.Kind != "private key and certificate" {
		t.Errorf("mismatch: %+v", r)
	}
	// An encrypted key without its passphrase is described, not refused.
	enc, _ := MarshalPrivateKeyPEM(k, WriteOptions{Passphrase: []byte("pw-pw-pw"), KDFIterations: 1000})
	r, err = Inspect(enc, "enc.key", LoadOptions{}, now)
	if err != nil || !r.Encrypted || r.Key != nil || !hasWarning(r, WarnPassphraseNeeded) || r.KeyForm != "encrypted PKCS#8" {
		t.Errorf("encrypted: %+v %v", r, err)
	}
	r, err = Inspect(enc, "enc.key", LoadOptions{Passphrase: []byte("pw-pw-pw")}, now)
	if err != nil || r.Key == nil || r.Key.Bits != 2048 {
		t.Errorf("encrypted with passphrase: %+v %v", r, err)
	}
	_, err = Inspect(enc, "enc.key", LoadOptions{Passphrase: []byte("nope-nope")}, now)
	if !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	// JSON never carries key material.
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "pw-pw-pw") || strings.Contains(string(b), k.D.Text(16)[:16]) {
		t.Error("report JSON leaks a secret")
	}
}

func TestInspectFilePermissions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, keyPEM, certPEM := testPair(t, "CN=perm", 0, time.Now())
	keyPath := writeFile(t, dir, "k.key", keyPEM)
	certPath := writeFile(t, dir, "c.crt", certPEM)
	os.Chmod(keyPath, 0o644)
	os.Chmod(certPath, 0o644)
	r, err := InspectFile(keyPath, LoadOptions{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(r, WarnFilePermissions) {
		t.Errorf("no permission warning: %+v", r)
	}
	r, _ = InspectFile(certPath, LoadOptions{}, time.Now())
	if hasWarning(r, WarnFilePermissions) {
		t.Errorf("a certificate is public; no warning wanted: %+v", r)
	}
	os.Chmod(keyPath, 0o600)
	r, _ = InspectFile(keyPath, LoadOptions{}, time.Now())
	if hasWarning(r, WarnFilePermissions) {
		t.Errorf("0600 key warned: %+v", r)
	}
}

func TestWriteKeyPairRefusesOverwrite(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "new")
	k := testKey(t)
	c, _ := NewSelfSignedCertificate(k, CertificateOptions{Subject: "", Days: 0, Now: time.Now()})
	keyPath, certPath, err := WriteKeyPair(dir, "sf", k, c, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v", fi.Mode())
	}
	before, _ := os.ReadFile(keyPath)
	k2 := testKey(t)
	c2, _ := NewSelfSignedCertificate(k2, CertificateOptions{Subject: "", Days: 0, Now: time.Now()})
	_, _, err = WriteKeyPair(dir, "sf", k2, c2, WriteOptions{})
	wantErr(t, err, ErrExists, keyPath, "", "replace it deliberately")
	after, _ := os.ReadFile(keyPath)
	if string(before) != string(after) {
		t.Fatal("refused write changed the key")
	}
	if _, _, err := WriteKeyPair(dir, "sf", k2, c2, WriteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPrivateKeyFile(keyPath, LoadOptions{})
	if err != nil || !got.Equal(k2) {
		t.Fatalf("forced write: %v", err)
	}
	certs, _ := LoadCertificatesFile(certPath, LoadOptions{})
	if Match(k2, certs[0]) != nil {
		t.Fatal("forced write left the old certificate")
	}
	_, _, err = WriteKeyPair(dir, "sf", k, c2, WriteOptions{Force: true})
	if !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("writing a mismatched pair: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".."} {
		if _, _, err := WriteKeyPair(dir, bad, k, c, WriteOptions{}); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
}

func TestGenerateValidation(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{0, 1024, 2047, 8192} {
		if _, err := GenerateKey(bits); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("bits %d: %v", bits, err)
		}
	}
	k := testKey(t)
	if _, err := NewSelfSignedCertificate(k, CertificateOptions{Subject: "CN=x", Days: -1, Now: time.Now()}); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("negative days: %v", err)
	}
	for _, s := range []string{"X=1", "CN", "OU=only"} {
		if _, err := NewSelfSignedCertificate(k, CertificateOptions{Subject: s, Days: 1, Now: time.Now()}); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("subject %q: %v", s, err)
		}
	}
	n, err := ParseSubject(`CN=a\,b, O=Acme, C=DE`)
	if err != nil || n.CommonName != "a,b" || n.Organization[0] != "Acme" || n.Country[0] != "DE" {
		t.Fatalf("%+v %v", n, err)
	}
}

func TestMatchMismatch(t *testing.T) {
	t.Parallel()
	k1, k2 := testKey(t), testKey(t)
	c2, _ := NewSelfSignedCertificate(k2, CertificateOptions{Subject: "CN=other", Days: 0, Now: time.Now()})
	err := Match(k1, c2)
	fp1, _ := Fingerprint(&k1.PublicKey)
	fp2, _ := Fingerprint(&k2.PublicKey)
	wantErr(t, err, ErrKeyMismatch, "", "", fp1, fp2, "invalid assertion", "CN=other")
}

func TestJWK(t *testing.T) {
	t.Parallel()
	// RFC 7638 section 3.1 example.
	j := JWK{Kty: "RSA", E: "AQAB", N: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}
	pub, err := j.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if got := Thumbprint(pub); got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("thumbprint %s", got)
	}
	k := testKey(t)
	other := testKey(t)
	c, _ := NewSelfSignedCertificate(other, CertificateOptions{Subject: "CN=other", Days: 0, Now: time.Now()})
	if _, err := NewJWK(&k.PublicKey, "kid", []*x509.Certificate{c}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("JWK with a foreign certificate: %v", err)
	}
	jwk, err := NewJWK(&k.PublicKey, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if jwk.Kid != Thumbprint(&k.PublicKey) || jwk.Use != "sig" || jwk.X5c != nil {
		t.Fatalf("%+v", jwk)
	}
	b, _ := json.Marshal(JWKS{Keys: []JWK{*jwk}})
	set, err := ParseJWKS(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := set.Keys[0].PublicKey()
	if err != nil || !back.Equal(&k.PublicKey) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := ParseJWKS([]byte(`{"kty":"EC"}`)); err != nil {
		t.Fatalf("single JWK: %v", err)
	}
	if _, err := ParseJWKS([]byte(`[1,2]`)); !errors.Is(err, ErrUnrecognized) {
		t.Fatalf("garbage: %v", err)
	}
}
