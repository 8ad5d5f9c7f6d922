package emulator

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"strings"
)

// ConsumerKeyFor derives a connected app's consumer key from the
// certificate it trusts, so an org restarted with the same key pair keeps
// its client id. It looks like Salesforce's: "3MVG9" and 80 letters,
// digits, '.' and '_'.
func ConsumerKeyFor(cert *x509.Certificate) string {
	a := sha256.Sum256(append([]byte("consumer-key/1"), cert.Raw...))
	b := sha256.Sum256(a[:])
	s := base64.RawURLEncoding.EncodeToString(append(a[:], b[:]...))
	s = strings.ReplaceAll(s, "-", ".")
	return "3MVG9" + s[:80]
}
