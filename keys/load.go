package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sfbridge/sfbridge/internal/inputfile"
)

// LoadOptions holds the secrets and the entry choice for loading a key or
// certificates.
type LoadOptions struct {
	Passphrase  []byte // for encrypted PEM/PKCS#8; for JKS/PKCS#12 the store password
	KeyPassword []byte // JKS key password; empty = same as Passphrase
	Alias       string // JKS/PKCS#12 entry; empty = the only private-key entry
}

// loadOpts is LoadOptions with the limits that bound a crafted input's cost.
type loadOpts struct {
	LoadOptions
	maxIter int // PBKDF2 iterations
}

func withLimits(o LoadOptions) loadOpts { return loadOpts{LoadOptions: o, maxIter: maxKDFIterations} }

// maxInput bounds what is read from a file: keys, certificate chains and
// keystores are kilobytes, not megabytes.
const maxInput = 4 << 20

// LoadPrivateKeyFile reads an RSA private key from a file in any format the
// package reads: PEM PKCS#1 or PKCS#8 (plain, encrypted PKCS#8, or legacy
// Proc-Type encrypted), DER, JKS, PKCS#12, base64 of any of those, and PEM
// whose line breaks were pasted as literal `\n`.
//
// Keystore aliases match case-insensitively, as keytool's do. A PKCS#12
// file holds one key; opts.Alias is checked against its friendlyName when
// the file carries one.
func LoadPrivateKeyFile(path string, opts LoadOptions) (*rsa.PrivateKey, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParsePrivateKey(data, path, opts)
}

// LoadPrivateKeyEnv reads an RSA private key from the environment variable
// name, looked up with lookup (typically os.LookupEnv: the package never
// reads the environment by itself). The value may be PEM, PEM with literal
// `\n` sequences, or base64 of PEM, DER or a keystore.
func LoadPrivateKeyEnv(lookup func(string) (string, bool), name string, opts LoadOptions) (*rsa.PrivateKey, error) {
	src := "environment variable " + name
	v, ok := lookup(name)
	if !ok {
		return nil, &Error{Name: src, Err: ErrEmpty, Found: "the variable is not set", Fix: "set it to the PEM private key or its base64 encoding"}
	}
	return ParsePrivateKey([]byte(v), src, opts)
}

// ParsePrivateKey parses an RSA private key from data in any format
// LoadPrivateKeyFile reads. name is used in errors (a path, or a description
// such as "environment variable X"); it never includes the data.
func ParsePrivateKey(data []byte, name string, opts LoadOptions) (*rsa.PrivateKey, error) {
	return parsePrivateKey(data, name, withLimits(opts))
}

func parsePrivateKey(data []byte, name string, opts loadOpts) (*rsa.PrivateKey, error) {
	c, err := decode(data, opts)
	if err != nil {
		return nil, withName(err, name)
	}
	k, err := c.rsaKey()
	if err != nil {
		return nil, withName(err, name)
	}
	return k, nil
}

// ParsePrivateKeyWithCertificates is ParsePrivateKey that also returns the
// certificates stored with the key (a keystore entry's chain, or
// CERTIFICATE blocks next to it in PEM), leaf first; certs is empty when
// there are none. It reads data once, so an encrypted key is decrypted
// once, where ParsePrivateKey and ParseCertificates would each decrypt it.
func ParsePrivateKeyWithCertificates(data []byte, name string, opts LoadOptions) (key *rsa.PrivateKey, certs []*x509.Certificate, err error) {
	c, err := decode(data, withLimits(opts))
	if err != nil {
		return nil, nil, withName(err, name)
	}
	if key, err = c.rsaKey(); err != nil {
		return nil, nil, withName(err, name)
	}
	return key, c.certs, nil
}

// LoadPrivateKeyWithCertificatesFile reads a file with
// ParsePrivateKeyWithCertificates, refusing files over 4 MiB as
// LoadPrivateKeyFile does.
func LoadPrivateKeyWithCertificatesFile(path string, opts LoadOptions) (*rsa.PrivateKey, []*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	return ParsePrivateKeyWithCertificates(data, path, opts)
}

// LoadCertificatesFile reads the certificates in a file: PEM (one or more
// CERTIFICATE blocks, possibly next to a key), DER, JKS or PKCS#12. For a
// keystore it returns the chain of the chosen entry, leaf first.
func LoadCertificatesFile(path string, opts LoadOptions) ([]*x509.Certificate, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCertificates(data, path, opts)
}

// ParseCertificates parses the certificates in data; see LoadCertificatesFile.
func ParseCertificates(data []byte, name string, opts LoadOptions) ([]*x509.Certificate, error) {
	return parseCertificates(data, name, withLimits(opts))
}

func parseCertificates(data []byte, name string, opts loadOpts) ([]*x509.Certificate, error) {
	c, err := decode(data, opts)
	if err != nil {
		return nil, withName(err, name)
	}
	if len(c.certs) == 0 {
		if c.keyErr != nil && (errors.Is(c.keyErr, ErrUnknownAlias) || errors.Is(c.keyErr, ErrAliasRequired)) {
			return nil, withName(c.keyErr, name)
		}
		return nil, &Error{Name: name, Err: ErrNoCertificate, Found: c.describe(),
			Fix: "give the certificate (.crt) that was uploaded to the connected app; `sfbridge keys generate` writes one next to the key"}
	}
	return c.certs, nil
}

func readFile(path string) ([]byte, error) {
	data, tooLarge, err := inputfile.ReadLimit(path, maxInput)
	if err != nil {
		if errors.Is(err, inputfile.ErrNotRegular) {
			return nil, fmt.Errorf("keys: %w", err)
		}
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if tooLarge {
		return nil, &Error{Name: path, Err: ErrUnrecognized, Found: fmt.Sprintf("a file larger than %d MiB", maxInput>>20),
			Fix: "give the key, certificate or keystore file itself"}
	}
	return data, nil
}

// foundKey is a private key found in the input.
type foundKey struct {
	key   crypto.PrivateKey
	alias string
	chain []*x509.Certificate
}

// contents is everything decode found in one input.
type contents struct {
	format    string // e.g. "PEM", "DER", "JKS keystore", "PKCS#12"
	encrypted bool
	keys      []foundKey
	keyForms  []string // e.g. "PKCS#8", "encrypted PKCS#8"
	pubs      []crypto.PublicKey
	certs     []*x509.Certificate
	csrs      int
	other     []string // unrecognised PEM block labels
	aliases   []string // keystore entries
	alias     string   // the chosen keystore entry
	keyErr    error    // why an encrypted key or keystore entry could not be read
}

// rsaKey picks the one RSA private key, or explains why there is none.
func (c *contents) rsaKey() (*rsa.PrivateKey, error) {
	var rsaKeys []*rsa.PrivateKey
	var other crypto.PrivateKey
	for _, k := range c.keys {
		if r, ok := k.key.(*rsa.PrivateKey); ok {
			rsaKeys = append(rsaKeys, r)
		} else if other == nil {
			other = k.key
		}
	}
	switch {
	case len(rsaKeys) == 1:
		return rsaKeys[0], nil
	case len(rsaKeys) > 1:
		return nil, &Error{Err: ErrAliasRequired, Found: fmt.Sprintf("%d RSA private keys", len(rsaKeys)),
			Fix: "keep one private key per file"}
	case c.keyErr != nil:
		return nil, c.keyErr
	case other != nil:
		return nil, &Error{Err: ErrNotRSA, Found: article(describeKey(other)) + " private key", Fix: fixNeedRSA}
	}
	return nil, &Error{Err: ErrNoPrivateKey, Found: c.describe(), Fix: c.fixNoKey()}
}

func (c *contents) fixNoKey() string {
	switch {
	case len(c.certs) > 0:
		return "the certificate is what you upload to Salesforce; the JWT is signed with the private key (.key) made together with it"
	case len(c.pubs) > 0:
		return "a public key cannot sign; give the private key it belongs to"
	case c.csrs > 0:
		return "a certificate signing request is not a key; give the private key it was made from"
	}
	return "give the private key file (.key, .pem, .jks or .p12)"
}

// describe says what the input holds, for error messages.
func (c *contents) describe() string {
	var parts []string
	if n := len(c.certs); n > 0 {
		s := fmt.Sprintf("a certificate (subject %s)", c.certs[0].Subject)
		if n > 1 {
			s = fmt.Sprintf("%d certificates (first subject %s)", n, c.certs[0].Subject)
		}
		parts = append(parts, s)
	}
	for _, p := range c.pubs {
		parts = append(parts, article(describeKey(p))+" public key")
	}
	if c.csrs > 0 {
		parts = append(parts, "a certificate signing request")
	}
	for _, o := range c.other {
		parts = append(parts, fmt.Sprintf("a PEM %q block", o))
	}
	if len(c.aliases) > 0 {
		parts = append(parts, fmt.Sprintf("a %s with entries %s", c.format, strings.Join(c.aliases, ", ")))
	}
	if len(parts) == 0 {
		return "a " + c.format + " with nothing sfbridge can use"
	}
	if len(c.aliases) > 0 {
		return strings.Join(parts, " and ")
	}
	return strings.Join(parts, " and ") + " in " + c.format
}

// describeKey names a key's algorithm and size without revealing it.
func describeKey(k any) string {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA %d-bit", k.N.BitLen())
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d-bit", k.N.BitLen())
	case *ecdsa.PrivateKey:
		return "EC " + k.Curve.Params().Name
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "X25519"
	}
	return fmt.Sprintf("%T", k)
}

// decode recognises the input's format and extracts what it holds. Secrets
// are needed only for encrypted parts; without them, keyErr says so.
func decode(data []byte, opts loadOpts) (*contents, error) {
	data = normalize(data)
	if len(data) == 0 {
		return nil, &Error{Err: ErrEmpty, Found: "no data", Fix: "check the path, and that the file or variable was written completely"}
	}
	if c, ok, err := decodeBinary(data, opts); ok {
		return c, err
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		return decodePEM(data, opts)
	}
	if raw, ok := decodeBase64(data); ok {
		raw = normalize(raw)
		if c, ok, err := decodeBinary(raw, opts); ok {
			if c != nil {
				c.format = "base64 of " + c.format
			}
			return c, err
		}
		if bytes.Contains(raw, []byte("-----BEGIN ")) {
			c, err := decodePEM(raw, opts)
			if c != nil {
				c.format = "base64 of " + c.format
			}
			return c, err
		}
	}
	return nil, &Error{Err: ErrUnrecognized, Found: describeData(data),
		Fix: "give a PEM (-----BEGIN ...), DER, JKS or PKCS#12 file, or base64 of one"}
}

// decodeBinary handles keystores and DER. ok is false when data is none of them.
func decodeBinary(data []byte, opts loadOpts) (*contents, bool, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xfe, 0xed, 0xfe, 0xed}):
		c, err := decodeJKS(data, opts)
		return c, true, err
	case bytes.HasPrefix(data, []byte{0xce, 0xce, 0xce, 0xce}):
		return nil, true, &Error{Err: ErrUnsupported, Found: "a JCEKS keystore",
			Fix: "convert it with `keytool -importkeystore -srcstoretype JCEKS -srckeystore IN.jceks -deststoretype PKCS12 -destkeystore OUT.p12`"}
	case len(data) > 1 && data[0] == 0x30:
		if isPKCS12(data) {
			c, err := decodePKCS12(data, opts)
			return c, true, err
		}
		c, err := decodeDER(data, opts)
		if err != nil && errors.Is(err, ErrUnrecognized) {
			return nil, false, nil
		}
		return c, true, err
	}
	return nil, false, nil
}

// normalize trims whitespace, a UTF-8 byte-order mark and wrapping quotes,
// and turns literal `\n` sequences in PEM text back into line breaks: the
// usual damage from pasting a key into a CI secret or a .env file.
func normalize(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(data) > 0 && (data[0] == 0x30 || data[0] == 0xfe || data[0] == 0xce) {
		return data // binary: leave untouched
	}
	data = bytes.TrimSpace(data)
	for _, q := range []string{`"`, `'`} {
		if len(data) >= 2 && bytes.HasPrefix(data, []byte(q)) && bytes.HasSuffix(data, []byte(q)) {
			data = bytes.TrimSpace(data[1 : len(data)-1])
		}
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) && bytes.Contains(data, []byte(`\n`)) {
		data = bytes.ReplaceAll(data, []byte(`\r\n`), []byte("\n"))
		data = bytes.ReplaceAll(data, []byte(`\n`), []byte("\n"))
	}
	return data
}

// decodeBase64 accepts standard or URL-safe base64, padded or not, with any
// line breaks. It returns false for anything that is not base64.
func decodeBase64(data []byte) ([]byte, bool) {
	compact := make([]byte, 0, len(data))
	for _, b := range bytes.ReplaceAll(data, []byte(`\n`), nil) {
		if b == '\n' || b == '\r' || b == ' ' || b == '\t' {
			continue
		}
		compact = append(compact, b)
	}
	if len(compact) < 16 {
		return nil, false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if out, err := enc.DecodeString(string(compact)); err == nil {
			return out, true
		}
	}
	return nil, false
}

// isText reports whether data is printable text (a leading '0' is also a
// DER SEQUENCE tag, so text must not be mistaken for cut-off DER).
func isText(data []byte) bool {
	for _, b := range data {
		if (b < 0x20 && b != '\n' && b != '\r' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return utf8.Valid(data)
}

// describeData characterises unrecognised input without quoting it (it may
// be a secret pasted in the wrong place).
func describeData(data []byte) string {
	if isText(data) {
		return fmt.Sprintf("%d bytes of text that are neither PEM nor base64", len(data))
	}
	return fmt.Sprintf("%d bytes of binary data that are not DER, JKS or PKCS#12", len(data))
}

// repairPEM rebuilds PEM whose line breaks were turned into spaces or
// removed (a key pasted into a single-line field). It keeps PEM headers
// (legacy encryption) out of scope: those blocks are returned unchanged.
func repairPEM(data []byte) []byte {
	var out bytes.Buffer
	rest := string(data)
	for {
		i := strings.Index(rest, "-----BEGIN ")
		if i < 0 {
			break
		}
		rest = rest[i:]
		labelEnd := strings.Index(rest[len("-----BEGIN "):], "-----")
		if labelEnd < 0 {
			break
		}
		label := rest[len("-----BEGIN ") : len("-----BEGIN ")+labelEnd]
		begin := "-----BEGIN " + label + "-----"
		end := "-----END " + label + "-----"
		j := strings.Index(rest[len(begin):], end)
		if j < 0 {
			break
		}
		body := rest[len(begin) : len(begin)+j]
		rest = rest[len(begin)+j+len(end):]
		if strings.Contains(body, ":") {
			out.WriteString(begin + body + end + "\n")
			continue
		}
		body = strings.Join(strings.Fields(body), "")
		out.WriteString(begin + "\n")
		for len(body) > 64 {
			out.WriteString(body[:64] + "\n")
			body = body[64:]
		}
		if body != "" {
			out.WriteString(body + "\n")
		}
		out.WriteString(end + "\n")
	}
	return out.Bytes()
}

func decodePEM(data []byte, opts loadOpts) (*contents, error) {
	c := &contents{format: "PEM"}
	blocks, truncated := pemBlocks(data)
	if len(blocks) == 0 || truncated != "" {
		if repaired := repairPEM(data); len(repaired) > 0 {
			if rb, rt := pemBlocks(repaired); len(rb) > len(blocks) || (len(rb) == len(blocks) && rt == "") {
				blocks, truncated = rb, rt
			}
		}
	}
	if len(blocks) == 0 {
		return nil, &Error{Err: ErrTruncated, Found: "a PEM " + truncated + " without its END line, or with damaged base64",
			Fix: "copy the whole file again, from -----BEGIN to -----END, with its line breaks"}
	}
	for _, b := range blocks {
		if err := c.addPEMBlock(b, opts); err != nil {
			return nil, err
		}
	}
	if truncated != "" && len(c.keys) == 0 && c.keyErr == nil {
		return nil, &Error{Err: ErrTruncated, Found: "a PEM " + truncated + " without its END line, or with damaged base64",
			Fix: "copy the whole file again, from -----BEGIN to -----END, with its line breaks"}
	}
	return c, nil
}

// pemBlocks returns every PEM block in data, and the label of a block that
// starts but does not decode (quoted), if any.
func pemBlocks(data []byte) ([]*pem.Block, string) {
	var blocks []*pem.Block
	rest := data
	for {
		b, r := pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
		rest = r
	}
	if i := bytes.Index(rest, []byte("-----BEGIN ")); i >= 0 {
		label := rest[i+len("-----BEGIN "):]
		if j := bytes.Index(label, []byte("-----")); j >= 0 && j < 64 {
			return blocks, fmt.Sprintf("%q block", label[:j])
		}
		return blocks, "block"
	}
	return blocks, ""
}

func (c *contents) addPEMBlock(b *pem.Block, opts loadOpts) error {
	damaged := func(err error) error {
		return &Error{Err: ErrTruncated, Found: fmt.Sprintf("a PEM %q block whose contents do not parse", b.Type), Cause: err,
			Fix: "copy the whole file again; if it was produced by a tool, re-export it"}
	}
	switch b.Type {
	case "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "PRIVATE KEY":
		der, wasEncrypted := b.Bytes, false
		form := map[string]string{"RSA PRIVATE KEY": "PKCS#1", "EC PRIVATE KEY": "SEC 1", "DSA PRIVATE KEY": "DSA", "PRIVATE KEY": "PKCS#8"}[b.Type]
		//nolint:staticcheck // SA1019: legacy Proc-Type encryption is insecure to write but still common to read; we only decrypt.
		if x509.IsEncryptedPEMBlock(b) {
			c.encrypted = true
			form = "legacy encrypted " + form
			if len(opts.Passphrase) == 0 {
				c.keyErr = &Error{Err: ErrPassphraseRequired, Found: "a legacy encrypted (Proc-Type: 4,ENCRYPTED) " + b.Type,
					Fix: "supply the passphrase the key was encrypted with"}
				c.keyForms = append(c.keyForms, form)
				return nil
			}
			//nolint:staticcheck // SA1019: see above; DecryptPEMBlock is the standard library's reader for this format.
			plain, err := x509.DecryptPEMBlock(b, opts.Passphrase)
			if err != nil {
				if errors.Is(err, x509.IncorrectPasswordError) {
					c.keyErr = wrongPassphrase("a legacy encrypted " + b.Type)
					c.keyForms = append(c.keyForms, form)
					return nil
				}
				return damaged(err)
			}
			der, wasEncrypted = plain, true
		}
		k, err := parseKeyDER(der)
		if err != nil {
			if alg, ok := otherKeyAlgorithm(der, b.Type); ok {
				return notRSA(alg)
			}
			if wasEncrypted {
				c.keyErr = wrongPassphrase("a legacy encrypted " + b.Type)
				c.keyForms = append(c.keyForms, form)
				return nil
			}
			return damaged(err)
		}
		c.keys = append(c.keys, foundKey{key: k})
		c.keyForms = append(c.keyForms, form)
	case "ENCRYPTED PRIVATE KEY":
		c.encrypted = true
		c.keyForms = append(c.keyForms, "encrypted PKCS#8")
		k, err := decryptKey(b.Bytes, opts)
		if err != nil {
			if errors.Is(err, ErrPassphraseRequired) || errors.Is(err, ErrWrongPassphrase) {
				c.keyErr = err
				return nil
			}
			return err
		}
		c.keys = append(c.keys, foundKey{key: k})
	case "OPENSSH PRIVATE KEY":
		return &Error{Err: ErrUnsupported, Found: "an OpenSSH private key",
			Fix: "convert a copy to PKCS#8 PEM with `ssh-keygen -p -m PKCS8 -f COPY` (it must be an RSA key)"}
	case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
		der := b.Bytes
		if b.Type == "TRUSTED CERTIFICATE" {
			// OpenSSL appends trust settings after the certificate.
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(der, &raw); err == nil {
				der = raw.FullBytes
			}
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return damaged(err)
		}
		c.certs = append(c.certs, cert)
	case "PUBLIC KEY":
		p, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return damaged(err)
		}
		c.pubs = append(c.pubs, p)
	case "RSA PUBLIC KEY":
		p, err := x509.ParsePKCS1PublicKey(b.Bytes)
		if err != nil {
			return damaged(err)
		}
		c.pubs = append(c.pubs, p)
	case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
		c.csrs++
	case "EC PARAMETERS":
		// Written by `openssl ecparam -genkey` before the key; nothing to use.
	default:
		c.other = append(c.other, b.Type)
	}
	return nil
}

func wrongPassphrase(what string) error {
	return &Error{Err: ErrWrongPassphrase, Found: what,
		Fix: "supply the passphrase the key was encrypted with (check the passphrase file for a stray character)"}
}

// decryptKey decrypts an encrypted PKCS#8 DER and parses the key inside.
func decryptKey(der []byte, opts loadOpts) (crypto.PrivateKey, error) {
	passphrase := opts.Passphrase
	if len(passphrase) == 0 {
		// Fail on structure before asking for a passphrase that would not help.
		var info encryptedPrivateKeyInfo
		if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
			return nil, &Error{Err: ErrTruncated, Found: "an ENCRYPTED PRIVATE KEY whose structure does not parse", Cause: err}
		}
		return nil, &Error{Err: ErrPassphraseRequired, Found: "an encrypted PKCS#8 private key",
			Fix: "supply the passphrase the key was encrypted with"}
	}
	plain, err := decryptPKCS8(der, passphrase, opts.maxIter)
	if errors.Is(err, errDecrypt) {
		return nil, wrongPassphrase("an encrypted PKCS#8 private key")
	}
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	k, err := x509.ParsePKCS8PrivateKey(plain)
	if err != nil {
		if alg, ok := otherKeyAlgorithm(plain, "PRIVATE KEY"); ok {
			return nil, notRSA(alg)
		}
		return nil, wrongPassphrase("an encrypted PKCS#8 private key")
	}
	return k, nil
}

// parseKeyDER parses an unencrypted private key in PKCS#1, PKCS#8 or SEC 1.
func parseKeyDER(der []byte) (crypto.PrivateKey, error) {
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, err
}

// decodeDER recognises a single DER structure.
func decodeDER(data []byte, opts loadOpts) (*contents, error) {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(data, &raw)
	if err != nil {
		var se asn1.SyntaxError
		if errors.As(err, &se) && strings.Contains(se.Msg, "data truncated") && !isText(data) {
			return nil, &Error{Err: ErrTruncated, Found: fmt.Sprintf("%d bytes of DER that end early", len(data)),
				Fix: "copy or download the file again"}
		}
		return nil, &Error{Err: ErrUnrecognized}
	}
	_ = rest
	der := raw.FullBytes
	c := &contents{format: "DER"}
	if k, err := parseKeyDER(der); err == nil {
		c.keys = append(c.keys, foundKey{key: k})
		c.keyForms = append(c.keyForms, "DER")
		return c, nil
	}
	if certs, err := x509.ParseCertificates(data); err == nil && len(certs) > 0 {
		c.certs = certs
		return c, nil
	}
	if p, err := x509.ParsePKIXPublicKey(der); err == nil {
		c.pubs = append(c.pubs, p)
		return c, nil
	}
	if p, err := x509.ParsePKCS1PublicKey(der); err == nil {
		c.pubs = append(c.pubs, p)
		return c, nil
	}
	if _, err := x509.ParseCertificateRequest(der); err == nil {
		c.csrs++
		return c, nil
	}
	if alg, ok := otherKeyAlgorithm(der, ""); ok {
		return nil, notRSA(alg)
	}
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err == nil && len(rest) == 0 && len(info.Algorithm.Algorithm) > 0 && len(info.EncryptedData) > 0 {
		c.encrypted = true
		c.keyForms = append(c.keyForms, "DER encrypted PKCS#8")
		k, err := decryptKey(der, opts)
		if err != nil {
			if errors.Is(err, ErrPassphraseRequired) || errors.Is(err, ErrWrongPassphrase) {
				c.keyErr = err
				return c, nil
			}
			return nil, err
		}
		c.keys = append(c.keys, foundKey{key: k})
		return c, nil
	}
	return nil, &Error{Err: ErrUnrecognized}
}

// article prefixes a key description with "a" or "an" as it is spoken
// ("an RSA", "an EC", "an Ed25519", "a DSA").
func article(desc string) string {
	if desc != "" && strings.ContainsRune("AEIORX", rune(desc[0])) {
		return "an " + desc
	}
	return "a " + desc
}
