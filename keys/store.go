package keys

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// recoverAsCorrupt turns a panic inside a third-party keystore parser into a
// "damaged input" error: a crafted file must never crash the caller.
func recoverAsCorrupt(what string, err *error) {
	if r := recover(); r != nil {
		*err = &Error{Err: ErrTruncated, Found: "a " + what + " the parser could not read", Fix: "export the keystore again"}
	}
}

func decodeJKS(data []byte, opts loadOpts) (c *contents, err error) {
	defer recoverAsCorrupt("JKS keystore", &err)
	if len(opts.Passphrase) == 0 {
		return nil, &Error{Err: ErrPassphraseRequired, Found: "a JKS keystore",
			Fix: "supply the keystore password (the one entered when exporting it)"}
	}
	if err := scanJKS(data); err != nil {
		return nil, &Error{Err: ErrTruncated, Found: "a JKS keystore whose structure is cut short or damaged (" + err.Error() + ")",
			Fix: "export or download the keystore again"}
	}
	ks := keystore.New(keystore.WithOrderedAliases())
	if err := ks.Load(bytes.NewReader(data), opts.Passphrase); err != nil {
		if strings.Contains(err.Error(), "invalid digest") {
			return nil, &Error{Err: ErrWrongPassphrase, Found: "a JKS keystore whose integrity check fails with this store password",
				Fix: "supply the keystore password (the one entered when exporting it from Salesforce or keytool)"}
		}
		return nil, &Error{Err: ErrTruncated, Found: "a JKS keystore that does not parse", Cause: err,
			Fix: "export or download the keystore again"}
	}
	c = &contents{format: "JKS keystore", encrypted: true, aliases: ks.Aliases()}
	var keyAliases []string
	for _, a := range c.aliases {
		if ks.IsPrivateKeyEntry(a) {
			keyAliases = append(keyAliases, a)
		}
	}
	chosen, keyErr := chooseAlias(opts.Alias, keyAliases, c.aliases, "JKS keystore")
	c.keyErr = keyErr
	// Certificates: the chosen entry's chain; or the entry the alias names
	// even when it holds only a certificate; or, with no alias, all of them.
	certAlias := chosen
	if certAlias == "" && opts.Alias != "" {
		if i := slices.IndexFunc(c.aliases, func(a string) bool { return strings.EqualFold(a, opts.Alias) }); i >= 0 {
			certAlias = c.aliases[i]
		}
	}
	for _, a := range c.aliases {
		if certAlias != "" && a != certAlias {
			continue
		}
		var raw []keystore.Certificate
		if ks.IsPrivateKeyEntry(a) {
			raw, _ = ks.GetPrivateKeyEntryCertificateChain(a)
		} else if e, err := ks.GetTrustedCertificateEntry(a); err == nil {
			raw = []keystore.Certificate{e.Certificate}
		}
		for _, rc := range raw {
			cert, err := x509.ParseCertificate(rc.Content)
			if err != nil {
				return nil, &Error{Err: ErrTruncated, Found: fmt.Sprintf("entry %q with a certificate that does not parse", a), Cause: err}
			}
			c.certs = append(c.certs, cert)
		}
	}
	if chosen == "" {
		return c, nil
	}
	c.alias = chosen
	pw := opts.KeyPassword
	if len(pw) == 0 {
		pw = opts.Passphrase
	}
	entry, err := ks.GetPrivateKeyEntry(chosen, pw)
	if err != nil {
		c.keyErr = &Error{Err: ErrWrongPassphrase, Found: fmt.Sprintf("JKS entry %q, whose key password differs from the one given", chosen),
			Fix: "supply the entry's key password (it is the store password unless it was set separately)"}
		return c, nil
	}
	defer clear(entry.PrivateKey)
	k, err := x509.ParsePKCS8PrivateKey(entry.PrivateKey)
	if err != nil {
		return nil, &Error{Err: ErrTruncated, Found: fmt.Sprintf("JKS entry %q whose key does not parse", chosen), Cause: err}
	}
	c.keys = append(c.keys, foundKey{key: k, alias: chosen, chain: c.certs})
	c.keyForms = append(c.keyForms, "JKS private key entry")
	return c, nil
}

// chooseAlias picks the private-key entry named by want (case-insensitively,
// as keytool does), or the only one when want is empty.
func chooseAlias(want string, keyAliases, all []string, store string) (string, error) {
	if want != "" {
		for _, a := range keyAliases {
			if strings.EqualFold(a, want) {
				return a, nil
			}
		}
		found := fmt.Sprintf("a %s without a private key entry %q", store, want)
		if slices.ContainsFunc(all, func(a string) bool { return strings.EqualFold(a, want) }) {
			found = fmt.Sprintf("a %s whose entry %q holds only a certificate, not a private key", store, want)
		}
		return "", &Error{Err: ErrUnknownAlias, Found: found, Aliases: all,
			Fix: "choose one of the private key entries: " + listOrNone(keyAliases)}
	}
	switch len(keyAliases) {
	case 0:
		return "", &Error{Err: ErrNoPrivateKey, Found: fmt.Sprintf("a %s with certificates only", store), Aliases: all,
			Fix: "export the keystore again including the private key (in Salesforce: Certificate and Key Management > Export to Keystore)"}
	case 1:
		return keyAliases[0], nil
	}
	return "", &Error{Err: ErrAliasRequired, Found: fmt.Sprintf("a %s with %d private key entries", store, len(keyAliases)), Aliases: keyAliases,
		Fix: "choose one by its alias (the certificate's unique name in Salesforce)"}
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ", ")
}

// isPKCS12 reports whether data starts like a PFX PDU: a SEQUENCE whose
// first element is INTEGER 3 followed by a ContentInfo.
func isPKCS12(data []byte) bool {
	var outer asn1.RawValue
	if _, err := asn1.Unmarshal(data, &outer); err != nil {
		return false
	}
	var version int
	rest, err := asn1.Unmarshal(outer.Bytes, &version)
	if err != nil || version != 3 || len(rest) == 0 {
		return false
	}
	var ci struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	_, err = asn1.Unmarshal(rest, &ci)
	return err == nil && len(ci.ContentType) > 0
}

func decodePKCS12(data []byte, opts loadOpts) (c *contents, err error) {
	defer recoverAsCorrupt("PKCS#12 file", &err)
	key, leaf, chain, err := pkcs12.DecodeChain(data, string(opts.Passphrase))
	if err != nil {
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword) && len(opts.Passphrase) == 0:
			return nil, &Error{Err: ErrPassphraseRequired, Found: "a password-protected PKCS#12 file",
				Fix: "supply the password it was exported with"}
		case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
			return nil, &Error{Err: ErrWrongPassphrase, Found: "a PKCS#12 file whose integrity check fails with this password",
				Fix: "supply the password it was exported with"}
		case strings.Contains(err.Error(), "exactly one key bag"):
			return nil, &Error{Err: ErrUnsupported, Found: "a PKCS#12 file with several private keys",
				Fix: "export the one entry you need, e.g. `keytool -importkeystore -srckeystore IN.p12 -srcalias ALIAS -destkeystore ONE.p12`"}
		case strings.Contains(err.Error(), "private key missing"), strings.Contains(err.Error(), "certificate missing"):
			return nil, &Error{Err: ErrUnsupported, Found: "a PKCS#12 file without both a private key and its certificate", Cause: err,
				Fix: "export the key together with its certificate, e.g. `openssl pkcs12 -export -inkey salesforce.key -in salesforce.crt -out salesforce.p12`"}
		}
		return nil, &Error{Err: ErrTruncated, Found: "a PKCS#12 file that does not parse", Cause: err,
			Fix: "export it again; keys protected with other schemes can be re-exported with `openssl pkcs12 -export`"}
	}
	c = &contents{format: "PKCS#12", encrypted: true, certs: append([]*x509.Certificate{leaf}, chain...)}
	name := pkcs12FriendlyName(data, opts.Passphrase)
	if name != "" {
		c.aliases = []string{name}
	}
	if opts.Alias != "" && name != "" && !strings.EqualFold(opts.Alias, name) {
		return nil, &Error{Err: ErrUnknownAlias, Found: fmt.Sprintf("a PKCS#12 file without an entry %q", opts.Alias), Aliases: c.aliases,
			Fix: "choose the entry it holds: " + name}
	}
	c.alias = name
	c.keys = append(c.keys, foundKey{key: key, alias: name, chain: c.certs})
	c.keyForms = append(c.keyForms, "PKCS#12 key bag")
	return c, nil
}

// pkcs12FriendlyName returns the friendlyName attribute of the key bag, or ""
// when the file does not carry one in a form ToPEM reads.
func pkcs12FriendlyName(data, password []byte) string {
	//nolint:staticcheck // SA1019: ToPEM is go-pkcs12's only API that exposes bag attributes; we read the friendlyName header and discard the blocks.
	blocks, err := pkcs12.ToPEM(data, string(password))
	if err != nil {
		return ""
	}
	for _, b := range blocks {
		if b.Type == "PRIVATE KEY" {
			clear(b.Bytes)
			return b.Headers["friendlyName"]
		}
	}
	return ""
}

// scanJKS walks the JKS layout (magic, version, entries, SHA-1 digest) and
// checks that every declared length fits in the data. The keystore library
// allocates whatever a length field says, so a crafted or truncated file
// must be refused before it gets there.
func scanJKS(data []byte) error {
	p := 4 // magic
	u32 := func() (uint32, bool) {
		if len(data)-p < 4 {
			return 0, false
		}
		v := uint32(data[p])<<24 | uint32(data[p+1])<<16 | uint32(data[p+2])<<8 | uint32(data[p+3])
		p += 4
		return v, true
	}
	skip := func(n uint64) bool {
		if uint64(len(data)-p) < n {
			return false
		}
		p += int(n)
		return true
	}
	str := func() bool {
		if len(data)-p < 2 {
			return false
		}
		n := uint64(data[p])<<8 | uint64(data[p+1])
		p += 2
		return skip(n)
	}
	version, ok := u32()
	if !ok || (version != 1 && version != 2) {
		return errors.New("unknown version")
	}
	cert := func() bool {
		if version == 2 && !str() {
			return false
		}
		n, ok := u32()
		return ok && skip(uint64(n))
	}
	count, ok := u32()
	if !ok {
		return errors.New("no entry count")
	}
	for i := uint32(0); i < count; i++ {
		tag, ok := u32()
		if !ok || !str() || !skip(8) {
			return fmt.Errorf("entry %d cut short", i)
		}
		switch tag {
		case 1:
			n, ok := u32()
			if !ok || !skip(uint64(n)) {
				return fmt.Errorf("entry %d key cut short", i)
			}
			chain, ok := u32()
			if !ok {
				return fmt.Errorf("entry %d chain cut short", i)
			}
			for j := uint32(0); j < chain; j++ {
				if !cert() {
					return fmt.Errorf("entry %d certificate %d cut short", i, j)
				}
			}
		case 2:
			if !cert() {
				return fmt.Errorf("entry %d certificate cut short", i)
			}
		default:
			return fmt.Errorf("entry %d has unknown tag %d", i, tag)
		}
	}
	if len(data)-p != 20 {
		return errors.New("integrity digest missing or followed by extra data")
	}
	return nil
}

// MarshalPKCS12 encodes key and its certificate chain (leaf first) as a
// PKCS#12 file protected by password, with modern algorithms (PBES2
// AES-256-CBC, PBKDF2-HMAC-SHA256, HMAC-SHA256 MAC) that OpenSSL 3 and
// Java 11+ read.
func MarshalPKCS12(key *rsa.PrivateKey, chain []*x509.Certificate, password []byte) ([]byte, error) {
	if err := checkStoreInput(key, chain, password); err != nil {
		return nil, err
	}
	return pkcs12.Modern.Encode(key, chain[0], chain[1:], string(password))
}

// MarshalJKS encodes key and its certificate chain (leaf first) as a Java
// KeyStore with one private key entry named alias, whose key password is
// the store password: the form Provar and Salesforce's "Export to Keystore"
// use.
func MarshalJKS(key *rsa.PrivateKey, chain []*x509.Certificate, alias string, password []byte, now time.Time) ([]byte, error) {
	if err := checkStoreInput(key, chain, password); err != nil {
		return nil, err
	}
	if alias == "" {
		return nil, &Error{Err: ErrInvalidParameter, Found: "an empty alias", Fix: "name the keystore entry"}
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	defer clear(der)
	entry := keystore.PrivateKeyEntry{CreationTime: now, PrivateKey: der}
	for _, c := range chain {
		entry.CertificateChain = append(entry.CertificateChain, keystore.Certificate{Type: "X.509", Content: c.Raw})
	}
	ks := keystore.New()
	if err := ks.SetPrivateKeyEntry(alias, entry, password); err != nil {
		return nil, fmt.Errorf("keys: JKS entry: %w", err)
	}
	var b bytes.Buffer
	if err := ks.Store(&b, password); err != nil {
		return nil, fmt.Errorf("keys: JKS: %w", err)
	}
	return b.Bytes(), nil
}

func checkStoreInput(key *rsa.PrivateKey, chain []*x509.Certificate, password []byte) error {
	if key == nil || len(chain) == 0 {
		return &Error{Err: ErrNoCertificate, Found: "a key without its certificate",
			Fix: "a keystore entry needs the certificate too: give the certificate file as well"}
	}
	if len(password) < 6 {
		return &Error{Err: ErrInvalidParameter, Found: "a keystore password shorter than 6 characters",
			Fix: "use at least 6 characters (keytool refuses shorter ones)"}
	}
	return Match(key, chain[0])
}
