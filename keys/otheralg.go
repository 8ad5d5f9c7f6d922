package keys

import (
	"encoding/asn1"
	"fmt"
	"math/big"
)

// Object identifiers of private-key algorithms that Go's x509 package does
// not parse but that people still hand us (OpenSSL writes all of them as
// PKCS#8 "PRIVATE KEY" blocks).
var otherKeyAlgorithms = map[string]string{
	"1.2.840.10040.4.1":     "DSA",
	"1.2.840.10046.2.1":     "Diffie-Hellman (X9.42)",
	"1.2.840.113549.1.3.1":  "Diffie-Hellman (PKCS#3)",
	"1.3.101.111":           "X448",
	"1.3.101.110":           "X25519",
	"1.3.101.113":           "Ed448",
	"1.2.840.113549.1.1.10": "RSA-PSS",
	"1.2.156.10197.1.301":   "SM2",
	"1.2.643.7.1.1.1.1":     "GOST R 34.10-2012",
}

// pkcs8Info is the outer shape of an unencrypted PKCS#8 PrivateKeyInfo.
type pkcs8Info struct {
	Version    int
	Algorithm  struct{ Algorithm asn1.ObjectIdentifier }
	PrivateKey []byte
}

// dsaTraditional is OpenSSL's traditional "DSA PRIVATE KEY" structure.
type dsaTraditional struct {
	Version       int
	P, Q, G, Y, X *big.Int
}

// otherKeyAlgorithm reports the algorithm of a well-formed private key that
// is not RSA, EC or Ed25519 (which parseKeyDER reads), so that such a key is
// reported as "not an RSA key" instead of as a damaged file. label is the
// PEM block type, or "" for raw DER.
func otherKeyAlgorithm(der []byte, label string) (string, bool) {
	var info pkcs8Info
	if rest, err := asn1.Unmarshal(der, &info); err == nil && len(rest) == 0 && len(info.Algorithm.Algorithm) > 0 {
		oid := info.Algorithm.Algorithm.String()
		if name, ok := otherKeyAlgorithms[oid]; ok {
			return name, true
		}
		// RSA (1.2.840.113549.1.1.1), EC and Ed25519 parse in parseKeyDER;
		// reaching here with one of them means the inner key is damaged.
		switch oid {
		case "1.2.840.113549.1.1.1", "1.2.840.10045.2.1", "1.3.101.112":
			return "", false
		}
		return fmt.Sprintf("algorithm %s", oid), true
	}
	if label == "DSA PRIVATE KEY" || label == "" {
		var k dsaTraditional
		if rest, err := asn1.Unmarshal(der, &k); err == nil && len(rest) == 0 && k.X != nil && k.X.Sign() > 0 {
			return "DSA", true
		}
	}
	return "", false
}

func notRSA(alg string) error {
	return &Error{Err: ErrNotRSA, Found: article(alg) + " private key", Fix: fixNeedRSA}
}
