package keys

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
)

// Fingerprint returns the SHA-256 of a public key's DER SubjectPublicKeyInfo
// as colon-separated upper-case hex, the same value as
// `openssl pkey -pubin -outform DER | openssl dgst -sha256 -c` (modulo case).
// It identifies a key pair without revealing anything secret.
func Fingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("keys: encode public key: %w", err)
	}
	return colonHex(sha256.Sum256(der)), nil
}

// CertificateFingerprint returns the SHA-256 of the certificate's DER, as
// `openssl x509 -noout -fingerprint -sha256` prints it.
func CertificateFingerprint(cert *x509.Certificate) string {
	return colonHex(sha256.Sum256(cert.Raw))
}

func colonHex(sum [32]byte) string {
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// Match reports whether cert carries key's public key. A mismatch returns an
// *Error wrapping ErrKeyMismatch with both fingerprints: it is what
// Salesforce reports as `invalid_grant: invalid assertion` when the
// connected app holds a different certificate than the signing key's.
func Match(key *rsa.PrivateKey, cert *x509.Certificate) error {
	if key == nil || cert == nil {
		return &Error{Err: ErrInvalidParameter, Found: "a missing key or certificate", Fix: "pass both"}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return &Error{Err: ErrKeyMismatch, Found: fmt.Sprintf("a certificate (subject %s) for a %s key", cert.Subject, describeKey(cert.PublicKey)),
			Fix: fixNeedRSA}
	}
	if key.PublicKey.Equal(pub) {
		return nil
	}
	kf, _ := Fingerprint(&key.PublicKey)
	cf, _ := Fingerprint(pub)
	return &Error{Err: ErrKeyMismatch,
		Found: fmt.Sprintf("key public-key SHA-256 %s but certificate (subject %s) public-key SHA-256 %s", kf, cert.Subject, cf),
		Fix: "Salesforce rejects such assertions with `invalid_grant: invalid assertion`: upload the certificate that was made with this key " +
			"to the connected app, or use the key that belongs to the uploaded certificate"}
}
