package keys

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"time"
)

// ExpiryWarningDays is how close to its end a certificate's validity must be
// for Inspect to warn.
const ExpiryWarningDays = 30

// MinRSABits is the smallest RSA key Inspect accepts without a warning.
const MinRSABits = 2048

// Report is what Inspect found in one input.
type Report struct {
	File      string    `json:"file"`
	Format    string    `json:"format"`             // PEM, DER, JKS keystore, PKCS#12, base64 of ...
	Kind      string    `json:"kind"`               // private key, certificate, private key and certificate, public key, ...
	KeyForm   string    `json:"key_form,omitempty"` // PKCS#1, PKCS#8, encrypted PKCS#8, ...
	Encrypted bool      `json:"encrypted"`          // passphrase- or password-protected
	Aliases   []string  `json:"aliases,omitempty"`  // keystore entries
	Alias     string    `json:"alias,omitempty"`    // the entry inspected
	Key       *KeyInfo  `json:"key,omitempty"`      // the private (or public) key
	Certs     []Cert    `json:"certificates"`       // leaf first
	Matches   *bool     `json:"key_matches_certificate,omitempty"`
	Warnings  []Warning `json:"warnings"`
}

// KeyInfo describes a key without revealing it.
type KeyInfo struct {
	Private     bool   `json:"private"`
	Algorithm   string `json:"algorithm"` // RSA, EC P-256, Ed25519, ...
	Bits        int    `json:"bits,omitempty"`
	Fingerprint string `json:"public_key_sha256,omitempty"`
}

// Cert describes one certificate.
type Cert struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	Serial      string    `json:"serial"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left"`
	SelfSigned  bool      `json:"self_signed"`
	Algorithm   string    `json:"key_algorithm"`
	Bits        int       `json:"key_bits,omitempty"`
	Fingerprint string    `json:"sha256"`
	KeySHA256   string    `json:"public_key_sha256,omitempty"`
}

// Warning codes.
const (
	WarnExpired          = "expired"
	WarnExpiring         = "expiring"
	WarnNotYetValid      = "not_yet_valid"
	WarnWeakKey          = "weak_key"
	WarnNotRSA           = "not_rsa"
	WarnFilePermissions  = "file_permissions"
	WarnMismatch         = "key_mismatch"
	WarnPassphraseNeeded = "passphrase_needed"
	WarnChooseAlias      = "choose_alias"
)

// Warning is a problem Inspect found that does not stop the input from
// being read.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// InspectFile inspects a file like Inspect and also warns when a file holding
// a private key is readable by its group or others.
func InspectFile(path string, opts LoadOptions, now time.Time) (*Report, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	r, err := Inspect(data, path, opts, now)
	if err != nil {
		return nil, err
	}
	if r.holdsSecret() {
		if w := CheckFilePermissions(path); w != nil {
			r.Warnings = append(r.Warnings, *w)
		}
	}
	return r, nil
}

// CheckFilePermissions returns the WarnFilePermissions warning when the
// file at path, which holds a secret, is readable by its group or others,
// and nil otherwise (and on Windows, where modes do not say this).
func CheckFilePermissions(path string) *Warning {
	fi, err := os.Stat(path)
	if err != nil || runtime.GOOS == "windows" || fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	return &Warning{Code: WarnFilePermissions, Message: fmt.Sprintf("the file is readable by others (mode %04o): restrict it with `chmod 600 %s`", fi.Mode().Perm(), path)}
}

// Inspect describes what data holds: its format, the key's algorithm, size
// and public-key fingerprint, each certificate's subject, issuer, serial and
// validity, and warnings (expired or expiring within ExpiryWarningDays,
// RSA below MinRSABits, not RSA, key and certificate not matching). An
// encrypted key without its passphrase, or a keystore with several keys and
// no alias, is reported with a warning rather than an error; a wrong
// passphrase, an unknown alias or unreadable input is an error.
func Inspect(data []byte, name string, opts LoadOptions, now time.Time) (*Report, error) {
	return inspect(data, name, withLimits(opts), now)
}

func inspect(data []byte, name string, opts loadOpts, now time.Time) (*Report, error) {
	c, err := decode(data, opts)
	if err != nil {
		return nil, withName(err, name)
	}
	r := &Report{File: name, Format: c.format, Encrypted: c.encrypted, Aliases: c.aliases, Alias: c.alias, Certs: []Cert{}, Warnings: []Warning{}}
	if len(c.keyForms) > 0 {
		r.KeyForm = c.keyForms[0]
	}
	if c.keyErr != nil {
		switch {
		case errors.Is(c.keyErr, ErrPassphraseRequired):
			r.warn(WarnPassphraseNeeded, "the key is encrypted: give its passphrase to see the key's details")
		case errors.Is(c.keyErr, ErrAliasRequired):
			r.warn(WarnChooseAlias, "the keystore holds several private keys: choose one by alias to see its details")
		default:
			return nil, withName(c.keyErr, name)
		}
	}
	if len(c.keys) > 1 {
		return nil, &Error{Name: name, Err: ErrAliasRequired, Found: fmt.Sprintf("%d private keys", len(c.keys)), Fix: "keep one private key per file"}
	}
	var pub crypto.PublicKey
	if len(c.keys) == 1 {
		k := c.keys[0].key
		pub = k.(interface{ Public() crypto.PublicKey }).Public()
		r.Key = keyInfo(pub, true)
	} else if len(c.pubs) > 0 {
		pub = c.pubs[0]
		r.Key = keyInfo(pub, false)
	}
	if r.Key != nil {
		r.checkKey(r.Key, "the key")
	}
	for _, cert := range c.certs {
		r.Certs = append(r.Certs, r.certInfo(cert, now))
	}
	if pub != nil && len(c.certs) > 0 {
		m := false
		if p, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); ok {
			m = p.Equal(c.certs[0].PublicKey)
		}
		r.Matches = &m
		if !m {
			r.warn(WarnMismatch, "the key does not match the first certificate: Salesforce would answer `invalid assertion`")
		}
	}
	r.Kind = c.kind()
	if r.Kind == "unknown" {
		// Nothing sfbridge reads: PEM blocks with labels it does not know
		// (a label edited by hand, a key type it does not read), or an
		// empty container. Saying "Kind: unknown" and succeeding would let
		// a script take the file for a key.
		return nil, &Error{Name: name, Err: ErrUnrecognized, Found: c.describe(),
			Fix: "PEM blocks must be labelled as OpenSSL writes them (PRIVATE KEY, RSA PRIVATE KEY, ENCRYPTED PRIVATE KEY, CERTIFICATE, PUBLIC KEY); give the key or certificate file itself"}
	}
	return r, nil
}

func (c *contents) kind() string {
	hasKey := len(c.keys) > 0 || c.keyErr != nil
	switch {
	case len(c.aliases) > 0 && len(c.keys) == 0:
		return "keystore"
	case hasKey && len(c.certs) > 0:
		return "private key and certificate"
	case hasKey:
		return "private key"
	case len(c.pubs) > 0:
		return "public key"
	case len(c.certs) > 0:
		return "certificate"
	case c.csrs > 0:
		return "certificate request"
	}
	return "unknown"
}

func (r *Report) holdsSecret() bool {
	return (r.Key != nil && r.Key.Private) || r.KeyForm != "" || len(r.Aliases) > 0
}

func (r *Report) warn(code, msg string) {
	r.Warnings = append(r.Warnings, Warning{Code: code, Message: msg})
}

func (r *Report) checkKey(k *KeyInfo, what string) {
	if k.Algorithm != "RSA" {
		r.warn(WarnNotRSA, fmt.Sprintf("%s is %s: Salesforce's JWT bearer flow needs an RSA key", what, k.Algorithm))
		return
	}
	if k.Bits < MinRSABits {
		r.warn(WarnWeakKey, fmt.Sprintf("%s is RSA %d bits, below %d: generate a new key with `sfbridge keys generate`", what, k.Bits, MinRSABits))
	}
}

func keyInfo(pub crypto.PublicKey, private bool) *KeyInfo {
	k := &KeyInfo{Private: private, Algorithm: describeKey(pub)}
	if rp, ok := pub.(*rsa.PublicKey); ok {
		k.Algorithm, k.Bits = "RSA", rp.N.BitLen()
	}
	k.Fingerprint, _ = Fingerprint(pub)
	return k
}

func (r *Report) certInfo(cert *x509.Certificate, now time.Time) Cert {
	ci := Cert{
		Subject:     cert.Subject.String(),
		Issuer:      cert.Issuer.String(),
		Serial:      cert.SerialNumber.Text(16),
		NotBefore:   cert.NotBefore.UTC(),
		NotAfter:    cert.NotAfter.UTC(),
		DaysLeft:    daysLeft(cert.NotAfter, now),
		SelfSigned:  cert.CheckSignatureFrom(cert) == nil,
		Fingerprint: CertificateFingerprint(cert),
	}
	ki := keyInfo(cert.PublicKey, false)
	ci.Algorithm, ci.Bits, ci.KeySHA256 = ki.Algorithm, ki.Bits, ki.Fingerprint
	label := "certificate " + ci.Subject
	switch {
	case !now.Before(cert.NotAfter):
		r.warn(WarnExpired, fmt.Sprintf("%s expired on %s: make a new pair with `sfbridge keys generate` and upload the new certificate", label, ci.NotAfter.Format(time.DateOnly)))
	case ci.DaysLeft <= ExpiryWarningDays:
		r.warn(WarnExpiring, fmt.Sprintf("%s expires in %d days (%s): rotate it before then", label, ci.DaysLeft, ci.NotAfter.Format(time.DateOnly)))
	}
	if now.Before(cert.NotBefore) {
		r.warn(WarnNotYetValid, fmt.Sprintf("%s is not valid before %s: check this machine's clock", label, ci.NotBefore.Format(time.RFC3339)))
	}
	if r.Key == nil || r.Key.Fingerprint != ki.Fingerprint {
		r.checkKey(ki, label+"'s key")
	}
	return ci
}

// daysLeft counts the days until t, a part day counting as one (a
// certificate made now for 30 days has 30 left); negative once t is past.
func daysLeft(t, now time.Time) int {
	d := t.Sub(now)
	if d < 0 {
		return -int((-d).Hours() / 24)
	}
	return int(math.Ceil(d.Hours() / 24))
}
