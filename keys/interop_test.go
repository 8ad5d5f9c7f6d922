package keys

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The seed's command, verbatim apart from the subject: the pair a customer
// hands to a vendor.
func TestOpenSSLSeedPair(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run(t, dir, "openssl", "req", "-x509", "-sha256", "-nodes", "-days", "36500", "-newkey", "rsa:2048",
		"-keyout", "salesforce.key", "-out", "salesforce.crt", "-subj", "/CN=seed/O=Customer")
	k, err := LoadPrivateKeyFile(filepath.Join(dir, "salesforce.key"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := LoadCertificatesFile(filepath.Join(dir, "salesforce.crt"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Match(k, certs[0]); err != nil {
		t.Fatal(err)
	}
	r, err := InspectFile(filepath.Join(dir, "salesforce.crt"), LoadOptions{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "certificate" || r.Certs[0].DaysLeft < 36400 || r.Certs[0].Subject != "CN=seed,O=Customer" {
		t.Fatalf("report: %+v", r)
	}
	// Our fingerprint equals openssl's SHA-256 of the DER public key.
	run(t, dir, "openssl", "pkey", "-in", "salesforce.key", "-pubout", "-outform", "DER", "-out", "pub.der")
	dgst := run(t, dir, "openssl", "dgst", "-sha256", "-c", "pub.der")
	fp, _ := Fingerprint(&k.PublicKey)
	if !strings.Contains(strings.ToUpper(dgst), fp) {
		t.Errorf("fingerprint %s not in openssl's %q", fp, dgst)
	}
}

// Keys written by openssl in every encrypted form load with the passphrase
// and refuse a wrong one without revealing it.
func TestOpenSSLEncryptedForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const pass = "correct horse battery"
	writeFile(t, dir, "pass.txt", []byte(pass+"\n"))
	run(t, dir, "openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "plain.key")
	run(t, dir, "openssl", "req", "-x509", "-sha256", "-key", "plain.key", "-days", "365", "-subj", "/CN=interop", "-out", "plain.crt")
	run(t, dir, "openssl", "pkcs8", "-topk8", "-v2", "aes256", "-in", "plain.key", "-passout", "file:pass.txt", "-out", "pkcs8-aes256.key")
	run(t, dir, "openssl", "pkcs8", "-topk8", "-v2", "aes128", "-v2prf", "hmacWithSHA512", "-in", "plain.key", "-passout", "file:pass.txt", "-out", "pkcs8-aes128.key")
	run(t, dir, "openssl", "pkcs8", "-topk8", "-v2", "des3", "-in", "plain.key", "-passout", "file:pass.txt", "-out", "pkcs8-des3.key")
	run(t, dir, "openssl", "pkcs8", "-topk8", "-v2", "aes256", "-in", "plain.key", "-passout", "file:pass.txt", "-outform", "DER", "-out", "pkcs8-aes256.der")
	run(t, dir, "openssl", "rsa", "-aes256", "-traditional", "-in", "plain.key", "-passout", "file:pass.txt", "-out", "legacy-aes256.key")
	run(t, dir, "openssl", "rsa", "-des3", "-traditional", "-in", "plain.key", "-passout", "file:pass.txt", "-out", "legacy-des3.key")
	run(t, dir, "openssl", "rsa", "-traditional", "-in", "plain.key", "-out", "pkcs1.key")
	run(t, dir, "openssl", "rsa", "-in", "plain.key", "-outform", "DER", "-out", "pkcs1.der")
	run(t, dir, "openssl", "pkcs12", "-export", "-inkey", "plain.key", "-in", "plain.crt", "-name", "salesforce",
		"-passout", "file:pass.txt", "-out", "bundle.p12")
	files := []string{"pkcs8-aes256.key", "pkcs8-aes128.key", "pkcs8-des3.key", "pkcs8-aes256.der",
		"legacy-aes256.key", "legacy-des3.key", "bundle.p12"}
	// RC2/3DES PKCS#12 (what OpenSSL 1.x and older Java wrote) needs
	// OpenSSL 3's legacy provider, which some builds leave out.
	legacy := exec.Command("openssl", "pkcs12", "-export", "-inkey", "plain.key", "-in", "plain.crt", "-name", "salesforce",
		"-legacy", "-passout", "file:pass.txt", "-out", "legacy.p12")
	legacy.Dir = dir
	if out, err := legacy.CombinedOutput(); err != nil {
		t.Logf("openssl has no legacy provider; not testing an RC2 PKCS#12: %v\n%s", err, out)
	} else {
		files = append(files, "legacy.p12")
	}

	want, err := LoadPrivateKeyFile(filepath.Join(dir, "plain.key"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"pkcs1.key", "pkcs1.der"} {
		got, err := LoadPrivateKeyFile(filepath.Join(dir, f), LoadOptions{})
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range files {
		path := filepath.Join(dir, f)
		got, err := LoadPrivateKeyFile(path, LoadOptions{Passphrase: []byte(pass)})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%s: different key", f)
		}
		_, err = LoadPrivateKeyFile(path, LoadOptions{Passphrase: []byte("wrong horse battery")})
		wantErr(t, err, ErrWrongPassphrase, path, "wrong horse battery")
		_, err = LoadPrivateKeyFile(path, LoadOptions{})
		wantErr(t, err, ErrPassphraseRequired, path, "")
	}
	certs, err := LoadCertificatesFile(filepath.Join(dir, "bundle.p12"), LoadOptions{Passphrase: []byte(pass)})
	if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "interop" {
		t.Fatalf("p12 certs: %v %v", certs, err)
	}
	r, err := InspectFile(filepath.Join(dir, "bundle.p12"), LoadOptions{Passphrase: []byte(pass), Alias: "salesforce"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != "PKCS#12" || r.Alias != "salesforce" || r.Matches == nil || !*r.Matches || r.Key.Bits != 2048 {
		t.Fatalf("p12 report: %+v", r)
	}
	_, err = LoadPrivateKeyFile(filepath.Join(dir, "bundle.p12"), LoadOptions{Passphrase: []byte(pass), Alias: "other"})
	wantErr(t, err, ErrUnknownAlias, "bundle.p12", pass, "salesforce")
}

// An encrypted key sfbridge writes is one openssl reads with the passphrase.
func TestOpenSSLReadsOurEncryptedKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := testKey(t)
	enc, err := MarshalPrivateKeyPEM(k, WriteOptions{Passphrase: []byte("our passphrase"), KDFIterations: 2048})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "enc.key", enc)
	writeFile(t, dir, "pass.txt", []byte("our passphrase"))
	out := run(t, dir, "openssl", "rsa", "-in", "enc.key", "-passin", "file:pass.txt", "-noout", "-modulus")
	if got, want := strings.TrimSpace(out), fmt.Sprintf("Modulus=%X", k.N); got != want {
		t.Fatalf("openssl read modulus %q, want %q", got, want)
	}
	asn := run(t, dir, "openssl", "asn1parse", "-in", "enc.key")
	for _, want := range []string{"PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"} {
		if !strings.Contains(asn, want) {
			t.Errorf("asn1parse output lacks %s:\n%s", want, asn)
		}
	}
}

// A pair written by WriteKeyPair satisfies openssl: key and certificate have
// the same modulus, the certificate is SHA-256 RSA, and the JWK's n is the
// certificate's modulus.
func TestGeneratedPairSatisfiesOpenSSL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := testKey(t)
	cert, err := NewSelfSignedCertificate(k, CertificateOptions{Subject: "/CN=sfbridge-test/O=Vendor", Days: 0, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	keyPath, certPath, err := WriteKeyPair(dir, "salesforce", k, cert, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keyMod := strings.TrimSpace(run(t, dir, "openssl", "rsa", "-noout", "-modulus", "-in", keyPath))
	certMod := strings.TrimSpace(run(t, dir, "openssl", "x509", "-noout", "-modulus", "-in", certPath))
	if keyMod != certMod || !strings.HasPrefix(keyMod, "Modulus=") {
		t.Fatalf("modulus differs:\nkey  %s\ncert %s", keyMod, certMod)
	}
	text := run(t, dir, "openssl", "x509", "-noout", "-text", "-in", certPath)
	for _, want := range []string{"sha256WithRSAEncryption", "Public-Key: (2048 bit)", "CN = sfbridge-test", "O = Vendor"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl x509 -text lacks %q", want)
		}
	}
	enddate := run(t, dir, "openssl", "x509", "-noout", "-enddate", "-in", certPath)
	if wantYear := fmt.Sprint(time.Now().AddDate(0, 0, DefaultDays).Year()); !strings.Contains(enddate, wantYear) {
		t.Errorf("enddate %q, want year %s", enddate, wantYear)
	}
	jwk, err := NewJWK(&k.PublicKey, "kid-1", []*x509.Certificate{cert})
	if err != nil {
		t.Fatal(err)
	}
	n, err := base64.RawURLEncoding.DecodeString(jwk.N)
	if err != nil {
		t.Fatal(err)
	}
	if got := "Modulus=" + strings.ToUpper(new(big.Int).SetBytes(n).Text(16)); got != certMod {
		t.Fatalf("JWK n %s != certificate %s", got, certMod)
	}
	if jwk.E != "AQAB" || jwk.Kid != "kid-1" || jwk.Alg != "RS256" || len(jwk.X5c) != 1 {
		t.Fatalf("jwk: %+v", jwk)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode: %v %v", fi.Mode(), err)
	}
}

// Java keystores made by keytool: by alias, with a separate key password,
// several entries, and the errors a user meets.
func TestKeytoolJKS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	requireTool(t, "keytool")
	writeFile(t, dir, "p12pass.txt", []byte("p12-password"))
	run(t, dir, "openssl", "req", "-x509", "-sha256", "-nodes", "-days", "365", "-newkey", "rsa:2048",
		"-keyout", "sf.key", "-out", "sf.crt", "-subj", "/CN=provar")
	run(t, dir, "openssl", "pkcs12", "-export", "-inkey", "sf.key", "-in", "sf.crt", "-name", "sf_cert",
		"-passout", "file:p12pass.txt", "-out", "sf.p12")
	run(t, dir, "keytool", "-importkeystore", "-noprompt",
		"-srckeystore", "sf.p12", "-srcstoretype", "PKCS12", "-srcstorepass", "p12-password", "-srcalias", "sf_cert",
		"-destkeystore", "sf.jks", "-deststoretype", "JKS", "-deststorepass", "store-password",
		"-destalias", "SF_Cert", "-destkeypass", "entry-password")
	run(t, dir, "keytool", "-genkeypair", "-noprompt", "-storetype", "JKS", "-keystore", "multi.jks",
		"-storepass", "store-password", "-keypass", "store-password", "-alias", "first", "-keyalg", "RSA", "-keysize", "2048",
		"-dname", "CN=first", "-validity", "30")
	run(t, dir, "keytool", "-genkeypair", "-noprompt", "-storetype", "JKS", "-keystore", "multi.jks",
		"-storepass", "store-password", "-keypass", "store-password", "-alias", "second", "-keyalg", "EC", "-groupname", "secp256r1",
		"-dname", "CN=second", "-validity", "30")

	want, err := LoadPrivateKeyFile(filepath.Join(dir, "sf.key"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jks := filepath.Join(dir, "sf.jks")
	opts := LoadOptions{Passphrase: []byte("store-password"), KeyPassword: []byte("entry-password"), Alias: "sf_cert"}
	got, err := LoadPrivateKeyFile(jks, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Fatal("JKS key differs from the PEM key")
	}
	certs, err := LoadCertificatesFile(jks, opts)
	if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "provar" {
		t.Fatalf("JKS certs %v %v", certs, err)
	}

	_, err = LoadPrivateKeyFile(jks, LoadOptions{Passphrase: []byte("store-password"), KeyPassword: []byte("entry-password"), Alias: "nope"})
	wantErr(t, err, ErrUnknownAlias, jks, "entry-password", `"nope"`, "sf_cert")
	_, err = LoadPrivateKeyFile(jks, LoadOptions{Passphrase: []byte("wrong-store-pw")})
	wantErr(t, err, ErrWrongPassphrase, jks, "wrong-store-pw", "store password")
	_, err = LoadPrivateKeyFile(jks, LoadOptions{Passphrase: []byte("store-password")})
	wantErr(t, err, ErrWrongPassphrase, jks, "store-password", `"sf_cert"`, "key password")
	_, err = LoadPrivateKeyFile(jks, LoadOptions{})
	wantErr(t, err, ErrPassphraseRequired, jks, "")

	// A certificate-only entry: its certificate loads, its key does not.
	run(t, dir, "keytool", "-importcert", "-noprompt", "-keystore", "sf.jks", "-storetype", "JKS", "-storepass", "store-password",
		"-alias", "uploaded", "-file", "sf.crt")
	certs, err = LoadCertificatesFile(jks, LoadOptions{Passphrase: []byte("store-password"), Alias: "uploaded"})
	if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != "provar" {
		t.Fatalf("trusted entry certs %v %v", certs, err)
	}
	_, err = LoadPrivateKeyFile(jks, LoadOptions{Passphrase: []byte("store-password"), Alias: "uploaded"})
	wantErr(t, err, ErrUnknownAlias, jks, "", `entry "uploaded" holds only a certificate`, "sf_cert, uploaded")

	multi := filepath.Join(dir, "multi.jks")
	_, err = LoadPrivateKeyFile(multi, LoadOptions{Passphrase: []byte("store-password")})
	wantErr(t, err, ErrAliasRequired, multi, "", "first, second")
	if _, err := LoadPrivateKeyFile(multi, LoadOptions{Passphrase: []byte("store-password"), Alias: "FIRST"}); err != nil {
		t.Fatalf("alias is case-insensitive like keytool: %v", err)
	}
	_, err = LoadPrivateKeyFile(multi, LoadOptions{Passphrase: []byte("store-password"), Alias: "second"})
	wantErr(t, err, ErrNotRSA, multi, "", "EC P-256", "needs an RSA key")

	r, err := InspectFile(multi, LoadOptions{Passphrase: []byte("store-password")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != "JKS keystore" || strings.Join(r.Aliases, ",") != "first,second" || !hasWarning(r, WarnChooseAlias) || !hasWarning(r, WarnExpiring) {
		t.Fatalf("multi report: %+v", r)
	}
}

func hasWarning(r *Report, code string) bool {
	for _, w := range r.Warnings {
		if w.Code == code {
			return true
		}
	}
	return false
}

// Keystores sfbridge writes are read by keytool and openssl, and hold the
// same key and certificate.
func TestToolsReadOurKeystores(t *testing.T) {
	t.Parallel()
	requireTool(t, "keytool")
	dir := t.TempDir()
	k := testKey(t)
	cert, err := NewSelfSignedCertificate(k, CertificateOptions{Subject: "CN=ours", Days: 0, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	jks, err := MarshalJKS(k, []*x509.Certificate{cert}, "Salesforce_Cert", []byte("store-pass"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p12, err := MarshalPKCS12(k, []*x509.Certificate{cert}, []byte("store-pass"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "ours.jks", jks)
	writeFile(t, dir, "ours.p12", p12)
	writeFile(t, dir, "pass.txt", []byte("store-pass"))

	list := run(t, dir, "keytool", "-list", "-v", "-keystore", "ours.jks", "-storetype", "JKS", "-storepass", "store-pass")
	for _, want := range []string{"Keystore type: JKS", "Alias name: salesforce_cert", "Entry type: PrivateKeyEntry", "Owner: CN=ours"} {
		if !strings.Contains(list, want) {
			t.Errorf("keytool -list lacks %q:\n%s", want, list)
		}
	}
	// keytool re-exports the JKS entry to PKCS#12; openssl then extracts the key.
	run(t, dir, "keytool", "-importkeystore", "-noprompt", "-srckeystore", "ours.jks", "-srcstoretype", "JKS",
		"-srcstorepass", "store-pass", "-destkeystore", "via-keytool.p12", "-deststoretype", "PKCS12", "-deststorepass", "store-pass")
	for _, f := range []string{"ours.p12", "via-keytool.p12"} {
		run(t, dir, "openssl", "pkcs12", "-in", f, "-passin", "file:pass.txt", "-nodes", "-nocerts", "-out", f+".key")
		mod := strings.TrimSpace(run(t, dir, "openssl", "rsa", "-in", f+".key", "-noout", "-modulus"))
		if want := fmt.Sprintf("Modulus=%X", k.N); mod != want {
			t.Errorf("%s: openssl modulus %s, want %s", f, mod, want)
		}
		got, err := LoadPrivateKeyFile(filepath.Join(dir, f), LoadOptions{Passphrase: []byte("store-pass")})
		if err != nil || !got.Equal(k) {
			t.Errorf("%s: reload: %v", f, err)
		}
	}
	if _, err := MarshalJKS(k, []*x509.Certificate{cert}, "a", []byte("short"), time.Now()); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("short password: %v", err)
	}
	other := testKey(t)
	if _, err := MarshalPKCS12(other, []*x509.Certificate{cert}, []byte("store-pass")); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched chain: %v", err)
	}
}
