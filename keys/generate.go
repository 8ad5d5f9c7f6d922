package keys

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sfbridge/sfbridge/internal/clock"
)

// DefaultDays is the certificate validity SelfSignedCertificate uses when
// days is 0: the 100 years of the vendors' `openssl req -days 36500`.
const DefaultDays = 36500

// DefaultSubject is the certificate subject used when none is given.
const DefaultSubject = "CN=sfbridge"

// GenerateKey returns a new RSA key of 2048, 3072 or 4096 bits.
func GenerateKey(bits int) (*rsa.PrivateKey, error) {
	switch bits {
	case 2048, 3072, 4096:
	default:
		return nil, &Error{Err: ErrInvalidParameter, Found: fmt.Sprintf("a key size of %d bits", bits),
			Fix: "choose 2048, 3072 or 4096 bits"}
	}
	return rsa.GenerateKey(rand.Reader, bits)
}

// SelfSignedCertificate returns a self-signed SHA-256 RSA certificate for
// key, valid from now for days days (0 means DefaultDays), with subject in
// the form "CN=name,O=org" or openssl's "/CN=name/O=org" (empty means
// DefaultSubject). It is the certificate to upload to a connected app.
func SelfSignedCertificate(key *rsa.PrivateKey, subject string, days int, now time.Time) (*x509.Certificate, error) {
	return NewSelfSignedCertificate(key, CertificateOptions{Subject: subject, Days: days, Now: now})
}

// CertificateOptions shape a self-signed certificate.
type CertificateOptions struct {
	// Subject as "CN=name,O=org" or "/CN=name/O=org"; empty means
	// DefaultSubject.
	Subject string
	// Days of validity; 0 means DefaultDays.
	Days int
	// Now is the start of validity; zero means the current time.
	Now time.Time
	// Backdate moves the start of validity earlier, for peers whose clocks
	// run slightly behind.
	Backdate time.Duration
	// Hosts (IP addresses or DNS names) make it a TLS server certificate
	// for those names.
	Hosts []string
}

// NewSelfSignedCertificate returns a self-signed SHA-256 RSA certificate for
// key as opts say.
func NewSelfSignedCertificate(key *rsa.PrivateKey, opts CertificateOptions) (*x509.Certificate, error) {
	if key == nil {
		return nil, &Error{Err: ErrInvalidParameter, Found: "no key", Fix: "pass the key the certificate is for"}
	}
	days := opts.Days
	if days == 0 {
		days = DefaultDays
	}
	if days < 0 {
		return nil, &Error{Err: ErrInvalidParameter, Found: fmt.Sprintf("a validity of %d days", days), Fix: "give a positive number of days"}
	}
	subject := opts.Subject
	if subject == "" {
		subject = DefaultSubject
	}
	name, err := ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = clock.Real().Now()
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	serial.Add(serial, big.NewInt(1))
	start := now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		Issuer:                name,
		NotBefore:             start.Add(-opts.Backdate),
		NotAfter:              start.AddDate(0, 0, days),
		SignatureAlgorithm:    x509.SHA256WithRSA,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if len(opts.Hosts) > 0 {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
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
		return nil, fmt.Errorf("keys: create certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Pair is a private key with its self-signed certificate and both their
// PEM encodings (PKCS#8 "PRIVATE KEY" and "CERTIFICATE").
type Pair struct {
	Key             *rsa.PrivateKey
	Cert            *x509.Certificate
	KeyPEM, CertPEM []byte
}

// NewPair certifies key as opts say; a nil key is generated (2048 bits).
func NewPair(key *rsa.PrivateKey, opts CertificateOptions) (*Pair, error) {
	if key == nil {
		var err error
		if key, err = GenerateKey(2048); err != nil {
			return nil, err
		}
	}
	cert, err := NewSelfSignedCertificate(key, opts)
	if err != nil {
		return nil, err
	}
	keyPEM, err := MarshalPrivateKeyPEM(key, WriteOptions{})
	if err != nil {
		return nil, err
	}
	return &Pair{Key: key, Cert: cert, KeyPEM: keyPEM, CertPEM: MarshalCertificatesPEM(cert)}, nil
}

// ParseSubject parses a distinguished name written as "CN=a,O=b" or
// "/CN=a/O=b". It knows CN, O, OU, C, ST, L, STREET, POSTALCODE and
// SERIALNUMBER; a comma inside a value is written as `\,`.
func ParseSubject(s string) (pkix.Name, error) {
	var n pkix.Name
	bad := func(found string) (pkix.Name, error) {
		return pkix.Name{}, &Error{Err: ErrInvalidParameter, Found: found,
			Fix: `write the subject as "CN=name,O=organisation" (CN, O, OU, C, ST, L, STREET, POSTALCODE, SERIALNUMBER)`}
	}
	var parts []string
	if strings.HasPrefix(s, "/") {
		parts = strings.Split(s[1:], "/")
	} else {
		parts = splitUnescaped(s, ',')
	}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return bad(fmt.Sprintf("the subject part %q without a value", p))
		}
		switch k {
		case "CN":
			n.CommonName = v
		case "O":
			n.Organization = append(n.Organization, v)
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "C":
			n.Country = append(n.Country, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "STREET":
			n.StreetAddress = append(n.StreetAddress, v)
		case "POSTALCODE":
			n.PostalCode = append(n.PostalCode, v)
		case "SERIALNUMBER":
			n.SerialNumber = v
		default:
			return bad(fmt.Sprintf("the unknown subject attribute %q", k))
		}
	}
	if n.CommonName == "" && len(n.Organization) == 0 {
		return bad("a subject without CN or O")
	}
	return n, nil
}

func splitUnescaped(s string, sep byte) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == sep:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(parts, cur.String())
}

// WriteOptions controls how WriteKeyPair and MarshalPrivateKeyPEM write a key.
type WriteOptions struct {
	// Passphrase, when set, encrypts the key as PKCS#8 with PBES2
	// (PBKDF2-HMAC-SHA256, AES-256-CBC), which openssl and every JWT
	// library that reads encrypted PKCS#8 accept.
	Passphrase []byte
	// KDFIterations is the PBKDF2 iteration count; 0 means DefaultKDFIterations.
	KDFIterations int
	// Force replaces existing files; without it WriteKeyPair refuses.
	Force bool
}

// MarshalPrivateKeyPEM encodes key as a PKCS#8 PEM ("PRIVATE KEY"), or as an
// encrypted PKCS#8 PEM ("ENCRYPTED PRIVATE KEY") when opts.Passphrase is set.
func MarshalPrivateKeyPEM(key *rsa.PrivateKey, opts WriteOptions) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("keys: encode key: %w", err)
	}
	defer clear(der)
	if len(opts.Passphrase) == 0 {
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	enc, err := encryptPKCS8(der, opts.Passphrase, opts.KDFIterations)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: enc}), nil
}

// MarshalCertificatesPEM encodes certificates as consecutive PEM
// "CERTIFICATE" blocks.
func MarshalCertificatesPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// WriteKeyPair writes key to dir/name.key (mode 0600; PKCS#8 PEM, encrypted
// when opts.Passphrase is set) and cert to dir/name.crt (mode 0644), creating
// dir (mode 0700) if needed. It refuses to replace an existing file unless
// opts.Force is set. With a nil cert only the key is written and certPath
// is empty. Each file is written to a temporary file and renamed into place.
func WriteKeyPair(dir, name string, key *rsa.PrivateKey, cert *x509.Certificate, opts WriteOptions) (keyPath, certPath string, err error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return "", "", &Error{Err: ErrInvalidParameter, Found: fmt.Sprintf("the file name %q", name),
			Fix: "give a plain name without directories, such as salesforce"}
	}
	if key == nil {
		return "", "", &Error{Err: ErrInvalidParameter, Found: "no key", Fix: "pass the key to write"}
	}
	if cert != nil {
		if err := Match(key, cert); err != nil {
			return "", "", err
		}
	}
	keyPath = filepath.Join(dir, name+".key")
	if cert != nil {
		certPath = filepath.Join(dir, name+".crt")
	}
	if !opts.Force {
		for _, p := range []string{keyPath, certPath} {
			if p == "" {
				continue
			}
			if _, err := os.Lstat(p); err == nil {
				return "", "", &Error{Name: p, Err: ErrExists,
					Fix: "choose another name or directory, or replace it deliberately (replacing a key breaks every integration that still uses the old one)"}
			}
		}
	}
	keyPEM, err := MarshalPrivateKeyPEM(key, opts)
	if err != nil {
		return "", "", err
	}
	defer clear(keyPEM)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("keys: %w", err)
	}
	if err := WriteFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if cert != nil {
		if err := WriteFileAtomic(certPath, MarshalCertificatesPEM(cert), 0o644); err != nil {
			return "", "", err
		}
	}
	return keyPath, certPath, nil
}

// WriteFileAtomic writes data to path with mode perm through a temporary
// file in the same directory that is synced and renamed into place, so a
// reader never sees a half-written key and the key is never world-readable.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("keys: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}
