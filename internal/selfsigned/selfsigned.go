// Package selfsigned makes RSA key pairs with self-signed certificates for
// the emulator: the JWT signing pair its default app trusts and the TLS
// certificate it serves HTTPS with.
package selfsigned

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// Pair is a private key with its self-signed certificate.
type Pair struct {
	Key     *rsa.PrivateKey
	Cert    *x509.Certificate
	KeyPEM  []byte // PKCS#8 "PRIVATE KEY"
	CertPEM []byte
}

// Options shape the certificate.
type Options struct {
	Bits       int // default 2048
	CommonName string
	Days       int // default 365
	Now        time.Time
	// Hosts become subject alternative names (IP addresses or DNS names);
	// with hosts the certificate is a TLS server certificate.
	Hosts []string
}

// Generate makes a new key and self-signed certificate.
func Generate(opts Options) (*Pair, error) {
	bits := opts.Bits
	if bits == 0 {
		bits = 2048
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: generate RSA-%d key: %w", bits, err)
	}
	return Certify(key, opts)
}

// Certify makes a self-signed certificate for an existing key.
func Certify(key *rsa.PrivateKey, opts Options) (*Pair, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	days := opts.Days
	if days == 0 {
		days = 365
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("selfsigned: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: opts.CommonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Duration(days) * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	if len(opts.Hosts) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IsCA = true
		for _, h := range opts.Hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: parse certificate: %w", err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("selfsigned: encode key: %w", err)
	}
	return &Pair{
		Key:     key,
		Cert:    cert,
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// ConsumerKey derives a connected-app consumer key from a certificate, so
// that an emulator restarted with the same key pair keeps its client id.
// It looks like Salesforce's: "3MVG9" and 80 letters, digits, '.' and '_'.
func ConsumerKey(cert *x509.Certificate) string {
	a := sha256.Sum256(append([]byte("consumer-key/1"), cert.Raw...))
	b := sha256.Sum256(a[:])
	s := base64.RawURLEncoding.EncodeToString(append(a[:], b[:]...))
	s = strings.ReplaceAll(s, "-", ".")
	return "3MVG9" + s[:80]
}

// ParseKeyPEM reads a PKCS#8 or PKCS#1 RSA private key PEM.
func ParseKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("selfsigned: key is not PEM")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("selfsigned: parse PKCS#8 key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("selfsigned: key is %T, not RSA", k)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("selfsigned: PEM block %q is not a private key", block.Type)
	}
}

// ParseCertPEM reads a PEM certificate.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("selfsigned: not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
